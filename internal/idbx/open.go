//go:build js && wasm

package idbx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Hooks are called by Open and by the open connection. Upgrade runs inside
// the upgradeneeded event and must not wait for anything; the others are
// called from browser events and must not block either.
type Hooks struct {
	// Upgrade applies structural changes from u.OldVersion to u.NewVersion.
	// An error (or panic) aborts the upgrade; Open then returns that error
	// and the database stays at its old version.
	Upgrade func(u *Upgrade) error
	// Blocked is called when the open waits because other connections to
	// an older version are still open.
	Blocked func(oldVersion, newVersion int)
	// VersionChange is called when another connection wants to upgrade or
	// delete the database (newVersion 0). The connection should be closed
	// before returning, or the other side stays blocked.
	VersionChange func(oldVersion, newVersion int)
	// Closed is called when the browser closes the connection on its own
	// (site data cleared, disk error).
	Closed func()
}

// DB is an open IndexedDB connection.
type DB struct {
	v     js.Value
	name  string
	funcs jsutil.Funcs
	// closed is set by Close; it makes Close idempotent.
	closed atomic.Bool
	// lost is set when the browser closed the connection (a close event).
	lost   atomic.Bool
	shut   atomic.Bool // Close ran
	strict atomic.Bool
	// active counts transactions that have not finished: their completion
	// callbacks must stay callable until then.
	active sync.WaitGroup
	// txs are those transactions, for AbortAll.
	txMu sync.Mutex
	txs  map[*Tx]struct{}

	scopeMu sync.Mutex
	scopes  map[string]scope // see Begin
}

// SetStrictDurability makes later readwrite transactions complete only
// once the browser has flushed them to disk ("strict" durability) instead
// of the default "relaxed".
func (db *DB) SetStrictDurability(on bool) { db.strict.Store(on) }

