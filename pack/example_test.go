package pack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/pack"
)

// storyboard returns a workflow with an image kept in assets and a
// reference image on the web.
func storyboard(assets assetref.Store) (*graph.Graph, error) {
	img, err := assets.Put(context.Background(), strings.NewReader("\x89PNG\r\n\x1a\n..."), assetref.Hint{MIME: "image/png"})
	if err != nil {
		return nil, err
	}
	wf := graph.NewID()
	return &graph.Graph{
		Workflow: graph.Workflow{ID: wf, Name: "Storyboard", Viewport: graph.DefaultViewport},
		Nodes: []graph.Node{
			{ID: graph.NewID(), WorkflowID: wf, Type: "image-gen", Result: &graph.Result{Asset: &img}},
			{ID: graph.NewID(), WorkflowID: wf, Type: "reference", Result: &graph.Result{Asset: &assetref.Ref{
				Kind: assetref.KindURL, URL: "https://cdn.example.com/cat.jpg", MIME: "image/jpeg"}}},
		},
	}, nil
}

func Example() {
	ctx := context.Background()
	assets := memstore.NewKind(assetref.KindOPFS)
	g, err := storyboard(assets)
	if err != nil {
		fmt.Println(err)
		return
	}

	var pkg bytes.Buffer
	exp, err := pack.Export(ctx, &pkg, g, assets, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range exp.Manifest.Assets {
		fmt.Println(a.Origin, a.MIME, a.Bytes, strings.HasPrefix(a.File, "assets/"))
	}

	// Import into another store. Nothing says whether the workflow is
	// stored already, so it becomes a new workflow with fresh ids.
	other := memstore.NewKind(assetref.KindIDB)
	res, err := pack.Import(ctx, bytes.NewReader(pkg.Bytes()), int64(pkg.Len()), pack.FromStore(other), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.NewIDs, res.Graph.Workflow.ID != g.Workflow.ID, res.IDs[g.Workflow.ID] == res.Graph.Workflow.ID)
	fmt.Println(res.Graph.Nodes[0].Result.Asset.Kind, res.Graph.Nodes[1].Result.Asset.URL)
	// Output:
	// embedded image/png 11 true
	// url image/jpeg 0 false
	// true true true
	// idb https://cdn.example.com/cat.jpg
}

func ExampleExport_includeOriginals() {
	ctx := context.Background()
	assets := memstore.NewKind(assetref.KindOPFS)
	g, err := storyboard(assets)
	if err != nil {
		fmt.Println(err)
		return
	}
	gone := &assetref.Ref{Kind: assetref.KindURL, URL: "https://cdn.example.com/gone.png", MIME: "image/png"}
	g.Nodes = append(g.Nodes, graph.Node{ID: graph.NewID(), WorkflowID: g.Workflow.ID, Type: "reference", Result: &graph.Result{Asset: gone}})

	// The browser build passes a fetch()-based function.
	fetch := func(ctx context.Context, url string) (*pack.Fetched, error) {
		if strings.HasSuffix(url, "/gone.png") {
			return nil, errors.New("HTTP 404")
		}
		return &pack.Fetched{Body: io.NopCloser(strings.NewReader("JPEG bytes")), MIME: "image/jpeg", Size: 10}, nil
	}
	res, err := pack.Export(ctx, io.Discard, g, assets, &pack.ExportOptions{IncludeOriginals: true, Fetch: fetch, KeepFailedAsURL: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range res.Manifest.Assets {
		fmt.Println(a.Origin, a.MIME, a.Bytes)
	}
	for _, f := range res.KeptAsURL {
		fmt.Println("kept as url:", f.Ref.URL, "-", f.Err)
	}

	// Without KeepFailedAsURL the export fails and lists every failure.
	_, err = pack.Export(ctx, io.Discard, g, assets, &pack.ExportOptions{IncludeOriginals: true, Fetch: fetch})
	fmt.Println(err)
	// Output:
	// embedded image/png 11
	// embedded image/jpeg 10
	// url image/png 0
	// kept as url: https://cdn.example.com/gone.png - fetch: HTTP 404
	// pack: 1 asset could not be exported: url "https://cdn.example.com/gone.png": fetch: HTTP 404
}

func ExampleImport_invalidPackage() {
	data := []byte("not a zip file")
	_, err := pack.Import(context.Background(), bytes.NewReader(data), int64(len(data)), pack.FromStore(memstore.New()), nil)
	fmt.Println(err)
	fmt.Println(errors.Is(err, pack.ErrInvalidPackage), errors.Is(err, pack.ErrNotZip), errors.Is(err, errs.ErrInvalid))
	// Output:
	// invalid package: not a zip archive
	// true true true
}

func ExampleImportAndCommit() {
	ctx := context.Background()
	assets := memstore.NewKind(assetref.KindOPFS)
	g, err := storyboard(assets)
	if err != nil {
		fmt.Println(err)
		return
	}
	var pkg bytes.Buffer
	if _, err := pack.Export(ctx, &pkg, g, assets, nil); err != nil {
		fmt.Println(err)
		return
	}

	// The caller's database write fails: the assets the import stored
	// are deleted again.
	store := memstore.NewKind(assetref.KindIDB)
	_, err = pack.ImportAndCommit(ctx, bytes.NewReader(pkg.Bytes()), int64(pkg.Len()), pack.FromStore(store), nil,
		func(ctx context.Context, res *pack.Result) error {
			return errors.New("database is full")
		})
	left, _ := store.List(ctx)
	fmt.Println(err, len(left))
	// Output: database is full 0
}

func ExampleParseManifest() {
	m, err := pack.ParseManifest([]byte(`{
	  "packageVersion": 1,
	  "app": {"name": "atelier", "version": "1.4.0"},
	  "createdAt": "2025-03-14T15:09:26.535Z",
	  "workflow": {"id": "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a10", "file": "workflow.json", "name": "Storyboard"},
	  "assets": [
	    {"id": "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a11", "origin": "embedded", "mime": "image/png", "bytes": 12345,
	     "hash": "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
	     "file": "assets/0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a11.png"},
	    {"id": "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a12", "origin": "url", "url": "https://cdn.example.com/cat.jpg"}
	  ]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Workflow.Name, len(m.Assets), m.Assets[1].Origin, m.CreatedAt.Year())

	_, err = pack.ParseManifest([]byte(`{"packageVersion": 2}`))
	fmt.Println(err)
	// Output:
	// Storyboard 2 url 2025
	// invalid package: "manifest.json": unsupported package version: packageVersion 2; this version reads 1
}
