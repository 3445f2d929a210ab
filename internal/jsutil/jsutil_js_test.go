//go:build js && wasm

package jsutil

import (
	"context"
	"errors"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
)

// eval builds a function from JavaScript source, for tests only.
func eval(src string) js.Value { return js.Global().Get("Function").New(src).Invoke() }

func TestAwaitResolves(t *testing.T) {
	v, err := Await(context.Background(), eval(`return Promise.resolve(42)`))
	if err != nil || v.Int() != 42 {
		t.Fatalf("Await = %v, %v", v, err)
	}
}

func TestAwaitRejections(t *testing.T) {
	for _, tc := range []struct {
		src, name, msg string
	}{
		{`return Promise.reject(new TypeError("bad type"))`, "TypeError", "bad type"},
		{`return Promise.reject(new DOMException("full", "QuotaExceededError"))`, "QuotaExceededError", "full"},
		{`return Promise.reject("plain string")`, "Error", "plain string"},
		{`return Promise.reject(undefined)`, "Error", "promise rejected without a reason"},
	} {
		_, err := Await(context.Background(), eval(tc.src))
		var e *Error
		if !errors.As(err, &e) || e.Name != tc.name || e.Message != tc.msg {
			t.Errorf("%s: got %#v", tc.src, err)
		}
	}
	_, err := Await(context.Background(), eval(`return Promise.reject(new DOMException("x", "QuotaExceededError"))`))
	if !errors.Is(err, errs.ErrQuotaExceeded) || !errors.Is(err, Named("QuotaExceededError")) {
		t.Fatalf("quota error does not match its sentinel: %v", err)
	}
	if errors.Is(err, errs.ErrNotFound) {
		t.Fatal("quota error matches ErrNotFound")
	}
}

// TestAwaitCancel: a cancelled wait returns at once; when the promise
// settles later, the released callbacks are not called (that would panic)
// and nothing is delivered to anyone.
func TestAwaitCancel(t *testing.T) {
	p := eval(`let resolve; const p = new Promise(r => resolve = r); p.resolveLater = () => resolve("late"); return p`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Await(ctx, p)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Await did not return on cancel")
	}
	p.Call("resolveLater")
	// Give the promise job a chance to run; a call into a released
	// function would crash the test binary here.
	time.Sleep(20 * time.Millisecond)

	if _, err := Await(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await with a done context: %v", err)
	}
}

func TestAwaitNotAPromise(t *testing.T) {
	if _, err := Await(context.Background(), js.ValueOf(3)); err == nil {
		t.Fatal("awaiting a number succeeded")
	}
}

func TestTryAndRecover(t *testing.T) {
	thrower := eval(`return () => { throw new RangeError("out of range") }`)
	err := Try(func() { thrower.Invoke() })
	var e *Error
	if !errors.As(err, &e) || e.Name != "RangeError" || e.Message != "out of range" {
		t.Fatalf("Try = %#v", err)
	}
	if err := Try(func() {}); err != nil {
		t.Fatalf("Try of a quiet function = %v", err)
	}
	err = Try(func() { panic("go panic") })
	if err == nil || err.Error() != "panic: go panic" {
		t.Fatalf("Go panic: %v", err)
	}
	boom := errors.New("boom")
	if err := Try(func() { panic(boom) }); !errors.Is(err, boom) {
		t.Fatalf("panic(error) lost its error: %v", err)
	}
}

func TestBytes(t *testing.T) {
	in := []byte{0, 1, 2, 250, 255}
	a := Uint8Array(in)
	if a.Get("byteLength").Int() != len(in) || a.Get("buffer").Get("byteLength").Int() != len(in) {
		t.Fatal("Uint8Array is not a buffer of its own")
	}
	in[0] = 9 // the JS copy must not alias Go memory
	got, err := Bytes(a)
	if err != nil || string(got) != string([]byte{0, 1, 2, 250, 255}) {
		t.Fatalf("Bytes = %v, %v", got, err)
	}
	got, err = Bytes(a.Get("buffer"))
	if err != nil || len(got) != 5 {
		t.Fatalf("Bytes(ArrayBuffer) = %v, %v", got, err)
	}
	if _, err := Bytes(js.ValueOf("text")); err == nil {
		t.Fatal("Bytes of a string succeeded")
	}
	empty := Uint8Array(nil)
	if got, err := Bytes(empty); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v, %v", got, err)
	}
}

func TestToError(t *testing.T) {
	if ToError(js.Null()) != nil || ToError(js.Undefined()) != nil {
		t.Fatal("null/undefined are not errors")
	}
	err := ToError(eval(`return new DOMException("gone", "NotFoundError")`))
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("NotFoundError: %v", err)
	}
	if err := ToError(js.ValueOf(7)); err == nil || err.Error() != "Error: 7" {
		t.Fatalf("number: %v", err)
	}
}

// TestFuture: a Wait cut short by its context leaves the promise watched,
// a later Wait gets its outcome, and every Wait after that the same one.
func TestFuture(t *testing.T) {
	p := eval(`let resolve; const p = new Promise(r => resolve = r); p.resolveNow = () => resolve(7); return p`)
	f := Watch(p)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Wait(done); !errors.Is(err, context.Canceled) || f.Settled() {
		t.Fatalf("Wait with a done context: %v, settled %v", err, f.Settled())
	}
	p.Call("resolveNow")
	for range 2 {
		v, err := f.Wait(context.Background())
		if err != nil || v.Int() != 7 || !f.Settled() {
			t.Fatalf("Wait = %v, %v, settled %v", v, err, f.Settled())
		}
	}
	boom := errors.New("boom")
	if f := Failed(boom); !f.Settled() {
		t.Fatal("a failed Future is not settled")
	} else if _, err := f.Wait(done); err != boom {
		t.Fatalf("Failed(boom).Wait = %v", err)
	}
	if _, err := Watch(js.ValueOf(3)).Wait(context.Background()); err == nil {
		t.Fatal("watching a number succeeded")
	}
}
