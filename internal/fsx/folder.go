//go:build js && wasm

package fsx

import "github.com/atelierstore/atelier/assetref"

// A Dir is the assetref.Folder of a folder the user picked: the public
// packages take and give folders as that type, and the library unwraps
// them with DirOf.
var _ assetref.Folder = (*Dir)(nil)

// DirOf returns the directory behind f when it is one (a *Dir); ok is
// false for a nil f and for other implementations of assetref.Folder,
// which name no directory the browser holds.
func DirOf(f assetref.Folder) (d *Dir, ok bool) {
	d, ok = f.(*Dir)
	if !ok || d == nil {
		return nil, false
	}
	return d, true
}
