// Package fsx is a thin layer over the browser's File System API: the origin
// private file system (OPFS) and folders the user picked with the File
// System Access API. It is to the asset stores what internal/idbx is to the
// workflow store.
//
// It wraps FileSystemDirectoryHandle (Dir), FileSystemFileHandle (File), the
// File snapshot getFile returns and any other JavaScript Blob (Blob, read by
// slices with ReadAt and Prefetch or sequentially with Stream; built from
// parts with BlobBuilder), FileSystemWritableFileStream (Writable),
// FileSystemSyncAccessHandle (SyncHandle, SyncWriter, and Buffer to read
// into), the StorageManager (StorageRoot, Estimate, Persist) and the Web
// Locks API (Lock, TryLock).
// Helper is a small dedicated worker, started from an embedded script, that
// writes files with sync access handles for a thread that cannot create
// them itself: the page's main thread (HelperWriter).
// Writable, SyncWriter and HelperWriter share the Writer interface.
//
// Everything that waits on the browser takes a context and turns JavaScript
// exceptions into errors: a *jsutil.Error that matches atelier.ErrNotFound
// for NotFoundError and atelier.ErrQuotaExceeded for QuotaExceededError
// (errors.Is). An API the browser lacks gives an error matching
// atelier.ErrUnsupported. Nothing here panics on a JavaScript exception.
//
// The package is internal and hands out js.Value (JSValue, WrapDir,
// WrapFile) because the JavaScript binding passes in folders the user
// picked and the IndexedDB layer persists their handles (they survive a
// structured clone). Public packages keep js.Value out of their API: a
// Blob crosses it as an assetref.Blob (AssetBlob, made by the JavaScript
// binding with WrapAssetBlob), which the stores unwrap with BlobOf to let
// the browser copy it.
package fsx
