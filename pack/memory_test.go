package pack

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

// genReader produces n bytes on the fly: noise, or for text a
// compressible stream of words.
type genReader struct {
	n, off int64
	text   bool
	x      uint64
}

var words = []string{"the ", "hero ", "walks ", "into ", "a ", "sunrise ", "over ", "misty ", "hills, ", "slowly. "}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n-g.off)]
	if g.x == 0 {
		g.x = 0x9e3779b97f4a7c15
	}
	for i := 0; i < len(p); {
		g.x ^= g.x << 13
		g.x ^= g.x >> 7
		g.x ^= g.x << 17
		if g.text {
			i += copy(p[i:], words[g.x%uint64(len(words))])
			continue
		}
		for k := 0; k < 8 && i < len(p); k++ {
			p[i] = byte(g.x >> (8 * k))
			i++
		}
	}
	g.off += int64(len(p))
	return len(p), nil
}

// generated returns a graph whose assets are made on the fly by the
// returned source, with the given sizes: stored media, then deflated text.
func generated(media, text int64) (*graph.Graph, AssetSource) {
	g := &graph.Graph{Workflow: graph.Workflow{ID: graph.NewID(), Name: "Large", Viewport: graph.DefaultViewport}}
	add := func(key, mime string, n int64) {
		ref := &assetref.Ref{Kind: assetref.KindIDB, BlobKey: key, MIME: mime, Bytes: n}
		g.Nodes = append(g.Nodes, graph.Node{ID: graph.NewID(), WorkflowID: g.Workflow.ID, Type: "media",
			Result: &graph.Result{Asset: ref}})
	}
	if media > 0 {
		add("media", "video/mp4", media)
	}
	if text > 0 {
		add("text", "text/plain", text)
	}
	src := SourceFunc(func(_ context.Context, ref assetref.Ref) (io.ReadCloser, error) {
		return io.NopCloser(&genReader{n: ref.Bytes, text: ref.MIME == "text/plain"}), nil
	})
	return g, src
}

// discardSink hashes what it is given and keeps nothing.
type discardSink struct{ puts atomic.Int64 }

func (k *discardSink) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, bool, error) {
	var h assetref.Hasher
	if _, err := io.Copy(&h, r); err != nil {
		return assetref.Ref{}, false, err
	}
	k.puts.Add(1)
	return assetref.Ref{Kind: assetref.KindIDB, BlobKey: graph.NewID(), MIME: hint.MIME, Bytes: h.Size(), Hash: h.Sum()}, true, nil
}

func (k *discardSink) Delete(context.Context, assetref.Ref) error { return nil }

// heapPeak samples the Go heap until stop is called and returns the
// highest HeapAlloc seen. sample can also be called directly, e.g. from a
// progress callback.
type heapPeak struct {
	mu   sync.Mutex
	peak uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func startHeapPeak() *heapPeak {
	h := &heapPeak{done: make(chan struct{})}
	h.sample()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-tick.C:
				h.sample()
			}
		}
	}()
	return h
}

func (h *heapPeak) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.mu.Lock()
	h.peak = max(h.peak, ms.HeapAlloc)
	h.mu.Unlock()
}

func (h *heapPeak) stop() uint64 {
	close(h.done)
	h.wg.Wait()
	h.sample()
	return h.peak
}

func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryBounded200MiB exports a package of over 200 MiB (194 MiB of
// stored video and 48 MiB of text that deflates to about 8 MiB, both
// generated on the fly) to a file and
// imports it back from the file, and checks that neither grows the Go heap
// by more than 16 MiB plus one chunk.
func TestMemoryBounded200MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MiB export and import; skipped with -short")
	}
	if runtime.GOOS == "js" {
		t.Skip("needs a file system for the 200 MiB package; runs on the host")
	}
	const chunk = DefaultChunkSize
	const limit = 16<<20 + chunk
	g, src := generated(194<<20, 48<<20)
	path := filepath.Join(t.TempDir(), "large.genaiw.zip")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	base := heapNow()
	hp := startHeapPeak()
	calls := 0
	res, err := Export(context.Background(), out, g, src, &ExportOptions{ChunkSize: chunk, Progress: func(Progress) {
		if calls++; calls%16 == 0 {
			hp.sample()
		}
	}})
	peak := hp.stop()
	if err != nil {
		t.Fatal(err)
	}
	exportGrowth := peak - min(base, peak)
	t.Logf("export: %d MiB package (%d bytes); heap before %.1f MiB, peak %.1f MiB, growth %.1f MiB (limit %d MiB)",
		res.Size>>20, res.Size, mib(base), mib(peak), mib(exportGrowth), limit>>20)
	if exportGrowth > limit {
		t.Errorf("export grew the heap by %.1f MiB, more than %d MiB", mib(exportGrowth), limit>>20)
	}
	if res.Size < 200<<20 || res.Manifest.Assets[0].Bytes+res.Manifest.Assets[1].Bytes != 242<<20 {
		t.Fatalf("package of %d bytes with assets %+v", res.Size, res.Manifest.Assets)
	}

	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	sink := &discardSink{}
	base = heapNow()
	hp = startHeapPeak()
	calls = 0
	imp, err := Import(context.Background(), in, res.Size, sink, &ImportOptions{ChunkSize: chunk, Replace: true, Progress: func(Progress) {
		if calls++; calls%256 == 0 {
			hp.sample()
		}
	}})
	peak = hp.stop()
	if err != nil {
		t.Fatal(err)
	}
	importGrowth := peak - min(base, peak)
	t.Logf("import: heap before %.1f MiB, peak %.1f MiB, growth %.1f MiB (limit %d MiB)", mib(base), mib(peak), mib(importGrowth), limit>>20)
	if importGrowth > limit {
		t.Errorf("import grew the heap by %.1f MiB, more than %d MiB", mib(importGrowth), limit>>20)
	}
	if sink.puts.Load() != 2 || imp.Graph.Workflow.ID != g.Workflow.ID {
		t.Errorf("imported %d assets, workflow %s", sink.puts.Load(), imp.Graph.Workflow.ID)
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkExport100MiB and BenchmarkImport100MiB report throughput
// (MB/s) for a 100 MiB package: stored media, and deflated text.
func BenchmarkExport100MiB(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			g, src := generated(bc.media, bc.text)
			b.SetBytes(100 << 20)
			for b.Loop() {
				if _, err := Export(context.Background(), io.Discard, g, src, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkImport100MiB(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			g, src := generated(bc.media, bc.text)
			path := filepath.Join(b.TempDir(), "bench.genaiw.zip")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			res, err := Export(context.Background(), f, g, src, nil)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
			in, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer in.Close()
			b.SetBytes(100 << 20)
			for b.Loop() {
				if _, err := Import(context.Background(), in, res.Size, &discardSink{}, &ImportOptions{Replace: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Size)/(1<<20), "MiB-package")
		})
	}
}

var benchCases = []struct {
	name        string
	media, text int64
}{
	{"stored", 100 << 20, 0},
	{"deflated", 0, 100 << 20},
}
