package pack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// AssetSource gives Export the bytes of a graph's local assets (kinds
// opfs, fs-handle, idb and embedded). Every assetref.Store is one.
//
// Open returns a reader of the asset's content; it fails with an error
// matching errs.ErrNotFound if there is no such asset. Export closes
// the reader.
//
// If the source also has the method
//
//	Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error)
//
// as every assetref.Store does, Export uses it for refs without a size or
// MIME type, so that progress has a total from the start.
type AssetSource interface {
	Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error)
}

// SourceFunc adapts a function to AssetSource.
type SourceFunc func(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error)

// Open calls f.
func (f SourceFunc) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	return f(ctx, ref)
}

type statter interface {
	Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error)
}

// Fetched is a FetchFunc's response.
type Fetched struct {
	Body io.ReadCloser // the content; Export closes it
	MIME string        // the Content-Type, if known; used when the ref has no MIME
	Size int64         // the Content-Length, or -1 if unknown
}

// FetchFunc downloads the original of a url asset (or the content of a
// blob: URL). It should return as soon as the response headers arrive and
// stream the body, fail for a response that is not a success, and stop
// when ctx is done; ctx carries ExportOptions.FetchTimeout. The browser
// build passes one based on fetch(); pack itself never touches the
// network.
type FetchFunc func(ctx context.Context, url string) (*Fetched, error)

// Progress reports how far an export or import is, in bytes of asset
// content.
type Progress struct {
	Done  int64 // bytes read so far
	Total int64 // bytes expected; during an export it grows if sizes were unknown, and it is never below Done
}

// ExportOptions configure Export. A nil *ExportOptions means the defaults.
type ExportOptions struct {
	// AppName and AppVersion are recorded in the manifest; the defaults
	// are "atelier" and "0.0.0".
	AppName    string
	AppVersion string

	// CreatedAt is recorded in the manifest and as every entry's
	// modification time; the default is the current time.
	CreatedAt time.Time

	// IncludeOriginals embeds the originals of http(s) url assets,
	// downloaded with Fetch, instead of keeping them as url refs. Fetch is
	// required then.
	IncludeOriginals bool

	// Fetch downloads originals for IncludeOriginals, and the content of
	// blob: URL assets, which are always embedded because they do not
	// outlive their page.
	Fetch FetchFunc

	// FetchTimeout bounds each download, headers and body; the default is
	// two minutes.
	FetchTimeout time.Duration

	// MaxOriginalBytes is the largest original that is downloaded; the
	// default is 1 GiB. A larger one fails with ErrOriginalTooLarge, as
	// soon as its Content-Length or the bytes received say so.
	MaxOriginalBytes int64

	// KeepFailedAsURL keeps a url asset whose original could not be
	// downloaded as a url ref, and lists it in ExportResult.KeptAsURL,
	// instead of failing the export. It does not apply to local assets
	// and blob: URLs, whose bytes cannot be had any other way.
	KeepFailedAsURL bool

	// Progress, if set, is called after each chunk of asset content.
	Progress func(Progress)

	// ChunkSize is the size of the buffer assets are copied through; the
	// default is 1 MiB.
	ChunkSize int
}

// Defaults of ExportOptions.
const (
	DefaultFetchTimeout     = 2 * time.Minute
	DefaultMaxOriginalBytes = 1 << 30
	DefaultChunkSize        = 1 << 20
)

// ExportResult describes a package Export wrote.
type ExportResult struct {
	Manifest Manifest
	// Size is the number of bytes written.
	Size int64
	// KeptAsURL lists the url assets whose originals could not be
	// downloaded and that stay url refs (only with KeepFailedAsURL).
	KeptAsURL []AssetFailure
}

