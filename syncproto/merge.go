package syncproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// # Field-level merge
//
// The server settles concurrent writes of one entity field by field. The
// fields of an entity are the top-level properties of its JSON (a node's
// type, title, status, position, size, result, …), except its identity
// and bookkeeping (id, workflowId, version, updatedAt, createdAt); the
// object a node keeps in config, and a workflow in meta, is merged per
// top-level key ("config.prompt"), unless either side holds something
// other than an object there ("config" then is one field).
//
// Every field has a Stamp: the UpdatedAt and id of the op that last wrote
// it. An op writes the fields it names (Op.Fields; an op that names none
// writes them all) and takes each one whose stamp it beats, so a value
// that was set later survives a write made before it. Clients make
// UpdatedAt a hybrid clock per entity: a local write gets the later of the
// device's clock and the entity's UpdatedAt + 1, so a write made after
// seeing a change always beats it, whatever the devices' clocks say. Among
// writes made without seeing each other (concurrent), the later clock
// wins, then the larger op id: not the device that edited more often.
//
// Creation and deletion have a stamp of their own: a delete applies when
// it beats the last create (or delete), and a create with an id that was
// deleted brings the entity back when it beats the deletion (an undo, say).
// An update of a deleted entity changes nothing: deletion wins over
// concurrent edits.

// Stamp is the claim of one write of a field: the op's UpdatedAt, then its
// id. V is the authoritative version the write got: an op whose
// BaseVersion is below it had not seen that write.
type Stamp struct {
	At int64  `json:"t"`
	Op string `json:"o"`
	V  int64  `json:"v"`
}

// After reports whether s beats o: the later At, then the larger op id.
func (s Stamp) After(o Stamp) bool {
	if s.At != o.At {
		return s.At > o.At
	}
	return s.Op > o.Op
}

// Clocks are the stamps of an entity's fields, kept by the server beside
// its state (Change.Clocks) and never sent to clients. Key "" holds the
// stamp of every field not listed, key "~" (absent: that of "") the
// stamp of the entity's last creation or deletion.
type Clocks map[string]Stamp

// Keys of Clocks that are not fields.
const (
	clockRest = ""
	clockLife = "~"
)

func (c Clocks) of(f string) Stamp {
	if s, ok := c[f]; ok {
		return s
	}
	return c[clockRest]
}

// clocksOf returns the clocks of a stored state: its own, or for a state
// stored without any, every field stamped by the write that made it.
func clocksOf(c *Change) Clocks {
	if len(c.Clocks) > 0 {
		return c.Clocks
	}
	return Clocks{clockRest: {At: c.UpdatedAt, Op: c.OpID, V: c.Version}}
}

// notFields are the properties of an entity's JSON that are not fields.
var notFields = map[string]bool{"id": true, "workflowId": true, "version": true, "updatedAt": true, "createdAt": true}

// perKey names the property of each entity that is merged per key.
var perKey = map[Entity]string{EntityNode: "config", EntityWorkflow: "meta"}

// MaxFields bounds Op.Fields.
const MaxFields = 256

// checkFields checks Op.Fields: only updates name fields, each a field of
// the op's entity, at most MaxFields of them, none twice.
func (o *Op) checkFields() error {
	if len(o.Fields) == 0 {
		return nil
	}
	if o.Kind != OpUpdate {
		return bad("fields", "only an update names fields")
	}
	if len(o.Fields) > MaxFields {
		return bad("fields", fmt.Sprintf("more than %d", MaxFields))
	}
	seen := make(map[string]bool, len(o.Fields))
	for _, f := range o.Fields {
		if seen[f] {
			return bad("fields", fmt.Sprintf("%q named twice", f))
		}
		seen[f] = true
		if !knownField(o.Entity, f) {
			return bad("fields", fmt.Sprintf("%q is not a field of a %s", f, o.Entity))
		}
	}
	return nil
}

// entityFields are the fields of each entity (besides per-key ones).
var entityFields = map[Entity][]string{
	EntityWorkflow: {"name", "viewport", "meta"},
	EntityNode:     {"type", "title", "status", "position", "size", "config", "result"},
	EntityEdge:     {"source", "target", "sourceHandle", "targetHandle"},
}

