package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

func TestExportLayout(t *testing.T) {
	f := newFixture(t)
	created := time.Date(2025, 3, 14, 15, 9, 26, 535_897_000, time.UTC)
	data, res := f.export(t, &ExportOptions{AppVersion: "1.2.3", CreatedAt: created})
	m := res.Manifest
	if m.PackageVersion != 1 || m.App != (App{"atelier", "1.2.3"}) || !m.CreatedAt.Equal(created.Truncate(time.Millisecond)) {
		t.Errorf("manifest header %+v", m)
	}
	if m.Workflow != (WorkflowInfo{ID: f.g.Workflow.ID, File: WorkflowFile, Name: "Storyboard"}) {
		t.Errorf("manifest workflow %+v", m.Workflow)
	}
	// Three distinct assets: the PNG (shown twice), the text, the URL.
	if len(m.Assets) != 3 {
		t.Fatalf("%d assets: %+v", len(m.Assets), m.Assets)
	}
	png, txt, url := m.Assets[0], m.Assets[1], m.Assets[2]
	for _, a := range []Asset{png, txt} {
		if a.Origin != OriginEmbedded || a.File != AssetDir+a.ID+"."+extFor(a.MIME) || a.URL != "" || a.Bytes != int64(len(f.assets[a.Hash])) {
			t.Errorf("embedded asset %+v", a)
		}
	}
	if !strings.HasSuffix(png.File, ".png") || !strings.HasSuffix(txt.File, ".txt") {
		t.Errorf("file names %s, %s", png.File, txt.File)
	}
	if url != (Asset{ID: url.ID, Origin: OriginURL, MIME: "image/jpeg", URL: fixtureURL}) {
		t.Errorf("url asset %+v", url)
	}

	// Assets first, then workflow.json, then manifest.json; media stored,
	// everything else deflated.
	z, err := openZip(bytes.NewReader(data), int64(len(data)), 10)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range z.files {
		names = append(names, zf.name)
		wantMethod := uint16(methodDeflate)
		if zf.name == png.File {
			wantMethod = methodStore
		}
		if zf.method != wantMethod {
			t.Errorf("%s: method %d, want %d", zf.name, zf.method, wantMethod)
		}
	}
	if want := []string{png.File, txt.File, WorkflowFile, ManifestFile}; !reflect.DeepEqual(names, want) {
		t.Errorf("entries %v, want %v", names, want)
	}

	// workflow.json: the graph, local refs rewritten to embedded ones.
	_, files := entries(t, data)
	var g graph.Graph
	if err := json.Unmarshal(files[WorkflowFile], &g); err != nil {
		t.Fatal(err)
	}
	wantRef := func(a Asset) assetref.Ref {
		return assetref.Ref{Kind: assetref.KindEmbedded, ID: a.ID, MIME: a.MIME, Bytes: a.Bytes, Hash: a.Hash}
	}
	for i, want := range []*assetref.Ref{nil, ptr(wantRef(png)), ptr(wantRef(png)), ptr(wantRef(txt)), f.g.Nodes[4].Result.Asset} {
		if got := g.Nodes[i].Result.Asset; !reflect.DeepEqual(got, want) {
			t.Errorf("node %d asset %+v, want %+v", i, got, want)
		}
	}
	if len(files[WorkflowFile]) > 4<<10 {
		t.Errorf("workflow.json is %d bytes: media inline?", len(files[WorkflowFile]))
	}
	var mf Manifest
	if err := json.Unmarshal(files[ManifestFile], &mf); err != nil || !reflect.DeepEqual(mf, m) {
		t.Errorf("manifest.json %s\ndecodes to %+v (%v)\nwant %+v", files[ManifestFile], mf, err, m)
	}
	if !bytes.Contains(files[ManifestFile], []byte(`"createdAt": "2025-03-14T15:09:26.535Z"`)) {
		t.Errorf("createdAt not in RFC 3339 with milliseconds: %s", files[ManifestFile])
	}
}

func TestExportLeavesGraphAlone(t *testing.T) {
	f := newFixture(t)
	before, err := json.Marshal(f.g)
	if err != nil {
		t.Fatal(err)
	}
	f.export(t, nil)
	after, _ := json.Marshal(f.g)
	if !bytes.Equal(before, after) {
		t.Errorf("Export changed the graph:\n%s\n%s", before, after)
	}
}

