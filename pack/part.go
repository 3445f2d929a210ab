package pack

import (
	"context"
	"errors"
	"io"

	"github.com/atelierstore/atelier/assetref"
)

// Part is content that stays outside Go memory: in the browser, a Blob (a
// slice of the package File, or an asset's stored file). Export and Import
// hand large stored (not deflated) entries from a source to a destination
// that both know the part's concrete type, so that the browser copies the
// bytes itself and Go never reads them. Every interface here is optional:
// without it, the content streams through Go as an io.Reader.
//
// Skipping Go changes what is computed, not what is checked:
//
//   - Export takes an asset's SHA-256 from the source (PartSource), which
//     recorded it when it stored the content, instead of hashing the
//     content again; it still checks the size against the ref, and
//     Import verifies the hash in any case. The CRC-32 the zip format
//     needs comes from Part.CRC32.
//   - Import has the sink hash the content while it stores it
//     (PartSink.PutPart), once, and keeps what the sink stored only if
//     the hash is the manifest's. A stored entry's content is verified by
//     its SHA-256 alone: its CRC-32 is computed only to tell a corrupt
//     entry (ErrCorruptZip) from content that differs from the manifest
//     (ErrHashMismatch) when the hash does not match, so that a bad
//     package fails as it does on the io.Reader path. Content whose
//     SHA-256 is the manifest's is the content the package names, and is
//     accepted even if the zip's CRC-32 field disagrees with it. Checking
//     that field as well protects nothing the hash does not, and made
//     imports about a fifth slower in Chromium, which had to read the
//     content once more.
type Part interface {
	// Size returns the length of the content in bytes.
	Size() int64
	// CRC32 returns the CRC-32 (IEEE) of the content, reading it.
	CRC32(ctx context.Context) (uint32, error)
}

// ErrNoPart is returned by the methods of PartSource and PartSink to
// decline a part; the content then goes through Go as an io.Reader.
var ErrNoPart = errors.New("pack: content not available as a part")

// PartSource may be implemented by an AssetSource. For an asset that Export
// stores rather than deflates (media formats, see Export), when the
// io.Writer is a PartWriter, Export asks the source for the content as a
// Part and appends it to the package as it is. While it writes one asset,
// Export opens and checksums the next one's part, so OpenPart and
// Part.CRC32 may run at the same time as the source's other methods.
type PartSource interface {
	// OpenPart returns the asset's content as a Part, and its hash string
	// as recorded when the content was stored and verified (Export writes
	// it to the manifest without hashing the content). It fails like Open,
	// or with ErrNoPart for an asset it cannot hand over this way.
	OpenPart(ctx context.Context, ref assetref.Ref) (p Part, hash string, err error)
}

// PartWriter may be implemented by the io.Writer Export writes to.
type PartWriter interface {
	io.Writer
	// WritePart appends p's content after everything written so far. It
	// fails for a Part of a type it does not know.
	WritePart(ctx context.Context, p Part) error
}

// PartReaderAt may be implemented by the io.ReaderAt Import reads. Import
// calls its methods from more than one goroutine.
type PartReaderAt interface {
	io.ReaderAt
	// Part returns the n bytes at off as a Part, without reading them.
	Part(off, n int64) (Part, error)
}

// PartSink may be implemented by an AssetSink. When the package's reader
// is a PartReaderAt, Import hands it each embedded asset stored without
// compression as a Part, two at a time: the sink's methods (and
// AssetFinder's) must be safe for concurrent use.
type PartSink interface {
	// PutPart stores p's content, hashing it on the way (Import does not),
	// if its hash string is hash. If it is not, PutPart stores nothing
	// and fails with an error matching ErrHashMismatch. created is as for
	// AssetSink.Put. It fails with ErrNoPart to have Import use Put.
	PutPart(ctx context.Context, p Part, hash string, hint assetref.Hint) (ref assetref.Ref, created bool, err error)

	// CheckPart fails with an error matching ErrHashMismatch if p's
	// content does not have the hash string hash. Import calls it instead
	// of reading the content in Go for an asset the sink already has
	// (AssetFinder). It fails with ErrNoPart to have Import read it.
	CheckPart(ctx context.Context, p Part, hash string) error
}