// Export writes g, one workflow with its nodes and edges, as a package to
// w. g is not modified.
//
// Local assets (opfs, fs-handle, idb, embedded refs) are read from src and
// embedded under assets/, blob: URL assets are downloaded with
// opts.Fetch and embedded, and http(s) url assets stay url refs unless
// opts.IncludeOriginals asks for their originals. In the written
// workflow.json every embedded asset's ref is {kind: "embedded", id,
// mime, bytes, hash}. Each distinct asset is written once, however many
// nodes show it. Media formats that are compressed already are stored,
// everything else deflated.
//
// Export streams: it holds one chunk of asset content at a time, so memory
// does not grow with the package. The entries are written assets first,
// then workflow.json, then manifest.json, whose hashes are computed on the
// way. A stored asset that src hands out as a Part (PartSource) and w
// takes as one (PartWriter) is appended as it is, with the hash src
// recorded for it.
//
// Export fails with an error matching errs.ErrInvalid if g does not
// validate or opts are inconsistent (IncludeOriginals without Fetch, an
// invalid AppName or AppVersion); with an *AssetError listing every asset
// that could not be embedded (see KeepFailedAsURL); with ctx.Err() if ctx
// is done; and with w's error if writing fails. On failure what was
// written to w is not a valid package and should be discarded.
func Export(ctx context.Context, w io.Writer, g *graph.Graph, src AssetSource, opts *ExportOptions) (*ExportResult, error) {
	var o ExportOptions
	if opts != nil {
		o = *opts
	}
	if err := o.normalize(); err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("pack: export: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	x := &exporter{o: &o, src: src, buf: make([]byte, o.ChunkSize)}
	x.plan(g)
	if err := x.estimate(ctx); err != nil {
		return nil, err
	}
	x.zw = newZipWriter(w, o.CreatedAt)
	x.ps, _ = src.(PartSource)
	if x.zw.pw == nil {
		x.ps = nil
	}
	// Parts prepared ahead stop when Export returns.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, p := range x.assets {
		if !p.embed {
			continue
		}
		x.prepareAhead(ctx, i)
		failure, err := x.embed(ctx, p)
		if err != nil {
			return nil, err
		}
		if failure != nil {
			p.failed = failure
		}
	}
	res := &ExportResult{}
	var failures []AssetFailure
	for _, p := range x.assets {
		if p.failed == nil {
			continue
		}
		f := AssetFailure{Ref: p.ref, Nodes: p.nodes, Err: p.failed}
		if o.KeepFailedAsURL && p.ref.Kind == assetref.KindURL && !isBlob(p.ref.URL) {
			p.embed = false
			res.KeptAsURL = append(res.KeptAsURL, f)
		} else {
			failures = append(failures, f)
		}
	}
	if len(failures) > 0 {
		return nil, &AssetError{Failures: failures}
	}

	m, out := x.result(g)
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("pack: export: internal error: %w", err)
	}
	wf, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("pack: export: encode %s: %w", WorkflowFile, err)
	}
	mf, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("pack: export: encode %s: %w", ManifestFile, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{WorkflowFile, wf}, {ManifestFile, mf}} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ew, err := x.zw.create(f.name, true)
		if err != nil {
			return nil, err
		}
		if _, err := ew.Write(f.data); err != nil {
			return nil, err
		}
		if err := ew.close(); err != nil {
			return nil, err
		}
	}
	if err := x.zw.finish(); err != nil {
		return nil, err
	}
	x.total = x.done
	x.report(0)
	res.Manifest = *m
	res.Size = x.zw.cw.n
	return res, nil
}

