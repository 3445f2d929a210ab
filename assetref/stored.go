package assetref

import (
	"fmt"
	"sort"
	"strings"
)

// The stored form of registry records, and the bookkeeping of who uses
// which asset, shared by the IndexedDB registry (package assets/registry)
// and the workflow store's schema migration that first built the records
// (package idb).

// Tracked reports whether ref points at bytes this library stores (kinds
// opfs, fs-handle and idb) and therefore has a registry record; it returns
// the hash that keys it.
func Tracked(ref *Ref) (string, bool) {
	if ref == nil || ref.Hash == "" {
		return "", false
	}
	switch ref.Kind {
	case KindOPFS, KindFSHandle, KindIDB:
		return ref.Hash, true
	}
	return "", false
}

// ParseUser reads a User written by User.String.
func ParseUser(s string) (User, bool) {
	wf, node, ok := strings.Cut(s, "/")
	if !ok || len(wf) != 36 || len(node) != 36 || strings.Contains(node, "/") {
		return User{}, false
	}
	return User{WorkflowID: wf, NodeID: node}, true
}

// StoredRecord lays a record out for storage: properties {id, kind, bytes,
// users, workflows, created} and, when set, {up, remote, used}, where
// workflows (derived from users) feeds a multi-entry index; the body is
// the location ref in msgpack. The sync state stays in properties outside
// the indexes: builds that do not know them ignore them, and one that
// rewrites a record drops them, which costs no more than asking the
// server again.
func StoredRecord(a *Record) (props map[string]any, body []byte, err error) {
	body, err = a.Ref.MarshalMsgpack()
	if err != nil {
		return nil, nil, fmt.Errorf("asset %s: %w", a.Hash, err)
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
	props = map[string]any{
		"id": a.Hash, "kind": string(a.Ref.Kind), "bytes": float64(a.Ref.Bytes),
		"users": users, "workflows": wfs, "created": float64(a.CreatedAt),
	}
	if a.Uploaded != 0 {
		props["up"] = float64(a.Uploaded)
	}
	if a.Remote {
		props["remote"] = true
	}
	if a.UsedAt != 0 {
		props["used"] = float64(a.UsedAt)
	}
	return props, body, nil
}

// RecordFromStored reads a record laid out by StoredRecord. Only a body
// that does not decode is an error.
func RecordFromStored(props map[string]any, body []byte) (Record, error) {
	var a Record
	a.Hash, _ = props["id"].(string)
	if err := a.Ref.UnmarshalMsgpack(body); err != nil {
		return a, err
	}
	if c, ok := props["created"].(float64); ok {
		a.CreatedAt = int64(c)
	}
	if u, ok := props["up"].(float64); ok && u > 0 {
		a.Uploaded = int64(u)
	}
	a.Remote, _ = props["remote"].(bool)
	if u, ok := props["used"].(float64); ok && u > 0 {
		a.UsedAt = int64(u)
	}
	users, _ := props["users"].([]any)
	for _, u := range users {
		s, _ := u.(string)
		if user, ok := ParseUser(s); ok {
			a.Users = append(a.Users, user)
		}
	}
	return a, nil
}

func sortedUsers(us []User) []User {
	out := append([]User(nil), us...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Usage accumulates changes to asset users, to apply them to the records
// at once.
type Usage struct {
	add    map[string][]User // by hash
	remove map[string][]User
	refs   map[string]Ref // a ref for each added hash, to create a missing record
}

// Change records that user moved from the asset oldHash to newHash (either
// may be ""); newRef is the ref of newHash.
func (u *Usage) Change(oldHash, newHash string, user User, newRef *Ref) {
	if oldHash == newHash {
		return
	}
	if u.add == nil {
		u.add, u.remove, u.refs = map[string][]User{}, map[string][]User{}, map[string]Ref{}
	}
	if oldHash != "" {
		u.remove[oldHash] = append(u.remove[oldHash], user)
	}
	if newHash != "" {
		u.add[newHash] = append(u.add[newHash], user)
		u.refs[newHash] = *newRef
	}
}

// Empty reports whether nothing changed.
func (u *Usage) Empty() bool { return len(u.add) == 0 && len(u.remove) == 0 }

// Hashes lists every hash the changes touch, sorted.
func (u *Usage) Hashes() []string {
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

// Apply changes the record of hash (nil when there is none yet) and
// returns the new record, or nil when there is nothing to store. A record
// it creates for a node from the sync server (remote) is Remote: the
// bytes are on the device that made the node, not here.
func (u *Usage) Apply(hash string, rec *Record, now int64, remote bool) *Record {
	if rec == nil {
		ref, ok := u.refs[hash]
		if !ok {
			return nil // only removals for an unknown asset: nothing to do
		}
		rec = &Record{Hash: hash, Ref: ref, CreatedAt: now, Remote: remote}
	}
	users := map[User]bool{}
	for _, x := range rec.Users {
		users[x] = true
	}
	for _, x := range u.remove[hash] {
		delete(users, x)
	}
	for _, x := range u.add[hash] {
		users[x] = true
	}
	rec.Users = rec.Users[:0]
	for x := range users {
		rec.Users = append(rec.Users, x)
	}
	rec.Users = sortedUsers(rec.Users)
	return rec
}
