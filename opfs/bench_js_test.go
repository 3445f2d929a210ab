//go:build js && wasm

package opfs

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/workertest"
)

// Benchmarks put the store next to plain JavaScript doing the same I/O in
// the same run, one after the other in every iteration, and report both
// rates and their ratio. They print figures; they never fail on time.
//
//	GOOS=js GOARCH=wasm go test -exec wasmbrowsertest -run '^$' -bench . -benchtime 5x ./opfs/

const benchSize = 64 << 20

// rawScript defines the JavaScript baselines. Each returns the elapsed
// milliseconds, measured in JavaScript.
const rawScript = `
const chunk = 1 << 20;
const data = new Uint8Array(chunk);
for (let i = 0; i < chunk; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
const workerSrc = "onmessage = async (e) => {" +
  "const { op, dir, name, size, chunk } = e.data; const t0 = performance.now();" +
  "const fh = await dir.getFileHandle(name, { create: true });" +
  "const h = await fh.createSyncAccessHandle(); const buf = new Uint8Array(chunk);" +
  "crypto.getRandomValues(buf.subarray(0, 65536));" +
  "if (op === 'write') { h.truncate(0); for (let off = 0; off < size; off += chunk) h.write(buf.subarray(0, Math.min(chunk, size - off)), { at: off }); h.flush(); }" +
  "else { const n = h.getSize(); for (let off = 0; off < n; off += chunk) h.read(buf, { at: off }); }" +
  "h.close(); postMessage(performance.now() - t0); };";
let worker;
const inWorker = (msg) => new Promise((resolve, reject) => {
  worker ??= new Worker(URL.createObjectURL(new Blob([workerSrc], { type: "text/javascript" })));
  const t0 = performance.now();
  worker.onmessage = () => resolve(performance.now() - t0);
  worker.onerror = (e) => reject(new Error(e.message));
  worker.postMessage(msg);
});
return {
  // createWritable, writing 1 MiB chunks, awaiting each.
  async writeWritable(dir, name, size) {
    const t0 = performance.now();
    const fh = await dir.getFileHandle(name, { create: true });
    const w = await fh.createWritable();
    for (let off = 0; off < size; off += chunk) await w.write(data.subarray(0, Math.min(chunk, size - off)));
    await w.close();
    return performance.now() - t0;
  },
  // The whole file in one arrayBuffer().
  async readArrayBuffer(dir, name) {
    const t0 = performance.now();
    const fh = await dir.getFileHandle(name);
    const ab = await (await fh.getFile()).arrayBuffer();
    if (ab.byteLength === 0) throw new Error("empty");
    return performance.now() - t0;
  },
  // A sync access handle in a dedicated worker, timed from this thread.
  writeSync: (dir, name, size) => inWorker({ op: "write", dir, name, size, chunk }),
  readSync: (dir, name) => inWorker({ op: "read", dir, name, chunk }),
  // The same, from within a worker: the Go program's own thread.
  async writeSyncHere(dir, name, size) {
    const t0 = performance.now();
    const fh = await dir.getFileHandle(name, { create: true });
    const h = await fh.createSyncAccessHandle();
    h.truncate(0);
    for (let off = 0; off < size; off += chunk) h.write(data.subarray(0, Math.min(chunk, size - off)), { at: off });
    h.flush(); h.close();
    return performance.now() - t0;
  },
  async readSyncHere(dir, name) {
    const t0 = performance.now();
    const fh = await dir.getFileHandle(name);
    const h = await fh.createSyncAccessHandle();
    const buf = new Uint8Array(chunk);
    for (let off = 0, n = h.getSize(); off < n; off += chunk) h.read(buf, { at: off });
    h.close();
    return performance.now() - t0;
  },
  close() { if (worker) worker.terminate(); worker = undefined; },
};`

// raw runs one JavaScript baseline and returns its duration.
type rawBaselines struct{ v js.Value }

func newRaw(b *testing.B) rawBaselines {
	r := rawBaselines{eval(rawScript)}
	b.Cleanup(func() { r.v.Call("close") })
	return r
}

func (r rawBaselines) run(b *testing.B, fn string, args ...any) time.Duration {
	b.Helper()
	ms := await(b, r.v.Call(fn, args...)).Float()
	return time.Duration(ms * float64(time.Millisecond))
}

// source is a reader of n bytes copied from a fixed 1 MiB buffer: as cheap
// a source as JavaScript's repeated chunk.
type source struct {
	buf []byte
	n   int64
}

func newSource(n int64) *source {
	b := make([]byte, 1<<20)
	newStream(int64(len(b)), 42).Read(b)
	return &source{buf: b, n: n}
}

func (s *source) Read(p []byte) (int, error) {
	if s.n <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), s.n)], s.buf)
	s.n -= int64(n)
	return n, nil
}

// rates collects durations of the store and of baselines, and reports them
// as MB/s and ratios.
type rates struct {
	size  int64
	store time.Duration
	raw   map[string]time.Duration
}

func (r *rates) add(name string, d time.Duration) {
	if r.raw == nil {
		r.raw = map[string]time.Duration{}
	}
	r.raw[name] += d
}

