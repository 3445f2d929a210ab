//go:build js && wasm

package fsx

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// storageManager returns navigator.storage, or undefined where the browser
// lacks it or refuses it to this context.
func storageManager() js.Value {
	var s js.Value
	if err := jsutil.Try(func() { s = js.Global().Get("navigator").Get("storage") }); err != nil || !s.Truthy() {
		return js.Undefined()
	}
	return s
}

// HasStorage reports whether the StorageManager (navigator.storage) is
// available: it is in secure contexts of every current browser.
func HasStorage() bool { return !storageManager().IsUndefined() }

// Estimate asks navigator.storage.estimate() for the bytes the origin uses
// and may use; a figure the browser does not report is 0. It fails with
// an error matching errs.ErrUnsupported where the method is missing.
func Estimate(ctx context.Context) (usage, quota int64, err error) {
	s := storageManager()
	if s.IsUndefined() || s.Get("estimate").Type() != js.TypeFunction {
		return 0, 0, fmt.Errorf("storage estimate: %w", unsupported("navigator.storage.estimate"))
	}
	est, err := callAsync(ctx, s, "estimate")
	if err != nil {
		return 0, 0, err
	}
	num := func(k string) int64 {
		if v := est.Get(k); v.Type() == js.TypeNumber {
			return int64(v.Float())
		}
		return 0 // not reported
	}
	return num("usage"), num("quota"), nil
}

// Persisted reports whether the origin's storage is persistent
// (navigator.storage.persisted()). It fails with an error matching
// errs.ErrUnsupported where the method is missing.
func Persisted(ctx context.Context) (bool, error) {
	return askStorage(ctx, "persisted")
}

// Persist asks the browser to make the origin's storage persistent
// (navigator.storage.persist(); a browser may ask the user) and reports
// whether it is. It fails with an error matching errs.ErrUnsupported
// where the method is missing.
func Persist(ctx context.Context) (bool, error) {
	return askStorage(ctx, "persist")
}

func askStorage(ctx context.Context, method string) (bool, error) {
	s := storageManager()
	if s.IsUndefined() || s.Get(method).Type() != js.TypeFunction {
		return false, fmt.Errorf("persistent storage: %w", unsupported("navigator.storage."+method))
	}
	v, err := callAsync(ctx, s, method)
	if err != nil {
		return false, err
	}
	return v.Truthy(), nil
}

// FolderPickerSupported reports whether the page can ask the user for a
// folder (window.showDirectoryPicker, Chromium-based browsers only).
func FolderPickerSupported() bool {
	var ok bool
	_ = jsutil.Try(func() { ok = js.Global().Get("showDirectoryPicker").Type() == js.TypeFunction })
	return ok
}
