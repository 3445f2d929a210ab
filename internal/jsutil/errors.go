//go:build js && wasm

package jsutil

import (
	"errors"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
)

// Error is a JavaScript exception or DOMException seen from Go.
//
// errors.Is matches it against another *Error with the same Name, and
// against the atelier sentinels it stands for: QuotaExceededError is
// errs.ErrQuotaExceeded, NotFoundError is errs.ErrNotFound.
type Error struct {
	Name    string // e.g. "QuotaExceededError", "TypeError"
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// Is reports whether target is an *Error with the same name or the
// atelier sentinel for this name.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Name == e.Name
	}
	switch e.Name {
	case "QuotaExceededError":
		return target == errs.ErrQuotaExceeded
	case "NotFoundError":
		return target == errs.ErrNotFound
	}
	return false
}

// Named returns an *Error with only a name, for errors.Is comparisons.
func Named(name string) error { return &Error{Name: name} }

// ToError converts a thrown or rejected JavaScript value to a Go error.
// Error objects and DOMExceptions keep their name and message; other values
// are described by String(). A null or undefined value gives nil.
func ToError(v js.Value) error {
	switch v.Type() {
	case js.TypeNull, js.TypeUndefined:
		return nil
	case js.TypeObject, js.TypeFunction:
		name, msg := v.Get("name"), v.Get("message")
		if name.Type() == js.TypeString {
			e := &Error{Name: name.String()}
			if msg.Type() == js.TypeString {
				e.Message = msg.String()
			}
			return e
		}
	}
	return &Error{Name: "Error", Message: js.Global().Get("String").Invoke(v).String()}
}

// Try runs fn and turns a panic into an error: a js.Error thrown by a
// syscall/js call becomes an *Error, anything else an error describing the
// panic. Use it around calls that may throw, such as methods on a closed
// IndexedDB connection.
func Try(fn func()) (err error) {
	defer Recover(&err)
	fn()
	return nil
}

// Recover, deferred, turns a panic into an error stored in *errp. It is the
// last line of defence for goroutines started on behalf of JavaScript: a
// panic there would otherwise stop the whole wasm module.
func Recover(errp *error) {
	r := recover()
	if r == nil {
		return
	}
	*errp = PanicError(r)
}

// PanicError converts a recovered panic value to an error.
func PanicError(r any) error {
	switch v := r.(type) {
	case js.Error:
		return ToError(v.Value)
	case error:
		return fmt.Errorf("panic: %w", v)
	default:
		return fmt.Errorf("panic: %v", v)
	}
}