func mbps(size int64, n int, d time.Duration) float64 {
	return float64(size) * float64(n) / 1e6 / d.Seconds()
}

func (r *rates) report(b *testing.B) {
	store := mbps(r.size, b.N, r.store)
	b.ReportMetric(store, "store-MB/s")
	line := fmt.Sprintf("%s: store %.0f MB/s", b.Name(), store)
	for _, name := range []string{"writable", "arraybuffer", "sync-worker", "sync-here"} {
		d, ok := r.raw[name]
		if !ok {
			continue
		}
		raw := mbps(r.size, b.N, d)
		b.ReportMetric(raw, "raw-"+name+"-MB/s")
		b.ReportMetric(store/raw, "x-"+name)
		line += fmt.Sprintf("; raw %s %.0f MB/s, store/raw %.2f", name, raw, store/raw)
	}
	b.Log(line)
}

func BenchmarkWrite64MiB(b *testing.B) {
	for _, mode := range []WriteMode{WriteStream, WriteWorker} {
		b.Run(mode.String(), func(b *testing.B) {
			ctx := b.Context()
			s := openOPFS(b, Options{WriteMode: mode})
			raw := newRaw(b)
			dir := testFolder(b).JSValue()
			r := rates{size: benchSize}
			b.SetBytes(benchSize)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				r.add("writable", raw.run(b, "writeWritable", dir, "raw", benchSize))
				r.add("sync-worker", raw.run(b, "writeSync", dir, "raw", benchSize))
				b.StartTimer()
				t0 := time.Now()
				ref, err := s.Put(ctx, newSource(benchSize), assetref.Hint{MIME: "video/mp4"})
				r.store += time.Since(t0)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Delete(ctx, ref); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			r.report(b)
		})
	}
}

