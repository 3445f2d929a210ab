package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/atelierstore/atelier/internal/errs"
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
	acks, err := s.apply(r.Context(), ws, req.Ops)
	var invalid *errs.ValidationError
	var resync *ResyncError
	switch {
	case errors.As(err, &resync) && r.Context().Err() == nil:
		writeError(w, http.StatusConflict, syncproto.CodeResync, err.Error())
		return
	case errors.As(err, &invalid) && r.Context().Err() == nil:
		// An op that passed Validate but cannot apply: a version or
		// sequence number would pass syncproto.MaxSafeInt.
		writeError(w, http.StatusBadRequest, "Invalid", err.Error())
		return
	case err != nil:
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
// The body must be valid UTF-8 and its ops' Data free of escaped lone
// surrogates (syncproto.CheckText): Data is stored as sent, and the
// decoder would check a copy with such bytes replaced.
func decodePush(body []byte) (*syncproto.PushRequest, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("malformed push request: not valid UTF-8")
	}
	var req syncproto.PushRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("malformed push request: %w", err)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &req, nil
}

// applyOps is the server's whole write rule: an op seen before gets its
// stored ack; any other is Rejected when its id names another kind of
// entity or another workflow, else merged by syncproto.Merge into the
// entity's state, which includes the ops before it in the batch.
//
// The graph stays whole (see keepWhole): deleting a workflow deletes its
// nodes and edges, deleting a node deletes its edges, and a write of a
// node or edge whose workflow, or an edge whose end node, is deleted
// loses to that deletion.
//
// An op the workspace has no ack for, but which may be older than its
// ack horizon (see ClockSkew), fails the batch with a *ResyncError. The
// acks are stored with the time now (ms since the Unix epoch), and the
// workspace's records of the blobs the written entities refer to lose
// their GC mark.
func applyOps(tx Tx, ops []syncproto.Op, now int64) ([][]byte, error) {
	ids := make([]string, len(ops))
	for i := range ops {
		ids[i] = ops[i].ID
	}
	seen, err := tx.Acks(ids)
	if err != nil {
		return nil, err
	}
	if seen == nil {
		seen = map[string][]byte{}
	}
	for i := range ops {
		if seen[ops[i].ID] == nil && mayBeCompacted(ops[i].ID, tx.Horizon()) {
			return nil, &ResyncError{OpID: ops[i].ID, Horizon: tx.Horizon()}
		}
	}
	// The state of each op's entity, of its workflow and of an edge's ends.
	var entityIDs []string
	ends := make([][2]string, len(ops))
	for i := range ops {
		op := &ops[i]
		if seen[op.ID] != nil {
			continue
		}
		entityIDs = append(entityIDs, op.EntityID)
		if op.Entity != syncproto.EntityWorkflow {
			entityIDs = append(entityIDs, op.WorkflowID)
		}
		if op.Entity == syncproto.EntityEdge && op.Kind != syncproto.OpDelete {
			ends[i] = edgeEnds(op.Data)
			entityIDs = append(entityIDs, ends[i][0], ends[i][1])
		}
	}
	state, err := tx.Entities(entityIDs)
	if err != nil {
		return nil, err
	}
	if state == nil {
		state = map[string]*syncproto.Change{}
	}
	a := &applier{tx: tx, state: state, seq: tx.Seq(), contents: map[string][]*syncproto.Change{}}

	acks := make([][]byte, len(ops))
	var stored []StoredAck
	for i := range ops {
		op := &ops[i]
		if b := seen[op.ID]; b != nil {
			acks[i] = b
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
		case op.Kind != syncproto.OpDelete && a.deletedParent(op, ends[i]) != nil:
			// The write would leave a node outside any workflow or an
			// edge hanging: it loses to the deletion, and the entity is
			// deleted (a tombstone, so that the id stays used up).
			cause := a.deletedParent(op, ends[i])
			tomb := cur
			if cur == nil || !cur.Deleted {
				v, err := syncproto.NextVersion(version(cur))
				if err != nil {
					return nil, fmt.Errorf("op %s: %w", op.ID, err)
				}
				if tomb, err = a.bury(op.Entity, op.EntityID, op.WorkflowID, max(op.Version, v), cause, cur); err != nil {
					return nil, err
				}
			}
			ack = syncproto.Ack{OpID: op.ID, Status: syncproto.Superseded, Version: tomb.Version, Current: tomb}
		default:
			m, err := syncproto.Merge(cur, op)
			if err != nil {
				return nil, fmt.Errorf("op %s: %w", op.ID, err)
			}
			if !m.Applied {
				ack = syncproto.Ack{OpID: op.ID, Status: syncproto.Superseded, Version: cur.Version, Current: cur}
				break
			}
			seq, err := a.nextSeq()
			if err != nil {
				return nil, err
			}
			c := m.State
			c.Seq = seq
			state[op.EntityID] = c
			a.changes = append(a.changes, c)
			ack = syncproto.Ack{OpID: op.ID, Status: syncproto.Applied, Version: c.Version}
			if m.Mixed {
				ack.Current = c // the op's device adopts the fields it had not seen
			}
			if c.Deleted {
				if err := a.keepWhole(c); err != nil {
					return nil, err
				}
			}
		}
		b, err := json.Marshal(&ack)
		if err != nil {
			return nil, fmt.Errorf("op %s: encode ack: %w", op.ID, err)
		}
		acks[i] = b
		stored = append(stored, StoredAck{OpID: op.ID, JSON: b, Stored: now})
		// A batch of several pushes (see commit) may hold an op id twice:
		// the second gets the first one's ack, as it would in a later
		// batch.
		seen[op.ID] = b
	}
	if len(stored) == 0 {
		return acks, nil
	}
	// Keep the last change of each entity: one row per entity is all the
	// store keeps, and the last change carries the batch's highest seq.
	var final []syncproto.Change
	refs := map[string]bool{}
	for _, c := range a.changes {
		if state[c.EntityID] == c {
			final = append(final, *c)
			assetHashes(c.Data, refs)
		}
	}
	if err := tx.Put(final, stored); err != nil {
		return nil, err
	}
	if len(refs) > 0 {
		// A blob referred to again is not garbage, whatever GC found
		// before: it starts its grace again when it is next unreferenced.
		if err := tx.TouchBlobs(slices.Sorted(maps.Keys(refs))); err != nil {
			return nil, err
		}
	}
	return acks, nil
}

