//go:build js && wasm

package folders

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbtest"
	"github.com/atelierstore/atelier/internal/idbx"
)

// openStore opens the folder list of a fresh workflow store (idbtest.Open:
// a database of its own with the full schema, deleted in cleanup), and
// closes it in cleanup, before the database goes. It returns the
// database's name too.
func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	d := idbtest.Open(t, nil)
	s, err := Open(idbtest.Ctx(t), d.Name())
	if err != nil {
		t.Fatalf("open the folders of %s: %v", d.Name(), err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, d.Name()
}

// testDir returns a directory handle to stand in for a folder the user
// picked (headless Chromium shows no picker): an OPFS directory named
// after the test and name, removed in cleanup. OPFS handles are
// FileSystemDirectoryHandles too, and IndexedDB stores them alike.
func testDir(t *testing.T, name string) *fsx.Dir {
	t.Helper()
	ctx := idbtest.Ctx(t)
	root, err := fsx.StorageRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name = idbtest.Name(t) + "-" + name
	d, err := root.Dir(ctx, name, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := root.Remove(context.Background(), name, true); err != nil {
			t.Error(err)
		}
	})
	return d
}

// TestIDBSchemaHasTheStore fails when the workflow store's schema no
// longer creates the object store of the folders.
func TestIDBSchemaHasTheStore(t *testing.T) {
	d := idbtest.Open(t, nil)
	conn, err := idbx.Open(idbtest.Ctx(t), d.Name(), 0, idbx.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !slices.Contains(conn.StoreNames(), storeHandles) {
		t.Errorf("idb.Open no longer creates the object store %q (it has %v): package folders keeps the folders in it", storeHandles, conn.StoreNames())
	}
}

func TestPutListRemove(t *testing.T) {
	ctx := idbtest.Ctx(t)
	s, name := openStore(t)
	if fs, err := s.List(ctx); err != nil || len(fs) != 0 {
		t.Fatalf("List of none = %v, %v", fs, err)
	}
	photos, renders := testDir(t, "photos"), testDir(t, "renders")
	before := time.Now().UnixMilli()
	if err := s.Put(ctx, Folder{Key: "k2", Name: "Renders", Dir: renders, CreatedAt: 42}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, Folder{Key: "k1", Name: "Photos", Dir: photos}); err != nil {
		t.Fatal(err)
	}

	// The handles come back from IndexedDB, through another connection
	// too, naming the same directories, and usable.
	other, err := Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	fs, err := other.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].Key != "k1" || fs[1].Key != "k2" || fs[0].Name != "Photos" || fs[1].Name != "Renders" {
		t.Fatalf("List = %+v", fs)
	}
	if fs[0].CreatedAt < before || fs[0].CreatedAt > time.Now().UnixMilli() || fs[1].CreatedAt != 42 {
		t.Fatalf("CreatedAt %d (want the time of Put) and %d (want 42)", fs[0].CreatedAt, fs[1].CreatedAt)
	}
	for i, want := range []*fsx.Dir{photos, renders} {
		if same, err := fs[i].Dir.IsSameEntry(ctx, want); err != nil || !same {
			t.Fatalf("folder %s: handle names another directory (%v)", fs[i].Key, err)
		}
		if fs[i].Dir.Name() != want.Name() {
			t.Fatalf("folder %s: directory name %q, want %q", fs[i].Key, fs[i].Dir.Name(), want.Name())
		}
	}
	if _, err := fs[0].Dir.File(ctx, "made-through-the-stored-handle", true); err != nil {
		t.Fatalf("the stored handle does not work: %v", err)
	}
	if _, err := photos.File(ctx, "made-through-the-stored-handle", false); err != nil {
		t.Fatalf("the file made through the stored handle is not in the directory: %v", err)
	}

	// Put replaces the folder with the same key.
	if err := s.Put(ctx, Folder{Key: "k2", Name: "Photos again", Dir: photos}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "k1"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("second Remove = %v, want ErrNotFound", err)
	}
	fs, err = s.List(ctx)
	if err != nil || len(fs) != 1 || fs[0].Key != "k2" || fs[0].Name != "Photos again" {
		t.Fatalf("List after replace and remove = %+v, %v", fs, err)
	}
	if same, err := fs[0].Dir.IsSameEntry(ctx, photos); err != nil || !same {
		t.Fatalf("replaced folder: handle names another directory (%v)", err)
	}
	// The files stay.
	if _, err := photos.File(ctx, "made-through-the-stored-handle", false); err != nil {
		t.Fatal(err)
	}
}

func TestPutInvalid(t *testing.T) {
	ctx := idbtest.Ctx(t)
	s, _ := openStore(t)
	for _, f := range []Folder{{Name: "no key", Dir: testDir(t, "d")}, {Key: "k", Name: "no dir"}} {
		if err := s.Put(ctx, f); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("Put(%+v) = %v, want ErrInvalid", f, err)
		}
	}
	if fs, err := s.List(ctx); err != nil || len(fs) != 0 {
		t.Fatalf("List after invalid Puts = %+v, %v", fs, err)
	}
}

// TestOpenNeedsTheSchema: Open neither creates a database nor upgrades
// one; without the store it fails with ErrNotFound.
func TestOpenNeedsTheSchema(t *testing.T) {
	ctx := idbtest.Ctx(t)
	name := idbtest.Name(t)
	t.Cleanup(func() { idbtest.Drop(t, name) })
	if _, err := Open(ctx, name); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Open of a missing database = %v, want ErrNotFound", err)
	}
	conn, err := idbx.Open(ctx, name, 1, idbx.Hooks{Upgrade: func(u *idbx.Upgrade) error {
		return u.CreateStore("workflows", "id", false)
	}})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := Open(ctx, name); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Open of a database without the store = %v, want ErrNotFound", err)
	}
}

// TestClosed: after Close, and once another tab deletes or upgrades the
// database, calls fail with ErrClosed; the store's connection does not
// hold the other tab up.
func TestClosed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(t *testing.T, s *Store, db string)
	}{
		{"Close", func(t *testing.T, s *Store, _ string) { _ = s.Close(); _ = s.Close() }},
		{"upgrade", func(t *testing.T, _ *Store, db string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := idbx.Open(ctx, db, 0, idbx.Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			v := conn.Version()
			conn.Close()
			conn, err = idbx.Open(ctx, db, v+1, idbx.Hooks{Blocked: func(int, int) { t.Error("upgrade blocked") }})
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
		}},
		{"delete", func(t *testing.T, _ *Store, db string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := idbx.Delete(ctx, db, func() { t.Error("delete blocked") }); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := idbtest.Ctx(t)
			s, db := openStore(t)
			dir := testDir(t, "d")
			if err := s.Put(ctx, Folder{Key: "k", Name: "d", Dir: dir}); err != nil {
				t.Fatal(err)
			}
			tc.close(t, s, db)
			if _, err := s.List(ctx); !errors.Is(err, errs.ErrClosed) {
				t.Errorf("List = %v, want ErrClosed", err)
			}
			if err := s.Put(ctx, Folder{Key: "k2", Name: "d", Dir: dir}); !errors.Is(err, errs.ErrClosed) {
				t.Errorf("Put = %v, want ErrClosed", err)
			}
			if err := s.Remove(ctx, "k"); !errors.Is(err, errs.ErrClosed) {
				t.Errorf("Remove = %v, want ErrClosed", err)
			}
		})
	}
}
