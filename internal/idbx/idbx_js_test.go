//go:build js && wasm

package idbx

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsutil"
)

func open(t *testing.T, version int, h Hooks) (*DB, string) {
	t.Helper()
	name := fmt.Sprintf("idbx-%s-%d", t.Name(), time.Now().UnixNano())
	if h.Upgrade == nil {
		h.Upgrade = func(u *Upgrade) error { return u.CreateStore("s", "id", false) }
	}
	db, err := Open(context.Background(), name, version, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := Delete(ctx, name, nil); err != nil {
			t.Error(err)
		}
	})
	return db, name
}

func obj(id string, n int) js.Value {
	return js.ValueOf(map[string]any{"id": id, "n": n})
}

func TestPutGetAllInOrder(t *testing.T) {
	db, _ := open(t, 1, Hooks{})
	tx, err := db.Begin(ReadWrite, "s")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := tx.Put("s", obj(fmt.Sprintf("k%03d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	// Issue several reads, await only the last: the earlier ones are done.
	g1, _ := tx.Get("s", "k007")
	cnt, _ := tx.Count("s", "", nil)
	all, _ := tx.GetAll("s", "", nil)
	if _, err := all.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	v1, err := g1.Result()
	if err != nil || v1.Get("n").Int() != 7 {
		t.Fatalf("get: %v, %v", v1, err)
	}
	if c, _ := cnt.Result(); c.Int() != 100 {
		t.Fatalf("count %v", c)
	}
	tx.Commit()
	if err := tx.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A finished transaction refuses requests with an error, not a panic.
	if err := tx.Put("s", obj("late", 0)); err == nil {
		t.Fatal("put after commit succeeded")
	}
}

// putCommitted stores v in store "s" in a transaction of its own.
func putCommitted(t *testing.T, db *DB, v js.Value) {
	t.Helper()
	tx, _ := db.Begin(ReadWrite, "s")
	_ = tx.Put("s", v)
	tx.Commit()
	if err := tx.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAddConflictAbortsTransaction(t *testing.T) {
	db, _ := open(t, 1, Hooks{})
	putCommitted(t, db, obj("a", 1))
	tx, _ := db.Begin(ReadWrite, "s")
	_ = tx.Put("s", obj("b", 2))
	_ = tx.Add("s", obj("a", 3))
	tx.Commit()
	err := tx.Wait(context.Background())
	var te *TxError
	if !errors.Is(err, jsutil.Named("ConstraintError")) || !errors.Is(err, errs.ErrWriteFailed) ||
		!errors.As(err, &te) || te.Committed {
		t.Fatalf("add of an existing key: %v", err)
	}
	// Nothing of the aborted transaction remains.
	tx, _ = db.Begin(ReadOnly, "s")
	r, _ := tx.Count("s", "", nil)
	c, err := r.Await(context.Background())
	if err != nil || c.Int() != 1 {
		t.Fatalf("count after abort = %v, %v", c, err)
	}
}

// TestFailedRequestThenComplete: a request fails and nothing in the
// browser aborts the transaction for it, as WebKit does not when it
// refuses a Blob after an explicit commit. Here the request's own handler
// prevents the default (the abort): the write must still fail, and its
// error must say whether the rest of it was stored.
func TestFailedRequestThenComplete(t *testing.T) {
	db, _ := open(t, 1, Hooks{})
	putCommitted(t, db, obj("a", 1))
	prevent := js.FuncOf(func(_ js.Value, args []js.Value) any {
		args[0].Call("preventDefault")
		return nil
	})
	defer prevent.Release()
	tx, _ := db.Begin(ReadWrite, "s")
	_ = tx.Put("s", obj("b", 2))
	err := tx.Issue("s", func(s js.Value) error {
		s.Call("add", obj("a", 3)).Set("onerror", prevent)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	err = tx.Wait(context.Background())
	var te *TxError
	if !errors.As(err, &te) || !errors.Is(err, errs.ErrWriteFailed) || !errors.Is(err, jsutil.Named("ConstraintError")) {
		t.Fatalf("Wait after a failed add = %v, want a *TxError wrapping the ConstraintError", err)
	}
	t.Logf("%v (committed: %v)", err, te.Committed)

	tx, _ = db.Begin(ReadOnly, "s")
	ra, _ := tx.Get("s", "a")
	rb, _ := tx.Get("s", "b")
	if _, err := rb.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, _ := ra.Result()
	b, _ := rb.Result()
	if a.IsUndefined() || a.Get("n").Int() != 1 {
		t.Errorf("the existing record changed: %v", a)
	}
	if stored := !b.IsUndefined(); stored != te.Committed {
		t.Errorf("the other write stored = %v, but the error says committed = %v", stored, te.Committed)
	}
}

// TestFailureAmongManyRequests: one add fails among thousands of puts in
// a transaction committed explicitly. Firefox 153 stored the puts when the
// commit was asked for at once; nothing of the transaction may remain.
func TestFailureAmongManyRequests(t *testing.T) {
	db, _ := open(t, 1, Hooks{})
	putCommitted(t, db, obj("a", 1))
	tx, _ := db.Begin(ReadWrite, "s")
	for i := 0; i < 2000; i++ {
		if i == 1500 {
			_ = tx.Add("s", obj("a", 2))
		}
		if err := tx.Put("s", obj(fmt.Sprintf("m%04d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	tx.Commit()
	err := tx.Wait(context.Background())
	var te *TxError
	if !errors.As(err, &te) || te.Committed || !errors.Is(err, jsutil.Named("ConstraintError")) {
		t.Fatalf("Wait = %v, want a *TxError of the ConstraintError, not committed", err)
	}
	tx, _ = db.Begin(ReadOnly, "s")
	r, _ := tx.Count("s", "", nil)
	c, err := r.Await(context.Background())
	if err != nil || c.Int() != 1 {
		t.Fatalf("%v records after the failed transaction (%v), want 1", c, err)
	}
}

func TestAbortReportsAborted(t *testing.T) {
	db, _ := open(t, 1, Hooks{})
	tx, _ := db.Begin(ReadWrite, "s")
	_ = tx.Put("s", obj("a", 1))
	tx.Abort()
	if err := tx.Wait(context.Background()); !errors.Is(err, ErrAborted) {
		t.Fatalf("Wait after Abort = %v", err)
	}
	tx.Abort() // harmless
}

func TestBeginAfterClose(t *testing.T) {
	db, _ := open(t, 1, Hooks{})
	db.Close()
	if _, err := db.Begin(ReadOnly, "s"); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Begin after Close = %v", err)
	}
	if _, err := (&DB{v: db.v}).Begin(ReadOnly, "s"); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Begin on a connection the browser closed = %v", err)
	}
}

func TestUpgradeErrorAndPanicAbort(t *testing.T) {
	first, name := open(t, 1, Hooks{})
	first.Close() // or the upgrades below would wait for it
	boom := errors.New("boom")
	for _, up := range []func(*Upgrade) error{
		func(u *Upgrade) error { _ = u.CreateStore("t", "", false); return boom },
		func(u *Upgrade) error { panic("structural step panicked") },
		func(u *Upgrade) error { return u.CreateIndex("missing", "i", "x", false, false) },
	} {
		_, err := Open(context.Background(), name, 2, Hooks{Upgrade: up})
		if err == nil {
			t.Fatal("failed upgrade opened")
		}
	}
	// Still version 1 with only store s.
	db, err := Open(context.Background(), name, 1, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Version() != 1 || len(db.StoreNames()) != 1 {
		t.Fatalf("after failed upgrades: version %d, stores %v", db.Version(), db.StoreNames())
	}
}

func TestDeleteWaitsForBlockers(t *testing.T) {
	db, name := open(t, 1, Hooks{VersionChange: func(int, int) {}}) // ignores the request
	blocked := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- Delete(context.Background(), name, func() { blocked <- struct{}{} })
	}()
	select {
	case <-blocked:
	case <-time.After(5 * time.Second):
		t.Fatal("blocked not reported")
	}
	db.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("delete did not finish after the blocker closed")
	}
}

func TestOpenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	name := fmt.Sprintf("idbx-cancel-%d", time.Now().UnixNano())
	if _, err := Open(ctx, name, 1, Hooks{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context = %v", err)
	}
	// The abandoned open closes what it got: deleting is not blocked.
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if err := Delete(dctx, name, func() { t.Error("delete blocked by an abandoned open") }); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWaitOutlivesTransactions: CloseWait returns only after the
// transactions started on the connection have finished, so no browser
// callback is left pointing at Go code that may be gone.
func TestCloseWaitOutlivesTransactions(t *testing.T) {
	db, _ := open(t, 1, Hooks{})
	var txs []*Tx
	for i := 0; i < 3; i++ {
		tx, err := db.Begin(ReadOnly, "s")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Get("s", "nothing"); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	db.CloseWait()
	for i, tx := range txs {
		select {
		case <-tx.Done():
		default:
			t.Fatalf("transaction %d still running after CloseWait", i)
		}
	}
}

// TestOpenExisting: version 0 opens a database at the version it has,
// without upgrading it, and fails with ErrNotFound when there is none,
// leaving none behind: its owner's first Open still starts from version 0.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	owner, name := open(t, 2, Hooks{})
	second, err := Open(ctx, name, 0, Hooks{Upgrade: func(*Upgrade) error {
		t.Error("Upgrade called for an open without a version")
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if second.Version() != 2 || len(second.StoreNames()) != 1 {
		t.Fatalf("version %d, stores %v", second.Version(), second.StoreNames())
	}
	second.Close()
	owner.Close()

	missing := fmt.Sprintf("idbx-missing-%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = Delete(context.Background(), missing, nil) })
	for i := 0; i < 2; i++ {
		if _, err := Open(ctx, missing, -1, Hooks{}); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("Open of a missing database without a version = %v, want ErrNotFound", err)
		}
	}
	from := -1
	db, err := Open(ctx, missing, 1, Hooks{Upgrade: func(u *Upgrade) error {
		from = u.OldVersion
		return u.CreateStore("s", "id", false)
	}})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if from != 0 {
		t.Fatalf("the owner's upgrade started from version %d, want 0: the failed open left a database", from)
	}
}
