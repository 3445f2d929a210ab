//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/assets/registry"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/tabs"
	"github.com/atelierstore/atelier/opfs"
)

// Asset scenarios: S4 (64 MiB on the page's main thread), S5 (64 MiB in a
// dedicated worker), S7 (export and import of a 100 MiB package). The
// library stores assets in OPFS (its default where OPFS works); the
// baselines use OPFS directly. Every contender gets content no other
// contender stored, so deduplication never turns a write into a lookup, and
// every asset is deleted again (untimed) after its iteration.

const mimeVideo = "video/mp4"

// openLibrary opens a fresh database and asset library over an OPFS
// directory of its own.
func openLibrary(ctx context.Context, name string) (*idb.DB, *assets.Library, error) {
	if _, err := call(ctx, "dropDB", name); err != nil {
		return nil, nil, err
	}
	if _, err := call(ctx, "opfsRemove", name); err != nil {
		return nil, nil, err
	}
	db, err := idb.Open(ctx, name, nil)
	if err != nil {
		return nil, nil, err
	}
	// The parts a workspace installs on its store: the registry and the
	// leadership (atelier.Open does this; the bench needs its own OPFS
	// root and no collection).
	lead, _ := tabs.Lead("atelier:"+name+":leader", nil)
	leads.Store(name, lead)
	lib, err := assets.Open(ctx, db, registry.Open(db), lead, &assets.Options{
		Backend:      assets.BackendOPFS,
		OPFS:         &opfs.Options{Root: name},
		CollectEvery: -1,
	})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, lib, nil
}

// leads holds the leadership of each open library, by name.
var leads sync.Map

func closeLibrary(ctx context.Context, name string, db *idb.DB, lib *assets.Library) error {
	if l, ok := leads.LoadAndDelete(name); ok {
		l.(*tabs.Leadership).Close()
	}
	_ = lib.Close()
	_ = db.Close()
	if _, err := call(ctx, "dropDB", name); err != nil {
		return err
	}
	_, err := call(ctx, "opfsRemove", name)
	return err
}

// content fills data (once) and stamps it with the iteration and the
// contender, so that no two contenders or iterations store the same bytes.
func content(data []byte, filled *bool, iter, who int) {
	if !*filled {
		x := uint32(2463534242)
		for i := 0; i+4 <= len(data); i += 4 {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			binary.LittleEndian.PutUint32(data[i:], x)
		}
		*filled = true
	}
	binary.LittleEndian.PutUint64(data[0:], uint64(iter+1000))
	binary.LittleEndian.PutUint64(data[8:], uint64(who))
}

func toJS(data []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(u, data)
	return u
}

func newBlob(u js.Value) js.Value {
	return js.Global().Get("Blob").New([]any{u}, map[string]any{"type": mimeVideo})
}

// pageBlob is a Blob as the JavaScript binding hands it to the library.
func pageBlob(v js.Value) assetref.Blob {
	b, err := fsx.WrapAssetBlob(v)
	if err != nil {
		panic(err)
	}
	return b
}

// readAll reads an asset through the library's io.Reader and checks its
// size.
func readAll(ctx context.Context, lib *assets.Library, ref assetref.Ref, size int) error {
	rc, err := lib.Open(ctx, ref)
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		return err
	}
	if n != int64(size) {
		return fmt.Errorf("read %d bytes, want %d", n, size)
	}
	return nil
}

// readBlob reads an asset as the page would display or upload it: the
// library's Blob, then its bytes.
func readBlob(ctx context.Context, lib *assets.Library, ref assetref.Ref, size int) error {
	b, err := lib.Blob(ctx, ref)
	if err != nil {
		return err
	}
	jb, err := fsx.BlobJS(b)
	if err != nil {
		return err
	}
	ab, err := await(ctx, jb.Call("arrayBuffer"))
	if err != nil {
		return err
	}
	if n := ab.Get("byteLength").Int(); n != size {
		return fmt.Errorf("read %d bytes, want %d", n, size)
	}
	return nil
}

// assetPath is one way of storing and reading an asset through the
// library; round stores, reads back and deletes (untimed) one asset, adding
// the write and read times to the series who.write and who.read.
type assetPath struct {
	who   string
	write func() (assetref.Ref, error)
	read  func(assetref.Ref) error
}