func TestExportEmptyGraph(t *testing.T) {
	g := graph.Graph{Workflow: graph.Workflow{ID: graph.NewID(), Name: "Empty", Viewport: graph.DefaultViewport}}
	var buf bytes.Buffer
	res, err := Export(context.Background(), &buf, &g, memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Manifest.Assets) != 0 {
		t.Errorf("assets %+v", res.Manifest.Assets)
	}
	got, err := importBytes(t, buf.Bytes(), FromStore(memstore.New()), &ImportOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Graph.Workflow, g.Workflow) || len(got.Graph.Nodes) != 0 || len(got.Graph.Edges) != 0 {
		t.Errorf("imported %+v", got.Graph)
	}
}

// server is a fake FetchFunc: each URL's behaviour by its path.
func server(origin []byte) FetchFunc {
	return func(ctx context.Context, url string) (*Fetched, error) {
		body := func(r io.Reader) io.ReadCloser { return io.NopCloser(r) }
		switch url[strings.LastIndexByte(url, '/')+1:] {
		case "ok.jpg":
			return &Fetched{Body: body(bytes.NewReader(origin)), MIME: "image/jpeg", Size: int64(len(origin))}, nil
		case "notype":
			return &Fetched{Body: body(bytes.NewReader(notype(origin))), MIME: "not a type", Size: -1}, nil
		case "missing.jpg":
			return nil, errors.New("HTTP 404 Not Found")
		case "slow.jpg":
			return &Fetched{Body: body(&blockingReader{ctx: ctx, first: origin[:100]}), Size: -1}, nil
		case "declared-large.jpg":
			return &Fetched{Body: body(bytes.NewReader(origin)), Size: 1 << 40}, nil
		case "streamed-large.jpg":
			return &Fetched{Body: body(io.MultiReader(bytes.NewReader(origin), bytes.NewReader(origin))), Size: -1}, nil
		case "broken.jpg":
			return &Fetched{Body: body(io.MultiReader(bytes.NewReader(origin[:500]), errReader{errors.New("connection reset")})), Size: -1}, nil
		case "changed.jpg":
			return &Fetched{Body: body(bytes.NewReader(origin)), Size: -1}, nil
		}
		return nil, fmt.Errorf("unexpected fetch of %s", url)
	}
}

// notype is what the server serves for "notype": other content than
// ok.jpg, so that the store does not deduplicate the two.
func notype(origin []byte) []byte { return append([]byte("n"), origin...) }