func (o *ExportOptions) normalize() error {
	if o.AppName == "" {
		o.AppName = "atelier"
	}
	if o.AppVersion == "" {
		o.AppVersion = "0.0.0"
	}
	invalid := func(field, reason string) error {
		return fmt.Errorf("pack: export: %w", &errs.ValidationError{Entity: "export options", Field: field, Reason: reason})
	}
	if err := checkText("app.name", o.AppName, 200, true); err != nil {
		return invalid("AppName", "must be printable text of at most 200 characters")
	}
	if err := checkText("app.version", o.AppVersion, 64, false); err != nil {
		return invalid("AppVersion", "must be printable text of at most 64 characters")
	}
	if o.IncludeOriginals && o.Fetch == nil {
		return invalid("Fetch", "required by IncludeOriginals")
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = time.Now()
	}
	// JavaScript dates hold milliseconds.
	o.CreatedAt = o.CreatedAt.UTC().Truncate(time.Millisecond)
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.MaxOriginalBytes <= 0 {
		o.MaxOriginalBytes = DefaultMaxOriginalBytes
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	o.ChunkSize = max(o.ChunkSize, 4<<10)
	return nil
}

// exportAsset is one distinct asset of the graph.
type exportAsset struct {
	ref   assetref.Ref // the first ref in the graph that names it
	id    string
	nodes []string
	embed bool // its bytes go into the package
	fetch bool // they come from Fetch rather than the source

	// Known before writing, for progress and the file name.
	size int64
	mime string

	// Set once written.
	hash   string
	file   string
	failed error
}

type exporter struct {
	o      *ExportOptions
	src    AssetSource
	ps     PartSource                     // src, if it hands out parts and the output takes them
	parts  map[*exportAsset]*preparedPart // prepared, the current asset's and the next one's
	zw     *zipWriter
	buf    []byte
	assets []*exportAsset
	byKey  map[string]*exportAsset
	done   int64
	total  int64
}

// plan lists the graph's distinct assets in node order. Local refs are one
// asset per distinct ref; url refs one asset per URL, since the manifest
// lists a URL once.
func (x *exporter) plan(g *graph.Graph) {
	x.byKey = map[string]*exportAsset{}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Result == nil || n.Result.Asset == nil {
			continue
		}
		ref := *n.Result.Asset
		key := refKey(ref)
		p := x.byKey[key]
		if p == nil {
			p = &exportAsset{ref: ref, id: graph.NewID(), size: ref.Bytes, mime: ref.MIME}
			switch {
			case ref.Kind != assetref.KindURL:
				p.embed = true
			case isBlob(ref.URL):
				p.embed, p.fetch = true, true
			default:
				p.embed, p.fetch = x.o.IncludeOriginals, true
			}
			x.byKey[key] = p
			x.assets = append(x.assets, p)
		}
		p.nodes = append(p.nodes, n.ID)
	}
}

func refKey(ref assetref.Ref) string {
	if ref.Kind == assetref.KindURL {
		return "url\x00" + ref.URL
	}
	return strings.Join([]string{string(ref.Kind), ref.Path, ref.HandleID, ref.BlobKey, ref.ID, ref.MIME, ref.Hash, fmt.Sprint(ref.Bytes)}, "\x00")
}

func isBlob(url string) bool { return len(url) >= 5 && strings.EqualFold(url[:5], "blob:") }

// estimate fills in sizes and MIME types a source can tell without
// reading, for the progress total. Errors other than ctx's are left for
// Open to report.
func (x *exporter) estimate(ctx context.Context) error {
	st, _ := x.src.(statter)
	for _, p := range x.assets {
		if !p.embed {
			continue
		}
		if !p.fetch && st != nil && (p.size == 0 || p.mime == "") {
			info, err := st.Stat(ctx, p.ref)
			if err := ctx.Err(); err != nil {
				return err
			}
			if err == nil {
				if p.size == 0 {
					p.size = info.Size
				}
				if p.mime == "" {
					p.mime = info.MIME
				}
			}
		}
		x.total += p.size
	}
	return nil
}

func (x *exporter) report(n int64) {
	x.done += n
	if x.total < x.done {
		x.total = x.done
	}
	if x.o.Progress != nil {
		x.o.Progress(Progress{Done: x.done, Total: x.total})
	}
}

// errWrite marks a failure of the package's io.Writer, which ends the
// export, as opposed to a failure of one asset.
type errWrite struct{ err error }

func (e errWrite) Error() string { return e.err.Error() }

