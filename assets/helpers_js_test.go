//go:build js && wasm

package assets

import (
	"context"
	"sync"
	"testing"

	"github.com/atelierstore/atelier/assets/registry"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/tabs"
	"github.com/atelierstore/atelier/outbox"
)

// What a workspace installs on its store once (atelier.Open does it in
// the library's use): the registry, the leadership and, for the sync
// tests, the outbox. A test that opens several libraries on one store
// shares them, as a workspace would.
var (
	partsMu sync.Mutex
	parts   = map[*idb.DB]*storeParts{}
)

type storeParts struct {
	reg  *registry.Registry
	lead *tabs.Leadership
	ob   *outbox.Outbox
}

func partsOf(t testing.TB, db *idb.DB) *storeParts {
	partsMu.Lock()
	defer partsMu.Unlock()
	p := parts[db]
	if p == nil {
		lead, _ := tabs.Lead("atelier:"+db.Name()+":leader", nil)
		p = &storeParts{reg: registry.Open(db), lead: lead, ob: outbox.Open(db)}
		parts[db] = p
		t.Cleanup(func() {
			lead.Close()
			partsMu.Lock()
			delete(parts, db)
			partsMu.Unlock()
		})
	}
	return p
}

// open opens the asset library of db as a workspace would.
func open(t testing.TB, ctx context.Context, db *idb.DB, o *Options) (*Library, error) {
	t.Helper()
	p := partsOf(t, db)
	return Open(ctx, db, p.reg, p.lead, o)
}
