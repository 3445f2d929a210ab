package syncproto

import (
	"reflect"
	"testing"
)

func TestApplyOrder(t *testing.T) {
	wf := Change{Seq: 5, Entity: EntityWorkflow, EntityID: "w"}
	n1 := Change{Seq: 2, Entity: EntityNode, EntityID: "n1"}
	n2 := Change{Seq: 7, Entity: EntityNode, EntityID: "n2"}
	e := Change{Seq: 3, Entity: EntityEdge, EntityID: "e"}
	delN := Change{Seq: 9, Entity: EntityNode, EntityID: "n3", Deleted: true}
	delE := Change{Seq: 8, Entity: EntityEdge, EntityID: "e2", Deleted: true}
	delW := Change{Seq: 1, Entity: EntityWorkflow, EntityID: "w2", Deleted: true}
	n1later := Change{Seq: 10, Entity: EntityNode, EntityID: "n1", Data: []byte(`{}`)}
	for _, tc := range []struct {
		name           string
		deferred, page []Change
		want           []Change
	}{
		{"parents first, children deleted first",
			nil, []Change{delW, n2, e, delN, wf, n1, delE},
			[]Change{wf, n1, n2, e, delE, delN, delW}},
		{"the latest change of an entity wins, wherever it was",
			[]Change{n1, e}, []Change{n1later, wf},
			[]Change{wf, n1later, e}},
		{"an older change in the page does not replace a newer deferred one",
			[]Change{n1later}, []Change{n1},
			[]Change{n1later}},
		{"nothing", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ApplyOrder(tc.deferred, tc.page); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v\nwant %v", ids(got), ids(tc.want))
			}
		})
	}
}

func ids(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.EntityID)
	}
	return out
}
