//go:build js && wasm

package idbx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsbridge"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Mode is a transaction mode.
type Mode int

// Transaction modes.
const (
	ReadOnly Mode = iota
	ReadWrite
)

func (m Mode) String() string {
	if m == ReadWrite {
		return "readwrite"
	}
	return "readonly"
}

// ErrAborted is the error of a transaction aborted by Abort.
var ErrAborted = errors.New("transaction aborted")

// TxError is why a transaction failed: a request the browser failed (a
// value it refused, a key or unique index already taken) or the
// transaction's own error (quota, a lost connection). It matches
// errs.ErrWriteFailed, and through Err the browser's DOMException
// (jsutil.Named("ConstraintError"), errs.ErrQuotaExceeded, ...).
type TxError struct {
	Err error // the browser's error, a *jsutil.Error
	// Committed is set when the browser committed the transaction even
	// though a request in it failed (WebKit, after an explicit commit):
	// that request's write is missing, the others are stored.
	Committed bool
}

func (e *TxError) Error() string {
	if e.Committed {
		return "a request failed, the transaction committed without it: " + e.Err.Error()
	}
	return "transaction failed: " + e.Err.Error()
}

// Unwrap returns the browser's error.
func (e *TxError) Unwrap() error { return e.Err }

// Is reports whether target is errs.ErrWriteFailed.
func (e *TxError) Is(target error) bool { return target == errs.ErrWriteFailed }

// Tx is an IndexedDB transaction. Requests are issued synchronously; only
// reads whose results are needed are awaited. A failed put or delete shows
// up as the transaction's error when it finishes: Wait returns a *TxError
// whenever any request failed, also where the browser fired complete
// after it (WebKit after an explicit commit), so a write the browser
// refused is never reported as stored.
//
// A transaction commits by itself as soon as control returns to the
// browser with no request pending, so code using a Tx must not wait for
// anything but the Tx's own requests.
type Tx struct {
	v      js.Value
	id     int // this transaction's entry in settlers
	stores map[string]js.Value
	done   chan struct{}
	err    error // valid once done is closed
	reqs   []int // settlers of awaited requests, dropped when t finishes
}

// Events reach Go through one long-lived function, settled(id, what),
// instead of a js.Func made and released per transaction and per awaited
// request: that costs several calls across the boundary each time.
var (
	settleMu   sync.Mutex
	settleNext int
	settlers   = map[int]func(what int){}

	settled = js.FuncOf(func(_ js.Value, args []js.Value) any {
		id := args[0].Int()
		settleMu.Lock()
		f := settlers[id]
		delete(settlers, id)
		settleMu.Unlock()
		if f != nil {
			f(args[1].Int())
		}
		return nil
	})
)

// txJS is tx in internal/jsbridge/bridge.js, bound to settled. Without
// the bridge (see jsbridge.Get) no transaction begins: the first Begin
// fails with its *jsbridge.Error.
var txJS = sync.OnceValues(func() (js.Value, error) {
	b, err := jsbridge.Get()
	if err != nil {
		return js.Value{}, err
	}
	var t js.Value
	err = jsutil.Try(func() { t = b.Call("tx", settled) })
	return t, err
})

// settler registers f and returns its id.
func settler(f func(what int)) int {
	settleMu.Lock()
	defer settleMu.Unlock()
	settleNext++
	settlers[settleNext] = f
	return settleNext
}

func dropSettlers(ids []int) {
	settleMu.Lock()
	defer settleMu.Unlock()
	for _, id := range ids {
		delete(settlers, id)
	}
}

// scope is the JavaScript form of a list of store names and a mode,
// converted once per connection.
type scope struct {
	stores, mode, opts js.Value
}

func (db *DB) scope(mode Mode, stores []string) scope {
	durability := "relaxed"
	if db.strict.Load() {
		durability = "strict"
	}
	key := mode.String() + "/" + durability + "/" + strings.Join(stores, "\x00")
	db.scopeMu.Lock()
	defer db.scopeMu.Unlock()
	if sc, ok := db.scopes[key]; ok {
		return sc
	}
	names := make([]any, len(stores))
	for i, s := range stores {
		names[i] = s
	}
	sc := scope{js.ValueOf(names), js.ValueOf(mode.String()), js.ValueOf(map[string]any{"durability": durability})}
	if db.scopes == nil {
		db.scopes = map[string]scope{}
	}
	db.scopes[key] = sc
	return sc
}

