//go:build js && wasm

package folders

import (
	"context"
	"fmt"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// storeHandles is the object store of the folders, records {id, name,
// created, handle} under the key path "id". Version 2 of the workflow
// store's schema (package idb, schema.go) creates it: this package never
// creates or upgrades the database, and its tests fail if idb's schema
// stops creating it.
const storeHandles = "handles"

// Folder is a folder the user picked (File System Access), persisted so
// that the assets kept in it stay reachable after a reload. The browser
// stores the directory handle itself; permission to use it may have to be
// asked for again in a later session.
type Folder struct {
	Key       string   // the key in fs-handle refs to the folder's assets
	Name      string   // the folder's name, for the app to show
	Dir       *fsx.Dir // the directory handle
	CreatedAt int64    // ms since the Unix epoch; Put sets it when 0
}

// Store is the list of persisted folders. Its methods are safe for
// concurrent use.
type Store struct{ conn *idbx.Lazy }

// Open opens the folder list in the IndexedDB database called name, on a
// connection of its own, at the version the database has. The workflow
// store (idb.Open) creates and upgrades that database; Open fails with an
// error matching errs.ErrNotFound when there is no such database or it
// has not been upgraded to schema version 2 yet, and with ctx.Err() when
// ctx ends first (another tab's upgrade in progress holds it up).
//
// When another tab upgrades or deletes the database, the store closes its
// connection (so as not to block that tab) and its methods fail with an
// error matching errs.ErrClosed from then on: reload the page.
func Open(ctx context.Context, name string) (*Store, error) {
	s := New(name)
	if _, err := s.conn.Get(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// New is Open without the connection, which the store makes at its first
// use (and fails then, as Open would): most pages never list folders.
func New(name string) *Store { return &Store{conn: idbx.NewLazy(name, "folders", nil, storeHandles)} }

// Close closes the store's connection once the transactions in flight
// have finished; later calls fail with an error matching errs.ErrClosed.
// Close is safe to call more than once and always returns nil.
func (s *Store) Close() error {
	s.conn.Close()
	return nil
}

func (s *Store) begin(ctx context.Context, mode idbx.Mode) (*idbx.Tx, error) {
	return s.conn.Begin(ctx, mode, storeHandles)
}

// Put persists f, replacing the folder with the same key. It fails with
// an error matching errs.ErrInvalid when f has no key or no directory.
func (s *Store) Put(ctx context.Context, f Folder) error {
	if f.Key == "" {
		return &errs.ValidationError{Entity: "folder", Field: "key", Reason: "must not be empty"}
	}
	if f.Dir == nil {
		return &errs.ValidationError{Entity: "folder", ID: f.Key, Field: "dir", Reason: "a folder needs a directory"}
	}
	if f.CreatedAt == 0 {
		f.CreatedAt = time.Now().UnixMilli()
	}
	tx, err := s.begin(ctx, idbx.ReadWrite)
	if err != nil {
		return fmt.Errorf("put folder %s: %w", f.Key, err)
	}
	var v js.Value
	err = jsutil.Try(func() {
		v = js.ValueOf(map[string]any{"id": f.Key, "name": f.Name, "created": float64(f.CreatedAt)})
		v.Set("handle", f.Dir.JSValue())
	})
	if err == nil {
		err = tx.Put(storeHandles, v)
	}
	if err != nil {
		tx.Abort()
		return fmt.Errorf("put folder %s: %w", f.Key, err)
	}
	tx.Commit()
	if err := tx.Wait(ctx); err != nil {
		return fmt.Errorf("put folder %s: %w", f.Key, err)
	}
	return nil
}

// List returns the persisted folders in the order of their keys.
func (s *Store) List(ctx context.Context) ([]Folder, error) {
	tx, err := s.begin(ctx, idbx.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	r, err := tx.GetAll(storeHandles, "", nil)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	arr, err := r.Await(ctx)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	var out []Folder
	var bad error // a record without a directory handle
	err = jsutil.Try(func() {
		out = make([]Folder, 0, arr.Length())
		for i := 0; i < arr.Length() && bad == nil; i++ {
			v := arr.Index(i)
			f := Folder{Key: v.Get("id").String(), Name: v.Get("name").String(), CreatedAt: int64(v.Get("created").Float())}
			if f.Dir, bad = fsx.WrapDir(v.Get("handle")); bad != nil {
				bad = fmt.Errorf("folder %s: %w", f.Key, bad)
			}
			out = append(out, f)
		}
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	return out, nil
}

// Remove forgets a persisted folder; the files in it stay. It fails with
// an error matching errs.ErrNotFound when there is no such folder.
func (s *Store) Remove(ctx context.Context, key string) error {
	tx, err := s.begin(ctx, idbx.ReadWrite)
	if err != nil {
		return fmt.Errorf("remove folder %s: %w", key, err)
	}
	r, err := tx.Count(storeHandles, "", key)
	if err != nil {
		tx.Abort()
		return fmt.Errorf("remove folder %s: %w", key, err)
	}
	n, err := r.Await(ctx)
	if err != nil {
		tx.Abort()
		return fmt.Errorf("remove folder %s: %w", key, err)
	}
	if n.Int() == 0 {
		tx.Abort()
		return fmt.Errorf("folder %s: %w", key, errs.ErrNotFound)
	}
	if err := tx.Delete(storeHandles, key); err != nil {
		tx.Abort()
		return fmt.Errorf("remove folder %s: %w", key, err)
	}
	tx.Commit()
	if err := tx.Wait(ctx); err != nil {
		return fmt.Errorf("remove folder %s: %w", key, err)
	}
	return nil
}
