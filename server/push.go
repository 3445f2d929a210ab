package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/atelierstore/atelier/syncproto"
)

// push answers syncproto.RoutePush.
func (s *Server) push(w http.ResponseWriter, r *http.Request, ws string) {
	body, ok := readBody(w, r, syncproto.MaxPushBytes)
	if !ok {
		return
	}
	req, err := decodePush(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", err.Error())
		return
	}
	acks, err := s.apply(r, ws, req.Ops)
	if err != nil {
		s.internal(w, r, fmt.Errorf("push to %s: %w", ws, err))
		return
	}
	var out bytes.Buffer
	out.WriteString(`{"acks":[`)
	for i, a := range acks {
		if i > 0 {
			out.WriteByte(',')
		}
		out.Write(a)
	}
	out.WriteString("]}")
	writeRaw(w, http.StatusOK, out.Bytes())
}

// decodePush reads and validates a push body; any error is the client's.
func decodePush(body []byte) (*syncproto.PushRequest, error) {
	var req syncproto.PushRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("malformed push request: %w", err)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

// apply runs a validated batch in one transaction and returns the acks
// as JSON, in the order of ops.
func (s *Server) apply(r *http.Request, ws string, ops []syncproto.Op) ([][]byte, error) {
	var acks [][]byte
	err := s.store.Update(r.Context(), ws, func(tx Tx) error {
		var err error
		acks, err = applyOps(tx, ops)
		return err
	})
	return acks, err
}

// applyOps is the server's whole write rule: an op seen before gets its
// stored ack; any other is Rejected when its id names another kind of
// entity or another workflow, else decided by syncproto.Decide against
// the entity's state, which includes the ops before it in the batch.
func applyOps(tx Tx, ops []syncproto.Op) ([][]byte, error) {
	ids := make([]string, len(ops))
	for i := range ops {
		ids[i] = ops[i].ID
	}
	seen, err := tx.Acks(ids)
	if err != nil {
		return nil, err
	}
	var entityIDs []string
	for i := range ops {
		if seen[ops[i].ID] == nil {
			entityIDs = append(entityIDs, ops[i].EntityID)
		}
	}
	state, err := tx.Entities(entityIDs)
	if err != nil {
		return nil, err
	}
	if state == nil {
		state = map[string]*syncproto.Change{}
	}

	acks := make([][]byte, len(ops))
	var stored []StoredAck
	var changes []*syncproto.Change // in seq order, one per op applied
	seq := tx.Seq()
	for i := range ops {
		op := &ops[i]
		if a := seen[op.ID]; a != nil {
			acks[i] = a
			continue
		}
		cur := state[op.EntityID]
		var ack syncproto.Ack
		switch {
		case cur != nil && cur.Entity != op.Entity:
			ack = syncproto.Ack{OpID: op.ID, Status: syncproto.Rejected,
				Error: fmt.Sprintf("%s is a %s, not a %s", op.EntityID, cur.Entity, op.Entity)}
		case cur != nil && cur.WorkflowID != op.WorkflowID:
			ack = syncproto.Ack{OpID: op.ID, Status: syncproto.Rejected,
				Error: fmt.Sprintf("%s %s belongs to workflow %s", op.Entity, op.EntityID, cur.WorkflowID)}
		default:
			apply, version := syncproto.Decide(cur, op)
			if !apply {
				ack = syncproto.Ack{OpID: op.ID, Status: syncproto.Superseded, Version: version, Current: cur}
				break
			}
			seq++
			c := &syncproto.Change{Seq: seq, Entity: op.Entity, EntityID: op.EntityID, WorkflowID: op.WorkflowID,
				Version: version, Proposed: op.Version, UpdatedAt: op.UpdatedAt, OpID: op.ID, Deleted: op.Kind == syncproto.OpDelete}
			if !c.Deleted {
				var buf bytes.Buffer
				if err := json.Compact(&buf, op.Data); err != nil {
					return nil, fmt.Errorf("op %s: data: %w", op.ID, err) // Validate decoded it: unreachable
				}
				c.Data = buf.Bytes()
			}
			state[op.EntityID] = c
			changes = append(changes, c)
			ack = syncproto.Ack{OpID: op.ID, Status: syncproto.Applied, Version: version}
		}
		b, err := json.Marshal(&ack)
		if err != nil {
			return nil, fmt.Errorf("op %s: encode ack: %w", op.ID, err)
		}
		acks[i] = b
		stored = append(stored, StoredAck{OpID: op.ID, JSON: b})
	}
	if len(stored) == 0 {
		return acks, nil
	}
	// Keep the last change of each entity: one row per entity is all the
	// store keeps, and the last change carries the batch's highest seq.
	var final []syncproto.Change
	for _, c := range changes {
		if state[c.EntityID] == c {
			final = append(final, *c)
		}
	}
	return acks, tx.Put(final, stored)
}

// readBody reads a request body of at most limit bytes, answering 413
// (and reporting false) when it is larger and 400 when it breaks off.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", "request body larger than "+strconv.FormatInt(limit, 10)+" bytes")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", "request body larger than "+strconv.FormatInt(limit, 10)+" bytes")
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "Invalid", "reading the request body: "+err.Error())
		return nil, false
	}
	return b, true
}

// pull answers syncproto.RoutePull.
func (s *Server) pull(w http.ResponseWriter, r *http.Request, ws string) {
	q := r.URL.Query()
	cursor, limit := int64(0), syncproto.DefaultPullMax
	if v := q.Get("cursor"); v != "" || q.Has("cursor") {
		c, err := strconv.ParseInt(v, 10, 64)
		if err != nil || c < 0 {
			writeError(w, http.StatusBadRequest, "Invalid", "cursor must be a non-negative integer")
			return
		}
		cursor = c
	}
	if v := q.Get("limit"); v != "" || q.Has("limit") {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || l > syncproto.MaxPullLimit {
			writeError(w, http.StatusBadRequest, "Invalid", "limit must be an integer from 1 to "+strconv.Itoa(syncproto.MaxPullLimit))
			return
		}
		limit = l
	}
	changes, more, err := s.store.Changes(r.Context(), ws, ChangesQuery{After: cursor, Limit: limit, MaxBytes: s.maxPull})
	if err != nil {
		s.internal(w, r, fmt.Errorf("pull from %s: %w", ws, err))
		return
	}
	resp := syncproto.PullResponse{Changes: changes, Cursor: cursor, More: more}
	if resp.Changes == nil {
		resp.Changes = []syncproto.Change{}
	}
	if n := len(changes); n > 0 {
		resp.Cursor = changes[n-1].Seq
	}
	writeJSON(w, http.StatusOK, &resp)
}
