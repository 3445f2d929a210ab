package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

// AssetSink receives the embedded assets of an imported package: the
// OPFS, IndexedDB and user-folder stores, or any assetref.Store through
// FromStore.
//
// Put stores the content of r and returns the asset's ref. It reads r to
// io.EOF; when r fails (Import's reader fails on a size or hash mismatch,
// or once ctx is done) Put must fail and store nothing. created reports
// whether Put stored new content (true) or found the same content already
// stored and returned that asset's ref (false). Import deletes only what
// Put created, so reporting true for a pre-existing asset would let a
// failed import delete it.
//
// Delete removes an asset that Put created; Import calls it only to roll
// back.
type AssetSink interface {
	Put(ctx context.Context, r io.Reader, hint assetref.Hint) (ref assetref.Ref, created bool, err error)
	Delete(ctx context.Context, ref assetref.Ref) error
}

// AssetFinder may be implemented by an AssetSink that can look assets up
// by content hash. Import then asks it first, and for an asset it already
// has only reads the package's copy to verify it, without writing
// anything.
type AssetFinder interface {
	// FindHash returns the ref of the stored asset whose hash string is
	// hash, and false if there is none.
	FindHash(ctx context.Context, hash string) (ref assetref.Ref, ok bool, err error)
}

// FromStore adapts an assetref.Store to an AssetSink. Put passes a new
// UUIDv7 as the hint's id (unless the hint has one) and reports created
// when the returned ref's locator is that id, or ends in "/" and that id:
// by the Store contract a store that already holds the content returns the
// existing asset's ref, whose id cannot be the fresh one. A store whose
// locators do not end in the asset id therefore never reports created, and
// a failed import leaves its new assets behind rather than risk deleting
// old ones; such a store should implement AssetSink itself.
func FromStore(s assetref.Store) AssetSink { return storeSink{s} }

type storeSink struct{ s assetref.Store }

func (k storeSink) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, bool, error) {
	if hint.ID == "" {
		hint.ID = graph.NewID()
	}
	ref, err := k.s.Put(ctx, r, hint)
	if err != nil {
		return ref, false, err
	}
	loc := ref.ID + ref.BlobKey + ref.HandleID + ref.Path
	return ref, loc == hint.ID || strings.HasSuffix(loc, "/"+hint.ID), nil
}

func (k storeSink) Delete(ctx context.Context, ref assetref.Ref) error { return k.s.Delete(ctx, ref) }

// ImportOptions configure Import. A nil *ImportOptions means the defaults.
type ImportOptions struct {
	// WorkflowExists reports whether a workflow with the package's
	// workflow id is already stored. If it is, or if WorkflowExists is
	// nil, the workflow is imported as a new one: fresh UUIDv7 ids for
	// the workflow, every node and every edge, with all references
	// rewritten. Otherwise the package's ids are kept.
	WorkflowExists func(ctx context.Context, id string) (bool, error)

	// Replace keeps the package's ids even when the workflow exists, so
	// that storing Result.Graph replaces it (Result.Replaces is set).
	Replace bool

	// Limits; zero means the default. MaxWorkflowBytes bounds
	// workflow.json (default 32 MiB), MaxTotalBytes the embedded assets
	// together (default 4 GiB), MaxAssets the assets listed (default
	// 10000, at most 1<<20). MaxRatio bounds how many times its
	// compressed size an embedded asset of more than 1 MiB may inflate to
	// (default 200); deflate reaches about 1000 on degenerate input and 2
	// to 20 on real data. Exceeding one fails with ErrTooLarge or
	// ErrCompressionRatio before anything is stored.
	MaxWorkflowBytes int64
	MaxTotalBytes    int64
	MaxAssets        int
	MaxRatio         int64

	// Progress, if set, is called after each chunk of embedded asset
	// content; Total is the sum of their sizes.
	Progress func(Progress)

	// ChunkSize is the size of the reads from the package; the default is
	// 1 MiB. In the browser each read is a round trip to the File.
	ChunkSize int
}

