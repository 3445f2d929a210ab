package assetref

import "io"

// Blob is content the browser holds outside Go memory: a JavaScript Blob or
// File (a file the user dropped, an asset's stored file, a download). The
// library's stores and its sync transport hand such content to the browser
// as it is, so its bytes never pass through Go; Go code reads it through
// ReadAt, a slice at a time.
//
// Only the JavaScript binding and the library itself make browser Blobs.
// Any other implementation (bytes in memory, a file on the host) is
// welcome wherever a Blob is taken: it is read through ReadAt, as a
// reader given to Store.Put is read.
type Blob interface {
	// Size returns the length of the content in bytes.
	Size() int64
	// MIME returns the content's media type, "" if unknown.
	MIME() string
	// ReadAt reads len(p) bytes at off, as io.ReaderAt does. Reading a
	// browser Blob fails once the file behind it is removed or replaced.
	io.ReaderAt
}
