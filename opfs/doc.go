// Package opfs stores large binary assets (images, video, audio) as files:
// in the browser's origin private file system (OPFS), or in a folder the
// user picked with the File System Access API. Its Store implements
// assetref.Store and assetref.Lister and passes the assetref/storetest
// conformance suite in Chromium, on the page's main thread and in a
// dedicated worker.
//
// # Basics
//
// Open the OPFS store once per page (or worker) and share it; sweep what
// an earlier session may have left half-done:
//
//	s, err := opfs.Open(ctx, nil) // files under "atelier/" in OPFS
//	defer s.Close()
//	_, err = s.Sweep(ctx)
//	ref, err := s.Put(ctx, file, assetref.Hint{MIME: "image/png"})
//	// ref = {kind: "opfs", path: "atelier/assets/image/0190…", mime, bytes, hash}
//	rc, err := s.Open(ctx, ref)
//
// OpenFolder opens the same store in a folder the user picked; its refs
// have kind fs-handle and name the folder by the key under which the
// application persisted the folder's handle (in IndexedDB, say):
//
//	{kind: "fs-handle", handleId: "<key>/atelier/assets/image/0190…"}
//
// The key is the part before the first slash (ParseHandleID splits it off);
// the rest is the file's path inside the folder, the same path an OPFS ref
// would carry. A folder store accepts only refs with its own key and
// rejects others with an error matching atelier.ErrInvalidRef, as every
// store does refs of another kind, of another root, with "." or ".."
// segments, or outside its layout.
//
// # Layout
//
// Below the root (Options.Root, default "atelier"):
//
//	assets/<type>/<id>   the asset's bytes, exactly as Put received them
//	meta/<id>            its record: id, type, MIME type, hash, size
//	by-hash/<hex>        the same record, named by the SHA-256 digest
//	tmp/<name>           bytes being written by a Put
//
// <type> is the top-level media type, lower-cased (image, video, audio,
// application, …); <id> is the hint's id or a new UUIDv7. Ids are unique
// across types. A record is a short text file ("atelier-asset 1", then
// key=value lines), so a ref with only its path Stats in a few browser
// calls, a hash is found in one lookup, and everything survives a reload
// without IndexedDB.
//
// # Writing
//
// Put streams: it reads its io.Reader one chunk (Options.ChunkSize,
// default 1 MiB) at a time into one reused buffer and writes it to a new
// file in tmp/, so Go memory stays at about one chunk whatever the asset's
// size (measured: 2.1 MiB of Go heap growth while streaming 256 MiB in and
// out). Once the file is closed, Put hashes it: the browser reads it back
// and hashes it with WebCrypto, which needs the whole content in
// JavaScript memory for a moment but runs several times faster than
// crypto/sha256 in wasm; content over 256 MiB is read back in 4 MiB slices
// for the bridge's streaming SHA-256 (internal/fsx.HashBlob; off the
// calling thread where the digest worker runs). Then Put commits under a Web Lock shared by all tabs
// and workers of the origin:
//
//  1. If by-hash/<hex> names an asset whose record and file agree, the
//     content is stored already: the temporary file is removed and the
//     stored asset's ref returned (identical bytes are stored once, also
//     when several Puts of them race).
//  2. If the id holds other content, Put fails with atelier.ErrInvalid.
//  3. Otherwise it writes by-hash/<hex> and meta/<id>, then moves the
//     temporary file to assets/<type>/<id> with FileSystemFileHandle.move,
//     which is atomic: the asset exists from that instant, complete.
//
// A Put that fails or is cancelled (reader error, ctx done, quota) removes
// its temporary file and any record it wrote, so nothing is left behind.
// A crash can leave a temporary file or records without an asset; lookups
// ignore them and Sweep removes them. Delete removes the asset's file
// first, then its records.
//
// How the bytes reach the file depends on where Go runs (Options.WriteMode;
// WriteAuto picks):
//
//   - In a dedicated worker, with a sync access handle (WriteSyncHandle).
//   - On the main thread, through a helper worker (WriteWorker, the
//     default there): Go copies each chunk into a JavaScript buffer which
//     is transferred, not copied, to a small worker started from an
//     embedded script; the worker writes it with a sync access handle and
//     transfers the buffer back for reuse.
//   - With createWritable (WriteStream): everywhere, and what WriteAuto
//     falls back to when the helper worker cannot start, for instance when
//     the page's Content-Security-Policy forbids blob: workers.
//
// # Reading
//
// Open's reader reads a snapshot of the file. Sequential reads stream it
// (blob.slice(off).stream(): the browser reads ahead in chunks of up to
// 2 MiB, held in JavaScript memory) and copy straight into the caller's
// buffer; ReadAt reads one blob.slice(a, b).arrayBuffer() of at most
// Options.ChunkSize at a time. Seek restarts the stream at the new offset.
//
// In a dedicated worker, sequential reads use read-only sync access
// handles instead (createSyncAccessHandle({mode: "read-only"})), which
// read about twice as fast: each handle is opened for one 8 MiB read into
// a JavaScript buffer and closed at once. Read-only handles share the file
// with other readers, in any tab, but removing it fails while one is open:
// Delete tries again for up to two seconds. Browsers that ignore the mode
// (it would open an exclusive handle) get the Blob path.
//
// # Performance
//
// Measured in headless Chromium on a shared 2-core VM (go test -bench,
// 64 MiB; the store and plain JavaScript alternate in every iteration, so
// the ratios hold better than the rates, which vary with the machine's
// load):
//
//	write, main thread, helper worker   161-192 MB/s  1.45-1.67x createWritable, 0.39-0.40x a sync handle in a worker
//	write, main thread, createWritable  80-85 MB/s    0.80-0.86x createWritable
//	write, Go in a worker, sync handle  181-186 MB/s  0.33-0.44x a sync handle
//	read with io.Copy, main thread      530-735 MB/s  0.75-0.92x one arrayBuffer() of the whole file
//	read with io.Copy, Go in a worker   1069-2230 MB/s  1.67-2.93x one arrayBuffer() of the whole file (read-only handles)
//	crypto/sha256 compiled to wasm      98 MB/s       (idle machine)
//	WebCrypto SHA-256                   610 MB/s
//
// Writes are bound by hashing. Hashing the bytes in Go as they passed
// (crypto/sha256 in wasm; a fully unrolled SHA-256 gained only 15%) held
// every write mode at 54-82 MB/s; reading the closed file back for
// WebCrypto costs a second read of the bytes but is two to three times
// faster in all, so Put does that.
//
// PutBlob, whose bytes never enter Go, reads them once: where Go runs in a
// dedicated worker each slice of the Blob is written with a sync access
// handle, then hashed by the bridge's digest worker while the next is
// read and written (internal/fsx: SyncHandle.CopyBlob, and Streaming for
// the SHA-256s measured); elsewhere the browser copies the Blob with
// createWritable while the digest worker hashes it.
//
// No write mode flushes a sync access handle: closing it leaves the bytes
// with the operating system, as closing a createWritable stream does
// (Chromium syncs neither to disk, as strace shows), and a flush, an
// fdatasync, cost 110-130 ms per 64 MiB.
//
// # Caveats
//
// Hashing runs in the bridge's digest worker, off the thread Go runs on,
// where that worker can start: from the bridge file's URL (worker-src
// 'self'), or else from a blob: URL (worker-src blob:). Where neither is
// allowed it runs on Go's thread: on the page's main thread WebCrypto then
// blocks it for about 2 ms per MiB, and content over 256 MiB costs about 5
// ms per MiB, in slices of 4 MiB between which the page stays responsive.
//
// Deduplication means one stored asset can be shared by many refs, and
// Delete removes it for all of them. Delete only what no graph still
// references.
//
// Where FileSystemFileHandle.move is missing (older browsers, and some
// that have it for OPFS but not for picked folders), the commit copies the temporary file instead (the browser
// copies it; no bytes pass through Go) and removes it. The copy appears
// complete at its final name, but a crash during it can leave an empty
// file there, which lookups ignore (its size differs from the record) and
// Sweep removes.
//
// Tabs and workers coordinate through Web Locks named after the store's
// kind, folder key and root. Two stores over the same directory under
// different roots or keys do not coordinate; nor do any two stores where
// the browser lacks Web Locks (then only stores of one Go program do).
//
// Sweep waits until no Put of the store runs in any tab and holds new ones
// back while it works; call it once at startup, not during heavy use.
//
// A reader reads a snapshot: it fails once its asset is deleted. Files in
// assets/ that have no record are not assets: List leaves them out, and a
// Put may replace them.
//
// A folder the user picked needs read-write permission in every session
// (fsx.Dir.RequestPermission, during a user gesture), and its file system
// may refuse names OPFS accepts (a Windows folder refuses ids with ':' or a
// trailing dot, for instance); Put then fails with the browser's error.
// Changing Options.Root orphans the assets stored under the old one.
package opfs
