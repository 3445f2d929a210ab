package syncproto

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// permute calls f with every ordering of ops.
func permute(ops []Op, f func([]Op)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(ops) {
			f(append([]Op(nil), ops...))
			return
		}
		for i := k; i < len(ops); i++ {
			ops[k], ops[i] = ops[i], ops[k]
			rec(k + 1)
			ops[k], ops[i] = ops[i], ops[k]
		}
	}
	rec(0)
}

func validNodeOp() Op {
	wf, id := graph.NewID(), graph.NewID()
	data, _ := json.Marshal(graph.Node{ID: id, WorkflowID: wf, Type: "image", Position: graph.Position{X: 1, Y: 2}})
	return Op{ID: graph.NewID(), Entity: EntityNode, EntityID: id, WorkflowID: wf, Kind: OpUpdate,
		Data: data, BaseVersion: 2, Version: 3, UpdatedAt: 5, Tab: "t", Time: 5}
}

func TestValidate(t *testing.T) {
	ok := validNodeOp()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	del := ok
	del.Kind, del.Data = OpDelete, nil
	if err := del.Validate(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, tc := range []struct {
		name string
		mut  func(o *Op)
	}{
		{"bad op id", func(o *Op) { o.ID = "x" }},
		{"bad entity", func(o *Op) { o.Entity = "asset" }},
		{"bad kind", func(o *Op) { o.Kind = "merge" }},
		{"version not above base", func(o *Op) { o.Version = o.BaseVersion }},
		{"negative base", func(o *Op) { o.BaseVersion = -1 }},
		{"version past 2^53-1", func(o *Op) { o.Version = MaxSafeInt + 1 }},
		{"updatedAt past 2^53-1", func(o *Op) { o.UpdatedAt = MaxSafeInt + 1 }},
		{"updatedAt below -(2^53-1)", func(o *Op) { o.UpdatedAt = -MaxSafeInt - 1 }},
		{"no data", func(o *Op) { o.Data = nil }},
		{"data for another id", func(o *Op) { o.EntityID = graph.NewID() }},
		{"data of another workflow", func(o *Op) { o.WorkflowID = graph.NewID() }},
		{"invalid entity in data", func(o *Op) {
			o.Data = json.RawMessage(`{"id":"` + o.EntityID + `","workflowId":"` + o.WorkflowID + `","type":""}`)
		}},
		{"not json", func(o *Op) { o.Data = json.RawMessage(`{`) }},
		{"delete with data", func(o *Op) { o.Kind = OpDelete }},
		{"unknown field", func(o *Op) { o.Fields = []string{"position", "colour"} }},
		{"field named twice", func(o *Op) { o.Fields = []string{"position", "position"} }},
		{"identity as a field", func(o *Op) { o.Fields = []string{"id"} }},
		{"fields of a create", func(o *Op) { o.Kind, o.Fields = OpCreate, []string{"position"} }},
	} {
		o := validNodeOp()
		tc.mut(&o)
		if err := o.Validate(); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
	fields := validNodeOp()
	fields.Fields = []string{"position", "config.prompt", "title"}
	if err := fields.Validate(); err != nil {
		t.Fatalf("fields: %v", err)
	}
	batch := PushRequest{Ops: []Op{ok, ok}}
	if err := batch.Validate(); err == nil {
		t.Fatal("repeated op id accepted")
	}
	if err := (&PushRequest{}).Validate(); err == nil {
		t.Fatal("empty batch accepted")
	}
}

func FuzzPushRequest(f *testing.F) {
	good, _ := json.Marshal(PushRequest{Ops: []Op{validNodeOp()}})
	f.Add(good)
	f.Add([]byte(`{"ops":[{"id":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p PushRequest
		if json.Unmarshal(b, &p) != nil || p.Validate() != nil {
			return
		}
		for _, o := range p.Ops {
			if !graph.ValidID(o.ID) || o.Version <= o.BaseVersion {
				t.Fatalf("accepted %+v", o)
			}
		}
	})
}

func TestOverwriting(t *testing.T) {
	c := &Change{OpID: "b", Overwrote: []string{"a"}}
	if got := Overwriting(c); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Overwriting: %v, want [a b]", got)
	}
	long := &Change{OpID: "z"}
	for i := range MaxOverwrote + 5 {
		long.Overwrote = append(long.Overwrote, string(rune('A'+i)))
	}
	got := Overwriting(long)
	if len(got) != MaxOverwrote || got[len(got)-1] != "z" || got[0] != string(rune('A'+6)) {
		t.Fatalf("Overwriting a long list: %v", got)
	}
	if len(c.Overwrote) != 1 {
		t.Fatal("Overwriting changed its argument")
	}
}

func TestVersionBounds(t *testing.T) {
	if v, err := NextVersion(MaxSafeInt - 1); v != MaxSafeInt || err != nil {
		t.Fatalf("NextVersion(2^53-2) = %d, %v", v, err)
	}
	if _, err := NextVersion(MaxSafeInt); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("NextVersion(2^53-1): %v", err)
	}
	op := validNodeOp()
	top := &Change{Entity: EntityNode, EntityID: op.EntityID, WorkflowID: op.WorkflowID, Version: MaxSafeInt,
		Proposed: 5, UpdatedAt: 1, OpID: "a", Data: op.Data}
	if _, err := Merge(top, &op); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("Merge past 2^53-1: %v", err)
	}
}

func TestCheckText(t *testing.T) {
	for text, ok := range map[string]bool{
		`{"a":"plain"}`:                    true,
		`{"a":"é😀"}`:                       true,
		`{"a":"\ud83d\ude00"}`:             true,
		`{"a":"\uD83D\uDE00"}`:             true,
		`{"a":"\u00e9\u0000\"\\"}`:         true,
		`{"a":"\\ud800"}`:                  true, // an escaped backslash, then text
		`{"a":"\ufffd"}`:                   true,
		"{\"a\":\"\xff\xfe\"}":             false,
		"{\"a\":\"\xed\xa0\x80\"}":         false, // a surrogate in UTF-8
		`{"a":"\ud800"}`:                   false,
		`{"a":"\udc00"}`:                   false,
		`{"a":"\ude00\ud83d"}`:             false,
		`{"a":"\ud83d\u0041"}`:             false,
		`{"a":"\ud83d"}`:                   false,
		`{"\ud800":1}`:                     false,
		`{"a":"x\ud83d\ude00\ud83d"}`:      false,
		`{"a":"\ud83d\ude00\ud83d\ude00"}`: true,
	} {
		if err := CheckText([]byte(text)); (err == nil) != ok {
			t.Errorf("CheckText(%s) = %v", text, err)
		}
	}
	op := validNodeOp()
	op.Data = json.RawMessage(strings.Replace(string(op.Data), `"type":"`, `"type":"\udfff`, 1))
	if err := op.Validate(); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("Validate of data with a lone surrogate: %v", err)
	}
}