// Begin starts a transaction over the named stores, with the durability
// set by SetStrictDurability.
func (db *DB) Begin(mode Mode, stores ...string) (*Tx, error) {
	if db.closed.Load() {
		return nil, errs.ErrClosed
	}
	sc := db.scope(mode, stores)
	t := &Tx{stores: make(map[string]js.Value, len(stores)), done: make(chan struct{})}
	t.id = settler(func(what int) {
		defer db.active.Done()
		db.txMu.Lock()
		delete(db.txs, t)
		db.txMu.Unlock()
		switch what {
		case 1: // abort
			// The request that failed, when one did (the bridge aborts
			// with abort(), which leaves the transaction's error null).
			cause := jsutil.ToError(t.v.Get("atelierRequestError"))
			if cause == nil {
				cause = jsutil.ToError(t.v.Get("error"))
			}
			if cause == nil {
				t.err = ErrAborted
			} else {
				t.err = &TxError{Err: cause}
			}
		case 3: // committed, but a request had failed
			t.err = &TxError{Err: jsutil.ToError(t.v.Get("atelierRequestError")), Committed: true}
		}
		dropSettlers(t.reqs)
		close(t.done)
	})
	tj, err := txJS()
	if err != nil {
		dropSettlers([]int{t.id})
		return nil, err
	}
	db.active.Add(1)
	err = jsutil.Try(func() { t.v = tj.Call("begin", db.v, sc.stores, sc.mode, sc.opts, t.id) })
	if err == nil {
		db.txMu.Lock()
		if db.txs == nil {
			db.txs = map[*Tx]struct{}{}
		}
		db.txs[t] = struct{}{}
		db.txMu.Unlock()
	}
	if err != nil {
		dropSettlers([]int{t.id})
		db.active.Done()
		if errors.Is(err, jsutil.Named("InvalidStateError")) {
			return nil, fmt.Errorf("%w (%v)", errs.ErrClosed, err)
		}
		return nil, err
	}
	return t, nil
}

func (t *Tx) store(name string) (js.Value, error) {
	if s, ok := t.stores[name]; ok {
		return s, nil
	}
	var s js.Value
	if err := jsutil.Try(func() { s = t.v.Call("objectStore", name) }); err != nil {
		return js.Value{}, t.requestErr(err)
	}
	t.stores[name] = s
	return s, nil
}

// source is a store, or one of its indexes when index is not empty.
func (t *Tx) source(store, index string) (js.Value, error) {
	s, err := t.store(store)
	if err != nil || index == "" {
		return s, err
	}
	var ix js.Value
	if err := jsutil.Try(func() { ix = s.Call("index", index) }); err != nil {
		return js.Value{}, t.requestErr(err)
	}
	return ix, nil
}

// requestErr explains an exception thrown when issuing a request: after the
// transaction finished, the reason it finished is the useful error.
func (t *Tx) requestErr(err error) error {
	select {
	case <-t.done:
		if t.err != nil {
			return t.err
		}
		return fmt.Errorf("transaction already committed: %w", err)
	default:
		return err
	}
}

func (t *Tx) call(store, index, method string, args ...any) (Request, error) {
	src, err := t.source(store, index)
	if err != nil {
		return Request{}, err
	}
	for i, a := range args {
		if q, ok := a.(KeyQuery); ok {
			if args[i], err = q.value(); err != nil {
				return Request{}, err
			}
		}
	}
	var r js.Value
	if err := jsutil.Try(func() { r = src.Call(method, args...) }); err != nil {
		return Request{}, t.requestErr(err)
	}
	return Request{v: r, t: t}, nil
}

// Issue calls fn with the object store, for issuing many requests in one
// call into JavaScript. An exception thrown in fn, or fn's error, is
// returned; after the transaction finished, the reason it finished is.
func (t *Tx) Issue(store string, fn func(s js.Value) error) error {
	s, err := t.store(store)
	if err != nil {
		return err
	}
	var fnErr error
	if err := jsutil.Try(func() { fnErr = fn(s) }); err != nil {
		return t.requestErr(err)
	}
	if fnErr != nil {
		return t.requestErr(fnErr)
	}
	return nil
}

// Put stores value (the key comes from the store's key path).
func (t *Tx) Put(store string, value js.Value) error {
	_, err := t.call(store, "", "put", value)
	return err
}

// Add stores value, which must have a key that is not in the store yet;
// otherwise the transaction fails with a ConstraintError.
func (t *Tx) Add(store string, value js.Value) error {
	_, err := t.call(store, "", "add", value)
	return err
}

// PutKey stores value under key, for stores with out-of-line keys.
func (t *Tx) PutKey(store string, key any, value js.Value) error {
	_, err := t.call(store, "", "put", value, key)
	return err
}

// Delete deletes the record with the given key (or all keys in a KeyRange).
func (t *Tx) Delete(store string, key any) error {
	_, err := t.call(store, "", "delete", key)
	return err
}

