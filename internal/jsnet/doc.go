// Package jsnet is the browser's network seen from Go: fetch with a
// context (Fetch, whose Response body is read as text, as a Blob or as a
// stream), uploads of a Blob with progress (Upload, over XMLHttpRequest,
// whose upload progress events fetch lacks) and the online and offline
// events (FollowOnline).
//
// Bodies that are Blobs (a File the user picked, an asset's stored file, a
// downloaded image) go to and come from the browser as fsx.Blob: their
// bytes never pass through Go.
//
// A context ends a request: its AbortSignal is aborted and the call
// returns ctx.Err(). A request that gets no answer (the network failed, the
// browser refused it) fails with the browser's error, a *jsutil.Error
// (fetch rejects with a TypeError); an answer with any HTTP status is not
// an error here.
package jsnet
