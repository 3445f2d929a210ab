// Package dirblob is the default BlobStore of the sync server: blobs as
// files in a directory, named by their SHA-256 digest.
//
// # Basics
//
// A blob with digest d (hex) lives at DIR/sha256/d[:2]/d. Put streams the
// bytes into a temporary file in DIR/tmp, syncs it, and renames it into
// place only when the reader it was given ends without error, so a
// failed or interrupted upload leaves nothing behind but, at worst, a
// temporary file that the next Open of the directory removes. No blob is
// ever held in memory whole.
//
// # Caveats
//
// Blobs are never deleted. DIR/tmp must be on the same file system as
// DIR/sha256 for the rename to be atomic, which it is unless someone
// mounts something there.
package dirblob
