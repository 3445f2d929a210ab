package assetref

import (
	"context"
	"errors"
	"io"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/uuid7"
)

// DefaultMIME is the media type a Store records when the Hint names none.
// Stores do not sniff content: the caller knows what it is storing.
const DefaultMIME = "application/octet-stream"

// Hint describes an asset being stored. The zero value is valid.
type Hint struct {
	// MIME is the media type to record; DefaultMIME if empty.
	MIME string
	// ID is the asset id to store under; a new UUIDv7 if empty. It is one
	// path segment of at most MaxIDLen bytes (stores use it as a file name).
	// Deduplication can make a Store return the ref of an earlier asset with
	// another id: use the returned Ref, never a ref built from the id.
	ID string
	// SkipCRC asks a store that records a CRC-32 of the content beside its
	// hash, so that an export need not read the content for it (the OPFS
	// store's PutBlob does), not to compute one: for content whose hash
	// verifies it anyway, such as an import, where the checksum would only
	// serve a later export (which computes it then). Stores that record
	// none ignore it.
	SkipCRC bool
}

// Normalize returns h with the defaults filled in: DefaultMIME for an empty
// MIME and a new UUIDv7 for an empty ID. Store implementations call it first
// in Put. It fails with an error matching errs.ErrInvalid (a
// *errs.ValidationError naming "mime" or "id") if MIME is not
// type/subtype with optional parameters or ID is not a valid asset id, and
// with the random source's error if no UUID can be generated.
func (h Hint) Normalize() (Hint, error) {
	if h.MIME == "" {
		h.MIME = DefaultMIME
	} else if err := checkMIME("mime", h.MIME); err != nil {
		return h, hintErr(err)
	}
	if h.ID == "" {
		h.ID = uuid7.New()
	} else if err := checkID("id", h.ID); err != nil {
		return h, hintErr(err)
	}
	return h, nil
}

// hintErr restates a field check's RefError as the ValidationError that
// invalid input, rather than an invalid ref, calls for.
func hintErr(err error) error {
	var e *RefError
	if !errors.As(err, &e) {
		return err
	}
	return &errs.ValidationError{Entity: "asset hint", Field: e.Field, Reason: e.Reason}
}

// Info describes a stored asset.
type Info struct {
	Ref  Ref    // the canonical ref: the store's kind and locator, MIME, Bytes and Hash set
	Size int64  // length of the content in bytes
	MIME string // media type recorded by Put
	Hash string // hash string of the content, as HashBytes computes it
}

// Store keeps asset bytes: the OPFS, IndexedDB and user-folder stores, and
// memstore for tests. Each Store hands out refs of one Kind and rejects refs
// of other kinds with an error matching errs.ErrInvalidRef, as it does
// refs that do not Validate.
//
// A ref names an asset by its kind's locator field. When the ref also
// carries a Hash that differs from the stored asset's, the ref names other
// content and the asset counts as not found; MIME and Bytes of the ref are
// not consulted.
//
// Every method returns ctx.Err() (possibly wrapped) if ctx is done before it
// completes. Implementations are safe for concurrent use.
//
// Package storetest checks an implementation against this contract.
type Store interface {
	// Put streams r into the store and returns the asset's ref, with Kind,
	// locator, MIME, Bytes and Hash set.
	//
	// Identical bytes are stored once: if an asset with the same hash
	// exists, Put returns its ref (with its id and MIME, whatever the hint
	// says) and stores nothing. Otherwise the asset is stored under
	// hint.ID; if that id already holds other content Put fails with an
	// error matching errs.ErrInvalid and stores nothing.
	//
	// Put fails with an error matching errs.ErrInvalid for a malformed
	// hint (see Hint.Normalize), wraps r's error if reading fails, and
	// returns ctx.Err() if ctx is done; a failed or cancelled Put leaves
	// nothing behind. A Read that blocks forever cannot be interrupted:
	// cancellation is noticed between reads.
	Put(ctx context.Context, r io.Reader, hint Hint) (Ref, error)

	// Open returns a reader of the asset's content. The reader may be
	// bound to ctx: once ctx is done, Read may fail with ctx.Err(). It may
	// also implement io.Seeker and io.ReaderAt (for random access, e.g.
	// zip packing) and callers may type-assert for them; storetest checks
	// them when present. Open fails with an error matching
	// errs.ErrNotFound if the asset does not exist. A reader opened
	// before Delete may fail afterwards.
	Open(ctx context.Context, ref Ref) (io.ReadCloser, error)

	// Stat describes the asset. It fails with an error matching
	// errs.ErrNotFound if the asset does not exist.
	Stat(ctx context.Context, ref Ref) (Info, error)

	// Delete removes the asset. Because identical content is stored once,
	// this removes it for every ref that shares it: counting references
	// is the caller's job. It fails with an error matching
	// errs.ErrNotFound if the asset does not exist.
	Delete(ctx context.Context, ref Ref) error
}

// Lister is implemented by stores that can enumerate their assets, which a
// garbage collector of unreferenced assets needs. storetest uses it, when
// present, to check that failed and duplicate Puts leave nothing behind.
type Lister interface {
	// List returns every stored asset, in an order of the store's choosing.
	// It fails only if ctx is done or the underlying storage fails.
	List(ctx context.Context) ([]Info, error)
}