// blockingReader returns first, then blocks until ctx is done.
type blockingReader struct {
	ctx   context.Context
	first []byte
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if len(r.first) > 0 {
		n := copy(p, r.first)
		r.first = r.first[n:]
		return n, nil
	}
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// urlFixture returns a graph whose nodes show one URL each, with
// the fetch outcome (see server) in its name.
func urlFixture(t *testing.T, names ...string) *graph.Graph {
	t.Helper()
	g := &graph.Graph{Workflow: graph.Workflow{ID: graph.NewID(), Name: "Remote", Viewport: graph.DefaultViewport}}
	for i, n := range names {
		ref := &assetref.Ref{Kind: assetref.KindURL, URL: "https://cdn.example.com/" + n}
		if n == "changed.jpg" {
			ref.Hash = assetref.HashBytes([]byte("what it used to be"))
		}
		g.Nodes = append(g.Nodes, graph.Node{ID: graph.NewID(), WorkflowID: g.Workflow.ID, Type: "image",
			Position: graph.Position{X: float64(i)}, Result: &graph.Result{Asset: ref}})
	}
	return g
}

func TestExportOriginals(t *testing.T) {
	origin := noise(40000, 11)
	failing := map[string]error{
		"missing.jpg":        nil, // just fails
		"slow.jpg":           context.DeadlineExceeded,
		"declared-large.jpg": ErrOriginalTooLarge,
		"streamed-large.jpg": ErrOriginalTooLarge,
		"broken.jpg":         nil,
		"changed.jpg":        ErrContentMismatch,
	}
	names := []string{"ok.jpg", "notype", "missing.jpg", "slow.jpg", "declared-large.jpg", "streamed-large.jpg", "broken.jpg", "changed.jpg"}
	opts := func(keep bool) *ExportOptions {
		return &ExportOptions{IncludeOriginals: true, Fetch: server(origin), FetchTimeout: 50 * time.Millisecond,
			MaxOriginalBytes: int64(len(origin)) + 10, KeepFailedAsURL: keep}
	}

	t.Run("failures are errors", func(t *testing.T) {
		g := urlFixture(t, names...)
		_, err := Export(context.Background(), io.Discard, g, memstore.New(), opts(false))
		var ae *AssetError
		if !errors.As(err, &ae) {
			t.Fatalf("error %v; want an *AssetError", err)
		}
		if len(ae.Failures) != len(names)-2 {
			t.Fatalf("%d failures, want %d: %v", len(ae.Failures), len(names)-2, err)
		}
		for _, fl := range ae.Failures {
			name := fl.Ref.URL[strings.LastIndexByte(fl.Ref.URL, '/')+1:]
			if want := failing[name]; want != nil && !errors.Is(fl.Err, want) {
				t.Errorf("%s: %v; want %v", name, fl.Err, want)
			}
			if len(fl.Nodes) != 1 {
				t.Errorf("%s: nodes %v", name, fl.Nodes)
			}
		}
		if !errors.Is(err, ErrOriginalTooLarge) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v does not unwrap to its failures", err)
		}
	})

	t.Run("failures kept as url refs", func(t *testing.T) {
		g := urlFixture(t, names...)
		var buf bytes.Buffer
		res, err := Export(context.Background(), &buf, g, memstore.New(), opts(true))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.KeptAsURL) != len(names)-2 {
			t.Errorf("%d kept as url, want %d", len(res.KeptAsURL), len(names)-2)
		}
		embedded := 0
		for _, a := range res.Manifest.Assets {
			if a.Origin == OriginEmbedded {
				embedded++
				if a.Hash != assetref.HashBytes(origin) && a.Hash != assetref.HashBytes(notype(origin)) {
					t.Errorf("embedded original %+v", a)
				}
			}
		}
		if embedded != 2 {
			t.Errorf("%d embedded, want 2", embedded)
		}
		dst := memstore.New()
		imp, err := importBytes(t, buf.Bytes(), FromStore(dst), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range imp.Graph.Nodes {
			ref := n.Result.Asset
			switch names[i] {
			case "ok.jpg", "notype":
				want := map[string][]byte{"ok.jpg": origin, "notype": notype(origin)}[names[i]]
				if ref.Kind != assetref.KindEmbedded || !bytes.Equal(readAsset(t, dst, *ref), want) {
					t.Errorf("%s: ref %+v", names[i], ref)
				}
				wantMIME := map[string]string{"ok.jpg": "image/jpeg", "notype": assetref.DefaultMIME}[names[i]]
				if ref.MIME != wantMIME {
					t.Errorf("%s: mime %q, want %q", names[i], ref.MIME, wantMIME)
				}
			default:
				if *ref != *g.Nodes[i].Result.Asset {
					t.Errorf("%s: ref %+v, want it unchanged", names[i], ref)
				}
			}
		}
	})

	t.Run("blob URLs are always embedded", func(t *testing.T) {
		g := urlFixture(t, "ok.jpg")
		g.Nodes[0].Result.Asset.URL = "blob:https://app.example/ok.jpg"
		var buf bytes.Buffer
		res, err := Export(context.Background(), &buf, g, memstore.New(), &ExportOptions{Fetch: server(origin)})
		if err != nil {
			t.Fatal(err)
		}
		if a := res.Manifest.Assets[0]; a.Origin != OriginEmbedded || a.Bytes != int64(len(origin)) {
			t.Errorf("blob asset %+v", a)
		}
		// Without Fetch they fail, even with KeepFailedAsURL.
		_, err = Export(context.Background(), io.Discard, g, memstore.New(), &ExportOptions{KeepFailedAsURL: true})
		if !errors.Is(err, ErrNoFetch) {
			t.Errorf("blob without Fetch: %v", err)
		}
	})
}

func TestExportLocalFailures(t *testing.T) {
	f := newFixture(t)
	other := memstore.NewKind(assetref.KindOPFS) // has none of the fixture's assets
	_, err := Export(context.Background(), io.Discard, &f.g, other, &ExportOptions{KeepFailedAsURL: true})
	var ae *AssetError
	if !errors.As(err, &ae) || len(ae.Failures) != 2 || !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("error %v; want an *AssetError with 2 not-found failures", err)
	}
	if nodes := ae.Failures[0].Nodes; len(nodes) != 2 || nodes[0] != f.g.Nodes[1].ID || nodes[1] != f.g.Nodes[2].ID {
		t.Errorf("failure nodes %v", nodes)
	}

	// A source that hands out other content than the ref describes.
	liar := SourceFunc(func(context.Context, assetref.Ref) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("something else")), nil
	})
	_, err = Export(context.Background(), io.Discard, &f.g, liar, nil)
	if !errors.Is(err, ErrContentMismatch) {
		t.Errorf("lying source: %v", err)
	}
}

