package atelier

import "github.com/atelierstore/atelier/internal/errs"

// Sentinel errors. Functions in this module wrap them with context
// ("update node 0190…: not found"), so match them with errors.Is.
var (
	// ErrNotFound is returned when a workflow, node, edge, asset or key does
	// not exist.
	ErrNotFound = errs.ErrNotFound

	// ErrInvalid is returned when input fails validation: an empty or
	// over-long name, a malformed id, a NaN or infinite coordinate, a negative
	// size, a node whose workflow id does not match the workflow it is
	// written to. Nothing is written when it is returned. The wrapped error
	// is a *ValidationError that names the field.
	ErrInvalid = errs.ErrInvalid

	// ErrInvalidRef is returned when an AssetRef is malformed: unknown kind,
	// a field missing for its kind, a disallowed URL scheme, an unsafe path,
	// a malformed hash or a negative size.
	ErrInvalidRef = errs.ErrInvalidRef

	// ErrVersionConflict is returned by compare-and-set writes when the
	// stored version is not the one the caller expected.
	ErrVersionConflict = errs.ErrVersionConflict

	// ErrClosed is returned when the store has been closed, either by Close
	// or because another tab upgraded the database schema.
	ErrClosed = errs.ErrClosed

	// ErrQuotaExceeded is returned when the browser refuses a write because
	// the origin is out of storage quota. The write is not applied.
	ErrQuotaExceeded = errs.ErrQuotaExceeded

	// ErrWriteFailed is returned when the browser failed a write: it
	// refused a value (one it cannot store, such as a Blob in some private
	// or automated sessions), a key or unique index was already taken, or
	// the transaction broke. The write is not acknowledged; the wrapped
	// error is the browser's (its DOMException name, e.g. ConstraintError,
	// UnknownError), and a quota failure matches ErrQuotaExceeded too.
	ErrWriteFailed = errs.ErrWriteFailed

	// ErrSchemaTooNew is returned by Open when the database was already
	// upgraded by a newer version of the library (typically in another tab):
	// this page must be reloaded to use it.
	ErrSchemaTooNew = errs.ErrSchemaTooNew

	// ErrUnsupported is returned when the browser lacks a required API.
	ErrUnsupported = errs.ErrUnsupported

	// ErrPermission is returned when the user has not granted (or has
	// withdrawn) access to a folder they picked.
	ErrPermission = errs.ErrPermission

	// ErrUnavailable is returned by SyncNow when the sync server cannot
	// be reached now (offline, or failing); local writes are kept.
	ErrUnavailable = errs.ErrUnavailable

	// ErrCorrupt is returned when stored or received bytes are not what
	// they claim to be (content whose hash differs from its name, a
	// record file that does not parse).
	ErrCorrupt = errs.ErrCorrupt
)

// ValidationError describes one invalid field. It matches ErrInvalid with
// errors.Is.
type ValidationError = errs.ValidationError
