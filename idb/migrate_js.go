//go:build js && wasm

package idb

import "fmt"

// Tx implements RecordTx for data migrations.
var _ RecordTx = (*Tx)(nil)

// Records returns every record of store in key order. It is meant for data
// migrations; applications use the entity methods.
func (t *Tx) Records(store string) ([]Record, error) {
	r, err := t.tx.GetAll(store, "", nil)
	if err != nil {
		return nil, err
	}
	arr, err := r.Await(t.ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Record, arr.Length())
	for i := range out {
		if out[i], err = recordFromJS(arr.Index(i)); err != nil {
			return nil, fmt.Errorf("%s record %d: %w", store, i, err)
		}
	}
	return out, nil
}

// PutRecord writes a raw record (see Records).
func (t *Tx) PutRecord(store string, r Record) error {
	if err := t.checkWritable(); err != nil {
		return err
	}
	v, err := recordToJS(r)
	if err != nil {
		return err
	}
	t.cache = nil // raw writes bypass the read cache
	t.writes++
	return t.tx.Put(store, v)
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
