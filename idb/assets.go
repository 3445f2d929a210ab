package idb

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
)

// Asset usage. Every asset whose bytes this library stores (OPFS, a user
// folder, the IndexedDB fallback) has a record in the assets store, keyed by
// its content hash, that says where the bytes are and which nodes use them.
// Node writes and deletions keep the users up to date in the same
// transaction, so deleting a workflow releases its assets atomically, and a
// collector can remove the bytes of assets nobody uses.

// ErrInUse is returned by ForgetAsset when nodes still use the asset.
var ErrInUse = assetref.ErrInUse

// ErrNotUploaded is returned by EvictAsset when the sync server is not
// known to have the asset: its local copy is the only one.
var ErrNotUploaded = assetref.ErrNotUploaded

// AssetRecord is what the store knows about one stored asset. The type is
// assetref.Record, which package assets reads through its Registry
// interface without importing idb.
//
// Its sync state (Uploaded, Remote, UsedAt) is kept in plain properties of
// the stored record ("up", "remote", "used"), outside its indexes: builds
// that do not know them ignore them, and one that rewrites a record drops
// them, which costs no more than asking the server again.
type AssetRecord = assetref.Record

// AssetUser is a node whose result uses an asset, as node writes
// collect them; records list them as assetref.User.
type AssetUser assetref.User

func (u AssetUser) String() string { return assetref.User(u).String() }

func parseUser(s string) (assetref.User, bool) {
	wf, node, ok := strings.Cut(s, "/")
	if !ok || !graph.ValidID(wf) || !graph.ValidID(node) {
		return assetref.User{}, false
	}
	return assetref.User{WorkflowID: wf, NodeID: node}, true
}

// tracked reports whether ref points at bytes this library stores and
// therefore keeps a usage record for; it returns the hash that keys it.
func tracked(ref *assetref.Ref) (string, bool) {
	if ref == nil || ref.Hash == "" {
		return "", false
	}
	switch ref.Kind {
	case assetref.KindOPFS, assetref.KindFSHandle, assetref.KindIDB:
		return ref.Hash, true
	}
	return "", false
}

// nodeAsset is the hash of the tracked asset a node's result uses, or "".
func nodeAsset(n *graph.Node) string {
	if n.Result == nil {
		return ""
	}
	h, _ := tracked(n.Result.Asset)
	return h
}

// assetRecordToRecord lays an asset record out for the assets store:
// {id, kind, bytes, users, workflows, created, b}, where workflows (derived
// from users) feeds a multi-entry index and b is the location ref in
// msgpack.
func assetRecordToRecord(a *AssetRecord) (Record, error) {
	body, err := msgpack.Marshal(&a.Ref)
	if err != nil {
		return Record{}, fmt.Errorf("asset %s: %w", a.Hash, err)
	}
	users := make([]any, 0, len(a.Users))
	wfs := make([]any, 0, len(a.Users))
	seen := map[string]bool{}
	for _, u := range sortedUsers(a.Users) {
		users = append(users, u.String())
		if !seen[u.WorkflowID] {
			seen[u.WorkflowID] = true
			wfs = append(wfs, u.WorkflowID)
		}
	}
	props := map[string]any{
		"id": a.Hash, "kind": string(a.Ref.Kind), "bytes": float64(a.Ref.Bytes),
		"users": users, "workflows": wfs, "created": float64(a.CreatedAt),
	}
	// Sync state only when set: records of stores without sync keep
	// their old shape.
	if a.Uploaded != 0 {
		props["up"] = float64(a.Uploaded)
	}
	if a.Remote {
		props["remote"] = true
	}
	if a.UsedAt != 0 {
		props["used"] = float64(a.UsedAt)
	}
	return Record{Props: props, Body: body}, nil
}

