//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"syscall/js"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Native getters of the browser's types, to check what an app passes:
// they throw unless their receiver really is such an object, where
// instanceof and property reads can be fooled (or made to throw
// uncatchably) by a Proxy or a look-alike object.
var (
	blobSize   = nativeGetter("Blob", "size")
	handleKind = nativeGetter("FileSystemHandle", "kind")
)

// folderAccess reports whether the browser has the File System Access
// API's permissions, without which a folder cannot be used.
func folderAccess() bool {
	h := js.Global().Get("FileSystemHandle")
	return h.Type() == js.TypeFunction && h.Get("prototype").Get("queryPermission").Type() == js.TypeFunction
}

func nativeGetter(class, prop string) js.Value {
	c := js.Global().Get(class)
	if c.Type() != js.TypeFunction {
		return js.Undefined()
	}
	return jsObject.Call("getOwnPropertyDescriptor", c.Get("prototype"), prop).Get("get")
}

// branded calls the native getter on v and returns its result, or false
// when v is not of its type.
func branded(getter, v js.Value) (out js.Value, ok bool) {
	if getter.Type() != js.TypeFunction || v.Type() != js.TypeObject {
		return js.Undefined(), false
	}
	err := jsutil.Try(func() { out = getter.Call("call", v) })
	return out, err == nil
}

// blobArg returns argument i, which must be a Blob or File, as the
// library takes it.
func blobArg(args []js.Value, i int, name string) (assetref.Blob, error) {
	v := arg(args, i)
	if _, ok := branded(blobSize, v); !ok {
		return nil, argError(name, "must be a Blob or File, not "+describe(v))
	}
	// A getter of its own on the object may throw: Try.
	var (
		b   *fsx.AssetBlob
		err error
	)
	if terr := jsutil.Try(func() { b, err = fsx.WrapAssetBlob(v) }); terr != nil {
		err = terr
	}
	if err != nil {
		return nil, argError(name, err.Error())
	}
	return b, nil
}

// refArg decodes argument i, an AssetRef. A value that is not an object
// is Invalid; an object that is not a valid ref is InvalidRef.
func refArg(args []js.Value, i int) (assetref.Ref, error) {
	var ref assetref.Ref
	if err := objectArg(args, i, "ref", &ref, false); err != nil {
		return ref, err
	}
	return ref, ref.Validate() // {} decodes to the zero Ref
}

// assetRecord is idb.AssetRecord as the page sees it.
type assetRecord struct {
	Hash      string       `json:"hash"`
	Ref       assetref.Ref `json:"ref"`
	Users     []assetUser  `json:"users"`
	CreatedAt int64        `json:"createdAt"`
	Uploaded  int64        `json:"uploaded,omitempty"`
	Remote    bool         `json:"remote,omitempty"`
	UsedAt    int64        `json:"usedAt,omitempty"`
}

type assetUser struct {
	WorkflowID string `json:"workflowId"`
	NodeID     string `json:"nodeId"`
}

