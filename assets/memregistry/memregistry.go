// Package memregistry is an in-memory asset registry (assets.Registry),
// for tests and host programs: it keeps the records the way the IndexedDB
// registry of package idb does, with the same errors, and lets a test
// stand in for node writes (Use, Release) and move the clock (Now).
package memregistry

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

// Registry is an in-memory asset registry. It is safe for concurrent use.
// The zero value is not usable: call New.
type Registry struct {
	// Now is the clock, in ms since the Unix epoch; New sets the wall
	// clock. Set it before use to control CreatedAt, Uploaded and UsedAt.
	Now func() int64

	mu   sync.Mutex
	recs map[string]*assetref.Record
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{Now: func() int64 { return time.Now().UnixMilli() }, recs: map[string]*assetref.Record{}}
}

// tracked checks that ref is valid and of a kind with a record, and
// returns its hash.
func tracked(ref assetref.Ref) (string, error) {
	if err := ref.Validate(); err != nil {
		return "", err
	}
	switch ref.Kind {
	case assetref.KindOPFS, assetref.KindFSHandle, assetref.KindIDB:
		if ref.Hash != "" {
			return ref.Hash, nil
		}
	}
	return "", fmt.Errorf("%w: a stored asset needs kind opfs, fs-handle or idb and a hash", errs.ErrInvalidRef)
}

func clone(r *assetref.Record) assetref.Record {
	c := *r
	c.Users = slices.Clone(r.Users)
	return c
}

func (g *Registry) lookup(ctx context.Context, hash string) (*assetref.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := g.recs[hash]
	if r == nil {
		return nil, fmt.Errorf("asset %s: %w", hash, errs.ErrNotFound)
	}
	return r, nil
}

// Asset returns the record of hash; errs.ErrNotFound when there is none.
func (g *Registry) Asset(ctx context.Context, hash string) (assetref.Record, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, err := g.lookup(ctx, hash)
	if err != nil {
		return assetref.Record{}, err
	}
	return clone(r), nil
}

// Assets returns every record, by hash.
func (g *Registry) Assets(ctx context.Context) ([]assetref.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]assetref.Record, 0, len(g.recs))
	for _, r := range g.recs {
		out = append(out, clone(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hash < out[j].Hash })
	return out, nil
}

// RegisterAsset records stored bytes, as idb.DB.RegisterAsset does.
func (g *Registry) RegisterAsset(ctx context.Context, ref assetref.Ref) (assetref.Record, bool, error) {
	hash, err := tracked(ref)
	if err != nil {
		return assetref.Record{}, false, fmt.Errorf("register asset: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return assetref.Record{}, false, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.recs[hash]; r != nil {
		if r.Remote {
			r.Ref, r.Remote = ref, false
		}
		return clone(r), true, nil
	}
	r := &assetref.Record{Hash: hash, Ref: ref, CreatedAt: g.Now()}
	g.recs[hash] = r
	return clone(r), false, nil
}

// ForgetAsset deletes the record of an asset no node uses, as
// idb.DB.ForgetAsset does.
func (g *Registry) ForgetAsset(ctx context.Context, hash string) (assetref.Record, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, err := g.lookup(ctx, hash)
	if err != nil {
		return assetref.Record{}, err
	}
	if len(r.Users) > 0 {
		return assetref.Record{}, fmt.Errorf("asset %s: %w by %d nodes", hash, assetref.ErrInUse, len(r.Users))
	}
	delete(g.recs, hash)
	return clone(r), nil
}

// TouchAsset records a read now, as idb.DB.TouchAsset does.
func (g *Registry) TouchAsset(ctx context.Context, hash string, granularity time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, err := g.lookup(ctx, hash)
	if err != nil {
		return err
	}
	if now := g.Now(); now-r.UsedAt >= granularity.Milliseconds() {
		r.UsedAt = now
	}
	return nil
}

// MarkAssetsUploaded records that the sync server has the assets.
func (g *Registry) MarkAssetsUploaded(ctx context.Context, hashes []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, h := range hashes {
		if r := g.recs[h]; r != nil && r.Uploaded == 0 {
			r.Uploaded = g.Now()
		}
	}
	return nil
}

// AssetFetched records fetched bytes, as idb.DB.AssetFetched does.
func (g *Registry) AssetFetched(ctx context.Context, ref, expect assetref.Ref) (assetref.Record, bool, error) {
	hash, err := tracked(ref)
	if err != nil {
		return assetref.Record{}, false, fmt.Errorf("asset fetched: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return assetref.Record{}, false, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.Now()
	r := g.recs[hash]
	switch {
	case r == nil:
		r = &assetref.Record{Hash: hash, Ref: ref, CreatedAt: now}
		g.recs[hash] = r
	case r.Remote || assetref.SameLocation(r.Ref, expect):
		r.Ref, r.Remote = ref, false
	default:
		return clone(r), false, nil
	}
	r.Uploaded = max(r.Uploaded, now)
	r.UsedAt = now
	return clone(r), true, nil
}

// EvictAsset marks the local copy as gone, as idb.DB.EvictAsset does.
func (g *Registry) EvictAsset(ctx context.Context, hash string, at assetref.Ref) (assetref.Record, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, err := g.lookup(ctx, hash)
	if err != nil {
		return assetref.Record{}, err
	}
	switch {
	case r.Uploaded == 0:
		return assetref.Record{}, fmt.Errorf("evict asset %s: %w", hash, assetref.ErrNotUploaded)
	case r.Remote || !assetref.SameLocation(r.Ref, at):
		return assetref.Record{}, fmt.Errorf("evict asset %s: %w: it moved or was evicted meanwhile", hash, errs.ErrVersionConflict)
	}
	r.Remote = true
	return clone(r), nil
}

// Use adds u to the users of the asset ref points at, as a node write
// does: a missing record is made, Remote when remote (the node came from
// the sync server, the bytes are on another device).
func (g *Registry) Use(ref assetref.Ref, u assetref.User, remote bool) error {
	hash, err := tracked(ref)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.recs[hash]
	if r == nil {
		r = &assetref.Record{Hash: hash, Ref: ref, CreatedAt: g.Now(), Remote: remote}
		g.recs[hash] = r
	}
	if !slices.Contains(r.Users, u) {
		r.Users = append(r.Users, u)
	}
	return nil
}

// Release removes u from the users of the asset with the given hash, as
// deleting a node does; an unknown hash or user changes nothing.
func (g *Registry) Release(hash string, u assetref.User) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.recs[hash]; r != nil {
		r.Users = slices.DeleteFunc(r.Users, func(x assetref.User) bool { return x == u })
	}
}
