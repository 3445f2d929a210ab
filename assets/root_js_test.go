//go:build js && wasm

package assets

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/opfs"
)

// openDefault opens the library of db with the default OPFS options.
func openDefault(t *testing.T, db *idb.DB, o *opfs.Options) *Library {
	t.Helper()
	lib, err := open(t, ctxT(t), db, &Options{Backend: BackendOPFS, CollectEvery: -1, OPFS: o})
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func freshDB(t *testing.T) *idb.DB {
	t.Helper()
	needOPFS(t) // the tests here are about OPFS roots
	n := name(t)
	db, err := idb.Open(ctxT(t), n, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx := context.Background()
		if root, err := fsx.StorageRoot(ctx); err == nil {
			if ws, err := root.Path(ctx, opfs.DefaultRoot+"/workspaces", false); err == nil {
				_ = ws.Remove(ctx, WorkspaceRoot(n)[len(opfs.DefaultRoot+"/workspaces/"):], true)
			}
		}
		_ = idbx.Delete(context.Background(), n, nil)
	})
	return db
}

// TestDefaultRootIsTheDatabases: without a Root, each database's OPFS
// files live in a directory of its own, and one that already keeps
// assets in the shared default root goes on using it.
func TestDefaultRootIsTheDatabases(t *testing.T) {
	ctx := ctxT(t)
	db := freshDB(t)
	lib := openDefault(t, db, nil)
	defer lib.Close()
	ref, err := lib.Put(ctx, bytes.NewReader([]byte("own root")), assetref.Hint{MIME: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	if want := WorkspaceRoot(db.Name()) + "/assets/text/"; !strings.HasPrefix(ref.Path, want) {
		t.Fatalf("a new database's asset is at %q, want it under %q", ref.Path, want)
	}
	if WorkspaceRoot("a") == WorkspaceRoot("b") || WorkspaceRoot("a") != WorkspaceRoot("a") {
		t.Fatal("WorkspaceRoot does not tell names apart, or is not stable")
	}

	legacy := freshDB(t)
	old := openDefault(t, legacy, &opfs.Options{Root: opfs.DefaultRoot})
	first, err := old.Put(ctx, bytes.NewReader([]byte("kept where it was")), assetref.Hint{MIME: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	lib2 := openDefault(t, legacy, nil)
	defer lib2.Close()
	second, err := lib2.Put(ctx, bytes.NewReader([]byte("goes beside it")), assetref.Hint{MIME: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []assetref.Ref{first, second} {
		if !strings.HasPrefix(r.Path, opfs.DefaultRoot+"/assets/") {
			t.Errorf("a database with assets in the default root put one at %q", r.Path)
		}
		if err := lib2.Delete(ctx, r); err != nil {
			t.Errorf("deleting %s: %v", r.Path, err)
		}
	}
}
