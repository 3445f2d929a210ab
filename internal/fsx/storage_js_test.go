//go:build js && wasm

package fsx

import (
	"errors"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/internal/errs"
)

func TestStorageManager(t *testing.T) {
	if !HasStorage() {
		t.Fatal("no navigator.storage on a secure page")
	}
	usage, quota, err := Estimate(t.Context())
	if err != nil || quota <= 0 || usage < 0 {
		t.Fatalf("Estimate = %d, %d, %v", usage, quota, err)
	}
	if _, err := Persisted(t.Context()); err != nil {
		t.Fatalf("Persisted: %v", err)
	}
	patch(t, "StorageManager", "estimate", js.Undefined())
	patch(t, "StorageManager", "persisted", js.Undefined())
	if _, _, err := Estimate(t.Context()); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("Estimate without the method = %v", err)
	}
	if _, err := Persisted(t.Context()); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("Persisted without the method = %v", err)
	}
}
