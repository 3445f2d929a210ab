//go:build js && wasm

package fsx

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"syscall/js"
	"testing"
)

// lockState returns the held and pending requests for name, as
// navigator.locks.query() reports them: one mode letter per request.
func lockState(t *testing.T, name string) (held, pending string) {
	t.Helper()
	q := await(t, `return navigator.locks.query()`)
	list := func(v js.Value) string {
		var b strings.Builder
		for i := range v.Length() {
			if v.Index(i).Get("name").String() == name {
				b.WriteByte(v.Index(i).Get("mode").String()[0])
			}
		}
		return b.String()
	}
	return list(q.Get("held")), list(q.Get("pending"))
}

// waitPending yields until name has n pending requests. It does not time
// out: the test's own deadline does.
func waitPending(t *testing.T, name string, n int) {
	t.Helper()
	for {
		if _, p := lockState(t, name); len(p) == n {
			return
		}
		runtime.Gosched()
	}
}

func TestLockExclusive(t *testing.T) {
	name := "fsx-test:" + t.Name()
	ctx := t.Context()
	release, err := Lock(ctx, name, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		r, err := Lock(ctx, name, Exclusive)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	waitPending(t, name, 1)
	if h, _ := lockState(t, name); h != "e" {
		t.Fatalf("held = %q, want one exclusive", h)
	}
	select {
	case <-got:
		t.Fatal("a second exclusive lock was granted while the first is held")
	default:
	}
	release()
	release() // twice is harmless
	r2 := <-got
	if h, p := lockState(t, name); h != "e" || p != "" {
		t.Fatalf("after handing over: held %q, pending %q", h, p)
	}
	r2()
	await(t, `return new Promise(r => setTimeout(r, 0))`)
	if h, p := lockState(t, name); h != "" || p != "" {
		t.Fatalf("after release: held %q, pending %q", h, p)
	}
}

func TestLockShared(t *testing.T) {
	name := "fsx-test:" + t.Name()
	ctx := t.Context()
	r1, err := Lock(ctx, name, Shared)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Lock(ctx, name, Shared)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := lockState(t, name); h != "ss" {
		t.Fatalf("held = %q, want two shared", h)
	}
	got := make(chan func(), 1)
	go func() {
		r, err := Lock(ctx, name, Exclusive)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	waitPending(t, name, 1)
	r1()
	r2()
	(<-got)()
}

func TestLockCancelWhileWaiting(t *testing.T) {
	name := "fsx-test:" + t.Name()
	release, err := Lock(t.Context(), name, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		r, err := Lock(ctx, name, Exclusive)
		if err == nil {
			r()
		}
		done <- err
	}()
	waitPending(t, name, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Lock = %v", err)
	}
	await(t, `return new Promise(r => setTimeout(r, 0))`)
	if h, p := lockState(t, name); h != "e" || p != "" {
		t.Fatalf("after withdrawing: held %q, pending %q", h, p)
	}
	release()
	// The withdrawn request never takes the lock.
	r, err := Lock(t.Context(), name, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	r()
	if _, err := Lock(ctx, name, Exclusive); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a done context = %v", err)
	}
}

// TestTryLock: granted at once or not at all, never queued; a release
// (twice is harmless) frees the lock for the next TryLock.
func TestTryLock(t *testing.T) {
	name := "fsx-test:" + t.Name()
	ctx := t.Context()
	shared, err := Lock(ctx, name, Shared)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok, err := TryLock(ctx, name, Exclusive); err != nil || ok {
		t.Fatalf("TryLock(Exclusive) while shared: ok %v, %v", ok, err)
		r()
	}
	r, ok, err := TryLock(ctx, name, Shared)
	if err != nil || !ok {
		t.Fatalf("TryLock(Shared) while shared: ok %v, %v", ok, err)
	}
	if h, p := lockState(t, name); h != "ss" || p != "" {
		t.Fatalf("held %q, pending %q; want two shared, none pending", h, p)
	}
	r()
	shared()
	await(t, `return new Promise(r => setTimeout(r, 0))`) // the browser frees locks a task later
	r, ok, err = TryLock(ctx, name, Exclusive)
	if err != nil || !ok {
		t.Fatalf("TryLock(Exclusive) of a free lock: ok %v, %v", ok, err)
	}
	if h, _ := lockState(t, name); h != "e" {
		t.Fatalf("held %q, want one exclusive", h)
	}
	r()
	r()
	await(t, `return new Promise(r => setTimeout(r, 0))`)
	if h, p := lockState(t, name); h != "" || p != "" {
		t.Fatalf("after release: held %q, pending %q", h, p)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := TryLock(done, name, Exclusive); !errors.Is(err, context.Canceled) {
		t.Fatalf("TryLock with a done context = %v", err)
	}
}
