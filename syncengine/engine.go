package syncengine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atelierstore/atelier/syncproto"
)

// Store is the local side of sync (implemented by *outbox.Outbox).
type Store interface {
	PendingOps(ctx context.Context, limit int) ([]syncproto.Op, error)
	AckOps(ctx context.Context, acks []syncproto.Ack) ([]syncproto.Conflict, error)
	ApplyChanges(ctx context.Context, changes []syncproto.Change, cursor int64) (syncproto.ApplyResult, error)
	SyncCursor(ctx context.Context) (int64, error)
	ParkedOps(ctx context.Context) ([]syncproto.Conflict, error)
	// CountOps returns how many operations the outbox holds, pending and
	// parked, without reading them.
	CountOps(ctx context.Context) (int, error)
}

// Transport reaches the server.
type Transport interface {
	Push(ctx context.Context, req *syncproto.PushRequest) (*syncproto.PushResponse, error)
	Pull(ctx context.Context, cursor int64, limit int) (*syncproto.PullResponse, error)
}

// HTTPError is a server's answer other than success. Status 4xx other
// than 408 and 429 means the request itself is wrong and will fail again;
// anything else is worth retrying.
type HTTPError struct {
	Status int
	Code   string // the ErrorResponse code
	Msg    string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("sync server: %d %s: %s", e.Status, e.Code, e.Msg)
}

// Permanent reports whether repeating the request cannot succeed.
func (e *HTTPError) Permanent() bool {
	// 408 Request Timeout and 429 Too Many Requests are worth retrying.
	return e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 429
}

// ProtocolError is the answer of a sync server that speaks another version
// of the sync protocol (syncproto.Protocol): a server of the first
// version, which did not name its version, or a newer one that refused
// this client's requests (426). Nothing was pushed; the outbox keeps every
// operation, and the engine tries again with backoff (the server may be
// upgraded meanwhile), reporting the error in its status.
type ProtocolError struct {
	Server string // the version the server named, "" for none
	Status int    // the HTTP status of the answer
}

func (e *ProtocolError) Error() string {
	v := e.Server
	if v == "" {
		v = "1 (it names no version)"
	}
	return fmt.Sprintf("sync server speaks sync protocol %s, this client %s (answer %d): update the older side", v, syncproto.Protocol, e.Status)
}

func permanent(err error) bool {
	var h *HTTPError
	return errors.As(err, &h) && h.Permanent()
}

// IsResync reports whether err is a server's answer that a push held an
// operation older than the workspace's ack horizon (409 "Resync", see
// syncproto.ErrorResponse): the server has forgotten whether it applied
// it. The engine then pulls the whole workspace again and parks those
// operations (see Resyncs in Status).
func IsResync(err error) bool {
	var h *HTTPError
	return errors.As(err, &h) && h.Code == syncproto.CodeResync
}

// Options configure an Engine; zero fields mean the defaults.
type Options struct {
	BackoffBase  time.Duration // first retry delay; default 2 s
	BackoffCap   time.Duration // longest delay; default 32 s
	PullInterval time.Duration // how often to pull when idle; default 15 s
	BatchSize    int           // ops per push; default and maximum syncproto.MaxOpsPerPush
	PullPage     int           // changes per pull; default syncproto.DefaultPullMax
	// NoWatch turns live announcements off: even when the Transport is a
	// Watcher, the engine only pulls every PullInterval (and after pushes).
	NoWatch bool
	// PushDelay is how long after Nudge a round starts, so that a burst
	// of writes goes in one push; default 50 ms.
	PushDelay time.Duration

	// OnConflict receives local operations that lost to another write or
	// were rejected by the server: when they are pushed (superseded or
	// rejected), or, for writes the server had applied, when a pull
	// brings the concurrent write that overwrote them.
	OnConflict func([]syncproto.Conflict)
	// OnStatus receives every change of Status.
	OnStatus func(Status)

	sleep func(ctx context.Context, d time.Duration) error // tests
}

// State is what an Engine is doing.
type State string

// States.
const (
	Synced  State = "synced"  // nothing pending, last round succeeded
	Syncing State = "syncing" // a round is running
	Offline State = "offline" // paused: the browser is offline
	Failing State = "error"   // the last round failed; retrying after a delay
)

// Status is what an app can show.
type Status struct {
	State     State
	Pending   int       // operations waiting to be pushed
	Parked    int       // operations the server rejected, waiting for RetryParked
	Failures  int       // consecutive failed rounds
	LastError string    // the last round's error, if it failed
	RetryAt   time.Time // when the next attempt runs, while failing
	// Live is true while the engine listens for the server's
	// announcements of new changes (see Watcher), so that changes made
	// elsewhere arrive within moments rather than at the next poll.
	Live bool
	// Rounds counts the rounds Run has finished, whatever their outcome:
	// a caller that asked for one (Flush) knows from it when it is over.
	Rounds int
	// Resyncs counts the times the engine pulled the whole workspace
	// again, from cursor 0, because the server had forgotten operations
	// this device had not had answered (a device offline for longer
	// than the server keeps acks): see IsResync.
	Resyncs int
}

