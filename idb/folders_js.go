//go:build js && wasm

package idb

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Folder is a folder the user picked (File System Access), persisted so
// that the assets kept in it stay reachable after a reload. The browser
// stores the directory handle itself; permission to use it may have to be
// asked for again in a later session.
type Folder struct {
	Key       string   // the key in fs-handle refs to the folder's assets
	Name      string   // the folder's name, for the app to show
	Dir       *fsx.Dir // the directory handle
	CreatedAt int64    // ms since the Unix epoch
}

// PutFolder persists a folder handle under f.Key (replacing one with the
// same key).
func (d *DB) PutFolder(ctx context.Context, f Folder) error {
	if f.Key == "" || f.Dir == nil {
		return &errs.ValidationError{Entity: "folder", Field: "key", Reason: "a folder needs a key and a directory"}
	}
	return d.Update(ctx, func(t *Tx) error {
		var v js.Value
		err := jsutil.Try(func() {
			v = js.ValueOf(map[string]any{"id": f.Key, "name": f.Name, "created": float64(t.now)})
			v.Set("handle", f.Dir.JSValue())
		})
		if err != nil {
			return err
		}
		t.writes++
		return t.tx.Put(storeHandles, v)
	})
}

// Folders returns the persisted folders.
func (d *DB) Folders(ctx context.Context) ([]Folder, error) {
	var out []Folder
	err := d.View(ctx, func(t *Tx) error {
		r, err := t.tx.GetAll(storeHandles, "", nil)
		if err != nil {
			return err
		}
		arr, err := r.Await(t.ctx)
		if err != nil {
			return err
		}
		for i := 0; i < arr.Length(); i++ {
			v := arr.Index(i)
			dir, err := fsx.WrapDir(v.Get("handle"))
			if err != nil {
				return fmt.Errorf("folder %s: %w", v.Get("id").String(), err)
			}
			out = append(out, Folder{Key: v.Get("id").String(), Name: v.Get("name").String(), Dir: dir,
				CreatedAt: int64(v.Get("created").Float())})
		}
		return nil
	})
	return out, err
}

// RemoveFolder forgets a persisted folder; the files in it stay. It fails
// with errs.ErrNotFound when there is no such folder.
func (d *DB) RemoveFolder(ctx context.Context, key string) error {
	return d.Update(ctx, func(t *Tx) error {
		r, err := t.tx.Get(storeHandles, key)
		if err != nil {
			return err
		}
		v, err := r.Await(t.ctx)
		if err != nil {
			return err
		}
		if v.IsUndefined() {
			return fmt.Errorf("folder %s: %w", key, errs.ErrNotFound)
		}
		t.writes++
		return t.tx.Delete(storeHandles, key)
	})
}
