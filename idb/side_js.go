//go:build js && wasm

package idb

import (
	"fmt"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbx"
)

// Side is one of the database's other object stores inside a transaction:
// what hooks and the library's other packages keep beside the entities
// (the outbox in oplog, asset records in assets, settings in kv). The
// entity stores are not reachable this way: entities are written only
// through the methods that validate them, record their operations and
// announce them.
type Side struct {
	t     *Tx
	store string
}

// SideStores are the object stores Tx.Side opens in the writer's
// transactions (and View's).
const (
	StoreKV     = storeKV     // settings and cursors, keyed out of line
	StoreOplog  = storeOplog  // the sync outbox, keyed by "id", index "entity" on "e"
	StoreAssets = storeAssets // asset records, keyed by "id", index "workflows"
)

// Side returns the store named store. It fails with an error matching
// errs.ErrInvalid for an entity store.
func (t *Tx) Side(store string) (*Side, error) {
	if _, entity := storeChange[store]; entity {
		return nil, &errs.ValidationError{Entity: "store", ID: store, Reason: "is an entity store: use the entity methods"}
	}
	return &Side{t: t, store: store}, nil
}

// Query selects records of a Side store: all of them (the zero Query),
// those whose index Index has the key Key, or those whose key sorts before
// Below.
type Query struct {
	Index, Key string
	Below      string
}

func (s *Side) request(method string, q Query) (idbx.Request, error) {
	var query any
	switch {
	case q.Below != "":
		query = idbx.Below(q.Below)
	case q.Index != "" || q.Key != "":
		query = q.Key
	}
	switch method {
	case "count":
		return s.t.tx.Count(s.store, q.Index, query)
	default:
		return s.t.tx.GetAll(s.store, q.Index, query)
	}
}

// JSON returns the records q selects as a JSON array.
func (s *Side) JSON(q Query) ([]byte, error) {
	r, err := s.request("getAll", q)
	if err != nil {
		return nil, err
	}
	if err := r.Wait(s.t.ctx); err != nil {
		return nil, err
	}
	b, _, err := r.JSON()
	return b, err
}

// GetJSON returns the records with the given keys as JSON (nil for a
// missing one), with one wait for all.
func (s *Side) GetJSON(keys []string) ([][]byte, error) {
	reqs, err := s.gets(keys)
	if err != nil || len(reqs) == 0 {
		return nil, err
	}
	out := make([][]byte, len(keys))
	for i, r := range reqs {
		if out[i], _, err = r.JSON(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Side) gets(keys []string) ([]idbx.Request, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	reqs := make([]idbx.Request, len(keys))
	for i, k := range keys {
		r, err := s.t.tx.Get(s.store, k)
		if err != nil {
			return nil, err
		}
		reqs[i] = r
	}
	if err := reqs[len(reqs)-1].Wait(s.t.ctx); err != nil {
		return nil, err
	}
	return reqs, nil
}

// Count counts the records q selects.
func (s *Side) Count(q Query) (int, error) {
	r, err := s.request("count", q)
	if err != nil {
		return 0, err
	}
	if err := r.Wait(s.t.ctx); err != nil {
		return 0, err
	}
	n, _, err := r.Number()
	return int(n), err
}

// PutJSON stores the record the JSON object b describes; its key is its
// key-path property.
func (s *Side) PutJSON(b []byte) error {
	if err := s.t.checkWritable(); err != nil {
		return err
	}
	s.t.writes++
	return s.t.tx.PutJSON(s.store, b)
}

// PutJSONs stores every record of the JSON array b.
func (s *Side) PutJSONs(b []byte, n int) error {
	if err := s.t.checkWritable(); err != nil {
		return err
	}
	s.t.writes += n
	return s.t.tx.PutJSONs(s.store, b)
}

// Records returns the records q selects, as plain properties and body.
func (s *Side) Records(q Query) ([]Record, error) {
	r, err := s.request("getAll", q)
	if err != nil {
		return nil, err
	}
	if err := r.Wait(s.t.ctx); err != nil {
		return nil, err
	}
	recs, err := r.Records()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.store, err)
	}
	out := make([]Record, len(recs))
	for i, rec := range recs {
		out[i] = Record(rec)
	}
	return out, nil
}

// GetRecords returns the records with the given keys (nil for a missing
// one), with one wait for all.
func (s *Side) GetRecords(keys []string) ([]*Record, error) {
	reqs, err := s.gets(keys)
	if err != nil || len(reqs) == 0 {
		return nil, err
	}
	out := make([]*Record, len(keys))
	for i, r := range reqs {
		rec, ok, err := r.Record()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", s.store, keys[i], err)
		}
		if ok {
			r := Record(rec)
			out[i] = &r
		}
	}
	return out, nil
}

// PutRecord stores r; its key is its key-path property.
func (s *Side) PutRecord(r Record) error {
	if err := s.t.checkWritable(); err != nil {
		return err
	}
	s.t.writes++
	return s.t.tx.PutRecord(s.store, idbx.Record(r))
}

// Value returns what the store keeps under key when it is a string or a
// number (a float64); ok is false when there is nothing, or something else.
func (s *Side) Value(key string) (v any, ok bool, err error) {
	r, err := s.t.tx.Get(s.store, key)
	if err != nil {
		return nil, false, err
	}
	if err := r.Wait(s.t.ctx); err != nil {
		return nil, false, err
	}
	if n, ok, err := r.Number(); err != nil || ok {
		return n, ok, err
	}
	str, ok, err := r.String()
	return str, ok, err
}

// PutValue stores a string or a number under key, for a store keyed out
// of line (kv).
func (s *Side) PutValue(key string, v any) error {
	if err := s.t.checkWritable(); err != nil {
		return err
	}
	switch v.(type) {
	case string, float64, int, int64:
	default:
		return fmt.Errorf("%s %s: %w: a value must be a string or a number, not %T", s.store, key, errs.ErrInvalid, v)
	}
	s.t.writes++
	return s.t.tx.PutKeyValue(s.store, key, v)
}

// Delete deletes the record with the given key.
func (s *Side) Delete(key string) error {
	if err := s.t.checkWritable(); err != nil {
		return err
	}
	s.t.writes++
	return s.t.tx.Delete(s.store, key)
}