// applier is the state of one batch being applied.
type applier struct {
	tx       Tx
	state    map[string]*syncproto.Change // entity id: its latest state, the batch's changes included
	seq      int64
	changes  []*syncproto.Change            // in seq order
	contents map[string][]*syncproto.Change // workflow id: Tx.Contents, as read
}

func version(c *syncproto.Change) int64 {
	if c == nil {
		return 0
	}
	return c.Version
}

// edgeEnds reads the source and target of an edge's data (validated).
func edgeEnds(data json.RawMessage) [2]string {
	var e struct {
		Source string `json:"source"`
		Target string `json:"target"`
	}
	json.Unmarshal(data, &e)
	return [2]string{e.Source, e.Target}
}

// deletedParent returns the deletion that a write of op (a node or an
// edge with ends) must lose to: its workflow's, or an end node's. An
// entity the server has never seen is no reason: its write may come later.
func (a *applier) deletedParent(op *syncproto.Op, ends [2]string) *syncproto.Change {
	if op.Entity == syncproto.EntityWorkflow {
		return nil
	}
	if w := a.state[op.WorkflowID]; w != nil && w.Deleted {
		return w
	}
	if op.Entity == syncproto.EntityEdge {
		for _, id := range ends {
			if n := a.state[id]; n != nil && n.Deleted {
				return n
			}
		}
	}
	return nil
}

// nextSeq assigns the next sequence number of the workspace.
func (a *applier) nextSeq() (int64, error) {
	if a.seq >= syncproto.MaxSafeInt {
		return 0, &errs.ValidationError{Entity: "workspace", Field: "seq", Reason: "the workspace has used up its sequence numbers (2^53-1)"}
	}
	a.seq++
	return a.seq, nil
}

// bury records the deletion of an entity caused by the deletion cause: a
// tombstone at version v, claimed with the cause's time and op. cur is
// the entity's live state it replaces, if any: its write is overwritten.
func (a *applier) bury(e syncproto.Entity, id, wf string, v int64, cause, cur *syncproto.Change) (*syncproto.Change, error) {
	seq, err := a.nextSeq()
	if err != nil {
		return nil, err
	}
	t := &syncproto.Change{Seq: seq, Entity: e, EntityID: id, WorkflowID: wf,
		Version: v, Proposed: v, UpdatedAt: cause.UpdatedAt, OpID: cause.OpID, Deleted: true,
		Clocks: syncproto.Clocks{"": {At: cause.UpdatedAt, Op: cause.OpID, V: v}}}
	if cur != nil && !cur.Deleted {
		t.Overwrote = syncproto.Overwriting(cur)
	}
	a.state[id] = t
	a.changes = append(a.changes, t)
	return t, nil
}

