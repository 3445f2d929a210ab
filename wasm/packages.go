//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/pack"
)

// bindPackages adds exportWorkflow and importPackage to the db object.
func (h *handle) bindPackages(o js.Value) {
	lib := h.ws.Assets()
	// exportWorkflow(id, {includeOriginals, keepFailedAsUrl, appName,
	// appVersion, onProgress, onKeptAsUrl}) resolves to the package as a
	// Blob (application/zip) to download.
	h.method(o, "exportWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		id, err := stringArg(args, 0, "workflowId")
		if err != nil {
			return nil, err
		}
		var opt struct {
			IncludeOriginals bool   `json:"includeOriginals"`
			KeepFailedAsURL  bool   `json:"keepFailedAsUrl"`
			AppName          string `json:"appName"`
			AppVersion       string `json:"appVersion"`
		}
		cbs, err := optionsArg(args, 1, "options", &opt, "onProgress", "onKeptAsUrl", "signal")
		if err != nil {
			return nil, err
		}
		signal, err := signalArg(args, 1, "options")
		if err != nil {
			return nil, err
		}
		return abortable(ctx, signal, func(ctx context.Context) (any, error) {
			w := &assets.BlobWriter{}
			res, err := lib.Export(ctx, w, id, &pack.ExportOptions{
				AppName: opt.AppName, AppVersion: opt.AppVersion,
				IncludeOriginals: opt.IncludeOriginals, KeepFailedAsURL: opt.KeepFailedAsURL,
				Progress: progressFunc(ctx, cbs["onProgress"]),
			})
			if err != nil {
				return nil, err
			}
			if onKept, ok := cbs["onKeptAsUrl"]; ok && len(res.KeptAsURL) > 0 {
				invoke(onKept, failuresJS(res.KeptAsURL))
			}
			return fsx.BlobJS(w.Blob("application/zip"))
		})
	})
	// importPackage(fileOrBlob, {replace, onProgress}) stores the package's
	// assets and workflow, all or nothing, and resolves to {workflow,
	// nodes, edges, newIds, replaced, ids}.
	h.method(o, "importPackage", func(ctx context.Context, args []js.Value) (any, error) {
		blob, err := blobArg(args, 0, "file")
		if err != nil {
			return nil, err
		}
		var opt struct {
			Replace bool `json:"replace"`
		}
		cbs, err := optionsArg(args, 1, "options", &opt, "onProgress", "signal")
		if err != nil {
			return nil, err
		}
		signal, err := signalArg(args, 1, "options")
		if err != nil {
			return nil, err
		}
		return abortable(ctx, signal, func(ctx context.Context) (any, error) {
			return importPackage(ctx, lib, blob, opt.Replace, progressFunc(ctx, cbs["onProgress"]))
		})
	})
}

// importPackage is importPackage's work once its arguments are read.
func importPackage(ctx context.Context, lib *assets.Library, blob assetref.Blob, replace bool, progress func(pack.Progress)) (any, error) {
	r, size, err := assets.BlobReaderAt(ctx, blob)
	if err != nil {
		return nil, err
	}
	g, res, err := lib.Import(ctx, r, size, &pack.ImportOptions{Replace: replace, Progress: progress})
	if err != nil {
		return nil, err
	}
	g = graphJSON(g)
	ids := res.IDs
	if ids == nil {
		ids = map[string]string{}
	}
	return map[string]any{"workflow": g.Workflow, "nodes": g.Nodes, "edges": g.Edges,
		"newIds": res.NewIDs, "replaced": res.Replaces, "ids": ids}, nil
}

// progressFunc returns a pack progress function calling cb({done,
// total}), or nil when cb is not a function and the call has no abort
// signal; with one, each step also yields to the event loop (see
// abortable).
func progressFunc(ctx context.Context, cb js.Value) func(pack.Progress) {
	yields := ctx.Value(yieldsKey{}) != nil
	if cb.Type() != js.TypeFunction && !yields {
		return nil
	}
	return func(p pack.Progress) {
		if cb.Type() == js.TypeFunction {
			invoke(cb, object("done", p.Done, "total", p.Total))
		}
		if yields {
			jsutil.Yield()
		}
	}
}