func knownField(e Entity, f string) bool {
	if p := perKey[e]; p != "" && strings.HasPrefix(f, p+".") {
		return len(f) <= len(p)+1+1024
	}
	return slices.Contains(entityFields[e], f)
}

// object decodes v as a JSON object; ok is false for anything else.
func object(v json.RawMessage) (m map[string]json.RawMessage, ok bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '{' {
		return nil, false
	}
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, false
	}
	return m, true
}

// fields adds to set the fields of the entity whose top-level properties
// are m; split says whether the per-key property is merged per key (see
// splitKeys).
func fields(e Entity, m map[string]json.RawMessage, split bool, set map[string]bool) {
	p := perKey[e]
	for k, v := range m {
		if notFields[k] {
			continue
		}
		if k == p && split {
			obj, _ := object(v)
			for sub := range obj {
				set[p+"."+sub] = true
			}
			continue
		}
		set[k] = true
	}
}

// splitKeys reports whether the per-key property of e is merged per key
// between states a and b: when each holds an object there, or nothing.
func splitKeys(e Entity, a, b map[string]json.RawMessage) bool {
	p := perKey[e]
	if p == "" {
		return false
	}
	for _, m := range []map[string]json.RawMessage{a, b} {
		if v, ok := m[p]; ok {
			if _, isObj := object(v); !isObj && string(bytes.TrimSpace(v)) != "null" {
				return false
			}
		}
	}
	return true
}

// value returns the value of field f in the properties m, and whether it
// is there.
func value(e Entity, m map[string]json.RawMessage, f string) (json.RawMessage, bool) {
	if p := perKey[e]; p != "" && strings.HasPrefix(f, p+".") {
		obj, _ := object(m[p])
		v, ok := obj[f[len(p)+1:]]
		return v, ok
	}
	v, ok := m[f]
	return v, ok
}

