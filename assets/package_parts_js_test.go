//go:build js && wasm

package assets

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"sync/atomic"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/pack"
)

// countingSink is the library's sink, counting which way assets come in.
type countingSink struct {
	libSink
	puts, parts, checks atomic.Int32
}

func (k *countingSink) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, bool, error) {
	k.puts.Add(1)
	return k.libSink.Put(ctx, r, hint)
}

func (k *countingSink) PutPart(ctx context.Context, p pack.Part, hash string, hint assetref.Hint) (assetref.Ref, bool, error) {
	k.parts.Add(1)
	return k.libSink.PutPart(ctx, p, hash, hint)
}

func (k *countingSink) CheckPart(ctx context.Context, p pack.Part, hash string) error {
	k.checks.Add(1)
	return k.libSink.CheckPart(ctx, p, hash)
}

// partsWorkflow stores a workflow showing two media assets (sizes that are
// not multiples of anything) and a text asset, and returns it with the
// assets' content by hash.
func partsWorkflow(t *testing.T, db *idb.DB, lib *Library) (string, map[string][]byte) {
	t.Helper()
	ctx := ctxT(t)
	w, err := db.CreateWorkflow(ctx, "Parts")
	if err != nil {
		t.Fatal(err)
	}
	content := map[string][]byte{}
	var nodes []graph.Node
	for _, a := range []struct {
		n    int
		mime string
	}{{3<<20 + 5, "video/mp4"}, {1<<20 + 333, "image/png"}, {40000, "text/plain"}} {
		data := bytesOf(a.n)
		if a.mime == "text/plain" {
			data = bytes.Repeat([]byte("a caption, "), a.n/11)
		}
		ref, err := lib.PutBlob(ctx, jsBlob(data, a.mime), assetref.Hint{})
		if err != nil {
			t.Fatal(err)
		}
		content[ref.Hash] = data
		nodes = append(nodes, graph.Node{Type: "media", Title: a.mime, Result: &graph.Result{Asset: &ref}})
	}
	if _, err := db.SetNodes(ctx, w.ID, nodes); err != nil {
		t.Fatal(err)
	}
	return w.ID, content
}

// blobBytes reads a Blob into Go.
func blobBytes(t *testing.T, b assetref.Blob) []byte {
	t.Helper()
	out := make([]byte, b.Size())
	if _, err := b.ReadAt(out, 0); err != nil {
		t.Fatal(err)
	}
	return out
}

// fileParts counts the parts of a BlobWriter that are stored files rather
// than bytes written through Go.
func fileParts(w *BlobWriter) int {
	n := 0
	for _, p := range w.parts.Parts() {
		if p.InstanceOf(js.Global().Get("Blob")) {
			n++
		}
	}
	return n
}

// importCounting imports a package Blob into lib through a countingSink.
func importCounting(t *testing.T, db *idb.DB, lib *Library, pkg assetref.Blob) (*pack.Result, *countingSink, error) {
	t.Helper()
	ctx := ctxT(t)
	r, size, err := BlobReaderAt(ctx, pkg)
	if err != nil {
		t.Fatal(err)
	}
	k := &countingSink{libSink: libSink{lib}}
	res, err := pack.ImportAndCommit(ctx, r, size, k, nil, func(ctx context.Context, res *pack.Result) error {
		_, err := db.PutGraph(ctx, &res.Graph)
		return err
	})
	return res, k, err
}