// bindAssets adds the asset, storage and folder methods to the db object.
func (h *handle) bindAssets(o js.Value) {
	lib := h.ws.Assets()
	// contentOf reads the first argument as an AssetRef and the second
	// as {onProgress, signal}, and returns the asset's content as a JS
	// Blob (fetched first when it is not on this device, reporting the
	// bytes received to onProgress).
	contentOf := func(ctx context.Context, args []js.Value) (js.Value, error) {
		ref, err := refArg(args, 0)
		if err != nil {
			return js.Value{}, err
		}
		cbs, err := optionsArg(args, 1, "options", &struct{}{}, "onProgress", "signal")
		if err != nil {
			return js.Value{}, err
		}
		signal, err := signalArg(args, 1, "options")
		if err != nil {
			return js.Value{}, err
		}
		ctx = withProgressCallback(ctx, cbs["onProgress"])
		b, err := abortable(ctx, signal, func(ctx context.Context) (any, error) {
			return lib.Blob(ctx, ref)
		})
		if err != nil {
			return js.Value{}, err
		}
		return fsx.BlobJS(b.(assetref.Blob))
	}
	// putAsset(blobOrFile, {mime, onProgress, signal}) stores the content and resolves to its
	// AssetRef; identical content already stored resolves to the ref it
	// has.
	h.method(o, "putAsset", func(ctx context.Context, args []js.Value) (any, error) {
		blob, err := blobArg(args, 0, "blob")
		if err != nil {
			return nil, err
		}
		var opt struct {
			MIME string `json:"mime"`
		}
		cbs, err := optionsArg(args, 1, "options", &opt, "onProgress", "signal")
		if err != nil {
			return nil, err
		}
		signal, err := signalArg(args, 1, "options")
		if err != nil {
			return nil, err
		}
		ctx = withProgressCallback(ctx, cbs["onProgress"])
		return abortable(ctx, signal, func(ctx context.Context) (any, error) {
			return lib.PutBlob(ctx, blob, assetref.Hint{MIME: opt.MIME})
		})
	})
	// assetBlob(ref, {onProgress, signal}) resolves to the content as a
	// Blob; assetURL(ref, options) to an object URL for it (revoke it with
	// URL.revokeObjectURL when done).
	h.method(o, "assetBlob", func(ctx context.Context, args []js.Value) (any, error) {
		return contentOf(ctx, args)
	})
	// assetBytes(ref, options) resolves to the content as an ArrayBuffer; from the
	// engine's worker it is transferred, not copied.
	h.method(o, "assetBytes", func(ctx context.Context, args []js.Value) (any, error) {
		jb, err := contentOf(ctx, args)
		if err != nil {
			return nil, err
		}
		return jsutil.Await(ctx, jb.Call("arrayBuffer"))
	})
	h.method(o, "assetURL", func(ctx context.Context, args []js.Value) (any, error) {
		jb, err := contentOf(ctx, args)
		if err != nil {
			return nil, err
		}
		return js.Global().Get("URL").Call("createObjectURL", jb), nil
	})
	// assetInfo(ref) resolves to {ref, size, mime, hash} of a stored asset.
	h.method(o, "assetInfo", func(ctx context.Context, args []js.Value) (any, error) {
		ref, err := refArg(args, 0)
		if err != nil {
			return nil, err
		}
		info, err := lib.Stat(ctx, ref)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ref": info.Ref, "size": info.Size, "mime": info.MIME, "hash": info.Hash}, nil
	})
	// listAssets() resolves to every registered asset with the nodes using
	// it.
	h.method(o, "listAssets", func(ctx context.Context, _ []js.Value) (any, error) {
		recs, err := lib.Records(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]assetRecord, len(recs))
		for i, r := range recs {
			users := make([]assetUser, len(r.Users))
			for j, u := range r.Users {
				users[j] = assetUser{u.WorkflowID, u.NodeID}
			}
			out[i] = assetRecord{Hash: r.Hash, Ref: r.Ref, Users: users, CreatedAt: r.CreatedAt,
				Uploaded: r.Uploaded, Remote: r.Remote, UsedAt: r.UsedAt}
		}
		return out, nil
	})
	// deleteAsset(ref) deletes an asset no node uses (InUse otherwise).
	h.method(o, "deleteAsset", func(ctx context.Context, args []js.Value) (any, error) {
		ref, err := refArg(args, 0)
		if err != nil {
			return nil, err
		}
		return nil, lib.Delete(ctx, ref)
	})
	h.method(o, "collectAssets", func(ctx context.Context, _ []js.Value) (any, error) {
		return lib.Collect(ctx)
	})
	h.method(o, "reconcileAssets", func(ctx context.Context, _ []js.Value) (any, error) {
		rep, err := lib.Reconcile(ctx)
		if err != nil {
			return nil, err
		}
		out := struct {
			Removed int      `json:"removed"`
			Missing []string `json:"missing"`
		}{rep.Removed, make([]string, len(rep.Missing))}
		for i, m := range rep.Missing {
			out.Missing[i] = m.Hash
		}
		return out, nil
	})

	// capabilities() resolves to where assets go and what the browser
	// offers; estimate() to the origin's {usage, quota} alone; persist()
	// asks for persistent storage and resolves to whether it is.
	h.method(o, "capabilities", func(ctx context.Context, _ []js.Value) (any, error) {
		c, err := lib.Capabilities(ctx)
		if err != nil {
			return nil, err
		}
		var folder any
		if c.Folder != "" {
			folder = c.Folder
		}
		var idbValues any
		if c.IDBValues != "" {
			idbValues = c.IDBValues
		}
		return map[string]any{"backend": string(c.Backend), "reason": c.Reason, "idbValues": idbValues,
			"idbValuesReason": c.IDBValuesReason, "folder": folder, "opfs": c.OPFS,
			"syncAccess": c.SyncAccess, "folderAccess": c.FolderAccess, "persisted": c.Persisted,
			"usage": c.Usage, "quota": c.Quota}, nil
	})
	h.method(o, "estimate", func(ctx context.Context, _ []js.Value) (any, error) {
		usage, quota, err := fsx.Estimate(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]any{"usage": usage, "quota": quota}, nil
	})
	h.method(o, "persist", func(ctx context.Context, _ []js.Value) (any, error) {
		return lib.Persist(ctx)
	})

	// addFolder(directoryHandle, {use}) persists a folder the user picked
	// and resolves to its key; useFolder(key) sends new assets there (null
	// goes back to the default store); folders() lists them;
	// removeFolder(key) forgets one.
	h.method(o, "addFolder", func(ctx context.Context, args []js.Value) (any, error) {
		// Without FileSystemHandle nothing is a directory handle: Invalid.
		dir := arg(args, 0)
		if kind, ok := branded(handleKind, dir); !ok || kind.String() != "directory" {
			return nil, argError("handle", "must be a FileSystemDirectoryHandle, not "+describe(dir))
		}
		// Firefox and Safari have FileSystemHandle (OPFS) but not the
		// File System Access API: no permission to ask for, no pickers.
		if !folderAccess() {
			return nil, fmt.Errorf("folders need the File System Access API: %w", atelier.ErrUnsupported)
		}
		var opt struct {
			Use bool `json:"use"`
		}
		if _, err := optionsArg(args, 1, "options", &opt); err != nil {
			return nil, err
		}
		d, err := fsx.WrapDir(dir)
		if err != nil {
			return nil, argError("handle", err.Error())
		}
		return lib.AddFolder(ctx, d, opt.Use)
	})
	h.method(o, "useFolder", func(ctx context.Context, args []js.Value) (any, error) {
		key, err := optionalStringArg(args, 0, "key")
		if err != nil {
			return nil, err
		}
		return nil, lib.UseFolder(ctx, key)
	})
	h.method(o, "folders", func(ctx context.Context, _ []js.Value) (any, error) {
		fs, err := lib.Folders(ctx)
		if err != nil {
			return nil, err
		}
		out := jsArray.New()
		for _, f := range fs {
			d, ok := fsx.DirOf(f.Handle)
			if !ok {
				continue
			}
			var perm any
			if p, err := d.QueryPermission(ctx, true); err == nil {
				perm = string(p)
			}
			out.Call("push", object("key", f.Key, "name", f.Name, "createdAt", f.CreatedAt,
				"handle", d.JSValue(), "permission", perm))
		}
		return out, nil
	})
	h.method(o, "removeFolder", func(ctx context.Context, args []js.Value) (any, error) {
		key, err := stringArg(args, 0, "key")
		if err != nil {
			return nil, err
		}
		return nil, lib.RemoveFolder(ctx, key)
	})
}

// withProgressCallback returns ctx carrying a ProgressFunc that calls cb
// with {done, total}, when cb is a function: once per figure, as a
// fetched asset's last one comes again while its copy is stored.
func withProgressCallback(ctx context.Context, cb js.Value) context.Context {
	if cb.Type() != js.TypeFunction {
		return ctx
	}
	last := int64(-1)
	return assetref.WithProgress(ctx, func(done, total int64) {
		if done == last {
			return
		}
		last = done
		invoke(cb, object("done", done, "total", total))
	})
}
