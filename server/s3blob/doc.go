// Package s3blob is a server.BlobStore in a bucket of an S3-compatible
// object store (AWS S3, SeaweedFS, MinIO, ...), so that the sync server
// keeps no asset bytes on its own disk.
//
// # Basics
//
//	blobs, err := s3blob.Open(ctx, s3blob.Config{
//		Endpoint:  "https://s3.eu-west-1.amazonaws.com",
//		Bucket:    "atelier-blobs",
//		Region:    "eu-west-1",
//		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"),
//		SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
//		Prefix:    "prod/",
//	})
//
// A blob with digest d (hex) is the object PREFIX + "sha256/" + d. Open
// checks the configuration (a *ConfigError names the field at fault) and
// that the bucket exists and the credentials reach it.
//
// Put streams: it reads the bytes in parts of Config.PartSize (16 MiB by
// default), so an upload holds one part in memory, never the whole blob.
// A blob that fits in one part is sent with one PUT after its last byte
// was read; a larger one is a multipart upload, completed only after the
// reader ended without error. When the reader fails (the server's reader
// checks size and digest and fails at the end if they differ) the single
// PUT is never sent, or the multipart upload is aborted: no object becomes
// visible under the blob's key. Each part is sent with its SHA-256 and the
// object with x-amz-checksum-sha256 where it is one part, so the store
// checks what arrived too.
//
// Open of a missing blob fails with an error matching errs.ErrNotFound.
// The reader it returns fetches ranges as it is read and seeked, so
// http.ServeContent serves range requests without reading the whole
// object.
//
// The Store also implements server.Presigner: the sync server then hands
// out URLs that go straight to the bucket, so asset bytes never pass
// through it (see PresignPut and PresignGet).
//
// It implements server.PartStore and server.PartPresigner too, for the
// resumable uploads of large blobs in parts (syncproto.BlobParts): a
// multipart upload of a staging object PREFIX + "uploads/" + workspace +
// "/sha256/" + d, found again with ListMultipartUploads, whose parts the browser PUTs to
// presigned UploadPart URLs (with -s3-presign) or through the server. The
// commit joins the parts, reads the staging object back to check its
// SHA-256, and only then copies it to the blob's key: reading back costs
// the server the blob's bytes once, at a flat memory.
//
// # Why minio-go
//
// The client is github.com/minio/minio-go/v7 rather than the AWS SDK for
// Go v2: it is one module written for S3-compatible stores (path-style
// addressing, custom endpoints), its presigning signs any extra header
// (the checksum and content length of a presigned PUT), and it compiles to
// a fraction of the size of the SDK's S3 package with its dozen
// first-party modules. Its own dependencies are a handful of small
// libraries (hashing, compression, XML).
//
// # Caveats
//
// Blobs are never deleted. An upload that dies with the process (a crash
// between parts) leaves an incomplete multipart upload that the store
// keeps, and bills, until it is aborted: give the bucket a lifecycle rule
// that aborts incomplete multipart uploads after a day, or a few days
// where resumable uploads in parts should survive a longer break (their
// parts are such an upload until the commit). A crash between the commit's
// check and its copy leaves a staging object under "uploads/", which the
// next commit of that blob uses; a rule expiring objects under that
// prefix after a week removes the rest.
//
// Each upload in progress holds up to PartSize bytes in memory; a server
// taking many large uploads at once needs that much per upload.
package s3blob
