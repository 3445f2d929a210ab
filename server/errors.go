package server

import "errors"

// The package matches the sentinels of the atelier module (ErrNotFound,
// ErrInvalid, ErrClosed) wherever they fit; the errors below are its own.
var (
	// ErrBlobTooLarge is returned by the reader a BlobStore is given when
	// more bytes arrive than were declared. Nothing is stored.
	ErrBlobTooLarge = errors.New("blob larger than declared")

	// ErrBlobMismatch is returned by the reader a BlobStore is given when
	// the upload ends short of the declared size or its SHA-256 differs
	// from the declared hash. Nothing is stored.
	ErrBlobMismatch = errors.New("blob does not match its declared size and hash")

	// ErrPartsMissing is returned by PartStore.CompleteParts when a part
	// of the upload is not stored (or the upload is gone). The server
	// answers it 409 "Incomplete": the client asks for the upload again,
	// which lists the parts stored, and sends the others.
	ErrPartsMissing = errors.New("parts of the upload are missing")
)
