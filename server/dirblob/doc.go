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
// Uploads in parts (server.PartStore) keep their parts in
// DIR/uploads/<hex digest>-<part size>-<workspace>/<n>, each written as a
// blob is; the commit joins them into a temporary file while hashing it
// and renames it into place only when the whole blob's size and digest
// hold. Open removes the parts of uploads untouched for StaleUploadAge,
// and StartParts does too, in the background, about once an hour.
//
// # Caveats
//
// Blobs are never deleted. DIR/tmp must be on the same file system as
// DIR/sha256 for the rename to be atomic, which it is unless someone
// mounts something there.
package dirblob
