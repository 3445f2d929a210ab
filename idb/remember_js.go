//go:build js && wasm

package idb

import "github.com/atelierstore/atelier/internal/idbx"

// Remembered revisions save the writer a round trip.
//
// A mutation reads the records it changes (a node's stored revision before
// moving it), and waiting for that read costs as much as the write itself:
// a drag that moves a node a hundred times reads it a hundred times. The
// writer therefore remembers the revisions its recent small transactions
// read and wrote. When a batch declares a read the writer remembers, the
// mutation runs on the remembered revision at once, and a guard checks it
// inside the same transaction: a get of the record, issued before the
// writes, whose success handler (plain JavaScript, so it runs before the
// transaction can commit) compares the stored record with the remembered
// one, property by property and byte by byte. If another tab (or anything
// else) changed the record meanwhile, the guard aborts the transaction, the
// writer forgets what it remembered, and the batch runs again on fresh
// reads. Nothing is reported to a caller before the guards have passed: a
// mutation that fails on a remembered revision also sends the batch back to
// run on fresh reads, so that no error is based on a stale revision.
//
// The transaction must not commit before the guards have run, so a guarded
// batch does not call commit() itself: the last guard does (or, if the
// guards are done first, the writer), through idbx.Guards.Commit.

// maxRemembered bounds the remembered revisions; maxRememberBatch is the
// largest transaction (in records read or written) whose revisions are
// remembered: bulk writes would only churn the memory.
const (
	maxRemembered    = 1024
	maxRememberBatch = 64
)

// guards are the checks of one transaction's remembered revisions.
type guards struct {
	*idbx.Guards
	keys []cacheKey
}

// useRemembered puts the remembered revisions of keys into the
// transaction's cache and guards each of them. It returns nil when it
// remembers none of them (or cannot guard them).
func (t *Tx) useRemembered(keys []cacheKey) *guards {
	d := t.db
	d.memMu.Lock()
	var hits []cacheKey
	var entries []cacheEntry
	for _, k := range keys {
		if _, dup := t.cache[k]; dup {
			continue
		}
		if e, ok := d.mem[k]; ok {
			hits = append(hits, k)
			entries = append(entries, e)
			t.cache[k] = e
		}
	}
	d.memMu.Unlock()
	if len(hits) == 0 {
		return nil
	}
	t.db.rememberedReads.Add(uint64(len(hits)))
	g := &guards{keys: hits}
	var err error
	if g.Guards, err = t.tx.Guards(); err == nil {
		for i, k := range hits {
			if err = g.Add(k.store, k.id, entries[i].found, &entries[i].rev); err != nil {
				break
			}
		}
	}
	if err != nil {
		// Unguarded revisions must not be used: read them for real.
		for _, k := range hits {
			delete(t.cache, k)
		}
		t.db.log.Warn("guarding remembered revisions failed", "err", err)
		return nil
	}
	return g
}

// remember keeps the revisions a committed transaction read and wrote, if
// it was small.
func (d *DB) remember(cache map[cacheKey]cacheEntry) {
	if len(cache) == 0 || len(cache) > maxRememberBatch {
		return
	}
	d.memMu.Lock()
	defer d.memMu.Unlock()
	if d.mem == nil || len(d.mem)+len(cache) > maxRemembered {
		d.mem = make(map[cacheKey]cacheEntry, len(cache))
	}
	for k, e := range cache {
		// The body may share memory with a larger buffer: keep a copy.
		e.rev.Body = append([]byte(nil), e.rev.Body...)
		d.mem[k] = e
	}
}

// forget drops remembered revisions.
func (d *DB) forget(keys []cacheKey) {
	d.memMu.Lock()
	defer d.memMu.Unlock()
	for _, k := range keys {
		delete(d.mem, k)
	}
}

// forgetChanges drops the remembered revisions of entities another tab
// changed, so the next write reads them instead of failing its guard.
func (d *DB) forgetChanges(changes []Change) {
	d.memMu.Lock()
	defer d.memMu.Unlock()
	if len(d.mem) == 0 {
		return
	}
	for _, c := range changes {
		for store, kind := range storeChange {
			if kind == c.Kind {
				delete(d.mem, cacheKey{store, c.ID})
			}
		}
	}
}
