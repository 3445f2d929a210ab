//go:build js && wasm

package assets

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/pack"
)

func TestExportImportRoundTrip(t *testing.T) {
	ctx := ctxT(t)
	db, lib, _ := setup(t, Options{})
	w, _ := db.CreateWorkflow(ctx, "Export me")
	img := bytesOf(700 << 10)
	ref, err := lib.PutBlob(ctx, jsBlob(img, "image/png"), assetref.Hint{})
	if err != nil {
		t.Fatal(err)
	}
	remote := assetref.Ref{Kind: assetref.KindURL, URL: "https://cdn.example.com/a.jpg", MIME: "image/jpeg"}
	nodes, err := db.SetNodes(ctx, w.ID, []graph.Node{
		{Type: "image", Title: "local", Result: &graph.Result{Asset: &ref}},
		{Type: "image", Title: "remote", Result: &graph.Result{Asset: &remote}},
		{Type: "text", Title: "plain", Config: json.RawMessage(`{"prompt":"hi"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetEdges(ctx, w.ID, []graph.Edge{{Source: nodes[0].ID, Target: nodes[2].ID}}); err != nil {
		t.Fatal(err)
	}
	var progress []pack.Progress
	out := &BlobWriter{}
	res, err := lib.Export(ctx, out, w.ID, &pack.ExportOptions{Progress: func(p pack.Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	blob := out.Blob("application/zip")
	if blob.Size() != res.Size || blob.MIME() != "application/zip" || len(progress) == 0 || progress[len(progress)-1].Done != int64(len(img)) {
		t.Fatalf("export size %d vs blob %d, progress %+v", res.Size, blob.Size(), progress)
	}

	// Another machine: its own database and OPFS root.
	db2, lib2, _ := setup(t, Options{})
	r, size, err := BlobReaderAt(ctx, blob)
	if err != nil {
		t.Fatal(err)
	}
	got, imp, err := lib2.Import(ctx, r, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	if imp.NewIDs || got.Workflow.ID != w.ID || len(got.Nodes) != 3 || len(got.Edges) != 1 {
		t.Fatalf("imported %+v (new ids %v)", got, imp.NewIDs)
	}
	local := got.Nodes[0].Result.Asset
	if local.Kind != assetref.KindOPFS || local.Hash != ref.Hash {
		t.Fatalf("local asset imported as %+v", local)
	}
	if *got.Nodes[1].Result.Asset != remote {
		t.Fatalf("url asset imported as %+v", got.Nodes[1].Result.Asset)
	}
	rc, err := lib2.Open(ctx, *local)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(back, img) {
		t.Fatal("imported asset differs")
	}
	if rec, err := partsOf(t, db2).reg.Asset(ctx, ref.Hash); err != nil || len(rec.Users) != 1 {
		t.Fatalf("imported asset's record: %+v %v", rec, err)
	}
	loaded, _ := db2.LoadWorkflow(ctx, w.ID)
	if loaded.Workflow.Name != "Export me" || loaded.Nodes[2].Config == nil {
		t.Fatalf("loaded %+v", loaded)
	}

	// Importing into the first store again: a new workflow with fresh
	// ids, the asset reused (stored once).
	r, size, _ = BlobReaderAt(ctx, blob)
	again, imp, err := lib.Import(ctx, r, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !imp.NewIDs || again.Workflow.ID == w.ID || *again.Nodes[0].Result.Asset != ref {
		t.Fatalf("second import: %+v", again)
	}
	if rec, _ := partsOf(t, db).reg.Asset(ctx, ref.Hash); len(rec.Users) != 2 {
		t.Fatalf("users after the second import: %+v", rec.Users)
	}
	if list, _ := opfsOf(lib).List(ctx); len(list) != 1 {
		t.Fatalf("%d files after importing the same asset again", len(list))
	}
}

func TestImportOfABadPackageStoresNothing(t *testing.T) {
	ctx := ctxT(t)
	db, lib, _ := setup(t, Options{})
	before, _ := db.ListWorkflows(ctx)
	notZip := jsBlob([]byte("this is not a zip file at all"), "application/zip")
	r, size, _ := BlobReaderAt(ctx, notZip)
	if _, _, err := lib.Import(ctx, r, size, nil); !errors.Is(err, pack.ErrInvalidPackage) {
		t.Fatalf("not a zip: %v", err)
	}
	after, _ := db.ListWorkflows(ctx)
	assets, _ := partsOf(t, db).reg.Assets(ctx)
	if len(after) != len(before) || len(assets) != 0 {
		t.Fatalf("a failed import left %d workflows, %d assets", len(after)-len(before), len(assets))
	}
}