func BenchmarkRead64MiB(b *testing.B) {
	ctx := b.Context()
	s := openOPFS(b, Options{})
	raw := newRaw(b)
	dir := testFolder(b).JSValue()
	raw.run(b, "writeWritable", dir, "raw", benchSize)
	ref, err := s.Put(ctx, newSource(benchSize), assetref.Hint{MIME: "video/mp4"})
	if err != nil {
		b.Fatal(err)
	}
	r := rates{size: benchSize}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r.add("arraybuffer", raw.run(b, "readArrayBuffer", dir, "raw"))
		r.add("sync-worker", raw.run(b, "readSync", dir, "raw"))
		b.StartTimer()
		t0 := time.Now()
		rc, err := s.Open(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		r.store += time.Since(t0)
		if err != nil || n != benchSize {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
	b.StopTimer()
	r.report(b)
}

// BenchmarkHash is the ceiling of any Put: crypto/sha256 compiled to wasm.
func BenchmarkHash(b *testing.B) {
	buf := make([]byte, 1<<20)
	h := sha256.New()
	b.SetBytes(int64(len(buf)))
	for range b.N {
		h.Write(buf)
	}
}

// BenchmarkDedicatedWorker runs the *InWorker benchmarks in a dedicated
// worker, where the store writes with sync access handles, and prints
// their results.
func BenchmarkDedicatedWorker(b *testing.B) {
	if workertest.InWorker() {
		b.Skip("already in the worker")
	}
	// The framework calls a benchmark more than once (b.N = 1 first):
	// run the worker once and repeat its report.
	if workerBench.out != "" {
		workerBench.report(b)
		return
	}
	benchtime := "3x"
	if f := flag.Lookup("test.benchtime"); f != nil && f.Value.String() != "1s" {
		benchtime = f.Value.String()
	}
	// The work happens in the worker, with the same -benchtime (3x unless
	// given: a second per benchmark is too short for 64 MiB writes).
	workerBench.out, workerBench.code = workertest.Run(b, "-test.run=^$", "-test.bench=InWorker", "-test.benchtime="+benchtime)
	workerBench.report(b)
}

// workerRun is the output of the test binary run in a worker.
type workerRun struct {
	out  string
	code int
}

var workerBench workerRun

func (w *workerRun) report(b *testing.B) {
	for line := range strings.Lines(w.out) {
		if strings.HasPrefix(line, "Benchmark") || strings.Contains(line, ": store ") || strings.Contains(line, "peak HeapInuse") {
			b.Log("worker: " + strings.TrimRight(line, "\n"))
		}
	}
	if w.code != 0 {
		b.Fatalf("the benchmarks in the worker failed (exit code %d):\n%s", w.code, w.out)
	}
}

func BenchmarkWrite64MiBInWorker(b *testing.B) {
	skipOutsideWorker(b)
	ctx := b.Context()
	s := openOPFS(b, Options{})
	raw := newRaw(b)
	dir := testFolder(b).JSValue()
	r := rates{size: benchSize}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r.add("sync-here", raw.run(b, "writeSyncHere", dir, "raw", benchSize))
		b.StartTimer()
		t0 := time.Now()
		ref, err := s.Put(ctx, newSource(benchSize), assetref.Hint{MIME: "video/mp4"})
		r.store += time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Delete(ctx, ref); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	r.report(b)
}

func BenchmarkRead64MiBInWorker(b *testing.B) {
	skipOutsideWorker(b)
	ctx := b.Context()
	s := openOPFS(b, Options{})
	raw := newRaw(b)
	dir := testFolder(b).JSValue()
	raw.run(b, "writeSyncHere", dir, "raw", benchSize)
	ref, err := s.Put(ctx, newSource(benchSize), assetref.Hint{MIME: "video/mp4"})
	if err != nil {
		b.Fatal(err)
	}
	r := rates{size: benchSize}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r.add("arraybuffer", raw.run(b, "readArrayBuffer", dir, "raw"))
		r.add("sync-here", raw.run(b, "readSyncHere", dir, "raw"))
		b.StartTimer()
		t0 := time.Now()
		rc, err := s.Open(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		r.store += time.Since(t0)
		if err != nil || n != benchSize {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
	b.StopTimer()
	r.report(b)
}

// heapProbe samples the Go heap while data streams through it.
type heapProbe struct {
	base, peak uint64
	alloc0     uint64
	samples    int
}

func newHeapProbe() *heapProbe {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &heapProbe{base: m.HeapInuse, peak: m.HeapInuse, alloc0: m.TotalAlloc}
}

func (p *heapProbe) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	p.peak = max(p.peak, m.HeapInuse)
	p.samples++
}

func (p *heapProbe) allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc - p.alloc0
}

// probedReader samples the heap on every Read.
type probedReader struct {
	r io.Reader
	p *heapProbe
}

func (r probedReader) Read(b []byte) (int, error) { r.p.sample(); return r.r.Read(b) }

// probedWriter samples the heap on every Write.
type probedWriter struct {
	w io.Writer
	p *heapProbe
}

func (w probedWriter) Write(b []byte) (int, error) { w.p.sample(); return w.w.Write(b) }

// TestPeakHeap streams 64 MiB in and out of the store and checks that the
// Go heap grows by at most 16 MiB meanwhile: an implementation that held
// the asset would grow by 64. BenchmarkPeakHeap256MiB reports the figures
// for 256 MiB.
func TestPeakHeap(t *testing.T) {
	for _, mode := range heapModes() {
		t.Run(mode.String(), func(t *testing.T) {
			growth, _, _ := peakHeap(t, mode, 64<<20)
			if growth > 16<<20 {
				t.Fatalf("the Go heap grew by %d bytes, more than 16 MiB", growth)
			}
		})
	}
}

// BenchmarkPeakHeap256MiB streams 256 MiB in and out of the store and
// reports how much the Go heap grew at most (HeapInuse, sampled on every
// read and write of the data) and how much was allocated in all. It is a
// measurement of memory, not of time: it streams once per call, whatever
// b.N, so its ns/op means nothing.
func BenchmarkPeakHeap256MiB(b *testing.B) {
	for _, mode := range heapModes() {
		b.Run(mode.String(), func(b *testing.B) {
			growth, alloc, samples := peakHeap(b, mode, 256<<20)
			b.ReportMetric(float64(growth)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(alloc)/(1<<20), "alloc-MiB")
			b.Logf("%s: 256 MiB in and out: peak HeapInuse %.1f MiB above the start (%d samples), %.1f MiB allocated in all",
				mode, float64(growth)/(1<<20), samples, float64(alloc)/(1<<20))
		})
	}
}

func heapModes() []WriteMode {
	if workertest.InWorker() {
		return []WriteMode{WriteSyncHandle}
	}
	return []WriteMode{WriteStream, WriteWorker}
}

// TestPeakHeapInWorker is TestPeakHeap in a dedicated worker.
func TestPeakHeapInWorker(t *testing.T) {
	skipOutsideWorker(t)
	TestPeakHeap(t)
}

// BenchmarkPeakHeap256MiBInWorker is BenchmarkPeakHeap256MiB in a
// dedicated worker.
func BenchmarkPeakHeap256MiBInWorker(b *testing.B) {
	skipOutsideWorker(b)
	BenchmarkPeakHeap256MiB(b)
}

func peakHeap(tb testing.TB, mode WriteMode, size int64) (growth, alloc uint64, samples int) {
	ctx := tb.Context()
	s := openOPFS(tb, Options{WriteMode: mode})
	p := newHeapProbe()
	ref, err := s.Put(ctx, probedReader{newStream(size, 9), p}, assetref.Hint{MIME: "video/mp4"})
	if err != nil {
		tb.Fatal(err)
	}
	rc, err := s.Open(ctx, ref)
	if err != nil {
		tb.Fatal(err)
	}
	var h assetref.Hasher
	n, err := io.Copy(probedWriter{&h, p}, rc)
	rc.Close()
	if err != nil || n != size || h.Sum() != ref.Hash {
		tb.Fatalf("read back %d bytes hashing to %s: %v", n, h.Sum(), err)
	}
	if err := s.Delete(ctx, ref); err != nil {
		tb.Fatal(err)
	}
	return p.peak - p.base, p.allocated(), p.samples
}
