package assetref

import "errors"

// The asset registry's record, shared by the registry (package
// assets/registry keeps it in IndexedDB, assets/memregistry in memory) and
// the asset library (package assets, which reads it through an
// interface). It lives here, in the package all of them import.

// ErrInUse is returned by a registry's ForgetAsset when nodes still use
// the asset.
var ErrInUse = errors.New("asset is in use")

// ErrNotUploaded is returned by a registry's EvictAsset when the sync
// server is not known to have the asset: its local copy is the only one.
var ErrNotUploaded = errors.New("asset is not on the sync server")

// Record is what the asset registry knows about one stored asset.
//
// With sync, a record also says whether the sync server has the bytes
// (Uploaded) and whether this device still does (Remote), and when the
// bytes were last read here (UsedAt), for least-recently-used eviction.
type Record struct {
	Hash      string // the content hash, "sha256-…"
	Ref       Ref    // where the bytes are (or were, or would be put, while Remote)
	Users     []User // the nodes whose result uses the asset
	CreatedAt int64  // ms since the Unix epoch

	// Uploaded is when the sync server was found to have the bytes (ms
	// since the Unix epoch); 0 while it is not known to.
	Uploaded int64
	// Remote reports that the bytes are not on this device: its copy was
	// evicted, or the asset arrived with a synced node and was never
	// fetched. Ref then names where they were or would be stored.
	Remote bool
	// UsedAt is when the bytes were last read on this device (ms since
	// the Unix epoch), to a granularity of about a minute; 0 if never.
	UsedAt int64
}

// LastUse is when the asset was last read, or else stored, here.
func (a *Record) LastUse() int64 { return max(a.UsedAt, a.CreatedAt) }

// User is a node whose result uses an asset.
type User struct {
	WorkflowID string
	NodeID     string
}

// String returns "workflow/node".
func (u User) String() string { return u.WorkflowID + "/" + u.NodeID }

// SameLocation reports whether two refs name the same stored bytes: the
// same kind and locator, whatever MIME, Bytes and Hash they carry.
func SameLocation(a, b Ref) bool {
	return a.Kind == b.Kind && a.URL == b.URL && a.Path == b.Path && a.HandleID == b.HandleID &&
		a.BlobKey == b.BlobKey && a.ID == b.ID
}
