//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/pack"
)

// bindAssets adds the asset, storage and package methods to the db object.
func bindAssets(o js.Value, lib *assets.Library) {
	// putAsset(blobOrFile, {mime?}) resolves to the AssetRef.
	method(o, "putAsset", func(ctx context.Context, args []js.Value) (any, error) {
		if len(args) == 0 {
			return nil, &atelier.ValidationError{Entity: "argument", Field: "#0", Reason: "a Blob or File is required"}
		}
		var hint struct {
			MIME string `json:"mime"`
		}
		if err := decodeArg(args, 1, &hint); err != nil {
			return nil, err
		}
		return lib.PutBlob(ctx, args[0], assetref.Hint{MIME: hint.MIME})
	})
	// assetBlob(ref) resolves to the content as a Blob; assetURL(ref) to an
	// object URL for it (revoke it with URL.revokeObjectURL when done).
	method(o, "assetBlob", func(ctx context.Context, args []js.Value) (any, error) {
		var ref assetref.Ref
		if err := decodeArg(args, 0, &ref); err != nil {
			return nil, err
		}
		return lib.Blob(ctx, ref)
	})
	method(o, "assetURL", func(ctx context.Context, args []js.Value) (any, error) {
		var ref assetref.Ref
		if err := decodeArg(args, 0, &ref); err != nil {
			return nil, err
		}
		b, err := lib.Blob(ctx, ref)
		if err != nil {
			return nil, err
		}
		return js.Global().Get("URL").Call("createObjectURL", b), nil
	})
	// deleteAsset(ref) deletes an asset no node uses (InUse otherwise).
	method(o, "deleteAsset", func(ctx context.Context, args []js.Value) (any, error) {
		var ref assetref.Ref
		if err := decodeArg(args, 0, &ref); err != nil {
			return nil, err
		}
		return nil, lib.Delete(ctx, ref)
	})
	method(o, "collectAssets", func(ctx context.Context, _ []js.Value) (any, error) {
		return lib.Collect(ctx)
	})
	method(o, "reconcileAssets", func(ctx context.Context, _ []js.Value) (any, error) {
		rep, err := lib.Reconcile(ctx)
		missing := make([]string, len(rep.Missing))
		for i, m := range rep.Missing {
			missing[i] = m.Hash
		}
		return map[string]any{"removed": rep.Removed, "missing": missing}, err
	})
	// capabilities() resolves to {backend, folder, opfs, syncAccess,
	// folderAccess, persisted, usage, quota}; persist() asks for
	// persistent storage and resolves to whether it is.
	method(o, "capabilities", func(ctx context.Context, _ []js.Value) (any, error) {
		c, err := lib.Capabilities(ctx)
		return map[string]any{"backend": string(c.Backend), "folder": c.Folder, "opfs": c.OPFS,
			"syncAccess": c.SyncAccess, "folderAccess": c.FolderAccess, "persisted": c.Persisted,
			"usage": c.Usage, "quota": c.Quota}, err
	})
	method(o, "persist", func(ctx context.Context, _ []js.Value) (any, error) {
		return lib.Persist(ctx)
	})
	// addFolder(directoryHandle, {use}) persists a folder the user picked
	// and resolves to its key; useFolder(key) sends new assets there (""
	// goes back to the default store); folders() lists them.
	method(o, "addFolder", func(ctx context.Context, args []js.Value) (any, error) {
		if len(args) == 0 {
			return nil, &atelier.ValidationError{Entity: "argument", Field: "#0", Reason: "a FileSystemDirectoryHandle is required"}
		}
		var opt struct {
			Use bool `json:"use"`
		}
		if err := decodeArg(args, 1, &opt); err != nil {
			return nil, err
		}
		return lib.AddFolder(ctx, args[0], opt.Use)
	})
	method(o, "useFolder", func(ctx context.Context, args []js.Value) (any, error) {
		return nil, lib.UseFolder(ctx, stringArg(args, 0))
	})
	// exportWorkflow(id, {includeOriginals, keepFailedAsUrl, onProgress})
	// resolves to the package as a Blob (application/zip) to download.
	method(o, "exportWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		var opt struct {
			IncludeOriginals bool `json:"includeOriginals"`
			KeepFailedAsURL  bool `json:"keepFailedAsUrl"`
		}
		if err := decodeArg(args, 1, &opt); err != nil {
			return nil, err
		}
		w := &assets.BlobWriter{}
		_, err := lib.Export(ctx, w, stringArg(args, 0), &pack.ExportOptions{
			IncludeOriginals: opt.IncludeOriginals, KeepFailedAsURL: opt.KeepFailedAsURL,
			Progress: progressArg(args, 1),
		})
		if err != nil {
			return nil, err
		}
		return w.Blob("application/zip"), nil
	})
	// importPackage(fileOrBlob, {replace, onProgress}) resolves to
	// {workflow, nodes, edges, newIds}: the stored workflow.
	method(o, "importPackage", func(ctx context.Context, args []js.Value) (any, error) {
		if len(args) == 0 {
			return nil, &atelier.ValidationError{Entity: "argument", Field: "#0", Reason: "a File or Blob is required"}
		}
		var opt struct {
			Replace bool `json:"replace"`
		}
		if err := decodeArg(args, 1, &opt); err != nil {
			return nil, err
		}
		r, size, err := assets.BlobReaderAt(ctx, args[0])
		if err != nil {
			return nil, err
		}
		g, res, err := lib.Import(ctx, r, size, &pack.ImportOptions{Replace: opt.Replace, Progress: progressArg(args, 1)})
		if err != nil {
			return nil, err
		}
		return map[string]any{"workflow": g.Workflow, "nodes": g.Nodes, "edges": g.Edges, "newIds": res.NewIDs}, nil
	})
}

// progressArg returns a progress callback calling args[i].onProgress({done,
// total}), or nil.
func progressArg(args []js.Value, i int) func(pack.Progress) {
	if i >= len(args) || args[i].Type() != js.TypeObject {
		return nil
	}
	cb := args[i].Get("onProgress")
	if cb.Type() != js.TypeFunction {
		return nil
	}
	return func(p pack.Progress) {
		invoke(cb, map[string]any{"done": p.Done, "total": p.Total})
	}
}
