package idb

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
)

// Options configure Open. A nil *Options, or a zero field, means the
// documented default.
type Options struct {
	// Logger receives structured logs: opens, upgrades, migrations, writer
	// flushes (at Debug) and errors. Nil means silent.
	Logger *slog.Logger

	// OnVersionChange is called when another tab opens the database with a
	// newer schema. By then this store has closed its connection (so the
	// other tab is not blocked) and every later call fails with
	// errs.ErrClosed; the app should ask the user to reload.
	OnVersionChange func(VersionChange)

	// OnBlocked is called while Open waits because tabs with an older
	// schema keep the database open. Open goes on waiting (until its
	// context ends) and completes once they close.
	OnBlocked func(Blocked)

	// StrictDurability makes every write transaction wait until the browser
	// has flushed it to disk, at the cost of latency. By default (relaxed,
	// the browser's default too) a committed write survives a tab or
	// browser crash but not necessarily an operating system crash.
	StrictDurability bool

	// now replaces the clock in tests.
	now func() time.Time
}

// VersionChange describes another tab's upgrade.
type VersionChange struct {
	OldVersion int // this tab's schema version
	NewVersion int // the version the other tab opens; 0 when it deletes the database
}

// Blocked describes an open that waits for older connections.
type Blocked struct {
	OldVersion int
	NewVersion int
}

// Stats counts the writer's work since Open.
type Stats struct {
	// Transactions is the number of readwrite transactions the writer
	// committed.
	Transactions uint64
	// Mutations is the number of mutations committed. Mutations /
	// Transactions is the average batch size.
	Mutations uint64
	// Retries counts mutations re-run in a transaction of their own after
	// the shared transaction they were in failed.
	Retries uint64
	// StaleGuesses counts batches that ran on remembered revisions which
	// another tab had changed meanwhile, and ran again on fresh reads.
	StaleGuesses uint64
}

// ErrReadOnly is returned by write methods of a Tx passed to View.
var ErrReadOnly = errors.New("write in a read-only transaction")

// WriteOption qualifies a single-entity write.
type WriteOption func(*writeOptions)

type writeOptions struct {
	ifVersion int64 // 0: unconditional
}

// IfVersion makes a write compare-and-set: it is applied only if the
// entity's stored version is v, and fails with errs.ErrVersionConflict
// (wrapped in a *ConflictError) otherwise.
func IfVersion(v int64) WriteOption {
	return func(o *writeOptions) { o.ifVersion = v }
}

// ConflictError reports a failed compare-and-set. It matches
// errs.ErrVersionConflict.
type ConflictError struct {
	Entity   string
	ID       string
	Expected int64
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("version conflict on %s %s: expected version %d, stored %d",
		e.Entity, e.ID, e.Expected, e.Actual)
}

// Is reports whether target is errs.ErrVersionConflict.
func (e *ConflictError) Is(target error) bool { return target == errs.ErrVersionConflict }
