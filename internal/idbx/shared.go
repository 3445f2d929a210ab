//go:build js && wasm

package idbx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
)

// Shared is a connection of its own to a database that another package
// owns (creates and upgrades): the workflow store's database, whose other
// object stores the IndexedDB asset store and the folder list keep. It
// gives way to another tab's upgrade or delete at once: it aborts its
// transactions and closes, and later calls fail with an error matching
// errs.ErrClosed that says why. When the browser closes the connection
// otherwise (Safari's "Connection to Indexed Database server lost", a
// close event), the next Begin opens a new one.
type Shared struct {
	who, name string // who names the user in errors
	hooks     Hooks
	reopenMu  sync.Mutex
	conn      atomic.Pointer[DB]
	closedErr atomic.Pointer[error] // why it is closed, once it is
}

// OpenShared opens the database called name at the version it has, for
// who (a package name, for errors). It fails with an error matching
// errs.ErrNotFound when there is no such database or it lacks one of the
// object stores, and with ctx.Err() when ctx ends first (another tab's
// upgrade in progress holds it up).
func OpenShared(ctx context.Context, name, who string, stores ...string) (*Shared, error) {
	s := &Shared{who: who, name: name}
	s.hooks = Hooks{
		VersionChange: func(_, newV int) {
			what := fmt.Sprintf("another tab is upgrading the database to schema version %d", newV)
			if newV == 0 {
				what = "another tab is deleting the database"
			}
			if c := s.conn.Load(); c != nil {
				c.AbortAll() // so that the upgrade need not wait for it
			}
			s.shutdown(fmt.Errorf("%s: %w: %s; reload the page", who, errs.ErrClosed, what))
		},
		// Closed: nothing to do; the next Begin opens a new connection.
	}
	conn, err := Open(ctx, name, 0, s.hooks)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", who, err)
	}
	for _, st := range stores {
		if !slices.Contains(conn.StoreNames(), st) {
			v := conn.Version()
			conn.Close()
			return nil, fmt.Errorf("%s: open %q: database at version %d has no object store %q (idb.Open creates it): %w",
				who, name, v, st, errs.ErrNotFound)
		}
	}
	s.conn.Store(conn)
	if s.Err() != nil { // closed by the browser before s had its connection
		conn.Close()
	}
	return s, nil
}

// DB is the connection, for checks of its schema.
func (s *Shared) DB() *DB { return s.conn.Load() }

// shutdown closes the connection; reason is what later calls fail with.
// It runs in browser events too, so it must not wait.
func (s *Shared) shutdown(reason error) {
	if !s.closedErr.CompareAndSwap(nil, &reason) {
		return
	}
	if c := s.conn.Load(); c != nil {
		c.Close()
	}
}

// Err reports why the connection is closed, or nil while it is open.
func (s *Shared) Err() error {
	if p := s.closedErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Close closes the connection once the transactions in flight have
// finished; later calls fail with an error matching errs.ErrClosed. It is
// safe to call more than once.
func (s *Shared) Close() {
	s.shutdown(fmt.Errorf("%s: %w", s.who, errs.ErrClosed))
	if c := s.conn.Load(); c != nil {
		c.CloseWait()
	}
}

// Begin starts a transaction; on a closed connection it fails with the
// reason it closed.
func (s *Shared) Begin(ctx context.Context, mode Mode, stores ...string) (*Tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	c := s.conn.Load()
	tx, err := c.Begin(mode, stores...)
	if err != nil && errors.Is(err, errs.ErrClosed) {
		if reason := s.Err(); reason != nil {
			return nil, reason
		}
		// The browser closed the connection under us.
		if c, err = s.reopen(ctx, c, err); err != nil {
			return nil, err
		}
		return c.Begin(mode, stores...)
	}
	return tx, err
}

// reopen replaces old, which the browser closed (why), by a new
// connection, unless another Begin did already.
func (s *Shared) reopen(ctx context.Context, old *DB, why error) (*DB, error) {
	s.reopenMu.Lock()
	defer s.reopenMu.Unlock()
	if c := s.conn.Load(); c != old {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // another tab's upgrade could hold it up
	defer cancel()
	c, err := Open(ctx, s.name, 0, s.hooks)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: the browser closed the database connection (%v), and reopening it failed: %v",
			s.who, errs.ErrClosed, why, err)
	}
	s.conn.Store(c)
	if s.Err() != nil { // closed meanwhile: shutdown may have closed old only
		c.Close()
		return nil, s.Err()
	}
	old.Close()
	return c, nil
}

// Lazy is a Shared connection made at its first use, so that what may
// never be used costs nothing when a page starts.
type Lazy struct {
	name, who string
	stores    []string
	check     func(*DB) error // more checks of the schema; may be nil

	mu     sync.Mutex
	conn   *Shared
	closed bool
}

// NewLazy returns the connection OpenShared(ctx, name, who, stores...)
// would make, made by the first Get; check, if not nil, is run on it then.
func NewLazy(name, who string, check func(*DB) error, stores ...string) *Lazy {
	return &Lazy{name: name, who: who, stores: stores, check: check}
}

// Get returns the connection, opening it if it is not open yet. A failed
// open is tried again by the next Get; after Close, Get fails with an
// error matching errs.ErrClosed.
func (l *Lazy) Get(ctx context.Context) (*Shared, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("%s: %w", l.who, errs.ErrClosed)
	}
	if l.conn != nil {
		return l.conn, nil
	}
	s, err := OpenShared(ctx, l.name, l.who, l.stores...)
	if err != nil {
		return nil, err
	}
	if l.check != nil {
		if err := l.check(s.DB()); err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: open %q: %w", l.who, l.name, err)
		}
	}
	l.conn = s
	return s, nil
}

// Begin starts a transaction on the connection (see Shared.Begin).
func (l *Lazy) Begin(ctx context.Context, mode Mode, stores ...string) (*Tx, error) {
	s, err := l.Get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Begin(ctx, mode, stores...)
}

// Close closes the connection if it was made; later calls fail with an
// error matching errs.ErrClosed.
func (l *Lazy) Close() {
	l.mu.Lock()
	s := l.conn
	l.closed = true
	l.mu.Unlock()
	if s != nil {
		s.Close()
	}
}
