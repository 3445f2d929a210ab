// Package assetref is how a workflow graph points at binary assets (images,
// video) without holding their bytes, and the interface of the stores that
// hold those bytes.
//
// # Basics
//
// A Ref is a tagged union: Kind says where the asset lives and selects the
// one field that locates it.
//
//	kind        field     example
//	url         URL       https://cdn.example.com/a.png, blob:https://app.example/0190…
//	opfs        Path      atelier/assets/image/0190…
//	fs-handle   HandleID  an id of a folder handle persisted by the app
//	idb         BlobKey   a key in the IndexedDB blob store
//	embedded    ID        an asset id inside an exported package
//
// MIME, Bytes and Hash optionally describe the content. Hash is the
// Subresource Integrity form of the SHA-256 digest, "sha256-" and padded
// standard base64; HashBytes and Hasher compute it, ParseHash reads it.
//
// Ref.Validate checks a reference; the JSON and msgpack codecs validate
// when they encode and when they decode, so an invalid Ref is never written
// and never read. Both codecs use the keys kind, url, path, handleId,
// blobKey, id, mime, bytes and hash, leave out empty fields, and ignore keys
// they do not know. They are written by hand: a typical ref decodes with one
// allocation. A Ref's msgpack form does not depend on the Encoder's options:
// its strings are never interned.
//
// A Store keeps asset bytes: Put streams them in and returns the Ref, Open,
// Stat and Delete take it back. Identical content is stored once.
// Package memstore is an in-memory Store; package storetest is the
// conformance suite every Store runs.
//
// # Caveats
//
// A blob: URL lives only as long as the document that created it. It is
// accepted so that a graph can point at an asset being shown right now, but
// it does not survive a reload: persist such assets into a Store.
//
// Validate checks form, not existence: a valid opfs ref may name a file that
// was deleted, and a url ref may not be reachable.
//
// The zero Ref is invalid, so encoding it fails. Make an optional ref a
// *Ref, or tag the field `json:",omitzero" msgpack:",omitempty"` so that a
// zero Ref is left out (Ref has an IsZero method for both).
//
// Deduplication means one stored asset can be shared by many refs, and
// Store.Delete removes it for all of them. Delete only what no graph still
// references.
//
// Strings that are not valid UTF-8 are rejected rather than repaired, since
// JavaScript and JSON would silently change them. JSON input follows
// encoding/json, which replaces invalid UTF-8 with U+FFFD while decoding.
package assetref