func TestExportInvalidInput(t *testing.T) {
	f := newFixture(t)
	broken := f.g
	broken.Edges = append([]graph.Edge{{ID: graph.NewID(), WorkflowID: f.g.Workflow.ID, Source: f.g.Nodes[0].ID, Target: graph.NewID()}}, f.g.Edges...)
	for _, tc := range []struct {
		name string
		g    *graph.Graph
		opts *ExportOptions
	}{
		{"dangling edge", &broken, nil},
		{"IncludeOriginals without Fetch", &f.g, &ExportOptions{IncludeOriginals: true}},
		{"control character in AppName", &f.g, &ExportOptions{AppName: "a\x00b"}},
		{"AppVersion too long", &f.g, &ExportOptions{AppVersion: strings.Repeat("1", 65)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Export(context.Background(), &buf, tc.g, f.src, tc.opts)
			if !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("error %v; want errs.ErrInvalid", err)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written", buf.Len())
			}
		})
	}
}

// failingWriter fails once more than n bytes were written to it.
type failingWriter struct{ n int }

var errWriterFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errWriterFull
	}
	w.n -= len(p)
	return len(p), nil
}

func TestExportStops(t *testing.T) {
	f := newFixture(t)
	// A large asset, so that writes happen before the end.
	big := f.put(t, noise(3<<20, 4), "video/mp4")
	f.g.Nodes[0].Result = &graph.Result{Asset: &big}

	t.Run("writer fails", func(t *testing.T) {
		for _, n := range []int{0, 100, 1 << 20, 3 << 20} {
			_, err := Export(context.Background(), &failingWriter{n: n}, &f.g, f.src, &ExportOptions{ChunkSize: 64 << 10})
			if !errors.Is(err, errWriterFull) {
				t.Errorf("writer fails after %d bytes: %v", n, err)
			}
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := Export(ctx, io.Discard, &f.g, f.src, &ExportOptions{ChunkSize: 64 << 10, Progress: func(p Progress) {
			if p.Done > 1<<20 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v; want context.Canceled", err)
		}
	})
	t.Run("context cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Export(ctx, io.Discard, &f.g, f.src, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v; want context.Canceled", err)
		}
	})
}

func TestExportProgress(t *testing.T) {
	f := newFixture(t)
	var want int64
	for _, data := range f.assets {
		want += int64(len(data))
	}
	// Without sizes in the refs, the total comes from the source's Stat.
	for i := range f.g.Nodes {
		if r := f.g.Nodes[i].Result; r != nil && r.Asset != nil && r.Asset.Kind != assetref.KindURL {
			a := *r.Asset
			a.Bytes = 0
			r.Asset = &a
		}
	}
	var seen []Progress
	f.export(t, &ExportOptions{ChunkSize: 4096, Progress: func(p Progress) { seen = append(seen, p) }})
	if len(seen) < 3 {
		t.Fatalf("progress called %d times", len(seen))
	}
	for i, p := range seen {
		if p.Total != want || p.Done > p.Total || i > 0 && p.Done < seen[i-1].Done {
			t.Errorf("progress %d: %+v; total %d", i, p, want)
		}
	}
	if last := seen[len(seen)-1]; last.Done != want {
		t.Errorf("last progress %+v, want done %d", last, want)
	}
}

func TestMIMETables(t *testing.T) {
	for _, tc := range []struct {
		mime       string
		ext        string
		compressed bool // stored, not deflated
	}{
		{"image/png", "png", true},
		{"IMAGE/JPEG", "jpg", true},
		{"image/webp", "webp", true},
		{"image/gif", "gif", true},
		{"image/avif", "avif", true},
		{"image/svg+xml", "svg", false},
		{"image/bmp", "bmp", false},
		{"video/mp4", "mp4", true},
		{"video/webm", "webm", true},
		{"video/x-unknown", "bin", true},
		{"audio/mpeg", "mp3", true},
		{"audio/wav", "wav", false},
		{"application/zip", "zip", true},
		{"application/epub+zip", "bin", true},
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "bin", true},
		{"application/json", "json", false},
		{"application/json; charset=utf-8", "json", false},
		{"text/plain;charset=utf-8", "txt", false},
		{"application/octet-stream", "bin", false},
		{"model/gltf-binary", "glb", false},
		{"font/woff2", "woff2", true},
	} {
		if got := extFor(tc.mime); got != tc.ext {
			t.Errorf("extFor(%q) = %q, want %q", tc.mime, got, tc.ext)
		}
		if got := compressible(tc.mime); got == tc.compressed {
			t.Errorf("compressible(%q) = %v", tc.mime, got)
		}
	}
	// Every extension is one a manifest accepts.
	for mime, ext := range extByMIME {
		if !validAssetFile(AssetDir+"x."+ext, "x") {
			t.Errorf("%s: extension %q is not accepted on import", mime, ext)
		}
	}
}
