package assets

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/pack"
)

// errNoWorkflows is returned by Export and Import of a library without
// Env.Workflows.
var errNoWorkflows = fmt.Errorf("packages: the library has no workflow store: %w", errs.ErrUnsupported)

// Export writes the workflow with the given id, and the assets it uses,
// as a package (.genaiw.zip) to w, streaming: one chunk of asset content
// is in Go memory at a time. opts may be nil; when it asks for originals
// and has no Fetch, the browser's fetch is used (in
// the browser; elsewhere a blob: or http URL asset fails without one).
//
// When w is a *BlobWriter, media assets (stored in the package, not
// deflated) do not pass through Go at all: their stored files become parts
// of the package Blob, and only their CRC-32 is computed, in JavaScript.
// Their SHA-256 is the one recorded when they were stored (verified then);
// assets in a folder the user picked, which other programs can change, are
// hashed again (WebCrypto) to catch that.
func (l *Library) Export(ctx context.Context, w io.Writer, workflowID string, opts *pack.ExportOptions) (*pack.ExportResult, error) {
	if l.env.Workflows == nil {
		return nil, errNoWorkflows
	}
	g, err := l.env.Workflows.LoadWorkflow(ctx, workflowID)
	if err != nil {
		return nil, err
	}
	o := pack.ExportOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Fetch == nil {
		o.Fetch = l.env.FetchURL
	}
	return pack.Export(ctx, w, &g, libSource{l}, &o)
}

// libSource reads assets for an export.
type libSource struct{ l *Library }

func (s libSource) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	return s.l.Open(ctx, ref)
}

func (s libSource) Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
	return s.l.Stat(ctx, ref)
}

// Import reads a package from r (size bytes; in the browser a File read a
// slice at a time) and stores it: its assets in the library, then its
// workflow in one transaction. If anything fails, nothing of it remains.
// A workflow that already exists is imported as a new one with fresh ids
// unless opts.Replace. Bad packages fail with pack.ErrInvalidPackage.
func (l *Library) Import(ctx context.Context, r io.ReaderAt, size int64, opts *pack.ImportOptions) (graph.Graph, *pack.Result, error) {
	if l.env.Workflows == nil {
		return graph.Graph{}, nil, errNoWorkflows
	}
	o := pack.ImportOptions{}
	if opts != nil {
		o = *opts
	}
	o.WorkflowExists = func(ctx context.Context, id string) (bool, error) {
		_, err := l.env.Workflows.LoadWorkflow(ctx, id)
		if errors.Is(err, errs.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	var stored graph.Graph
	res, err := pack.ImportAndCommit(ctx, r, size, libSink{l}, &o, func(ctx context.Context, res *pack.Result) error {
		g, err := l.env.Workflows.PutGraph(ctx, &res.Graph)
		stored = g
		return err
	})
	return stored, res, err
}

// libSink stores an import's assets, telling pack which it created so that
// a failed import deletes those and never an asset that was there before.
type libSink struct{ l *Library }

func (s libSink) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, bool, error) {
	st, err := s.l.newStore(ctx)
	if err != nil {
		return assetref.Ref{}, false, err
	}
	ref, err := st.Put(ctx, r, withID(hint))
	if err != nil {
		return assetref.Ref{}, false, err
	}
	return s.register(ctx, st, ref)
}

// register records an asset the import stored in st, as Library.register
// does, also reporting whether it was new (pack deletes those on failure).
func (s libSink) register(ctx context.Context, st assetref.Store, ref assetref.Ref) (assetref.Ref, bool, error) {
	return s.l.registerNew(ctx, st, ref)
}

func (s libSink) Delete(ctx context.Context, ref assetref.Ref) error { return s.l.Delete(ctx, ref) }

// FindHash lets an import skip writing assets the library already has.
func (s libSink) FindHash(ctx context.Context, hash string) (assetref.Ref, bool, error) {
	rec, err := s.l.reg.Asset(ctx, hash)
	if errors.Is(err, errs.ErrNotFound) {
		return assetref.Ref{}, false, nil
	}
	return rec.Ref, err == nil, err
}
