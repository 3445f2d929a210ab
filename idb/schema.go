package idb

import (
	"errors"
	"fmt"
)

// Object stores of schema v1. Records in the entity stores are
// {id, workflowId?, v, b}: the fields used by indexes and version checks as
// plain properties, the entity itself as a msgpack body in b.
const (
	storeWorkflows = "workflows"
	storeNodes     = "nodes"
	storeEdges     = "edges"
	storeAssets    = "assets"
	storeKV        = "kv"

	indexWorkflowID = "workflowId"

	// Schema v2: the IndexedDB fallback for asset bytes (chunks in blobs,
	// one committed record per asset in blobmeta, unique by hash), folder
	// handles the user picked, and which workflows use each asset.
	storeBlobs     = "blobs"
	storeBlobMeta  = "blobmeta"
	storeHandles   = "handles"
	indexHash      = "hash"
	indexWorkflows = "workflows"

	// Schema v3: the outbox of operations for a sync engine, keyed by op
	// id (UUIDv7: key order is the order they were made), indexed by
	// entity. Entity records gain the property sv, the version the server
	// last confirmed (absent: never synced).
	storeOplog  = "oplog"
	indexEntity = "entity"

	// kvSyncCursor holds the sequence number of the last server change
	// applied.
	kvSyncCursor = "syncCursor"

	// kvSchemaVersion holds the last schema version whose data steps have
	// completed.
	kvSchemaVersion = "schemaVersion"
)

// Schema is what a migration's structural step may change. Structural
// steps run inside the browser's upgrade (versionchange) transaction, which
// offers no data access through this API: data changes belong in
// Migration.Data.
type Schema interface {
	// Stores lists the object stores as they are at this point.
	Stores() []string
	// CreateStore creates an object store whose records are keyed by the
	// property keyPath, or by explicit keys when keyPath is empty.
	CreateStore(name, keyPath string) error
	DeleteStore(name string) error
	CreateIndex(store, name, keyPath string, opts IndexOptions) error
	DeleteIndex(store, name string) error
}

// IndexOptions qualify an index.
type IndexOptions struct {
	Unique bool
	// MultiEntry indexes each element of an array-valued key path.
	MultiEntry bool
}

// Record is a stored record as data migrations see it: the plain
// properties (including the key, "id") and the msgpack body.
type Record struct {
	Props map[string]any
	Body  []byte
}

// RecordTx is the record-level access a data step gets. It works on stores
// whose records are keyed by a property (all but kv).
type RecordTx interface {
	// Records returns every record of the store, in key order.
	Records(store string) ([]Record, error)
	// PutRecord writes r, replacing the record with the same key.
	PutRecord(store string, r Record) error
	// DeleteRecord deletes the record with the given key.
	DeleteRecord(store, key string) error
}

// Migration is one schema version: structural changes that run in the
// browser's upgrade transaction, then data changes that run right after the
// database opens, in one readwrite transaction together with recording the
// new schemaVersion in kv. A crash between the two phases leaves the data
// step pending; the next Open (in any tab) runs it. Data steps must only
// touch IndexedDB through the RecordTx (awaiting anything else commits the
// transaction early).
type Migration struct {
	Version   int
	Name      string
	Structure func(s Schema) error
	Data      func(tx RecordTx) error
}

// migrations is the schema history of the library. Entries are only ever
// appended: a released version's steps never change.
var migrations = []Migration{
	{
		Version: 1,
		Name:    "workflows, nodes, edges, assets, kv",
		Structure: func(s Schema) error {
			for _, st := range []struct{ name, keyPath string }{
				{storeWorkflows, "id"},
				{storeNodes, "id"},
				{storeEdges, "id"},
				{storeAssets, "id"},
				{storeKV, ""},
			} {
				if err := s.CreateStore(st.name, st.keyPath); err != nil {
					return err
				}
			}
			if err := s.CreateIndex(storeNodes, indexWorkflowID, "workflowId", IndexOptions{}); err != nil {
				return err
			}
			return s.CreateIndex(storeEdges, indexWorkflowID, "workflowId", IndexOptions{})
		},
	},
	{
		Version: 2,
		Name:    "asset bytes in IndexedDB, folder handles, asset usage",
		Structure: func(s Schema) error {
			for _, st := range []struct{ name, keyPath string }{
				{storeBlobs, ""}, // keys are [blobKey, chunk index]
				{storeBlobMeta, "key"},
				{storeHandles, "id"},
			} {
				if err := s.CreateStore(st.name, st.keyPath); err != nil {
					return err
				}
			}
			if err := s.CreateIndex(storeBlobMeta, indexHash, "hash", IndexOptions{Unique: true}); err != nil {
				return err
			}
			return s.CreateIndex(storeAssets, indexWorkflows, "workflows", IndexOptions{MultiEntry: true})
		},
		Data: backfillAssetUsage,
	},
	{
		Version: 3,
		Name:    "operation outbox for sync",
		Structure: func(s Schema) error {
			if err := s.CreateStore(storeOplog, "id"); err != nil {
				return err
			}
			return s.CreateIndex(storeOplog, indexEntity, "e", IndexOptions{})
		},
	},
}

