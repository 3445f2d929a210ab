//go:build js && wasm

package fsx

import (
	"testing"

	"github.com/atelierstore/atelier/assetref"
)

type otherFolder struct{}

func (otherFolder) Name() string { return "elsewhere" }

// TestDirOf: a Dir crosses the public API as an assetref.Folder and comes
// back as itself; other Folders, and none, are no Dir.
func TestDirOf(t *testing.T) {
	d := testDir(t)
	var f assetref.Folder = d
	if f.Name() != d.Name() || f.Name() == "" {
		t.Fatalf("Folder name %q, Dir name %q", f.Name(), d.Name())
	}
	if got, ok := DirOf(f); !ok || got != d {
		t.Fatalf("DirOf(a Dir) = %v, %v", got, ok)
	}
	for _, f := range []assetref.Folder{nil, otherFolder{}, (*Dir)(nil)} {
		if got, ok := DirOf(f); ok || got != nil {
			t.Errorf("DirOf(%#v) = %v, %v, want nothing", f, got, ok)
		}
	}
}
