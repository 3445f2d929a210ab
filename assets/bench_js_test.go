//go:build js && wasm

package assets

import (
	"context"
	"sort"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// rawStorage writes and reads the same Blob the way a page without this
// library would: OPFS createWritable().write(blob) and getFile(); one
// IndexedDB put of the Blob and a get.
var rawStorage = js.Global().Get("Function").New(`
const done = (tx) => new Promise((ok, fail) => { tx.oncomplete = ok; tx.onabort = () => fail(tx.error); });
return {
  async opfsWrite(blob, name) {
    const t0 = performance.now();
    const root = await navigator.storage.getDirectory();
    const f = await root.getFileHandle(name, { create: true });
    const w = await f.createWritable();
    await w.write(blob);
    await w.close();
    return performance.now() - t0;
  },
  async opfsRead(name) {
    const t0 = performance.now();
    const root = await navigator.storage.getDirectory();
    const buf = await (await (await root.getFileHandle(name)).getFile()).arrayBuffer();
    if (buf.byteLength === 0) throw new Error("empty");
    return performance.now() - t0;
  },
  async opfsRemove(name) { await (await navigator.storage.getDirectory()).removeEntry(name); },
  open(name) {
    return new Promise((ok, fail) => {
      const r = indexedDB.open(name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore("blobs");
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
  },
  async idbWrite(db, blob) {
    const t0 = performance.now();
    const tx = db.transaction("blobs", "readwrite");
    tx.objectStore("blobs").put(blob, "asset");
    await done(tx);
    return performance.now() - t0;
  },
  async idbRead(db) {
    const t0 = performance.now();
    const r = db.transaction("blobs").objectStore("blobs").get("asset");
    const blob = await new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    await blob.arrayBuffer();
    return performance.now() - t0;
  },
};`).Invoke()

func await(b *testing.B, p js.Value) js.Value {
	v, err := jsutil.Await(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// benchPutBlob stores a 64 MiB Blob through the library (the page's path:
// hashed by WebCrypto, copied by the browser) and reads it back as a Blob's
// bytes, next to the raw calls, alternating in the same run.
func benchPutBlob(b *testing.B, backend Backend) {
	const size = 64 << 20
	ctx := context.Background()
	_, lib, _ := setupB(b, Options{Backend: backend})
	raw := await(b, rawStorage.Call("open", "raw-"+b.Name()))
	defer raw.Call("close")
	var write, read, rawWrite, rawRead []float64
	for i := 0; i < b.N; i++ {
		bytes := make([]byte, size)
		for j := range bytes {
			bytes[j] = byte(j*31 + i)
		}
		blob := js.Global().Get("Blob").New([]any{jsutil.Uint8Array(bytes)}, map[string]any{"type": "video/mp4"})
		bytes = nil
		t0 := js.Global().Get("performance").Call("now").Float()
		page, err := fsx.WrapAssetBlob(blob)
		if err != nil {
			b.Fatal(err)
		}
		ref, err := lib.PutBlob(ctx, page, assetref.Hint{})
		if err != nil {
			b.Fatal(err)
		}
		t1 := js.Global().Get("performance").Call("now").Float()
		got, err := lib.Blob(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		gotJS, err := fsx.BlobJS(got)
		if err != nil {
			b.Fatal(err)
		}
		await(b, gotJS.Call("arrayBuffer"))
		t2 := js.Global().Get("performance").Call("now").Float()
		write, read = append(write, t1-t0), append(read, t2-t1)
		if err := lib.Delete(ctx, ref); err != nil {
			b.Fatal(err)
		}
		if backend == BackendIDB {
			rawWrite = append(rawWrite, await(b, rawStorage.Call("idbWrite", raw, blob)).Float())
			rawRead = append(rawRead, await(b, rawStorage.Call("idbRead", raw)).Float())
		} else {
			rawWrite = append(rawWrite, await(b, rawStorage.Call("opfsWrite", blob, "raw-bench")).Float())
			rawRead = append(rawRead, await(b, rawStorage.Call("opfsRead", "raw-bench")).Float())
			await(b, rawStorage.Call("opfsRemove", "raw-bench"))
		}
	}
	mbps := func(ms []float64) float64 { return float64(size) / (1 << 20) / (median(ms) / 1000) }
	b.ReportMetric(mbps(write), "write-MB/s")
	b.ReportMetric(mbps(write)/mbps(rawWrite), "write-x-raw")
	b.ReportMetric(mbps(read), "read-MB/s")
	b.ReportMetric(mbps(read)/mbps(rawRead), "read-x-raw")
}

func BenchmarkPutBlob64MiBOPFS(b *testing.B)      { benchPutBlob(b, BackendOPFS) }
func BenchmarkPutBlob64MiBIndexedDB(b *testing.B) { benchPutBlob(b, BackendIDB) }