// Open opens (and if needed creates or upgrades) the named database at
// version. When ctx ends first, Open returns ctx.Err() and closes the
// connection as soon as the browser hands it over.
//
// A version <= 0 opens the database at whatever version it has, for a
// second connection to a database that its owner creates and upgrades:
// such an Open never creates the database nor calls h.Upgrade. If there
// is no database of that name it fails with an error matching
// errs.ErrNotFound, and aborts the creation the browser would otherwise
// do: an empty database left behind would look to its owner as if its
// first schema version were already applied.
func Open(ctx context.Context, name string, version int, h Hooks) (*DB, error) {
	factory := js.Global().Get("indexedDB")
	if !factory.Truthy() {
		return nil, fmt.Errorf("indexedDB: %w", errs.ErrUnsupported)
	}
	existing := version <= 0
	var req js.Value
	err := jsutil.Try(func() {
		if existing {
			req = factory.Call("open", name)
		} else {
			req = factory.Call("open", name, version)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", name, err)
	}

	type outcome struct {
		db  js.Value
		err error
	}
	done := make(chan outcome, 1)
	var (
		funcs      jsutil.Funcs
		upgradeErr error
		abandoned  atomic.Bool
	)
	settle := func(o outcome) {
		for _, ev := range []string{"onupgradeneeded", "onblocked", "onsuccess", "onerror"} {
			req.Set(ev, js.Null())
		}
		funcs.Release()
		if abandoned.Load() {
			if o.err == nil {
				o.db.Call("close")
			}
			return
		}
		done <- o
	}
	req.Set("onupgradeneeded", funcs.Add(func(_ js.Value, args []js.Value) any {
		ev := args[0]
		u := &Upgrade{
			db:         req.Get("result"),
			tx:         req.Get("transaction"),
			OldVersion: ev.Get("oldVersion").Int(),
			NewVersion: ev.Get("newVersion").Int(),
		}
		var err error
		if abandoned.Load() {
			err = context.Canceled
		} else if existing {
			// Without a version, only a database that does not exist
			// needs an upgrade (from version 0).
			err = fmt.Errorf("no such database: %w", errs.ErrNotFound)
		} else if h.Upgrade != nil {
			if perr := jsutil.Try(func() { err = h.Upgrade(u) }); perr != nil {
				err = perr
			}
		}
		if err != nil {
			upgradeErr = err
			_ = jsutil.Try(func() { u.tx.Call("abort") })
		}
		return nil
	}))
	req.Set("onblocked", funcs.Add(func(_ js.Value, args []js.Value) any {
		if h.Blocked != nil && !abandoned.Load() {
			ev := args[0]
			h.Blocked(ev.Get("oldVersion").Int(), nullableInt(ev.Get("newVersion")))
		}
		return nil
	}))
	req.Set("onsuccess", funcs.Add(func(js.Value, []js.Value) any {
		settle(outcome{db: req.Get("result")})
		return nil
	}))
	req.Set("onerror", funcs.Add(func(_ js.Value, args []js.Value) any {
		args[0].Call("preventDefault")
		err := jsutil.ToError(req.Get("error"))
		switch {
		case upgradeErr != nil:
			err = upgradeErr
		case errors.Is(err, jsutil.Named("VersionError")):
			err = fmt.Errorf("%w (%v)", errs.ErrSchemaTooNew, err)
		}
		settle(outcome{err: err})
		return nil
	}))

	select {
	case o := <-done:
		if o.err != nil {
			return nil, fmt.Errorf("open %q: %w", name, o.err)
		}
		db := &DB{v: o.db, name: name}
		db.watch(h)
		return db, nil
	case <-ctx.Done():
		abandoned.Store(true)
		// The request may have settled while ctx ended; if so, close what
		// it delivered.
		select {
		case o := <-done:
			if o.err == nil {
				o.db.Call("close")
			}
		default:
		}
		return nil, ctx.Err()
	}
}

func (db *DB) watch(h Hooks) {
	db.v.Set("onversionchange", db.funcs.Add(func(_ js.Value, args []js.Value) any {
		ev := args[0]
		if h.VersionChange != nil {
			h.VersionChange(ev.Get("oldVersion").Int(), nullableInt(ev.Get("newVersion")))
		}
		return nil
	}))
	db.v.Set("onclose", db.funcs.Add(func(js.Value, []js.Value) any {
		db.closed.Store(true)
		db.lost.Store(true)
		if h.Closed != nil {
			h.Closed()
		}
		return nil
	}))
}

func nullableInt(v js.Value) int {
	if v.Type() != js.TypeNumber {
		return 0
	}
	return v.Int()
}

// Name returns the database name.
func (db *DB) Name() string { return db.name }

// Lost reports whether the browser closed the connection (its close
// event: the storage went away, Safari's "Connection to Indexed Database
// server lost"), as opposed to Close.
func (db *DB) Lost() bool { return db.lost.Load() }

// Value returns the IDBDatabase.
func (db *DB) Value() js.Value { return db.v }

// Version returns the database version of this connection.
func (db *DB) Version() int { return db.v.Get("version").Int() }

// StoreNames returns the object stores of the database.
func (db *DB) StoreNames() []string { return stringList(db.v.Get("objectStoreNames")) }

// CloseWait closes the connection and waits until every transaction
// started on it has finished (their callbacks run Go code, which must
// still be there). It must not be called from a browser callback.
//
// A transaction the browser never settles must not hang it: WebKitGTK
// 2.50 now and then fires neither complete nor abort for a transaction
// aborted as its connection closes. After closeWait the transactions
// still open are aborted, and after as long again CloseWait returns
// anyway; their events, should they come later, find nothing waiting.
func (db *DB) CloseWait() {
	db.Close()
	finished := make(chan struct{})
	go func() {
		db.active.Wait()
		close(finished)
	}()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-finished:
		return
	case <-t.C:
	}
	db.AbortAll()
	t.Reset(closeWait)
	select {
	case <-finished:
	case <-t.C:
	}
}

// closeWait bounds how long CloseWait waits for the browser, twice.
const closeWait = 5 * time.Second

// AbortAll aborts every transaction of the connection that has not
// finished. Closing a connection waits for its transactions, and another
// tab's upgrade waits (and reports being blocked) until it is closed: a
// connection that gives way to an upgrade aborts its bulk work first.
func (db *DB) AbortAll() {
	db.txMu.Lock()
	txs := make([]*Tx, 0, len(db.txs))
	for t := range db.txs {
		txs = append(txs, t)
	}
	db.txMu.Unlock()
	for _, t := range txs {
		t.Abort()
	}
}

// Close closes the connection. Transactions already started still finish;
// no new ones can begin. It is safe to call more than once.
func (db *DB) Close() {
	db.closed.Store(true)
	if db.shut.Swap(true) {
		return
	}
	_ = jsutil.Try(func() {
		db.v.Call("close")
		db.v.Set("onversionchange", js.Null())
		db.v.Set("onclose", js.Null())
	})
	db.funcs.Release()
}

// Delete deletes the named database. If other connections stay open it
// waits (calling blocked once) until they close or ctx ends.
func Delete(ctx context.Context, name string, blocked func()) error {
	factory := js.Global().Get("indexedDB")
	if !factory.Truthy() {
		return fmt.Errorf("indexedDB: %w", errs.ErrUnsupported)
	}
	var req js.Value
	if err := jsutil.Try(func() { req = factory.Call("deleteDatabase", name) }); err != nil {
		return fmt.Errorf("delete database %q: %w", name, err)
	}
	done := make(chan error, 1)
	var funcs jsutil.Funcs
	finish := func(err error) {
		req.Set("onsuccess", js.Null())
		req.Set("onerror", js.Null())
		req.Set("onblocked", js.Null())
		funcs.Release()
		done <- err
	}
	req.Set("onsuccess", funcs.Add(func(js.Value, []js.Value) any { finish(nil); return nil }))
	req.Set("onerror", funcs.Add(func(js.Value, []js.Value) any {
		finish(jsutil.ToError(req.Get("error")))
		return nil
	}))
	req.Set("onblocked", funcs.Add(func(js.Value, []js.Value) any {
		if blocked != nil {
			blocked()
		}
		return nil
	}))
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("delete database %q: %w", name, err)
		}
		return nil
	case <-ctx.Done():
		// The deletion stays queued in the browser and completes once the
		// blockers close; the callbacks release themselves then.
		return ctx.Err()
	}
}

func stringList(v js.Value) []string {
	n := v.Length()
	out := make([]string, n)
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out
}