// embed writes one asset's entry. It returns the asset's failure, or an
// error that ends the export (ctx done, w failing).
func (x *exporter) embed(ctx context.Context, p *exportAsset) (failure, fatal error) {
	var body io.ReadCloser
	limit := int64(-1)
	actx := ctx
	if p.fetch {
		if x.o.Fetch == nil {
			return ErrNoFetch, nil
		}
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, x.o.FetchTimeout)
		defer cancel()
		resp, err := x.o.Fetch(actx, p.ref.URL)
		if err == nil && (resp == nil || resp.Body == nil) {
			err = errors.New("FetchFunc returned no body")
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return fmt.Errorf("fetch: %w", err), nil
		}
		body = resp.Body
		if p.mime == "" {
			p.mime = cleanMIME(resp.MIME)
		}
		limit = x.o.MaxOriginalBytes
		if resp.Size > limit {
			body.Close()
			return fmt.Errorf("%w: Content-Length %d, limit %d", ErrOriginalTooLarge, resp.Size, limit), nil
		}
		if p.size == 0 && resp.Size > 0 {
			p.size = resp.Size
			x.total += resp.Size
		}
	} else {
		if p.mime == "" {
			p.mime = assetref.DefaultMIME
		}
		if done, failure, fatal := x.embedPart(ctx, p); done {
			return failure, fatal
		}
		var err error
		body, err = x.src.Open(ctx, p.ref)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return err, nil
		}
	}
	defer body.Close()
	if p.mime == "" {
		p.mime = assetref.DefaultMIME
	}
	p.file = AssetDir + p.id + "." + extFor(p.mime)
	ew, err := x.zw.create(p.file, compressible(p.mime))
	if err != nil {
		return nil, err
	}
	var h assetref.Hasher
	n, err := x.copy(actx, ew, body, &h, limit)
	if err == nil && (p.ref.Hash != "" && h.Sum() != p.ref.Hash || p.ref.Bytes != 0 && n != p.ref.Bytes) {
		err = fmt.Errorf("%w: got %d bytes %s, ref says %d bytes %s", ErrContentMismatch, n, h.Sum(), p.ref.Bytes, p.ref.Hash)
	}
	if err != nil {
		ew.abort()
		var we errWrite
		switch {
		case errors.As(err, &we):
			return nil, we.err
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case p.fetch && errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("fetch: timed out after %v: %w", x.o.FetchTimeout, err), nil
		case p.fetch:
			return fmt.Errorf("fetch: %w", err), nil
		}
		return err, nil
	}
	if err := ew.close(); err != nil {
		return nil, err
	}
	p.size, p.hash = n, h.Sum()
	return nil, nil
}

// preparedPart is an asset's Part, opened and checksummed.
type preparedPart struct {
	part Part
	hash string
	crc  uint32
	err  error // of OpenPart (ErrNoPart: the io.Reader way) or of CRC32
	done chan struct{}
}

// takesPart reports whether p would be embedded from a Part.
func (x *exporter) takesPart(p *exportAsset) bool {
	if x.ps == nil || !p.embed || p.fetch {
		return false
	}
	mime := p.mime
	if mime == "" {
		mime = assetref.DefaultMIME
	}
	return !compressible(mime)
}

// prepareAhead starts preparing the part of x.assets[i], if it takes one,
// and that of the next asset that does, so that the browser reads and
// checksums the next one while the current one is written; reading is
// most of the work.
func (x *exporter) prepareAhead(ctx context.Context, i int) {
	if x.ps == nil {
		return
	}
	if p := x.assets[i]; x.takesPart(p) && x.parts[p] == nil {
		x.prepare(ctx, p)
	}
	for _, p := range x.assets[i+1:] {
		if x.takesPart(p) {
			if x.parts[p] == nil {
				x.prepare(ctx, p)
			}
			return
		}
	}
}

// prepare opens p's part and computes its CRC-32, in the background.
func (x *exporter) prepare(ctx context.Context, p *exportAsset) *preparedPart {
	pp := &preparedPart{done: make(chan struct{})}
	if x.parts == nil {
		x.parts = map[*exportAsset]*preparedPart{}
	}
	x.parts[p] = pp
	go func() {
		defer close(pp.done)
		pp.part, pp.hash, pp.err = x.ps.OpenPart(ctx, p.ref)
		if pp.err == nil {
			// Without a recorded hash there is nothing to skip hashing for.
			if _, err := assetref.ParseHash(pp.hash); err != nil {
				pp.err = ErrNoPart
			}
		}
		if pp.err == nil && !mismatched(p, pp) {
			pp.crc, pp.err = pp.part.CRC32(ctx)
		}
	}()
	return pp
}

// mismatched reports whether a part is not the content p's ref describes.
func mismatched(p *exportAsset, pp *preparedPart) bool {
	return p.ref.Hash != "" && pp.hash != p.ref.Hash || p.ref.Bytes != 0 && pp.part.Size() != p.ref.Bytes
}

