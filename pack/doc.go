// Package pack exports one workflow, with the assets it uses, as a
// portable package (a zip file named *.genaiw.zip) and imports such
// packages back.
//
// It is pure Go: it reads from an io.ReaderAt and writes to an io.Writer,
// and the browser build hands it a File and a stream. It never touches the
// network; downloading originals is the caller's FetchFunc.
//
// # Basics
//
// A package (manifest version 1) holds
//
//	manifest.json        what the package holds: see Manifest
//	workflow.json        the graph.Graph as JSON, media never inline
//	assets/<id>.<ext>    the bytes of each embedded asset
//
// Export writes a graph. Local assets (opfs, fs-handle, idb) are read from
// an AssetSource and embedded, their refs in workflow.json rewritten to
// {kind: "embedded", id}; url assets stay url refs unless
// ExportOptions.IncludeOriginals has them downloaded and embedded. Export
// streams, holding one chunk of asset content at a time.
//
// Media assets, which a package stores rather than deflates, can skip Go
// altogether: when the source, the writer, the package's reader and the
// sink know how, they pass them as a Part (in the browser, a Blob), which
// the browser copies itself. See Part for what is checked then.
//
// Import validates a package completely, then copies its embedded assets
// into an AssetSink, checking each one's size and SHA-256 as it goes, and
// returns a Result: the graph with the sink's refs in place of the
// embedded ones, ready to be stored by the caller. Storing it is the
// commit; if that fails, Result.Discard deletes the assets the import
// created. ImportAndCommit wraps both steps like a managed transaction:
//
//	res, err := pack.ImportAndCommit(ctx, file, size, sink, nil,
//		func(ctx context.Context, res *pack.Result) error {
//			_, err := db.PutGraph(ctx, &res.Graph) // the caller's database write (idb.DB)
//			return err
//		})
//
// Importing a workflow whose id is already stored makes it a new workflow
// with fresh ids, unless ImportOptions.Replace says to keep them.
//
// Every error caused by the package's content is a *PackageError: it
// matches ErrInvalidPackage and atelier.ErrInvalid with errors.Is, and
// its Problem (ErrHashMismatch, ErrUnsafeName, ...) says what is wrong.
//
// # Caveats
//
// Import trusts nothing in the archive: it bounds the entry count and the
// central directory before reading them, rejects entries that overlap,
// reads no entry beyond the size the manifest gives it, and bounds sizes
// and compression ratios with ImportOptions. It does not bound the
// workflow's node count other than through MaxWorkflowBytes, and decodes
// workflow.json in memory.
//
// Fresh ids are given to the workflow, its nodes and its edges and
// rewritten wherever the graph model refers to them. Node.Config,
// Result.Data and Workflow.Meta are opaque application JSON: ids inside
// them are not rewritten.
//
// Export's output is only a valid package if Export returns nil; a failed
// export leaves a partial archive in the writer. A url original that fails
// part way through leaves the bytes already written as unreferenced space
// in the archive, which zip readers skip.
//
// Assets are deduplicated by the sink: an asset it already has is reused
// (created is false) and never deleted by a rollback, so an asset shared
// with other workflows survives a failed import.
package pack
