// Package errs holds the sentinel errors every package of the module
// returns. The root package re-exports them (atelier.ErrNotFound, ...), and
// that is how callers outside the module name them; they live here so that
// the root package can assemble the others without an import cycle.
package errs

import "errors"

// Sentinel errors. Functions in this module wrap them with context
// ("update node 0190…: not found"), so match them with errors.Is.
var (
	// ErrNotFound is returned when a workflow, node, edge, asset or key does
	// not exist.
	ErrNotFound = errors.New("not found")

	// ErrInvalid is returned when input fails validation: an empty or
	// over-long name, a malformed id, a NaN or infinite coordinate, a negative
	// size, a node whose workflow id does not match the workflow it is
	// written to. Nothing is written when it is returned. The wrapped error
	// is a *ValidationError that names the field.
	ErrInvalid = errors.New("invalid input")

	// ErrInvalidRef is returned when an AssetRef is malformed: unknown kind,
	// a field missing for its kind, a disallowed URL scheme, an unsafe path,
	// a malformed hash or a negative size.
	ErrInvalidRef = errors.New("invalid asset reference")

	// ErrVersionConflict is returned by compare-and-set writes when the
	// stored version is not the one the caller expected.
	ErrVersionConflict = errors.New("version conflict")

	// ErrClosed is returned when the store has been closed, either by Close
	// or because another tab upgraded the database schema.
	ErrClosed = errors.New("store closed")

	// ErrQuotaExceeded is returned when the browser refuses a write because
	// the origin is out of storage quota. The write is not applied.
	ErrQuotaExceeded = errors.New("storage quota exceeded")

	// ErrWriteFailed is returned when the browser failed a write: it
	// refused a value (one it cannot store, such as a Blob in some private
	// or automated sessions), a key or unique index was already taken, or
	// the transaction broke. The write is not acknowledged; the wrapped
	// error is the browser's (its DOMException name, e.g. ConstraintError,
	// UnknownError), and a quota failure matches ErrQuotaExceeded too.
	ErrWriteFailed = errors.New("the browser failed the write")

	// ErrSchemaTooNew is returned by Open when the database was already
	// upgraded by a newer version of the library (typically in another tab):
	// this page must be reloaded to use it.
	ErrSchemaTooNew = errors.New("database schema is newer than this library")

	// ErrUnsupported is returned when the browser lacks a required API.
	ErrUnsupported = errors.New("not supported by this browser")

	// ErrPermission is returned when the user has not granted (or has
	// withdrawn) access to a folder they picked.
	ErrPermission = errors.New("permission denied")

	// ErrUnavailable is returned by a call that needs the sync server when
	// it cannot be reached now: the browser is offline or the server
	// fails. What was written locally is kept and goes when it can.
	ErrUnavailable = errors.New("sync server unavailable")

	// ErrCorrupt is returned when stored or received bytes are not what
	// they claim to be: an asset whose content has another hash than its
	// name, a store's record file that does not parse.
	ErrCorrupt = errors.New("corrupt data")
)

// ValidationError describes one invalid field. It matches ErrInvalid with
// errors.Is.
type ValidationError struct {
	Entity string // "workflow", "node", "edge", "viewport", ...
	ID     string // the entity id, when known
	Field  string // the offending field, e.g. "position.x"
	Reason string // what is wrong, e.g. "must be finite"
}

func (e *ValidationError) Error() string {
	s := "invalid " + e.Entity
	if e.ID != "" {
		s += " " + e.ID
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Reason
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }
