package server

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server/internal/ctxio"
)

// MaxAssetBytes is the largest content PutAsset takes.
const MaxAssetBytes = 1 << 40

// PutAsset stores the content r yields as a blob of the workspace, the way
// a client's upload does (the blob store, then the workspace's record), and
// returns the AssetRef a node's result points at: an OPFS ref with the
// content's size, media type and hash, under which clients fetch the bytes
// by hash on first read. Server code then sets it with UpdateNode (a
// Result whose Asset is the ref). Storing content the workspace has
// already keeps one copy and returns a ref to it all the same.
//
// The content is spooled to a temporary file while it is hashed, so its
// size is bounded by the disk, not by memory (at most MaxAssetBytes). It
// fails with an error matching errs.ErrInvalid for a malformed media type,
// and with r's error when reading fails; nothing is recorded then.
func (w *Workspace) PutAsset(ctx context.Context, r io.Reader, mime string) (assetref.Ref, error) {
	ref := assetref.Ref{Kind: assetref.KindOPFS, MIME: mime,
		Path: "atelier/assets/" + topType(mime) + "/" + graph.NewID()}
	ref.Hash = assetref.FormatHash([32]byte{}) // checked below with the real one
	if err := ref.Validate(); err != nil {
		return assetref.Ref{}, &errs.ValidationError{Entity: "asset", Field: "mime", Reason: err.Error()}
	}
	f, err := os.CreateTemp("", "atelier-asset-")
	if err != nil {
		return assetref.Ref{}, fmt.Errorf("put asset: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxio.Reader{Ctx: ctx, R: r}, MaxAssetBytes+1))
	if err != nil {
		return assetref.Ref{}, fmt.Errorf("put asset: reading the content: %w", err)
	}
	if n > MaxAssetBytes {
		return assetref.Ref{}, &errs.ValidationError{Entity: "asset", Field: "content", Reason: "larger than 1 TiB"}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return assetref.Ref{}, fmt.Errorf("put asset: %w", err)
	}
	// Held like an upload, so that GC keeps the bytes until the record
	// below is there.
	if err := w.s.store.HoldBlob(ctx, assetref.FormatHash(sum), w.s.now().Add(w.s.ttl).UnixMilli()); err != nil {
		return assetref.Ref{}, fmt.Errorf("put asset: %w", err)
	}
	if err := w.s.blobs.Put(ctx, sum, newVerifier(f, sum, n)); err != nil {
		return assetref.Ref{}, fmt.Errorf("put asset: %w", err)
	}
	ref.Hash, ref.Bytes = assetref.FormatHash(sum), n
	info := BlobInfo{Hash: ref.Hash, Size: n, MIME: mime, Created: w.s.now().UnixMilli()}
	if err := w.s.store.PutBlob(ctx, w.ws, info); err != nil {
		return assetref.Ref{}, fmt.Errorf("put asset: %w", err)
	}
	return ref, nil
}

// topType is the lower-cased top-level type of a media type ("image" of
// "image/PNG"), the directory clients keep such assets in.
func topType(mime string) string {
	t, _, _ := strings.Cut(mime, "/")
	t = strings.ToLower(strings.TrimSpace(t))
	if t == "" {
		return "other"
	}
	return t
}