// embedPart writes the entry of a local asset that is stored, not
// deflated, from a Part, when the source hands out parts and the output
// takes them. done reports whether it did, or failed trying; otherwise
// the asset goes the io.Reader way.
func (x *exporter) embedPart(ctx context.Context, p *exportAsset) (done bool, failure, fatal error) {
	if !x.takesPart(p) {
		return false, nil, nil
	}
	pp := x.parts[p]
	if pp == nil {
		pp = x.prepare(ctx, p)
	}
	delete(x.parts, p)
	select {
	case <-pp.done:
	case <-ctx.Done():
		return true, nil, ctx.Err()
	}
	switch {
	case errors.Is(pp.err, ErrNoPart):
		return false, nil, nil
	case pp.err != nil && ctx.Err() != nil:
		return true, nil, ctx.Err()
	case pp.err != nil:
		return true, pp.err, nil
	}
	n := pp.part.Size()
	if mismatched(p, pp) {
		return true, fmt.Errorf("%w: got %d bytes %s, ref says %d bytes %s", ErrContentMismatch, n, pp.hash, p.ref.Bytes, p.ref.Hash), nil
	}
	// The checksum was computed before the entry starts, so that an
	// asset that cannot be read leaves nothing behind in the archive.
	p.file = AssetDir + p.id + "." + extFor(p.mime)
	ew, err := x.zw.create(p.file, false)
	if err != nil {
		return true, nil, err
	}
	if err := ew.writePart(ctx, pp.part, pp.crc); err != nil {
		ew.abort()
		return true, nil, err
	}
	if err := ew.close(); err != nil {
		return true, nil, err
	}
	p.size, p.hash = n, pp.hash
	x.report(n)
	return true, nil, nil
}

// copy streams src into the entry, hashing it and failing once more than
// limit bytes (if limit >= 0) arrive or ctx is done.
func (x *exporter) copy(ctx context.Context, dst io.Writer, src io.Reader, h *assetref.Hasher, limit int64) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		yield()
		m, rerr := src.Read(x.buf)
		if m > 0 {
			if limit >= 0 && n+int64(m) > limit {
				return n, fmt.Errorf("%w: more than %d bytes", ErrOriginalTooLarge, limit)
			}
			h.Write(x.buf[:m])
			if _, err := dst.Write(x.buf[:m]); err != nil {
				return n, errWrite{err}
			}
			n += int64(m)
			x.report(int64(m))
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// cleanMIME returns a Content-Type's media type if a Ref would accept it,
// and "" otherwise.
func cleanMIME(ct string) string {
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return ""
	}
	if (assetref.Ref{Kind: assetref.KindEmbedded, ID: "x", MIME: ct}).Validate() == nil {
		return ct
	}
	if e := essence(ct); (assetref.Ref{Kind: assetref.KindEmbedded, ID: "x", MIME: e}).Validate() == nil {
		return e
	}
	return ""
}

// result builds the manifest and the graph to write, with embedded refs in
// place of the local ones.
func (x *exporter) result(g *graph.Graph) (*Manifest, *graph.Graph) {
	m := &Manifest{
		PackageVersion: PackageVersion,
		App:            App{Name: x.o.AppName, Version: x.o.AppVersion},
		CreatedAt:      x.o.CreatedAt,
		Workflow:       WorkflowInfo{ID: g.Workflow.ID, File: WorkflowFile, Name: g.Workflow.Name},
		Assets:         make([]Asset, 0, len(x.assets)),
	}
	for _, p := range x.assets {
		if p.embed {
			m.Assets = append(m.Assets, Asset{ID: p.id, Origin: OriginEmbedded, MIME: p.mime, Bytes: p.size, Hash: p.hash, File: p.file})
		} else {
			m.Assets = append(m.Assets, Asset{ID: p.id, Origin: OriginURL, MIME: p.ref.MIME, Bytes: p.ref.Bytes, Hash: p.ref.Hash, URL: p.ref.URL})
		}
	}
	out := *g
	out.Nodes = make([]graph.Node, len(g.Nodes))
	copy(out.Nodes, g.Nodes)
	if out.Edges == nil {
		out.Edges = []graph.Edge{}
	}
	for i := range out.Nodes {
		n := &out.Nodes[i]
		if n.Result == nil || n.Result.Asset == nil {
			continue
		}
		p := x.byKey[refKey(*n.Result.Asset)]
		if !p.embed {
			continue
		}
		n.Result = n.Result.Clone()
		*n.Result.Asset = assetref.Ref{Kind: assetref.KindEmbedded, ID: p.id, MIME: p.mime, Bytes: p.size, Hash: p.hash}
	}
	return m, &out
}

// describeRef names a ref in an error message, shortened.
func describeRef(ref assetref.Ref) string {
	loc := ref.URL + ref.Path + ref.HandleID + ref.BlobKey + ref.ID
	return string(ref.Kind) + " " + quote(loc)
}