// Engine runs sync rounds. Its methods are safe for concurrent use.
type Engine struct {
	store Store
	tr    Transport
	opts  Options

	loop   *loop
	status statusCell[Status]

	// The rounds that nextRound waits for: afterThis is closed when the
	// round running (or the next one, if none runs) finishes, afterNext
	// when the one after it does.
	roundsMu             sync.Mutex
	running              bool
	afterThis, afterNext chan struct{}

	// counting is set while a count of the outbox, for a Nudge while
	// offline, is under way or due.
	counting atomic.Bool
}

// New returns an engine; opts nil means defaults.
func New(store Store, tr Transport, opts *Options) *Engine {
	e := &Engine{store: store, tr: tr, loop: newLoop()}
	if opts != nil {
		e.opts = *opts
	}
	o := &e.opts
	if o.BackoffBase <= 0 {
		o.BackoffBase = 2 * time.Second
	}
	if o.BackoffCap <= 0 {
		o.BackoffCap = 32 * time.Second
	}
	if o.PullInterval <= 0 {
		o.PullInterval = 15 * time.Second
	}
	if o.PushDelay <= 0 {
		o.PushDelay = 50 * time.Millisecond
	}
	if o.BatchSize <= 0 || o.BatchSize > syncproto.MaxOpsPerPush {
		o.BatchSize = syncproto.MaxOpsPerPush
	}
	if o.PullPage <= 0 || o.PullPage > syncproto.MaxPullLimit {
		o.PullPage = syncproto.DefaultPullMax
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	e.status.v.State = Synced
	return e
}

// Flush asks for a round as soon as possible, even during a backoff delay.
func (e *Engine) Flush() { signal(e.loop.wake) }

// Nudge tells the engine that operations were recorded (in this tab or
// another): it pushes them PushDelay later, with whatever else is
// recorded meanwhile. Unlike Flush, it does not cut a backoff delay short:
// while the server fails, writes wait for the next retry instead of each
// starting a request.
//
// While offline it only updates the status's Pending count, PushDelay
// later, so that a page can show how many changes wait for the network.
func (e *Engine) Nudge() {
	signal(e.loop.nudge)
	if !e.loop.isOnline() && e.counting.CompareAndSwap(false, true) {
		go func() {
			time.Sleep(e.opts.PushDelay) // count a burst of writes once
			e.counting.Store(false)
			e.countPending(context.Background())
		}()
	}
}

// SetOnline pauses (false) or resumes (true) the engine; resuming starts a
// round at once.
func (e *Engine) SetOnline(online bool) {
	e.loop.setOnline(online)
	if !online {
		e.setStatus(func(s *Status) { s.State = Offline })
	}
}

// Status returns the engine's status.
func (e *Engine) Status() Status { return e.status.get() }

func (e *Engine) setStatus(f func(*Status)) { e.status.update(f, e.opts.OnStatus) }

// Backoff returns the delay before retry number n (n >= 1): base doubling
// up to cap, with jitter drawn from the upper half of the delay.
func Backoff(base, cap time.Duration, n int, r *rand.Rand) time.Duration {
	d := base
	for i := 1; i < n && d < cap; i++ {
		d *= 2
	}
	d = min(d, cap)
	half := d / 2
	return half + time.Duration(r.Int64N(int64(half)+1))
}

// Run runs rounds until ctx ends: after every Flush, shortly after a
// Nudge, every PullInterval, after the server announces a change (when the
// Transport is a Watcher), and, after a failure, when the backoff delay
// has passed.
// It returns ctx.Err().
func (e *Engine) Run(ctx context.Context) error {
	p := pacing{base: e.opts.BackoffBase, cap: e.opts.BackoffCap, interval: e.opts.PullInterval,
		delay: e.opts.PushDelay, sleep: e.opts.sleep, now: time.Now}
	if w, ok := e.tr.(Watcher); ok && !e.opts.NoWatch {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.watch(wctx, w)
		}()
		defer func() { cancel(); <-done }()
	}
	job := func(ctx context.Context) error {
		e.roundStarted()
		return e.round(ctx)
	}
	return e.loop.run(ctx, p, job, func(o outcome) {
		defer e.roundFinished()
		e.setStatus(func(s *Status) {
			s.Rounds++
			switch {
			case o.offline && o.err != nil:
				s.State = Offline
			case o.offline:
				s.State, s.Failures, s.LastError, s.RetryAt = Offline, 0, "", time.Time{}
			case o.err != nil:
				s.State, s.Failures, s.LastError, s.RetryAt = Failing, o.failures, o.err.Error(), o.retryAt
			default:
				s.State, s.Failures, s.LastError, s.RetryAt = Synced, 0, "", time.Time{}
			}
		})
	})
}

// Round runs one round (push everything pending, then pull until there is
// nothing more) and returns its error. Run calls it; tests and apps that
// drive sync themselves may too.
func (e *Engine) Round(ctx context.Context) error { return e.round(ctx) }

