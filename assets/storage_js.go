//go:build js && wasm

package assets

import (
	"context"

	"github.com/atelierstore/atelier/internal/fsx"
)

// What the library reports about the browser's storage.

// Capabilities is what the app can show about storage.
type Capabilities struct {
	Backend      Backend // where new assets go, unless a folder is in use
	Reason       string  // why: what Open found when it tried the stores
	Folder       string  // the key of the folder new assets go to, if any
	OPFS         bool    // the origin private file system is available
	SyncAccess   bool    // the fast OPFS path (a dedicated worker) is in use
	FolderAccess bool    // the browser lets the user pick folders
	Persisted    bool    // storage is persistent (not evicted under pressure)
	Usage, Quota int64   // bytes, as navigator.storage.estimate() reports them

	// IDBValues is how the IndexedDB store keeps asset bytes: "blob", or
	// "bytes" (ArrayBuffers) where the browser refused a Blob, for
	// IDBValuesReason; "" until it was first needed.
	IDBValues, IDBValuesReason string
}

// Capabilities reports the storage situation.
func (l *Library) Capabilities(ctx context.Context) (Capabilities, error) {
	c := Capabilities{Backend: l.backend, Reason: l.why, OPFS: l.primary != nil, SyncAccess: fsx.SyncAccessSupported(),
		FolderAccess: fsx.FolderPickerSupported()}
	if v, ok := l.fallback.(interface{ ChunkValues() (string, error) }); ok {
		var why error
		if c.IDBValues, why = v.ChunkValues(); why != nil {
			c.IDBValuesReason = why.Error()
		}
	}
	l.mu.Lock()
	c.Folder = l.target
	l.mu.Unlock()
	if !fsx.HasStorage() {
		return c, nil
	}
	var err error
	if c.Usage, c.Quota, err = fsx.Estimate(ctx); err != nil {
		return c, err
	}
	if p, err := fsx.Persisted(ctx); err == nil {
		c.Persisted = p
	}
	return c, nil
}

// Persist asks the browser to make this origin's storage persistent, and
// reports whether it is. It fails with errs.ErrUnsupported where the
// browser cannot tell.
func (l *Library) Persist(ctx context.Context) (bool, error) {
	return fsx.Persist(ctx)
}
