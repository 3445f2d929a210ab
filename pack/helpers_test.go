package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	kzip "github.com/klauspost/compress/zip"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/graph"
)

// noise returns n bytes of deterministic noise; different seeds give
// different content.
func noise(n int, seed uint64) []byte {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// fixture is a workflow whose assets live in an opfs-kind memory store.
type fixture struct {
	src    *memstore.Store
	g      graph.Graph
	assets map[string][]byte // content by the hash string
}

const fixtureURL = "https://cdn.example.com/cat.jpg"

// newFixture returns a graph of five nodes and three edges: a prompt, two
// nodes showing the same PNG, one showing a text asset, and one showing a
// remote JPEG.
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureSized(tb, 20000, 400)
}

// newFixtureSized is newFixture with a PNG of pngNoise bytes and more
// and a text of textRepeat phrases.
func newFixtureSized(tb testing.TB, pngNoise, textRepeat int) *fixture {
	tb.Helper()
	f := &fixture{src: memstore.NewKind(assetref.KindOPFS), assets: map[string][]byte{}}
	png := append([]byte("\x89PNG\r\n\x1a\n"), noise(pngNoise, 1)...)
	txt := bytes.Repeat([]byte("a shot of the hero at dawn; "), textRepeat)
	pngRef := f.put(tb, png, "image/png")
	txtRef := f.put(tb, txt, "text/plain; charset=utf-8")
	wf := graph.NewID()
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = graph.NewID()
	}
	node := func(i int, typ string, r *graph.Result) graph.Node {
		return graph.Node{ID: ids[i], WorkflowID: wf, Type: typ, Title: fmt.Sprintf("Node %d", i),
			Position: graph.Position{X: float64(100 * i), Y: 20}, Result: r, Config: json.RawMessage(`{"seed":42}`)}
	}
	f.g = graph.Graph{
		Workflow: graph.Workflow{ID: wf, Name: "Storyboard", Viewport: graph.DefaultViewport, CreatedAt: 1700000000000, UpdatedAt: 1700000000000, Version: 3},
		Nodes: []graph.Node{
			node(0, "prompt", &graph.Result{Text: "a hero at dawn"}),
			node(1, "image-gen", &graph.Result{Asset: &pngRef}),
			node(2, "upscale", &graph.Result{Asset: &pngRef}),
			node(3, "caption", &graph.Result{Asset: &txtRef}),
			node(4, "reference", &graph.Result{Asset: &assetref.Ref{Kind: assetref.KindURL, URL: fixtureURL, MIME: "image/jpeg"}}),
		},
		Edges: []graph.Edge{
			{ID: graph.NewID(), WorkflowID: wf, Source: ids[0], Target: ids[1]},
			{ID: graph.NewID(), WorkflowID: wf, Source: ids[1], Target: ids[2], SourceHandle: "image", TargetHandle: "in"},
			{ID: graph.NewID(), WorkflowID: wf, Source: ids[0], Target: ids[3]},
		},
	}
	return f
}

func (f *fixture) put(tb testing.TB, data []byte, mime string) assetref.Ref {
	tb.Helper()
	ref, err := f.src.Put(context.Background(), bytes.NewReader(data), assetref.Hint{MIME: mime})
	if err != nil {
		tb.Fatal(err)
	}
	f.assets[ref.Hash] = data
	return ref
}

// export exports the fixture's graph with opts and returns the package.
func (f *fixture) export(tb testing.TB, opts *ExportOptions) ([]byte, *ExportResult) {
	tb.Helper()
	var buf bytes.Buffer
	res, err := Export(context.Background(), &buf, &f.g, f.src, opts)
	if err != nil {
		tb.Fatalf("Export: %v", err)
	}
	if res.Size != int64(buf.Len()) {
		tb.Fatalf("ExportResult.Size = %d, wrote %d bytes", res.Size, buf.Len())
	}
	return buf.Bytes(), res
}

// entries returns the content of every entry of a zip archive, in order,
// read with klauspost's reader (independent of this package's).
func entries(tb testing.TB, data []byte) ([]string, map[string][]byte) {
	tb.Helper()
	names, files, _ := entriesStored(tb, data)
	return names, files
}