// TestExportImportParts: the media assets leave as the stored files
// themselves and come back in from slices of the package File, the text
// through Go; the package is a valid zip (Go's reader checks every
// CRC-32), and the imported assets are the same bytes. Both stores: OPFS,
// and IndexedDB, whose Blobs are made of chunks.
func TestExportImportParts(t *testing.T) {
	for _, backend := range []Backend{BackendOPFS, BackendIDB} {
		t.Run(string(backend), func(t *testing.T) {
			ctx := ctxT(t)
			db, lib, _ := setup(t, Options{Backend: backend})
			id, content := partsWorkflow(t, db, lib)
			out := &BlobWriter{}
			res, err := lib.Export(ctx, out, id, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := fileParts(out); n != 2 {
				t.Errorf("%d stored files in the package Blob; want the 2 media assets", n)
			}
			pkg := out.Blob("application/zip")
			data := blobBytes(t, pkg)
			if int64(len(data)) != res.Size {
				t.Fatalf("package of %d bytes, Export says %d", len(data), res.Size)
			}
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			byFile := map[string]string{}
			for _, a := range res.Manifest.Assets {
				byFile[a.File] = a.Hash
			}
			for _, f := range zr.File {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc) // fails on a CRC-32 mismatch
				rc.Close()
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				if h, ok := byFile[f.Name]; ok && !bytes.Equal(got, content[h]) {
					t.Errorf("%s differs from the asset", f.Name)
				}
			}

			db2, lib2, _ := setup(t, Options{Backend: backend})
			imp, k, err := importCounting(t, db2, lib2, pkg)
			if err != nil {
				t.Fatal(err)
			}
			if k.parts.Load() != 2 || k.puts.Load() != 1 {
				t.Errorf("%d parts and %d Puts; want the media as parts and the text through Go", k.parts.Load(), k.puts.Load())
			}
			loaded, err := db2.LoadWorkflow(ctx, imp.Graph.Workflow.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range loaded.Nodes {
				ref := *n.Result.Asset
				rc, err := lib2.Open(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, content[ref.Hash]) {
					t.Errorf("imported %s (%v) differs from the original", n.Title, err)
				}
				if rec, err := partsOf(t, db2).reg.Asset(ctx, ref.Hash); err != nil || len(rec.Users) != 1 {
					t.Errorf("record of %s: %+v %v", n.Title, rec, err)
				}
			}

			// Into the library that has the assets: the package's copies
			// are hashed (WebCrypto) and nothing is written.
			_, k, err = importCounting(t, db, lib, pkg)
			if err != nil {
				t.Fatal(err)
			}
			if k.checks.Load() != 2 || k.parts.Load() != 0 {
				t.Errorf("%d checks and %d parts; want the 2 media checked", k.checks.Load(), k.parts.Load())
			}
		})
	}
}

// storedState is what a library holds, for before and after.
type storedState struct {
	workflows, records, files int
}

func state(t *testing.T, db *idb.DB, lib *Library) storedState {
	t.Helper()
	ctx := ctxT(t)
	ws, err := db.ListWorkflows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := partsOf(t, db).reg.Assets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := opfsOf(lib).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return storedState{len(ws), len(recs), len(files)}
}

// TestImportPartsRejects: a package with one byte of a stored asset
// changed, or whose manifest names other content, fails with the typed
// error of the io.Reader path and leaves the library as it was, whether
// or not it has the asset already.
func TestImportPartsRejects(t *testing.T) {
	ctx := ctxT(t)
	db, lib, _ := setup(t, Options{})
	id, _ := partsWorkflow(t, db, lib)
	out := &BlobWriter{}
	res, err := lib.Export(ctx, out, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	valid := blobBytes(t, out.Blob("application/zip"))
	video := res.Manifest.Assets[0]
	if video.MIME != "video/mp4" {
		t.Fatalf("first asset %+v", video)
	}
	zr, err := zip.NewReader(bytes.NewReader(valid), int64(len(valid)))
	if err != nil {
		t.Fatal(err)
	}
	var at int64 = -1
	for _, f := range zr.File {
		if f.Name == video.File {
			if at, err = f.DataOffset(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if at < 0 {
		t.Fatalf("no entry %s", video.File)
	}
	corrupt := bytes.Clone(valid)
	corrupt[at+video.Bytes/2] ^= 0x01

	// The manifest says the video has another hash (and the workflow,
	// which must agree): the stored content is intact, so this is a hash
	// mismatch rather than a corrupt zip.
	other := assetref.HashBytes([]byte("other"))
	var rewritten bytes.Buffer
	zw := zip.NewWriter(&rewritten)
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == pack.ManifestFile || f.Name == pack.WorkflowFile {
			b = bytes.ReplaceAll(b, []byte(video.Hash), []byte(other))
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: f.Method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"corrupt byte", corrupt, pack.ErrCorruptZip},
		{"other hash", rewritten.Bytes(), pack.ErrHashMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := jsBlob(tc.data, "application/zip")
			// A fresh library, then the one that has the assets.
			db2, lib2, _ := setup(t, Options{})
			for _, target := range []struct {
				db  *idb.DB
				lib *Library
			}{{db2, lib2}, {db, lib}} {
				before := state(t, target.db, target.lib)
				_, k, err := importCounting(t, target.db, target.lib, pkg)
				if !errors.Is(err, tc.want) || !errors.Is(err, pack.ErrInvalidPackage) {
					t.Fatalf("error %v; want %v", err, tc.want)
				}
				if k.parts.Load()+k.checks.Load() == 0 {
					t.Error("the part path was not taken")
				}
				if after := state(t, target.db, target.lib); after != before {
					t.Errorf("library changed: before %+v, after %+v", before, after)
				}
			}
		})
	}
}

func TestBlobWriterRefusesForeignParts(t *testing.T) {
	w := &BlobWriter{}
	if err := w.WritePart(ctxT(t), foreignPart{}); err == nil {
		t.Fatal("BlobWriter took a part it cannot read")
	}
	r, _, err := BlobReaderAt(ctxT(t), jsBlob([]byte("0123456789"), ""))
	if err != nil {
		t.Fatal(err)
	}
	pr := r.(pack.PartReaderAt)
	for _, span := range [][2]int64{{-1, 2}, {0, 11}, {9, 2}, {5, -1}} {
		if _, err := pr.Part(span[0], span[1]); err == nil {
			t.Errorf("Part(%d, %d) of 10 bytes succeeded", span[0], span[1])
		}
	}
	p, err := pr.Part(2, 5)
	if err != nil || p.Size() != 5 {
		t.Fatalf("Part(2, 5): %v", err)
	}
	if crc, err := p.CRC32(ctxT(t)); err != nil || crc != crc32.ChecksumIEEE([]byte("23456")) {
		t.Errorf("CRC32 of \"23456\": %#08x %v", crc, err)
	}
}

type foreignPart struct{}

func (foreignPart) Size() int64                           { return 0 }
func (foreignPart) CRC32(context.Context) (uint32, error) { return 0, nil }

// findFile returns the file named name of size bytes anywhere under d (the
// store keeps a record of the same name elsewhere).
func findFile(t *testing.T, d *fsx.Dir, name string, size int64) *fsx.File {
	t.Helper()
	es, err := d.Entries(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if f, ok := e.File(); ok && e.Name == name {
			if b, err := f.Blob(ctxT(t)); err == nil && b.Size() == size {
				return f
			}
		}
		if sub, ok := e.Dir(); ok {
			if f := findFile(t, sub, name, size); f != nil {
				return f
			}
		}
	}
	return nil
}

// TestExportPartsFromAFolder: an asset in a folder the user picked (an
// OPFS directory stands in) is hashed again when exported, since other
// programs can change it: changed, it fails the export with
// pack.ErrContentMismatch instead of going out under its old hash.
func TestExportPartsFromAFolder(t *testing.T) {
	needFolderAccess(t)
	ctx := ctxT(t)
	db, lib, _ := setup(t, Options{})
	root, _ := fsx.StorageRoot(ctx)
	n := name(t) + "-picked"
	picked, err := root.Dir(ctx, n, true)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Remove(context.Background(), n, true)
	if _, err := lib.AddFolder(ctx, picked, true); err != nil {
		t.Fatal(err)
	}
	id, content := partsWorkflow(t, db, lib)
	out := &BlobWriter{}
	res, err := lib.Export(ctx, out, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := fileParts(out); n != 2 {
		t.Errorf("%d stored files in the package Blob; want 2", n)
	}
	data := blobBytes(t, out.Blob("application/zip"))
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 5 || len(res.Manifest.Assets) != 3 || len(content) != 3 {
		t.Fatalf("%d entries, %d assets", len(zr.File), len(res.Manifest.Assets))
	}

	// Another program rewrites the video, keeping its size.
	g, _ := db.LoadWorkflow(ctx, id)
	video := *g.Nodes[0].Result.Asset
	if video.Kind != assetref.KindFSHandle {
		t.Fatalf("video stored as %+v", video)
	}
	f := findFile(t, picked, video.HandleID[strings.LastIndex(video.HandleID, "/")+1:], video.Bytes)
	if f == nil {
		t.Fatalf("no file for %s in the folder", video.HandleID)
	}
	w, err := f.CreateWritable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, bytesOf(int(video.Bytes))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = lib.Export(ctx, &BlobWriter{}, id, nil)
	var ae *pack.AssetError
	if !errors.As(err, &ae) || len(ae.Failures) != 1 || !errors.Is(err, pack.ErrContentMismatch) {
		t.Fatalf("export of a changed folder asset: %v; want ErrContentMismatch for it", err)
	}
}