// bulkStores hold asset bytes. They are written in transactions of their
// own, chunk by chunk, so the writer's transactions leave them out of
// their scope and metadata writes never queue behind a large upload.
var bulkStores = map[string]bool{storeBlobs: true, storeBlobMeta: true}

// checkMigrations verifies that ms is a usable history: versions 1, 2, ...
// without gaps, each with at least one step.
func checkMigrations(ms []Migration) error {
	if len(ms) == 0 {
		return errors.New("no migrations")
	}
	for i, m := range ms {
		if m.Version != i+1 {
			return fmt.Errorf("migration %d has version %d, want %d", i, m.Version, i+1)
		}
		if m.Structure == nil && m.Data == nil {
			return fmt.Errorf("migration %d has no steps", m.Version)
		}
	}
	return nil
}

// structural returns the migrations whose structural steps take a
// database from version from to version to.
func structural(ms []Migration, from, to int) []Migration {
	var out []Migration
	for _, m := range ms {
		if m.Version > from && m.Version <= to && m.Structure != nil {
			out = append(out, m)
		}
	}
	return out
}

// pendingData returns the migrations whose data steps have not run on a
// database whose recorded schemaVersion is done, up to version to.
func pendingData(ms []Migration, done, to int) []Migration {
	var out []Migration
	for _, m := range ms {
		if m.Version > done && m.Version <= to && m.Data != nil {
			out = append(out, m)
		}
	}
	return out
}

// allStores lists every store present after applying ms, in a stable
// order: writer transactions span all of them.
func allStores(ms []Migration) ([]string, error) {
	rec := &schemaRecorder{}
	for _, m := range ms {
		if m.Structure == nil {
			continue
		}
		if err := m.Structure(rec); err != nil {
			return nil, fmt.Errorf("migration %d: %w", m.Version, err)
		}
	}
	return rec.Stores(), nil
}

// schemaRecorder is a Schema that only tracks names: it lets the host plan
// and check a history without a browser.
type schemaRecorder struct {
	stores  []string
	indexes map[string][]string
}

func (r *schemaRecorder) Stores() []string { return append([]string(nil), r.stores...) }

func (r *schemaRecorder) has(name string) int {
	for i, s := range r.stores {
		if s == name {
			return i
		}
	}
	return -1
}

func (r *schemaRecorder) CreateStore(name, _ string) error {
	if r.has(name) >= 0 {
		return fmt.Errorf("store %q already exists", name)
	}
	r.stores = append(r.stores, name)
	return nil
}

func (r *schemaRecorder) DeleteStore(name string) error {
	i := r.has(name)
	if i < 0 {
		return fmt.Errorf("no store %q", name)
	}
	r.stores = append(r.stores[:i], r.stores[i+1:]...)
	delete(r.indexes, name)
	return nil
}

func (r *schemaRecorder) CreateIndex(store, name, _ string, _ IndexOptions) error {
	if r.has(store) < 0 {
		return fmt.Errorf("no store %q", store)
	}
	if r.indexes == nil {
		r.indexes = map[string][]string{}
	}
	for _, ix := range r.indexes[store] {
		if ix == name {
			return fmt.Errorf("index %q on %q already exists", name, store)
		}
	}
	r.indexes[store] = append(r.indexes[store], name)
	return nil
}

func (r *schemaRecorder) DeleteIndex(store, name string) error {
	ixs := r.indexes[store]
	for i, ix := range ixs {
		if ix == name {
			r.indexes[store] = append(ixs[:i], ixs[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("no index %q on %q", name, store)
}