func sortedUsers(us []assetref.User) []assetref.User {
	out := append([]assetref.User(nil), us...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// assetRecordFromRecord reads an asset record back.
func assetRecordFromRecord(r Record) (AssetRecord, error) {
	var a AssetRecord
	a.Hash, _ = r.Props["id"].(string)
	if err := msgpack.Unmarshal(r.Body, &a.Ref); err != nil {
		return a, &CorruptError{Store: storeAssets, Key: a.Hash, Err: err}
	}
	if c, ok := r.Props["created"].(float64); ok {
		a.CreatedAt = int64(c)
	}
	if u, ok := r.Props["up"].(float64); ok && u > 0 {
		a.Uploaded = int64(u)
	}
	a.Remote, _ = r.Props["remote"].(bool)
	if u, ok := r.Props["used"].(float64); ok && u > 0 {
		a.UsedAt = int64(u)
	}
	users, _ := r.Props["users"].([]any)
	for _, u := range users {
		s, _ := u.(string)
		if user, ok := parseUser(s); ok {
			a.Users = append(a.Users, user)
		}
	}
	return a, nil
}

// usage accumulates changes to asset users within one mutation.
type usage struct {
	add    map[string][]AssetUser // by hash
	remove map[string][]AssetUser
	refs   map[string]assetref.Ref // a ref for each added hash, to create a missing record
}

func (u *usage) change(oldHash, newHash string, user AssetUser, newRef *assetref.Ref) {
	if oldHash == newHash {
		return
	}
	if u.add == nil {
		u.add, u.remove, u.refs = map[string][]AssetUser{}, map[string][]AssetUser{}, map[string]assetref.Ref{}
	}
	if oldHash != "" {
		u.remove[oldHash] = append(u.remove[oldHash], user)
	}
	if newHash != "" {
		u.add[newHash] = append(u.add[newHash], user)
		u.refs[newHash] = *newRef
	}
}

func (u *usage) empty() bool { return len(u.add) == 0 && len(u.remove) == 0 }

// hashes lists every hash the changes touch, sorted.
func (u *usage) hashes() []string {
	var out []string
	for h := range u.add {
		out = append(out, h)
	}
	for h := range u.remove {
		if _, dup := u.add[h]; !dup {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// apply changes the record of hash (nil when there is none yet) and
// returns the new record, or nil when there is nothing to store. A record
// it creates for a node from the sync server (remote) is Remote: the
// bytes are on the device that made the node, not here.
func (u *usage) apply(hash string, rec *AssetRecord, now int64, remote bool) *AssetRecord {
	if rec == nil {
		ref, ok := u.refs[hash]
		if !ok {
			return nil // only removals for an unknown asset: nothing to do
		}
		rec = &AssetRecord{Hash: hash, Ref: ref, CreatedAt: now, Remote: remote}
	}
	users := map[AssetUser]bool{}
	for _, x := range rec.Users {
		users[AssetUser(x)] = true
	}
	for _, x := range u.remove[hash] {
		delete(users, x)
	}
	for _, x := range u.add[hash] {
		users[x] = true
	}
	rec.Users = rec.Users[:0]
	for x := range users {
		rec.Users = append(rec.Users, assetref.User(x))
	}
	rec.Users = sortedUsers(rec.Users)
	return rec
}

// backfillAssetUsage is the data step of schema v2: it marks every node
// record with the hash of the asset its result uses (the plain property a,
// which later writes compare without decoding the body) and builds the
// asset records from the nodes that exist.
func backfillAssetUsage(tx RecordTx) error {
	c := newCodec()
	nodes, err := tx.Records(storeNodes)
	if err != nil {
		return err
	}
	recs, err := tx.Records(storeAssets)
	if err != nil {
		return err
	}
	existing := map[string]*AssetRecord{}
	for _, r := range recs {
		a, err := assetRecordFromRecord(r)
		if err != nil {
			return err
		}
		existing[a.Hash] = &a
	}
	var u usage
	for _, r := range nodes {
		var n graph.Node
		if err := c.decodeNode(r.Body, &n); err != nil {
			return &CorruptError{Store: storeNodes, Key: fmt.Sprint(r.Props["id"]), Err: err}
		}
		h := nodeAsset(&n)
		if h == "" || r.Props["a"] == h {
			continue
		}
		r.Props["a"] = h
		if err := tx.PutRecord(storeNodes, r); err != nil {
			return err
		}
		u.change("", h, AssetUser{n.WorkflowID, n.ID}, n.Result.Asset)
	}
	for _, h := range u.hashes() {
		// A record made here gets CreatedAt 0: it is in use, and once it is
		// not, nothing argues for keeping it.
		a := u.apply(h, existing[h], 0, false)
		if a == nil {
			continue
		}
		r, err := assetRecordToRecord(a)
		if err != nil {
			return err
		}
		if err := tx.PutRecord(storeAssets, r); err != nil {
			return err
		}
	}
	return nil
}