func (p assetPath) round(ctx context.Context, lib *assets.Library, res *Result, run int) error {
	t0 := time.Now()
	ref, err := p.write()
	w := ms(t0)
	if err != nil {
		return fmt.Errorf("%s write: %w", p.who, err)
	}
	t0 = time.Now()
	err = p.read(ref)
	r := ms(t0)
	if err != nil {
		return fmt.Errorf("%s read: %w", p.who, err)
	}
	if err := lib.Delete(ctx, ref); err != nil {
		return fmt.Errorf("%s delete: %w", p.who, err)
	}
	if run >= 0 {
		res.add(p.who+".write", run, w)
		res.add(p.who+".read", run, r)
	}
	return nil
}

// rawRound writes the Blob with the raw baseline fnWrite, reads it back
// with fnRead and removes the file.
func rawRound(ctx context.Context, res *Result, run int, fnWrite, fnRead string, data js.Value, size int) error {
	const name = "bench-raw-asset"
	w, err := timed(ctx, fnWrite, data, name)
	if err != nil {
		return err
	}
	r, err := timed(ctx, fnRead, name, size)
	if err != nil {
		return err
	}
	if _, err := call(ctx, "opfsRemove", name); err != nil {
		return err
	}
	if run >= 0 {
		res.add("raw.write", run, w)
		res.add("raw.read", run, r)
	}
	return nil
}

// s4 stores and reads a 64 MiB asset on the page's main thread. The
// library's page path is PutBlob (the Blob's bytes never pass through Go;
// WebCrypto hashes them) and Blob().arrayBuffer(); its Go path is Put from
// a []byte (written by the helper worker, then read back and hashed with
// WebCrypto) and Open with io.Copy. The baseline is
// createWritable().write(blob) and getFile().arrayBuffer().
func s4(ctx context.Context, o Options) (*Result, error) {
	const name = "bench-s4"
	db, lib, err := openLibrary(ctx, name)
	if err != nil {
		return nil, err
	}
	defer closeLibrary(ctx, name, db, lib)
	res := newResult()
	res.Bytes = int64(o.Bytes)
	data, filled := make([]byte, o.Bytes), false
	hint := assetref.Hint{MIME: mimeVideo}
	for i := -1; i < o.Runs; i++ {
		content(data, &filled, i, 0)
		blob := newBlob(toJS(data)) // the page's Blob, for the library's page path and for raw
		paths := map[string]func() error{
			"library": func() error {
				return assetPath{"library",
					func() (assetref.Ref, error) { return lib.PutBlob(ctx, pageBlob(blob), hint) },
					func(ref assetref.Ref) error { return readBlob(ctx, lib, ref, o.Bytes) },
				}.round(ctx, lib, res, i)
			},
			"libraryGo": func() error {
				content(data, &filled, i, 1)
				return assetPath{"libraryGo",
					func() (assetref.Ref, error) { return lib.Put(ctx, bytes.NewReader(data), hint) },
					func(ref assetref.Ref) error { return readAll(ctx, lib, ref, o.Bytes) },
				}.round(ctx, lib, res, i)
			},
			"raw": func() error { return rawRound(ctx, res, i, "opfsWrite", "opfsRead", blob, o.Bytes) },
		}
		for _, who := range order(i+1, "library", "raw", "libraryGo") {
			if err := paths[who](); err != nil {
				return nil, err
			}
		}
	}
	info, err := lib.Capabilities(ctx)
	if err == nil {
		res.Info["backend"] = string(info.Backend)
	}
	return res, nil
}

// s5 runs in a dedicated worker (bench/worker.js), where the library writes
// with a sync access handle: Put from a []byte and Open with io.Copy. It
// also measures PutBlob and Blob().arrayBuffer() there. The baseline writes
// and reads the same bytes with a sync access handle.
func s5(ctx context.Context, o Options) (*Result, error) {
	if js.Global().Get("document").Truthy() {
		return nil, fmt.Errorf("S5 runs in a dedicated worker")
	}
	const name = "bench-s5"
	db, lib, err := openLibrary(ctx, name)
	if err != nil {
		return nil, err
	}
	defer closeLibrary(ctx, name, db, lib)
	res := newResult()
	res.Bytes = int64(o.Bytes)
	data, filled := make([]byte, o.Bytes), false
	hint := assetref.Hint{MIME: mimeVideo}
	for i := -1; i < o.Runs; i++ {
		paths := map[string]func() error{
			"library": func() error {
				content(data, &filled, i, 0)
				return assetPath{"library",
					func() (assetref.Ref, error) { return lib.Put(ctx, bytes.NewReader(data), hint) },
					func(ref assetref.Ref) error { return readAll(ctx, lib, ref, o.Bytes) },
				}.round(ctx, lib, res, i)
			},
			"libraryBlob": func() error {
				content(data, &filled, i, 1)
				blob := newBlob(toJS(data))
				return assetPath{"libraryBlob",
					func() (assetref.Ref, error) { return lib.PutBlob(ctx, pageBlob(blob), hint) },
					func(ref assetref.Ref) error { return readBlob(ctx, lib, ref, o.Bytes) },
				}.round(ctx, lib, res, i)
			},
			"raw": func() error {
				content(data, &filled, i, 2)
				return rawRound(ctx, res, i, "syncWrite", "syncRead", toJS(data), o.Bytes)
			},
		}
		for _, who := range order(i+1, "library", "raw", "libraryBlob") {
			if err := paths[who](); err != nil {
				return nil, err
			}
		}
	}
	if info, err := lib.Capabilities(ctx); err == nil {
		res.Info["backend"] = string(info.Backend)
		res.Info["syncAccess"] = info.SyncAccess
	}
	return res, nil
}