// Defaults of ImportOptions.
const (
	DefaultMaxWorkflowBytes = 32 << 20
	DefaultMaxTotalBytes    = 4 << 30
	DefaultMaxAssets        = 10000
	DefaultMaxRatio         = 200
)

// ratioFloor is the size below which an entry's compression ratio is not
// checked: a small entry cannot inflate to anything harmful.
const ratioFloor = 1 << 20

func (o *ImportOptions) normalize() {
	if o.MaxWorkflowBytes <= 0 {
		o.MaxWorkflowBytes = DefaultMaxWorkflowBytes
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if o.MaxAssets <= 0 {
		o.MaxAssets = DefaultMaxAssets
	}
	o.MaxAssets = min(o.MaxAssets, 1<<20)
	if o.MaxRatio <= 0 {
		o.MaxRatio = DefaultMaxRatio
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	o.ChunkSize = max(o.ChunkSize, 4<<10)
}

// Result is an imported workflow, ready for the caller to store.
//
// Import has put the embedded assets into the sink; the workflow itself is
// not stored anywhere yet. Storing Graph is the commit: if that fails, call
// Discard so that the assets the import created do not linger. (Or use
// ImportAndCommit, which does this.)
type Result struct {
	// Graph is the workflow to store. Its embedded asset refs are the
	// refs the sink returned; url refs are as in the package.
	Graph graph.Graph

	// Manifest is the package's manifest, as read.
	Manifest Manifest

	// NewIDs reports that the workflow, nodes and edges got fresh ids.
	NewIDs bool

	// Replaces reports that the package's ids were kept for a workflow
	// that exists (or may exist: WorkflowExists was nil) because Replace
	// was set; storing Graph replaces it.
	Replaces bool

	// IDs maps each workflow, node and edge id of the package to its id
	// in Graph (the same id unless NewIDs).
	IDs map[string]string

	// Assets lists the manifest's assets in manifest order.
	Assets []ImportedAsset

	sink AssetSink
}

// ImportedAsset is one asset of an imported package.
type ImportedAsset struct {
	ID      string       // the asset's id in the manifest
	Origin  Origin       // embedded or url
	Ref     assetref.Ref // the ref Graph uses for it
	Created bool         // the sink stored it for this import; Discard deletes it
}

// Discard deletes every asset this import created in the sink (and none
// that were there before). Call it when storing Graph fails. It returns
// the joined errors of the deletes that failed; calling it again retries
// those. It is not safe for concurrent use.
func (r *Result) Discard(ctx context.Context) error {
	var errs []error
	for i := len(r.Assets) - 1; i >= 0; i-- {
		a := &r.Assets[i]
		if !a.Created {
			continue
		}
		if err := r.sink.Delete(ctx, a.Ref); err != nil {
			errs = append(errs, fmt.Errorf("pack: discard asset %s: %w", a.ID, err))
			continue
		}
		a.Created = false
	}
	return errors.Join(errs...)
}

// ImportAndCommit imports like Import and then calls commit, which stores
// the result (typically in one database transaction). If commit returns an
// error or panics, the assets the import created are deleted and the error
// returned (or the panic continued). The deletion is not cut short by ctx
// being done: it is what a cancelled commit needs.
func ImportAndCommit(ctx context.Context, r io.ReaderAt, size int64, dst AssetSink, opts *ImportOptions, commit func(ctx context.Context, res *Result) error) (res *Result, err error) {
	res, err = Import(ctx, r, size, dst, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = res.Discard(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := commit(ctx, res); err != nil {
		if derr := res.Discard(context.WithoutCancel(ctx)); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, err
	}
	return res, nil
}

// ReadManifest reads and validates the manifest of the package in r,
// which is size bytes long, for a preview before importing. It checks the
// zip structure and entry names and parses manifest.json, and fails like
// Import for those; it does not look at the other entries.
func ReadManifest(ctx context.Context, r io.ReaderAt, size int64, opts *ImportOptions) (*Manifest, error) {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	o.normalize()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &pkg{o: &o}
	if err := p.readManifest(r, size); err != nil {
		return nil, err
	}
	return p.m, nil
}

// Import reads the package in r, which is size bytes long, validates it,
// and puts its embedded assets into dst. It returns the workflow for the
// caller to store: see Result for what committing means.
//
// r is read in chunks of opts.ChunkSize and never as a whole. Before any
// asset is stored, Import checks the zip structure, the entry names, the
// manifest, that the entries and the manifest's files are the same set,
// every entry's size against the manifest and the limits, the workflow
// graph ((*graph.Graph).Validate, and the same workflow id and name as the
// manifest), and that the graph's asset refs and the manifest's assets
// match one to one. Each asset's content is then hashed and counted as it
// is copied into dst, and never more than its declared size is read. An
// asset stored without compression goes to dst as a Part when r is a
// PartReaderAt and dst a PartSink, which then hashes it; two such assets
// may be stored at a time.
//
// Import is all or nothing: when it fails, every asset it created in dst
// is deleted again (even when ctx is done; that deletion uses
// context.WithoutCancel(ctx)), and assets dst already had are never
// touched.
//
// It fails with a *PackageError (matching ErrInvalidPackage) for a bad
// package; with ctx.Err() if ctx is done; with the error of dst,
// opts.WorkflowExists or r, wrapped, if one fails. If deleting created
// assets fails too, that error is joined to the returned one.
func Import(ctx context.Context, r io.ReaderAt, size int64, dst AssetSink, opts *ImportOptions) (*Result, error) {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	o.normalize()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &pkg{o: &o}
	if err := p.read(r, size); err != nil {
		return nil, err
	}

	res := &Result{Manifest: *p.m, sink: dst, IDs: make(map[string]string, 1+len(p.g.Nodes)+len(p.g.Edges))}
	exists := true
	if o.WorkflowExists != nil {
		var err error
		if exists, err = o.WorkflowExists(ctx, p.g.Workflow.ID); err != nil {
			return nil, fmt.Errorf("pack: import: WorkflowExists: %w", err)
		}
	}
	res.NewIDs = exists && !o.Replace
	res.Replaces = exists && o.Replace

	if err := p.storeAssets(ctx, dst, res); err != nil {
		if derr := res.Discard(context.WithoutCancel(ctx)); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, err
	}

	g := p.g
	refs := make(map[string]assetref.Ref, len(res.Assets))
	for _, a := range res.Assets {
		refs[a.ID] = a.Ref
	}
	for i := range g.Nodes {
		if r := g.Nodes[i].Result; r != nil && r.Asset != nil && r.Asset.Kind == assetref.KindEmbedded {
			ref := refs[r.Asset.ID]
			r.Asset = &ref
		}
	}
	remap(g, res.IDs, res.NewIDs)
	res.Graph = *g
	return res, nil
}

// remap fills ids with the package's ids and their ids in g, fresh ones
// if fresh is set, and rewrites g accordingly.
func remap(g *graph.Graph, ids map[string]string, fresh bool) {
	id := func(old string) string {
		if !fresh {
			return old
		}
		return graph.NewID()
	}
	wf := id(g.Workflow.ID)
	ids[g.Workflow.ID] = wf
	for i := range g.Nodes {
		ids[g.Nodes[i].ID] = id(g.Nodes[i].ID)
	}
	for i := range g.Edges {
		ids[g.Edges[i].ID] = id(g.Edges[i].ID)
	}
	g.Workflow.ID = wf
	for i := range g.Nodes {
		n := &g.Nodes[i]
		n.ID, n.WorkflowID = ids[n.ID], wf
	}
	for i := range g.Edges {
		e := &g.Edges[i]
		e.ID, e.WorkflowID, e.Source, e.Target = ids[e.ID], wf, ids[e.Source], ids[e.Target]
	}
}

// pkg is a package being read.
type pkg struct {
	o     *ImportOptions
	z     *zipReader
	files map[string]*zipFile
	m     *Manifest
	g     *graph.Graph
}

// readManifest opens the archive, checks every entry name and parses the
// manifest.
func (p *pkg) readManifest(r io.ReaderAt, size int64) error {
	z, err := openZip(r, size, p.o.MaxAssets+3)
	if err != nil {
		return err
	}
	p.z = z
	p.files = make(map[string]*zipFile, len(z.files))
	for i := range z.files {
		f := &z.files[i]
		if reason := unsafeName(f.name); reason != "" {
			return bad(ErrUnsafeName, f.name, reason)
		}
		if f.symlink() {
			return bad(ErrSymlink, f.name, "")
		}
		if _, dup := p.files[f.name]; dup {
			return bad(ErrDuplicateEntry, f.name, "")
		}
		p.files[f.name] = f
	}
	mf := p.files[ManifestFile]
	if mf == nil {
		return bad(ErrMissingEntry, ManifestFile, "")
	}
	if mf.usize > MaxManifestBytes {
		return bad(ErrTooLarge, ManifestFile, "larger than 1 MiB")
	}
	data, err := p.readAll(mf)
	if err != nil {
		return err
	}
	if p.m, err = ParseManifest(data); err != nil {
		return err
	}
	if len(p.m.Assets) > p.o.MaxAssets {
		return bad(ErrTooLarge, ManifestFile, strconv.Itoa(len(p.m.Assets))+" assets; at most "+strconv.Itoa(p.o.MaxAssets)+" allowed")
	}
	return nil
}

// read does every check that needs no asset content.
func (p *pkg) read(r io.ReaderAt, size int64) error {
	if err := p.readManifest(r, size); err != nil {
		return err
	}
	m := p.m
	listed := map[string]bool{ManifestFile: true, WorkflowFile: true}
	for _, a := range m.Assets {
		if a.Origin == OriginEmbedded {
			listed[a.File] = true
		}
	}
	for _, f := range p.z.files {
		// zip -r and file managers add the directory itself.
		if !listed[f.name] && !(f.name == AssetDir && f.usize == 0) {
			return bad(ErrUnlistedEntry, f.name, "")
		}
	}
	wf := p.files[WorkflowFile]
	if wf == nil {
		return bad(ErrMissingEntry, WorkflowFile, "")
	}
	var total uint64
	for _, a := range m.Assets {
		if a.Origin != OriginEmbedded {
			continue
		}
		f := p.files[a.File]
		if f == nil {
			return bad(ErrMissingEntry, a.File, "")
		}
		if f.usize != uint64(a.Bytes) {
			return bad(ErrSizeMismatch, a.File, fmt.Sprintf("%d bytes in the archive, %d in the manifest", f.usize, a.Bytes))
		}
		if total += f.usize; total > uint64(p.o.MaxTotalBytes) {
			return bad(ErrTooLarge, a.File, "embedded assets larger than "+strconv.FormatInt(p.o.MaxTotalBytes, 10)+" bytes together")
		}
		if f.usize > ratioFloor && f.usize/max(f.csize, 1) > uint64(p.o.MaxRatio) {
			return bad(ErrCompressionRatio, a.File, fmt.Sprintf("%d bytes from %d", f.usize, f.csize))
		}
	}
	if wf.usize > uint64(p.o.MaxWorkflowBytes) {
		return bad(ErrTooLarge, WorkflowFile, "larger than "+strconv.FormatInt(p.o.MaxWorkflowBytes, 10)+" bytes")
	}
	data, err := p.readAll(wf)
	if err != nil {
		return err
	}
	if p.g, err = decodeGraph(data); err != nil {
		return err
	}
	if p.g.Workflow.ID != m.Workflow.ID {
		return bad(ErrInvalidGraph, WorkflowFile, "workflow id differs from the manifest's")
	}
	if p.g.Workflow.Name != m.Workflow.Name {
		return bad(ErrInvalidGraph, WorkflowFile, "workflow name differs from the manifest's")
	}
	return p.checkRefs()
}

func decodeGraph(data []byte) (*graph.Graph, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, &PackageError{Problem: ErrMalformedJSON, Entry: WorkflowFile, Err: err}
	}
	// A file in another layout fails to decode or to validate; only then
	// is its layout looked at, to say that rather than which field of a
	// graph it fails to be.
	var g graph.Graph
	if err := json.Unmarshal(data, &g); err != nil {
		if detail := notGraphLayout(data); detail != "" {
			return nil, bad(ErrInvalidGraph, WorkflowFile, detail)
		}
		var re *assetref.RefError
		if errors.As(err, &re) && re.Field == "url" {
			return nil, &PackageError{Problem: ErrUnsupportedURL, Entry: WorkflowFile, Err: err}
		}
		return nil, &PackageError{Problem: ErrInvalidGraph, Entry: WorkflowFile, Err: typeErr(err)}
	}
	if err := g.Validate(); err != nil {
		if detail := notGraphLayout(data); detail != "" {
			return nil, bad(ErrInvalidGraph, WorkflowFile, detail)
		}
		return nil, &PackageError{Problem: ErrInvalidGraph, Entry: WorkflowFile, Err: err}
	}
	return &g, nil
}

// graphLayout is the layout of workflow.json, for error messages.
const graphLayout = `{"workflow": {...}, "nodes": [...], "edges": [...]}`

// notGraphLayout says how data, which is valid JSON, differs from the
// layout of a graph.Graph, or returns "" if it has that layout (which does
// not make it a valid graph). It looks at the top level only: a flat
// workflow object with its nodes beside its id, or another program's
// format, differ there.
func notGraphLayout(data []byte) string {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return "not in the graph layout: expected an object " + graphLayout + ", found " + jsonKind(data)
	}
	if _, ok := top["workflow"]; !ok {
		found := "an empty object"
		if keys := slices.Sorted(maps.Keys(top)); len(keys) > 0 {
			var shown []string
			for _, k := range keys[:min(len(keys), 8)] {
				shown = append(shown, quote(k))
			}
			if len(keys) > 8 {
				shown = append(shown, "…")
			}
			found = "an object with the keys " + strings.Join(shown, ", ")
		}
		return "not in the graph layout: expected an object " + graphLayout + ", found " + found
	}
	for _, f := range []struct{ key, want string }{{"workflow", "an object"}, {"nodes", "an array"}, {"edges", "an array"}} {
		v, ok := top[f.key]
		if !ok {
			continue
		}
		if k := jsonKind(v); k != f.want && !(k == "null" && f.key != "workflow") {
			return "not in the graph layout: expected " + quote(f.key) + " to be " + f.want + " (" + graphLayout + "), found " + k
		}
	}
	return ""
}

// jsonKind names the kind of the valid JSON value v: "an object", "an
// array", "a string", "a number", "a boolean" or "null".
func jsonKind(v []byte) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// checkRefs matches the graph's asset refs with the manifest's assets, one
// to one.
func (p *pkg) checkRefs() error {
	byID := make(map[string]*Asset, len(p.m.Assets))
	byURL := make(map[string]*Asset)
	for i := range p.m.Assets {
		a := &p.m.Assets[i]
		byID[a.ID] = a
		if a.Origin == OriginURL {
			byURL[a.URL] = a
		}
	}
	used := make(map[*Asset]bool, len(p.m.Assets))
	for i := range p.g.Nodes {
		n := &p.g.Nodes[i]
		if n.Result == nil || n.Result.Asset == nil {
			continue
		}
		ref := n.Result.Asset
		mismatch := func(detail string) error {
			return bad(ErrRefMismatch, WorkflowFile, "node "+n.ID+": "+detail)
		}
		switch ref.Kind {
		case assetref.KindEmbedded:
			a := byID[ref.ID]
			if a == nil || a.Origin != OriginEmbedded {
				return mismatch("embedded asset " + quote(ref.ID) + " is not in the manifest")
			}
			if ref.MIME != "" && ref.MIME != a.MIME || ref.Bytes != 0 && ref.Bytes != a.Bytes || ref.Hash != "" && ref.Hash != a.Hash {
				return mismatch("asset " + quote(ref.ID) + ": mime, bytes or hash differ from the manifest's")
			}
			used[a] = true
		case assetref.KindURL:
			if !httpURL(ref.URL) {
				return bad(ErrUnsupportedURL, WorkflowFile, "node "+n.ID)
			}
			a := byURL[ref.URL]
			if a == nil {
				return mismatch("url asset is not in the manifest")
			}
			used[a] = true
		default:
			return mismatch("asset of kind " + string(ref.Kind) + " should have been embedded")
		}
	}
	for i := range p.m.Assets {
		if a := &p.m.Assets[i]; !used[a] {
			return bad(ErrRefMismatch, ManifestFile, "asset "+quote(a.ID)+" is not used by any node")
		}
	}
	return nil
}

// readAll reads a small entry (the manifest, workflow.json) whose size was
// checked against a limit.
func (p *pkg) readAll(f *zipFile) ([]byte, error) {
	rc, err := p.z.open(f, p.o.ChunkSize)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := make([]byte, 0, f.usize)
	for {
		if len(buf) == cap(buf) {
			// Room to see EOF (or the extra byte a lying size produces,
			// which the entry reader turns into an error).
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// partsInFlight is how many assets Import stores as parts at the same
// time. Storing one is partly work (the browser copies and hashes it) and
// partly waiting (a file to create, records to write, a rename); two at a
// time fill each other's waits.
const partsInFlight = 2

// storeAssets puts the embedded assets into dst in manifest order (up to
// partsInFlight of those that go as parts at a time) and records every
// asset in res. On error res.Assets holds what was stored, for the caller
// to discard; the error is that of the first asset, in manifest order,
// that failed.
func (p *pkg) storeAssets(ctx context.Context, dst AssetSink, res *Result) error {
	prog := &progress{fn: p.o.Progress}
	for _, a := range p.m.Assets {
		if a.Origin == OriginEmbedded {
			prog.total += a.Bytes
		}
	}
	finder, _ := dst.(AssetFinder)
	_, parts := dst.(PartSink)
	if _, ok := p.z.r.(PartReaderAt); !ok {
		parts = false
	}
	type outcome struct {
		ref     assetref.Ref
		created bool
		err     error
		done    bool
	}
	out := make([]outcome, len(p.m.Assets))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed bool
		sem    = make(chan struct{}, partsInFlight)
	)
	record := func(i int, ref assetref.Ref, created bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		out[i] = outcome{ref, created, err, true}
		failed = failed || err != nil
	}
	stop := func() error {
		mu.Lock()
		defer mu.Unlock()
		if failed {
			return errStopped
		}
		return ctx.Err()
	}
	var stopped error
	for i := range p.m.Assets {
		a := &p.m.Assets[i]
		if stopped = stop(); stopped != nil {
			break
		}
		if a.Origin == OriginURL {
			record(i, assetref.Ref{Kind: assetref.KindURL, URL: a.URL, MIME: a.MIME, Bytes: a.Bytes, Hash: a.Hash}, false, nil)
			continue
		}
		if !parts || p.files[a.File].method != methodStore {
			ref, created, err := p.storeAsset(ctx, dst, finder, a, prog)
			record(i, ref, created, err)
			continue
		}
		sem <- struct{}{}
		if stopped = stop(); stopped != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ref, created, err := p.storeAsset(ctx, dst, finder, a, prog)
			record(i, ref, created, err)
		}()
	}
	wg.Wait()
	var first error
	for i, o := range out {
		if !o.done {
			continue
		}
		a := &p.m.Assets[i]
		switch {
		case a.Origin == OriginURL:
			res.Assets = append(res.Assets, ImportedAsset{ID: a.ID, Origin: OriginURL, Ref: o.ref})
		case o.created:
			res.Assets = append(res.Assets, ImportedAsset{ID: a.ID, Origin: OriginEmbedded, Ref: o.ref, Created: true})
		case o.err == nil:
			res.Assets = append(res.Assets, ImportedAsset{ID: a.ID, Origin: OriginEmbedded, Ref: o.ref})
		}
		if first == nil {
			first = o.err
		}
	}
	if first == nil {
		// Only ctx can have stopped the loop: a failed asset is first.
		first = stopped
	}
	return first
}

// errStopped ends storeAssets' loop after an asset failed; that asset's
// error is reported.
var errStopped = errors.New("pack: stopped after a failure")

// storeAsset copies one embedded asset into dst, verifying it on the way.
// If it returns created and an error, the asset must be deleted.
func (p *pkg) storeAsset(ctx context.Context, dst AssetSink, finder AssetFinder, a *Asset, prog *progress) (ref assetref.Ref, created bool, err error) {
	f := p.files[a.File]
	if ps, ok := dst.(PartSink); ok && f.method == methodStore {
		if pr, ok := p.z.r.(PartReaderAt); ok {
			ref, created, done, err := p.storePart(ctx, pr, ps, finder, f, a, prog)
			if done {
				return ref, created, err
			}
		}
	}
	rc, err := p.z.open(f, p.o.ChunkSize)
	if err != nil {
		return ref, false, err
	}
	defer rc.Close()
	vr := &verifier{ctx: ctx, r: rc, name: a.File, hash: a.Hash, prog: prog}
	if finder != nil {
		found, ok, err := finder.FindHash(ctx, a.Hash)
		if err != nil {
			return ref, false, fmt.Errorf("pack: import: find asset %s: %w", a.ID, err)
		}
		if ok {
			if err := vr.drain(); err != nil {
				return ref, false, err
			}
			return found, false, nil
		}
	}
	ref, created, err = dst.Put(ctx, vr, assetref.Hint{MIME: a.MIME})
	if err != nil {
		// The reader's own failure says more than the sink's report of it.
		if vr.err != nil && vr.err != io.EOF {
			return ref, false, vr.err
		}
		return ref, false, fmt.Errorf("pack: import: store asset %s: %w", a.ID, err)
	}
	// A sink that stopped reading early has not seen the hash checked.
	if err := vr.drain(); err != nil {
		return ref, created, err
	}
	if err := ref.Validate(); err != nil {
		return ref, created, fmt.Errorf("pack: import: store asset %s: sink returned an invalid ref: %w", a.ID, err)
	}
	return ref, created, nil
}

// storePart stores an asset whose entry is stored, not deflated, by
// handing the sink the entry's content as a Part. done is false when the
// reader or the sink declined (ErrNoPart) before anything was stored:
// the asset then goes the io.Reader way.
func (p *pkg) storePart(ctx context.Context, pr PartReaderAt, ps PartSink, finder AssetFinder, f *zipFile, a *Asset, prog *progress) (ref assetref.Ref, created, done bool, err error) {
	start, err := p.z.dataOffset(f)
	if err != nil {
		return ref, false, true, err
	}
	part, err := pr.Part(start, int64(f.csize))
	if errors.Is(err, ErrNoPart) {
		return ref, false, false, nil
	}
	if err == nil && part.Size() != int64(f.usize) {
		err = fmt.Errorf("part of %d bytes for an entry of %d", part.Size(), f.usize)
	}
	if err != nil {
		return ref, false, true, &ioError{err}
	}
	if finder != nil {
		found, ok, err := finder.FindHash(ctx, a.Hash)
		if err != nil {
			return ref, false, true, fmt.Errorf("pack: import: find asset %s: %w", a.ID, err)
		}
		if ok {
			err := ps.CheckPart(ctx, part, a.Hash)
			if errors.Is(err, ErrNoPart) {
				return ref, false, false, nil
			}
			if err != nil {
				return ref, false, true, p.partFailed(ctx, f, part, a, err)
			}
			prog.add(int(f.usize))
			return found, false, true, nil
		}
	}
	ref, created, err = ps.PutPart(ctx, part, a.Hash, assetref.Hint{MIME: a.MIME})
	if errors.Is(err, ErrNoPart) {
		return ref, false, false, nil
	}
	if err != nil {
		// The sink stored nothing.
		return ref, false, true, p.partFailed(ctx, f, part, a, err)
	}
	if ref.Hash != "" && ref.Hash != a.Hash {
		// The sink stored content of another hash without saying so.
		return ref, created, true, p.partFailed(ctx, f, part, a, fmt.Errorf("sink stored content of hash %s: %w", ref.Hash, ErrHashMismatch))
	}
	if err := ref.Validate(); err != nil {
		return ref, created, true, fmt.Errorf("pack: import: store asset %s: sink returned an invalid ref: %w", a.ID, err)
	}
	prog.add(int(f.usize))
	return ref, created, true, nil
}

// partFailed returns the error Import reports when storing or checking a
// part failed with err. When the content's hash differs from the
// manifest's, that is the error the io.Reader path gives for the same
// entry, which checks the CRC-32 first: ErrCorruptZip if the content does
// not match the entry's CRC-32 either, ErrHashMismatch if it does.
func (p *pkg) partFailed(ctx context.Context, f *zipFile, part Part, a *Asset, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !errors.Is(err, ErrHashMismatch) {
		return fmt.Errorf("pack: import: store asset %s: %w", a.ID, err)
	}
	crc, cerr := part.CRC32(ctx)
	switch {
	case cerr != nil && ctx.Err() != nil:
		return ctx.Err()
	case cerr != nil:
		return &ioError{cerr}
	case crc != f.crc:
		return corrupt(f.name, "CRC-32 mismatch")
	}
	return bad(ErrHashMismatch, a.File, "")
}

// progress counts the bytes of asset content read. Assets stored at the
// same time report one after the other, never at once.
type progress struct {
	mu          sync.Mutex
	fn          func(Progress)
	done, total int64
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(n)
	if p.fn != nil {
		p.fn(Progress{Done: p.done, Total: p.total})
	}
}

// verifier passes an asset's content on, hashing it, and fails in place of
// io.EOF if the hash differs from the manifest's. Sizes were checked by
// the entry reader. It fails with ctx.Err() once ctx is done.
type verifier struct {
	ctx  context.Context
	r    io.Reader
	name string
	hash string
	h    assetref.Hasher
	prog *progress
	err  error
}

func (v *verifier) Read(b []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if err := v.ctx.Err(); err != nil {
		v.err = err
		return 0, err
	}
	n, err := v.r.Read(b)
	v.h.Write(b[:n])
	v.prog.add(n)
	if err == io.EOF && v.h.Sum() != v.hash {
		err = bad(ErrHashMismatch, v.name, "")
	}
	if err != nil {
		v.err = err
	}
	if err == io.EOF || err == nil {
		return n, err
	}
	// Content is withheld with an error, so a sink that stores what it
	// got before the error is still given nothing unverified at the end.
	return 0, err
}

// drain reads to the end and reports whether the content verified.
func (v *verifier) drain() error {
	if v.err == nil {
		if _, err := io.Copy(io.Discard, struct{ io.Reader }{v}); err != nil {
			return err
		}
	}
	if v.err != io.EOF {
		return v.err
	}
	return nil
}

// unsafeName says why name must not be an entry of a package, or returns
// "".
func unsafeName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	case strings.ContainsRune(name, '\\'):
		return "backslash"
	case name[0] == '/':
		return "absolute path"
	case strings.ContainsRune(name, ':'):
		return "colon (drive letter or stream name)"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "control character"
		}
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(name, "/"), "/") {
		switch seg {
		case "":
			return "empty path segment"
		case ".", "..":
			return "dot segment"
		}
	}
	return ""
}