// keepWhole deletes what the deletion del leaves hanging: a workflow's
// nodes and edges, a node's edges.
func (a *applier) keepWhole(del *syncproto.Change) error {
	if del.Entity != syncproto.EntityWorkflow && del.Entity != syncproto.EntityNode {
		return nil
	}
	live, err := a.live(del.WorkflowID)
	if err != nil {
		return err
	}
	for _, c := range live {
		if del.Entity == syncproto.EntityNode {
			if c.Entity != syncproto.EntityEdge {
				continue
			}
			if ends := edgeEnds(c.Data); ends[0] != del.EntityID && ends[1] != del.EntityID {
				continue
			}
		}
		v, err := syncproto.NextVersion(c.Version)
		if err != nil {
			return fmt.Errorf("op %s deletes %s %s along with %s %s: %w", del.OpID, c.Entity, c.EntityID, del.Entity, del.EntityID, err)
		}
		if _, err := a.bury(c.Entity, c.EntityID, c.WorkflowID, v, del, c); err != nil {
			return err
		}
	}
	return nil
}

// live returns the nodes and edges of workflow wf that are not deleted,
// as of the batch so far, ordered by id.
func (a *applier) live(wf string) ([]*syncproto.Change, error) {
	stored, ok := a.contents[wf]
	if !ok {
		var err error
		if stored, err = a.tx.Contents(wf); err != nil {
			return nil, err
		}
		a.contents[wf] = stored
	}
	byID := map[string]*syncproto.Change{}
	for _, c := range stored {
		byID[c.EntityID] = c
	}
	for id, c := range a.state {
		if c.WorkflowID == wf && c.Entity != syncproto.EntityWorkflow {
			byID[id] = c
		}
	}
	var out []*syncproto.Change
	for id, c := range byID {
		if s := a.state[id]; s != nil {
			c = s
		}
		if !c.Deleted {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EntityID < out[j].EntityID })
	return out, nil
}

// readBody reads a request body of at most limit bytes, answering 413
// (and reporting false) when it is larger, 400 when it breaks off, and
// 408 or 503 when it misses the transfer bounds (see bodyError).
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
		if !bodyError(w, err) {
			writeError(w, http.StatusBadRequest, "Invalid", "reading the request body: "+err.Error())
		}
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
		if err != nil || c < 0 || c > syncproto.MaxSafeInt {
			writeError(w, http.StatusBadRequest, "Invalid", "cursor must be an integer from 0 to 2^53-1")
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
	if n := len(changes); n > 0 {
		cursor = changes[n-1].Seq
	}
	writeRaw(w, http.StatusOK, encodePull(changes, cursor, more))
}

// encodePull writes a syncproto.PullResponse by hand, each change's Data
// spliced in as stored: the server compacted and validated it before
// storing it, and json.Marshal would compact and validate every byte of
// every page again, which was most of the server's work under load.
func encodePull(changes []syncproto.Change, cursor int64, more bool) []byte {
	size := 64
	for i := range changes {
		size += 320 + len(changes[i].Data)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"changes":[`...)
	for i := range changes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendChange(b, &changes[i])
	}
	b = append(b, `],"cursor":`...)
	b = strconv.AppendInt(b, cursor, 10)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, more)
	return append(b, '}')
}

// appendChange appends c as encoding/json would write it.
func appendChange(b []byte, c *syncproto.Change) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, c.Seq, 10)
	b = append(b, `,"entity":`...)
	b = appendString(b, string(c.Entity))
	b = append(b, `,"entityId":`...)
	b = appendString(b, c.EntityID)
	b = append(b, `,"workflowId":`...)
	b = appendString(b, c.WorkflowID)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, c.Version, 10)
	b = append(b, `,"proposed":`...)
	b = strconv.AppendInt(b, c.Proposed, 10)
	b = append(b, `,"updatedAt":`...)
	b = strconv.AppendInt(b, c.UpdatedAt, 10)
	b = append(b, `,"opId":`...)
	b = appendString(b, c.OpID)
	if c.Deleted {
		b = append(b, `,"deleted":true`...)
	}
	if len(c.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, c.Data...)
	}
	if len(c.Overwrote) > 0 {
		b = append(b, `,"overwrote":[`...)
		for i, id := range c.Overwrote {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, id)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. The strings of a Change are
// ids and names the server validated; anything else is escaped all the
// same, if not as tersely as encoding/json would.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case 0x20 <= c && c < 0x7f:
			b = append(b, c)
		case c < 0x80:
			b = fmt.Appendf(b, "\\u%04x", c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if hi, lo := utf16.EncodeRune(r); hi != utf8.RuneError {
				b = fmt.Appendf(b, "\\u%04x\\u%04x", hi, lo)
			} else {
				b = fmt.Appendf(b, "\\u%04x", r) // U+FFFD for bytes that are not UTF-8
			}
			i += n
			continue
		}
		i++
	}
	return append(b, '"')
}
