package syncproto

// Conflict is a local operation that did not become the server's state.
type Conflict struct {
	// Lost is the operation.
	Lost Op
	// Winner is the server state that won over it (a Superseded ack), or
	// nil when the server rejected the operation.
	Winner *Change
	// Reason says why a rejected operation can never apply; it stays
	// parked in the outbox until the app retries it.
	Reason string
}

// ApplyResult is what a client's store did with a page of pulled changes.
type ApplyResult struct {
	Applied, Skipped int
	// Overwritten are this device's writes that the server had applied
	// and that a concurrent write, made without seeing them, has since
	// replaced: Lost is the op (without its data), Winner the change.
	Overwritten []Conflict
}
