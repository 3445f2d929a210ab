package syncproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

func TestWinsIsAStrictTotalOrder(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var revs []Revision
	for i := 0; i < 300; i++ {
		revs = append(revs, Revision{Version: r.Int63n(4), UpdatedAt: r.Int63n(3), OpID: graph.NewID()})
	}
	for _, a := range revs {
		if Wins(a, a) {
			t.Fatal("a revision beats itself")
		}
		for _, b := range revs {
			if a != b && Wins(a, b) == Wins(b, a) {
				t.Fatalf("not antisymmetric: %+v vs %+v", a, b)
			}
		}
	}
	// Any arrival order ends with the same winner.
	winner := func(order []Revision) Revision {
		w := order[0]
		for _, x := range order[1:] {
			if Wins(x, w) {
				w = x
			}
		}
		return w
	}
	want := winner(revs)
	for i := 0; i < 20; i++ {
		shuffled := append([]Revision(nil), revs...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := winner(shuffled); got != want {
			t.Fatalf("order changed the winner: %+v vs %+v", got, want)
		}
	}
	sorted := append([]Revision(nil), revs...)
	sort.Slice(sorted, func(i, j int) bool { return Wins(sorted[j], sorted[i]) })
	if sorted[len(sorted)-1] != want {
		t.Fatal("sort and fold disagree")
	}
}

func TestDecide(t *testing.T) {
	stored := &Change{Version: 5, Proposed: 5, UpdatedAt: 100, OpID: "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a10"}
	for _, tc := range []struct {
		name    string
		stored  *Change
		op      Op
		apply   bool
		version int64
	}{
		{"new entity", nil, Op{BaseVersion: 0, Version: 1}, true, 1},
		{"new entity edited offline", nil, Op{BaseVersion: 0, Version: 4}, true, 4},
		{"made on the latest state", stored, Op{BaseVersion: 5, Version: 6}, true, 6},
		{"several local edits on the latest state", stored, Op{BaseVersion: 5, Version: 9}, true, 9},
		{"made on a bumped version", &Change{Version: 7, Proposed: 5, UpdatedAt: 100}, Op{BaseVersion: 7, Version: 8}, true, 8},
		{"concurrent, higher version wins", stored, Op{BaseVersion: 3, Version: 6, UpdatedAt: 1}, true, 6},
		{"concurrent, lower version loses", stored, Op{BaseVersion: 3, Version: 4, UpdatedAt: 999}, false, 5},
		{"concurrent tie, later wins", stored, Op{BaseVersion: 4, Version: 5, UpdatedAt: 101}, true, 6},
		{"concurrent tie, earlier loses", stored, Op{BaseVersion: 4, Version: 5, UpdatedAt: 99}, false, 5},
		{"concurrent full tie, larger op id wins", stored, Op{ID: "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a11", BaseVersion: 4, Version: 5, UpdatedAt: 100}, true, 6},
	} {
		apply, v, err := Decide(tc.stored, &tc.op)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if apply != tc.apply || v != tc.version {
			t.Errorf("%s: Decide = %v, %d; want %v, %d", tc.name, apply, v, tc.apply, tc.version)
		}
	}
}

// TestDecideIgnoresArrivalOrder: whatever order ops arrive in, the final
// state is the op with the greatest claim, ties included (a case where
// comparing the authoritative version instead would depend on order).
func TestDecideIgnoresArrivalOrder(t *testing.T) {
	id := func(n int) string { return fmt.Sprintf("0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a%02d", n) }
	r := rand.New(rand.NewSource(7))
	for round := 0; round < 300; round++ {
		n := 2 + r.Intn(4)
		ops := make([]Op, n)
		for i := range ops {
			ops[i] = Op{ID: id(i), BaseVersion: int64(r.Intn(2)), UpdatedAt: int64(r.Intn(3))}
			ops[i].Version = ops[i].BaseVersion + 1 + int64(r.Intn(2))
		}
		var want string
		permute(ops, func(order []Op) {
			var stored *Change
			for i := range order {
				op := &order[i]
				if apply, v, _ := Decide(stored, op); apply {
					stored = &Change{Version: v, Proposed: op.Version, UpdatedAt: op.UpdatedAt, OpID: op.ID}
				}
			}
			if want == "" {
				want = stored.OpID
			} else if stored.OpID != want {
				t.Fatalf("ops %+v: one order ends with %s, another with %s", ops, want, stored.OpID)
			}
		})
	}
}

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
	} {
		o := validNodeOp()
		tc.mut(&o)
		if err := o.Validate(); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
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
	top := &Change{Version: MaxSafeInt, Proposed: 5, UpdatedAt: 1, OpID: "a"}
	if _, _, err := Decide(top, &Op{ID: "b", Version: 6, UpdatedAt: 1}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("Decide past 2^53-1: %v", err)
	}
	if apply, v, err := Decide(top, &Op{ID: "b", Version: 4}); apply || v != MaxSafeInt || err != nil {
		t.Fatalf("Decide of a losing op at the top: %v %d %v", apply, v, err)
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
