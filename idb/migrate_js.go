//go:build js && wasm

package idb

import (
	"fmt"

	"github.com/atelierstore/atelier/internal/idbx"
)

// Tx implements RecordTx for data migrations.
var _ RecordTx = (*Tx)(nil)

// Records returns every record of store in key order. It is meant for data
// migrations; applications use the entity methods.
func (t *Tx) Records(store string) ([]Record, error) {
	r, err := t.tx.GetAll(store, "", nil)
	if err != nil {
		return nil, err
	}
	if err := r.Wait(t.ctx); err != nil {
		return nil, err
	}
	recs, err := r.Records()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", store, err)
	}
	out := make([]Record, len(recs))
	for i, rec := range recs {
		out[i] = Record(rec)
	}
	return out, nil
}

// PutRecord writes a raw record (see Records).
func (t *Tx) PutRecord(store string, r Record) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	t.cache = nil // raw writes bypass the read cache
	t.writes++
	return t.tx.PutRecord(store, idbx.Record(r))
}

// DeleteRecord deletes a raw record by key (see Records).
func (t *Tx) DeleteRecord(store, key string) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	t.cache = nil
	t.writes++
	return t.tx.Delete(store, key)
}