// entriesStored is entries that also reports which entries are stored
// rather than deflated.
func entriesStored(tb testing.TB, data []byte) ([]string, map[string][]byte, map[string]bool) {
	tb.Helper()
	zr, err := kzip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	files := map[string][]byte{}
	stored := map[string]bool{}
	for _, f := range zr.File {
		stored[f.Name] = f.Method == kzip.Store
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatalf("%s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		files[f.Name] = b
	}
	return names, files, stored
}

// rawEntry is an entry for assemble. Fields after data lie about it.
type rawEntry struct {
	name  string
	data  []byte
	store bool

	usize *uint64     // declared uncompressed size, if not len(data)
	crc   *uint32     // declared CRC-32, if not the real one
	flags uint16      // extra flag bits
	mode  os.FileMode // if set, the mode in the external attributes (made by Unix)
}

// assemble builds a zip archive with klauspost's writer, deflating every
// entry unless it says store, and declaring whatever the entry says.
func assemble(tb testing.TB, es []rawEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := kzip.NewWriter(&buf)
	for _, e := range es {
		fh := &kzip.FileHeader{Name: e.name, Method: kzip.Deflate, Flags: e.flags}
		fh.Modified = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		if e.mode != 0 {
			fh.SetMode(e.mode)
		}
		comp := e.data
		if e.store || strings.HasSuffix(e.name, "/") {
			fh.Method = kzip.Store
		} else {
			var cb bytes.Buffer
			fw, err := kflateWriter(&cb, len(e.data))
			if err != nil {
				tb.Fatal(err)
			}
			fw.Write(e.data)
			fw.Close()
			comp = cb.Bytes()
		}
		fh.CRC32 = crc32.ChecksumIEEE(e.data)
		if e.crc != nil {
			fh.CRC32 = *e.crc
		}
		fh.UncompressedSize64 = uint64(len(e.data))
		if e.usize != nil {
			fh.UncompressedSize64 = *e.usize
		}
		fh.CompressedSize64 = uint64(len(comp))
		w, err := zw.CreateRaw(fh)
		if err != nil {
			tb.Fatal(err)
		}
		if len(comp) == 0 {
			continue
		}
		if _, err := w.Write(comp); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// unpacked is a valid package taken apart, to be changed and reassembled.
// Entries that were stored are stored again (media, as Export writes
// them); the rest, and entries added, are deflated.
type unpacked struct {
	names  []string
	files  map[string][]byte
	stored map[string]bool
}

func unpack(tb testing.TB, data []byte) *unpacked {
	names, files, stored := entriesStored(tb, data)
	return &unpacked{names: names, files: files, stored: stored}
}

func (u *unpacked) clone() *unpacked {
	return &unpacked{names: slices.Clone(u.names), files: maps.Clone(u.files), stored: maps.Clone(u.stored)}
}

func (u *unpacked) zip(tb testing.TB) []byte {
	tb.Helper()
	es := make([]rawEntry, len(u.names))
	for i, n := range u.names {
		es[i] = rawEntry{name: n, data: u.files[n], store: u.stored[n]}
	}
	return assemble(tb, es)
}

// manifest decodes manifest.json generically, for editing.
func (u *unpacked) manifest(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(u.files[ManifestFile], &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func (u *unpacked) setJSON(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	u.files[name] = b
}

// editManifest applies edit to manifest.json.
func (u *unpacked) editManifest(tb testing.TB, edit func(m map[string]any)) {
	tb.Helper()
	m := u.manifest(tb)
	edit(m)
	u.setJSON(tb, ManifestFile, m)
}

// editWorkflow applies edit to workflow.json.
func (u *unpacked) editWorkflow(tb testing.TB, edit func(g map[string]any)) {
	tb.Helper()
	var g map[string]any
	if err := json.Unmarshal(u.files[WorkflowFile], &g); err != nil {
		tb.Fatal(err)
	}
	edit(g)
	u.setJSON(tb, WorkflowFile, g)
}

// assetsOf returns the manifest's asset list, generically.
func assetsOf(m map[string]any) []any { return m["assets"].([]any) }

// firstEmbedded returns the first embedded asset of a generic manifest.
func firstEmbedded(m map[string]any) map[string]any {
	for _, a := range assetsOf(m) {
		if a := a.(map[string]any); a["origin"] == "embedded" {
			return a
		}
	}
	panic("no embedded asset")
}

// listStore returns what a memstore holds, for comparing before and after.
func listStore(tb testing.TB, s *memstore.Store) []assetref.Info {
	tb.Helper()
	infos, err := s.List(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return infos
}

// readAsset returns an asset's content from a store.
func readAsset(tb testing.TB, s assetref.Store, ref assetref.Ref) []byte {
	tb.Helper()
	rc, err := s.Open(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// kflateWriter returns a deflater for n bytes: the fastest level for large
// input (the compression bombs, which compress as well with it), the best
// for the rest.
func kflateWriter(w io.Writer, n int) (*flate.Writer, error) {
	if n > 1<<20 {
		return flate.NewWriter(w, flate.BestSpeed)
	}
	return flate.NewWriter(w, flate.BestCompression)
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