// Get requests the record with the given key.
func (t *Tx) Get(store string, key any) (Request, error) {
	return t.call(store, "", "get", key)
}

// GetAll requests all records of a store, or of an index when index is not
// empty, matching query (a key, a KeyQuery, a key range, or nil for all).
func (t *Tx) GetAll(store, index string, query any) (Request, error) {
	if query == nil {
		return t.call(store, index, "getAll")
	}
	return t.call(store, index, "getAll", query)
}

// GetAllKeys is like GetAll but yields primary keys only.
func (t *Tx) GetAllKeys(store, index string, query any) (Request, error) {
	if query == nil {
		return t.call(store, index, "getAllKeys")
	}
	return t.call(store, index, "getAllKeys", query)
}

// Count requests the number of records matching query (nil for all).
func (t *Tx) Count(store, index string, query any) (Request, error) {
	if query == nil {
		return t.call(store, index, "count")
	}
	return t.call(store, index, "count", query)
}

// Commit asks the browser to commit as soon as every request issued so
// far has succeeded, instead of waiting for the transaction to go idle
// (and to abort it if one failed: see commitWhenDone in the bridge for why
// not at once). Wait reports the outcome.
func (t *Tx) Commit() {
	tj, err := txJS()
	if err != nil {
		return // no transaction began without it
	}
	_ = jsutil.Try(func() { tj.Call("commit", t.v) })
}

// Abort rolls the transaction back. Aborting a finished transaction does
// nothing.
func (t *Tx) Abort() {
	_ = jsutil.Try(func() { t.v.Call("abort") })
}

// Value returns the IDBTransaction.
func (t *Tx) Value() js.Value { return t.v }

// Durability returns the durability the transaction was created with.
func (t *Tx) Durability() string { return t.v.Get("durability").String() }

// Failed reports whether the transaction has failed, including while it
// is still aborting: requests fail with AbortError before the abort event
// arrives, and the request error that caused it is recorded by then.
func (t *Tx) Failed() bool {
	select {
	case <-t.done:
		return t.err != nil
	default:
	}
	failed := false
	_ = jsutil.Try(func() {
		failed = !t.v.Get("error").IsNull() || t.v.Get("atelierRequestError").Truthy()
	})
	return failed
}

// Done is closed when the transaction has committed or aborted.
func (t *Tx) Done() <-chan struct{} { return t.done }

// Wait waits until the transaction finishes and returns nil if it
// committed, or why it aborted. If ctx ends first it returns ctx.Err()
// and the transaction goes on.
func (t *Tx) Wait(ctx context.Context) error {
	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Request is a pending IndexedDB request.
type Request struct {
	v js.Value
	t *Tx
}

// Await waits for the request and returns its result. Requests of one
// transaction complete in the order they were issued, so after awaiting a
// request the results of all earlier ones are available through Result.
func (r Request) Await(ctx context.Context) (js.Value, error) {
	ch := make(chan struct{}, 1)
	id := settler(func(int) { ch <- struct{}{} })
	tj, err := txJS()
	if err != nil {
		dropSettlers([]int{id})
		return js.Undefined(), err
	}
	var isDone bool
	if err := jsutil.Try(func() { isDone = tj.Call("await", r.v, id).Bool() }); err != nil {
		dropSettlers([]int{id})
		return js.Undefined(), err
	}
	if isDone {
		dropSettlers([]int{id})
		return r.Result()
	}
	r.t.reqs = append(r.t.reqs, id)
	select {
	case <-ch:
		return r.Result()
	case <-r.t.done:
		// The transaction finished; the request either completed just
		// before it (its event is queued behind ours) or never will.
		if r.v.Get("readyState").String() == "done" {
			return r.Result()
		}
		if r.t.err != nil {
			return js.Undefined(), r.t.err
		}
		return js.Undefined(), errors.New("transaction finished before the request completed")
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// Result returns the result of a completed request, or its error.
func (r Request) Result() (js.Value, error) {
	var v js.Value
	var reqErr error
	err := jsutil.Try(func() {
		if e := r.v.Get("error"); !e.IsNull() {
			reqErr = jsutil.ToError(e)
			return
		}
		v = r.v.Get("result")
	})
	if err != nil {
		return js.Undefined(), err
	}
	return v, reqErr
}

// KeyRange returns IDBKeyRange.bound(lower, upper).
func KeyRange(lower, upper any) (v js.Value, err error) {
	err = jsutil.Try(func() { v = js.Global().Get("IDBKeyRange").Call("bound", lower, upper) })
	return v, err
}