// s7 exports a workflow whose nodes hold o.Parts assets of o.Bytes/o.Parts
// bytes each as a package (into a Blob, as the JavaScript API's
// exportWorkflow does) and imports that package into a fresh database and
// asset directory (so nothing is deduplicated away). The baseline writes
// the same package bytes to an OPFS file with createWritable and reads
// them back with getFile().arrayBuffer().
func s7(ctx context.Context, o Options) (*Result, error) {
	const name = "bench-s7"
	db, lib, err := openLibrary(ctx, name)
	if err != nil {
		return nil, err
	}
	defer closeLibrary(ctx, name, db, lib)
	w, err := db.CreateWorkflow(ctx, "bench export")
	if err != nil {
		return nil, err
	}
	nodes, err := db.SetNodes(ctx, w.ID, makeNodes(w.ID, o.Parts))
	if err != nil {
		return nil, err
	}
	part, filled := make([]byte, o.Bytes/o.Parts), false
	for k, n := range nodes {
		content(part, &filled, 0, k)
		ref, err := lib.PutBlob(ctx, pageBlob(newBlob(toJS(part))), assetref.Hint{MIME: mimeVideo})
		if err != nil {
			return nil, err
		}
		if _, err := db.UpdateNode(ctx, w.ID, n.ID, graph.NodePatch{Result: &graph.Result{Asset: &ref}}); err != nil {
			return nil, err
		}
	}
	part = nil

	res := newResult()
	var (
		pkg   assetref.Blob
		pkgJS js.Value
		size  int
	)
	export := func(run int) error {
		bw := &assets.BlobWriter{}
		t0 := time.Now()
		if _, err := lib.Export(ctx, bw, w.ID, nil); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		pkg = bw.Blob("application/zip")
		t := ms(t0)
		size = int(pkg.Size())
		if pkgJS, err = fsx.BlobJS(pkg); err != nil {
			return err
		}
		if run >= 0 {
			res.add("library.export", run, t)
		}
		return nil
	}
	importInto := func(run int) error {
		target := fmt.Sprintf("bench-s7-import-%d", run+1)
		db2, lib2, err := openLibrary(ctx, target)
		if err != nil {
			return err
		}
		t0 := time.Now()
		r, n, err := assets.BlobReaderAt(ctx, pkg)
		if err != nil {
			return err
		}
		g, ir, err := lib2.Import(ctx, r, n, nil)
		t := ms(t0)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		created := 0
		for _, a := range ir.Assets {
			if a.Created {
				created++
			}
		}
		if len(g.Nodes) != o.Parts || created != o.Parts {
			return fmt.Errorf("import stored %d nodes and wrote %d assets, want %d of each", len(g.Nodes), created, o.Parts)
		}
		if run >= 0 {
			res.add("library.import", run, t)
		}
		return closeLibrary(ctx, target, db2, lib2)
	}
	if err := export(-1); err != nil { // warm-up, and the package the raw side first writes
		return nil, err
	}
	for i := -1; i < o.Runs; i++ {
		for _, who := range order(i+1, "library", "raw") {
			if who == "library" {
				if err := export(i); err != nil {
					return nil, err
				}
				if err := importInto(i); err != nil {
					return nil, err
				}
				continue
			}
			if err := rawRound(ctx, res, i, "opfsWrite", "opfsRead", pkgJS, size); err != nil {
				return nil, err
			}
		}
	}
	res.Bytes = int64(size)
	res.Info["assets"] = o.Parts
	return res, nil
}