func (e *Engine) round(ctx context.Context) error {
	e.setStatus(func(s *Status) { s.State = Syncing })
	if err := e.pushAll(ctx); err != nil {
		e.refreshCounts(ctx)
		return err
	}
	err := e.pullAll(ctx)
	e.refreshCounts(ctx)
	return err
}

// refreshCounts sets the status's Pending and Parked counts: the parked
// operations are read (they are few), the rest only counted.
func (e *Engine) refreshCounts(ctx context.Context) {
	parked, err := e.store.ParkedOps(ctx)
	if err != nil {
		return
	}
	e.setStatus(func(s *Status) { s.Parked = len(parked) })
	e.countPending(ctx)
}

// countPending sets the status's Pending count from a count of the outbox
// (one request, whatever its size) less the parked operations, which
// change only during rounds.
func (e *Engine) countPending(ctx context.Context) {
	n, err := e.store.CountOps(ctx)
	if err == nil {
		e.setStatus(func(s *Status) { s.Pending = max(n-s.Parked, 0) })
	}
}

// pushAll pushes the outbox in batches until it is empty.
func (e *Engine) pushAll(ctx context.Context) error {
	var resynced bool
	for {
		ops, err := e.store.PendingOps(ctx, e.opts.BatchSize)
		if err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		if len(ops) == 0 {
			return nil
		}
		if err := e.push(ctx, ops, &resynced); err != nil {
			return err
		}
	}
}

// push pushes one batch. A batch the server refuses as a whole is split in
// halves until the single op that fails is found; it is parked (rejected)
// and the others go through.
//
// A batch refused with Resync (IsResync) first makes the engine pull the
// whole workspace again, once per round (*resynced), so that the device
// has every change it may have missed; the operations the server refuses
// so are then parked with syncproto.ResyncReason, and reported as
// conflicts, not pushed again until the app retries them (the outbox's
// RetryParked sends them under new ids).
func (e *Engine) push(ctx context.Context, ops []syncproto.Op, resynced *bool) error {
	resp, err := e.tr.Push(ctx, &syncproto.PushRequest{Ops: ops})
	if err != nil {
		if !permanent(err) {
			return err
		}
		if IsResync(err) && !*resynced {
			if err := e.pullFrom(ctx, 0); err != nil {
				return fmt.Errorf("resynchronise: %w", err)
			}
			*resynced = true
			e.setStatus(func(s *Status) { s.Resyncs++ })
		}
		if len(ops) == 1 {
			reason := err.Error()
			if h := (*HTTPError)(nil); IsResync(err) && errors.As(err, &h) {
				reason = syncproto.ResyncReason(h.Msg)
			}
			return e.ack(ctx, []syncproto.Ack{{OpID: ops[0].ID, Status: syncproto.Rejected, Error: reason}})
		}
		mid := len(ops) / 2
		if err := e.push(ctx, ops[:mid], resynced); err != nil {
			return err
		}
		return e.push(ctx, ops[mid:], resynced)
	}
	if len(resp.Acks) != len(ops) {
		return fmt.Errorf("sync server answered %d ops with %d acks", len(ops), len(resp.Acks))
	}
	for i, a := range resp.Acks {
		if a.OpID != ops[i].ID {
			return fmt.Errorf("sync server acked op %s in the place of %s", a.OpID, ops[i].ID)
		}
	}
	return e.ack(ctx, resp.Acks)
}

func (e *Engine) ack(ctx context.Context, acks []syncproto.Ack) error {
	conflicts, err := e.store.AckOps(ctx, acks)
	if err != nil {
		return fmt.Errorf("apply acknowledgements: %w", err)
	}
	if len(conflicts) > 0 && e.opts.OnConflict != nil {
		e.opts.OnConflict(conflicts)
	}
	return nil
}

// pullAll applies the server's changes after the store's cursor, a page at
// a time, until there are no more.
func (e *Engine) pullAll(ctx context.Context) error {
	cursor, err := e.store.SyncCursor(ctx)
	if err != nil {
		return fmt.Errorf("read cursor: %w", err)
	}
	return e.pullFrom(ctx, cursor)
}

// pullFrom applies the server's changes after cursor, a page at a time,
// until there are no more; the store's cursor follows the pages.
func (e *Engine) pullFrom(ctx context.Context, cursor int64) error {
	for {
		page, err := e.tr.Pull(ctx, cursor, e.opts.PullPage)
		if err != nil {
			return err
		}
		if page.Cursor < cursor {
			return fmt.Errorf("sync server moved the cursor back from %d to %d", cursor, page.Cursor)
		}
		if len(page.Changes) > 0 || page.Cursor != cursor {
			res, err := e.store.ApplyChanges(ctx, page.Changes, page.Cursor)
			if err != nil {
				return fmt.Errorf("apply changes: %w", err)
			}
			if len(res.Overwritten) > 0 && e.opts.OnConflict != nil {
				e.opts.OnConflict(res.Overwritten)
			}
			cursor = page.Cursor
		}
		if !page.More {
			return nil
		}
	}
}