// same reports whether two JSON values are the same text once compacted.
func same(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// ChangedFields returns the fields (see Merge) in which the JSON states
// before and after of an entity differ, sorted: what an update that
// turned one into the other names in Op.Fields.
func ChangedFields(e Entity, before, after json.RawMessage) ([]string, error) {
	var a, b map[string]json.RawMessage
	if err := json.Unmarshal(before, &a); err != nil {
		return nil, fmt.Errorf("syncproto: the state before: %w", err)
	}
	if err := json.Unmarshal(after, &b); err != nil {
		return nil, fmt.Errorf("syncproto: the state after: %w", err)
	}
	return changed(e, a, b), nil
}

func changed(e Entity, a, b map[string]json.RawMessage) []string {
	split := splitKeys(e, a, b)
	set := map[string]bool{}
	fields(e, a, split, set)
	fields(e, b, split, set)
	var out []string
	for f := range set {
		va, inA := value(e, a, f)
		vb, inB := value(e, b, f)
		if inA != inB || (inA && !same(va, vb)) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// Merged is what Merge makes of an op.
type Merged struct {
	// Applied is set when the op changed the entity's state: State is the
	// new one (its Seq to be set). Otherwise the op is superseded and
	// State is the stored state.
	Applied bool
	State   *Change
	// Mixed is set when State's data is not the op's own: fields of other
	// writes survived beside the op's. The op's device then needs State.
	Mixed bool
}

// Merge is the server's rule for applying op to the stored state of its
// entity (nil when the server has none), field by field (see "Field-level
// merge" above). An applied op gets the authoritative version
// max(op.Version, stored version + 1), so versions grow with every write;
// the state's UpdatedAt is the latest stamp of its fields, and OpID the
// op's.
//
// It fails, with an error matching errs.ErrInvalid, when the op applies
// but the version would have to pass MaxSafeInt: an entity at that version
// can no longer change. cur's data must be an entity's JSON object, as
// stored from an earlier op.
func Merge(cur *Change, op *Op) (Merged, error) {
	s := Stamp{At: op.UpdatedAt, Op: op.ID}
	if cur == nil {
		s.V = max(op.Version, 1)
		life := s
		if op.Kind == OpUpdate {
			// An update of an entity whose creation has not arrived
			// yet: the create or delete that comes later still claims
			// the entity's life.
			life = Stamp{}
		}
		return Merged{Applied: true, State: whole(op, s, life, nil)}, nil
	}
	clk := clocksOf(cur)
	life := clk.of(clockLife)
	// The version the op gets if it applies; an op that does not apply
	// needs none.
	v, verr := nextVersion(cur, op)
	s.V = v
	applied := func(c *Change, mixed bool) (Merged, error) {
		if verr != nil {
			return Merged{}, verr
		}
		return Merged{Applied: true, State: c, Mixed: mixed}, nil
	}
	switch {
	case op.Kind == OpDelete:
		if cur.Deleted || !s.After(life) {
			return Merged{State: cur}, nil
		}
		t := &Change{Entity: op.Entity, EntityID: op.EntityID, WorkflowID: op.WorkflowID, Version: v,
			Proposed: op.Version, UpdatedAt: max(cur.UpdatedAt, s.At), OpID: op.ID, Deleted: true,
			Clocks: withStamp(clk, clockLife, s)}
		if op.BaseVersion < cur.Version {
			t.Overwrote = Overwriting(cur)
		}
		return applied(t, false)
	case cur.Deleted:
		if op.Kind != OpCreate || !s.After(life) {
			return Merged{State: cur}, nil // deletion wins over edits
		}
		c := whole(op, s, s, nil)
		if op.BaseVersion < cur.Version {
			c.Overwrote = Overwriting(cur)
		}
		return applied(c, false)
	}
	m, err := mergeFields(cur, clk, op, s)
	if err != nil || !m.Applied {
		return m, err
	}
	return applied(m.State, m.Mixed)
}

// nextVersion is the authoritative version op gets if it applies.
func nextVersion(cur *Change, op *Op) (int64, error) {
	v, err := NextVersion(cur.Version)
	if err != nil {
		return 0, err
	}
	return max(op.Version, v), nil
}

// withStamp returns a copy of c with key k stamped s.
func withStamp(c Clocks, k string, s Stamp) Clocks {
	out := make(Clocks, len(c)+1)
	for f, x := range c {
		out[f] = x
	}
	out[k] = s
	return out
}

// whole is the state op writes by itself: its data, every field stamped s
// and the entity's life stamped life.
func whole(op *Op, s, life Stamp, overwrote []string) *Change {
	c := &Change{Entity: op.Entity, EntityID: op.EntityID, WorkflowID: op.WorkflowID, Version: s.V,
		Proposed: op.Version, UpdatedAt: op.UpdatedAt, OpID: op.ID, Deleted: op.Kind == OpDelete,
		Clocks: Clocks{clockRest: s}, Overwrote: overwrote}
	if life != s {
		c.Clocks[clockLife] = life
	}
	if !c.Deleted {
		c.Data = compact(op.Data)
	}
	return c
}

func compact(b json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// mergeFields writes op's fields into the live state cur whose clocks are
// clk; s is the op's stamp.
func mergeFields(cur *Change, clk Clocks, op *Op, s Stamp) (Merged, error) {
	var stored, mine map[string]json.RawMessage
	if err := json.Unmarshal(cur.Data, &stored); err != nil {
		return Merged{}, fmt.Errorf("syncproto: stored %s %s: %w", cur.Entity, cur.EntityID, err)
	}
	if err := json.Unmarshal(op.Data, &mine); err != nil {
		return Merged{}, fmt.Errorf("syncproto: op %s: %w", op.ID, err) // Validate decoded it
	}
	p := perKey[op.Entity]
	replace := len(op.Fields) == 0
	names := op.Fields
	if replace {
		names = allFields(op.Entity, stored, mine, clk)
	}
	merged := maps(stored)
	next := withStamp(clk, clockLife, clk.of(clockLife))
	var took, lost int
	var overwrote []string
	for _, f := range names {
		prev := clk.of(f)
		for k, w := range clk {
			// A key of the per-key object against a later write of the
			// whole object, and the whole object against a later write
			// of any of its keys.
			if p != "" && (strings.HasPrefix(f, p+".") && k == p || f == p && strings.HasPrefix(k, p+".")) && w.After(prev) {
				prev = w
			}
		}
		if !s.After(prev) {
			lost++
			continue
		}
		took++
		if prev.V > op.BaseVersion && prev.Op != "" && prev.Op != op.ID {
			overwrote = append(overwrote, prev.Op)
		}
		if err := take(op.Entity, merged, mine, f); err != nil {
			return Merged{}, fmt.Errorf("syncproto: op %s: %w", op.ID, err)
		}
		next[f] = s
		if f == p {
			for k := range next {
				if strings.HasPrefix(k, p+".") {
					delete(next, k) // the whole object is the op's now
				}
			}
		}
	}
	if replace && s.After(clk[clockRest]) {
		// A replacement also writes the fields it and the stored state
		// lack: they are absent as of s.
		took++
		next[clockRest] = s
		for k, w := range next {
			if k != clockRest && k != clockLife && w == s {
				delete(next, k)
			}
		}
	}
	if op.Kind == OpCreate && s.After(next[clockLife]) {
		next[clockLife] = s // a create claims the entity's life
	}
	if took == 0 {
		return Merged{State: cur}, nil
	}
	if replace && lost == 0 {
		// A replacement that won every field: the op's state, as sent.
		c := whole(op, s, next[clockLife], overwritingAll(cur, overwrote))
		c.UpdatedAt = max(cur.UpdatedAt, s.At)
		return Merged{Applied: true, State: c}, nil
	}
	for k := range mine {
		if notFields[k] {
			merged[k] = mine[k] // bookkeeping as the op sent it; set again by clients
		}
	}
	data, err := json.Marshal(merged)
	if err != nil {
		return Merged{}, fmt.Errorf("syncproto: op %s: %w", op.ID, err)
	}
	if err := checkEntity(op.Entity, op.EntityID, op.WorkflowID, data); err != nil {
		// The fields of the two writes do not make a valid entity
		// together (an edge from a node to itself, say): the stored
		// state stays, and the op is superseded.
		return Merged{State: cur}, nil
	}
	if next[clockLife] == next[clockRest] {
		delete(next, clockLife)
	}
	c := &Change{Entity: op.Entity, EntityID: op.EntityID, WorkflowID: op.WorkflowID, Version: s.V,
		Proposed: op.Version, UpdatedAt: max(cur.UpdatedAt, s.At), OpID: op.ID, Data: data, Clocks: next,
		Overwrote: overwritingAll(cur, overwrote)}
	return Merged{Applied: true, State: c, Mixed: len(changed(op.Entity, merged, mine)) > 0}, nil
}

// allFields returns the fields a replacement writes: those of the stored
// state and of the op's, and those the clocks name, sorted.
func allFields(e Entity, stored, mine map[string]json.RawMessage, clk Clocks) []string {
	set := map[string]bool{}
	split := splitKeys(e, stored, mine)
	fields(e, stored, split, set)
	fields(e, mine, split, set)
	p := perKey[e]
	for k := range clk {
		if k == clockRest || k == clockLife || !split && p != "" && strings.HasPrefix(k, p+".") {
			continue
		}
		set[k] = true
	}
	names := make([]string, 0, len(set))
	for f := range set {
		names = append(names, f)
	}
	sort.Strings(names)
	return names
}

// overwritingAll returns the Overwrote list of a write that replaced, unseen,
// the writes of the ops ids of cur's fields: cur's list and those ids, the
// oldest dropped past MaxOverwrote. None when ids is empty.
func overwritingAll(cur *Change, ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := make([]string, 0, len(cur.Overwrote)+len(ids))
	for _, id := range cur.Overwrote {
		if !slices.Contains(ids, id) {
			out = append(out, id)
		}
	}
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > MaxOverwrote {
		out = out[len(out)-MaxOverwrote:]
	}
	return out
}

func maps(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// take sets field f of dst to its value in src (or removes it when src
// has none).
func take(e Entity, dst, src map[string]json.RawMessage, f string) error {
	p := perKey[e]
	if p == "" || !strings.HasPrefix(f, p+".") {
		if v, ok := src[f]; ok {
			dst[f] = v
		} else {
			delete(dst, f)
		}
		return nil
	}
	key := f[len(p)+1:]
	obj, _ := object(dst[p])
	if obj == nil {
		obj = map[string]json.RawMessage{}
	}
	if v, ok := value(e, src, f); ok {
		obj[key] = v
	} else {
		delete(obj, key)
	}
	if len(obj) == 0 {
		if _, ok := src[p]; !ok {
			delete(dst, p)
			return nil
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	dst[p] = b
	return nil
}
