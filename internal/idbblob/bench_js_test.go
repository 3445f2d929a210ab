//go:build js && wasm

package idbblob

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sort"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/idbtest"
	"github.com/atelierstore/atelier/internal/jsutil"
)

func await(b *testing.B, p js.Value) js.Value {
	b.Helper()
	v, err := jsutil.Await(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// rawBlob stores and reads one value in its own object store, the way an
// app without this library would keep a 64 MiB asset in IndexedDB.
var rawBlob = js.Global().Get("Function").New(`
const done = (tx) => new Promise((ok, fail) => { tx.oncomplete = ok; tx.onabort = () => fail(tx.error); });
return {
  open(name) {
    return new Promise((ok, fail) => {
      const r = indexedDB.open(name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore("blobs");
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
    });
  },
  async write(db, bytes) {
    const t0 = performance.now();
    const tx = db.transaction("blobs", "readwrite");
    tx.objectStore("blobs").put(new Blob([bytes]), "asset");
    await done(tx);
    return performance.now() - t0;
  },
  async read(db) {
    const t0 = performance.now();
    const tx = db.transaction("blobs", "readonly");
    const r = tx.objectStore("blobs").get("asset");
    const blob = await new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    const buf = await blob.arrayBuffer();
    if (buf.byteLength === 0) throw new Error("empty");
    return performance.now() - t0;
  },
};`).Invoke()

// BenchmarkStore64MiB writes and reads a 64 MiB asset through the
// IndexedDB store, next to a raw Blob put/get of the same bytes.
func BenchmarkStore64MiB(b *testing.B) {
	const size = 64 << 20
	ctx := context.Background()
	s := openStore(b, 0)
	name := idbtest.Name(b) + "-rawblob"
	raw := await(b, rawBlob.Call("open", name))
	b.Cleanup(func() { raw.Call("close"); idbtest.Drop(b, name) })
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	jsData := jsutil.Uint8Array(data)

	var writeMS, readMS, rawWriteMS, rawReadMS []float64
	for i := 0; i < b.N; i++ {
		data[0] = byte(i) // distinct content each round: no dedup
		start := time.Now()
		ref, err := s.Put(ctx, bytes.NewReader(data), assetref.Hint{MIME: "video/mp4"})
		if err != nil {
			b.Fatal(err)
		}
		writeMS = append(writeMS, float64(time.Since(start).Microseconds())/1000)
		start = time.Now()
		rc, err := s.Open(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		if err != nil || n != size {
			b.Fatalf("read %d: %v", n, err)
		}
		readMS = append(readMS, float64(time.Since(start).Microseconds())/1000)
		_ = s.Delete(ctx, ref)

		rawWriteMS = append(rawWriteMS, await(b, rawBlob.Call("write", raw, jsData)).Float())
		rawReadMS = append(rawReadMS, await(b, rawBlob.Call("read", raw)).Float())
	}
	mbps := func(ms []float64) float64 { return float64(size) / (1 << 20) / (median(ms) / 1000) }
	b.ReportMetric(mbps(writeMS), "write-MB/s")
	b.ReportMetric(mbps(rawWriteMS), "raw-write-MB/s")
	b.ReportMetric(mbps(writeMS)/mbps(rawWriteMS), "write-x-raw")
	b.ReportMetric(mbps(readMS), "read-MB/s")
	b.ReportMetric(mbps(rawReadMS), "raw-read-MB/s")
	b.ReportMetric(mbps(readMS)/mbps(rawReadMS), "read-x-raw")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// BenchmarkStoreHeap streams a 256 MiB asset in and out and reports the
// peak Go heap in use, sampled at every chunk.
func BenchmarkStoreHeap(b *testing.B) {
	const size = 256 << 20
	ctx := context.Background()
	s := openStore(b, 0)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		peak := uint64(0)
		sample := func() {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak {
				peak = m.HeapInuse
			}
		}
		src := &sampledReader{r: io.LimitReader(patternReader{}, size), sample: sample}
		ref, err := s.Put(ctx, src, assetref.Hint{})
		if err != nil {
			b.Fatal(err)
		}
		rc, err := s.Open(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(&sampledWriter{sample: sample}, rc); err != nil {
			b.Fatal(err)
		}
		_ = s.Delete(ctx, ref)
		b.ReportMetric(float64(peak-min(peak, base.HeapInuse))/(1<<20), "peak-heap-MiB")
	}
}

type patternReader struct{}

func (patternReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}

type sampledReader struct {
	r      io.Reader
	sample func()
}

func (s *sampledReader) Read(p []byte) (int, error) { s.sample(); return s.r.Read(p) }

type sampledWriter struct{ sample func() }

func (s *sampledWriter) Write(p []byte) (int, error) { s.sample(); return len(p), nil }
