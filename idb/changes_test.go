package idb

import (
	"reflect"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/graph"
)

func TestMessageRoundTrip(t *testing.T) {
	wf, n, e := graph.NewID(), graph.NewID(), graph.NewID()
	in := []Change{
		{ChangeWorkflow, wf, wf, 3, false},
		{ChangeNode, n, wf, 7, true},
		{ChangeEdge, e, wf, 0, false},
	}
	s := encodeMessage("tab-1", in)
	if len(s) > 400 {
		t.Fatalf("message of %d bytes for 3 changes: %s", len(s), s)
	}
	tab, out, wfs, err := decodeMessage(s)
	if err != nil || tab != "tab-1" || wfs != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("decoded %q %+v %v %v from %s", tab, out, wfs, err, s)
	}
}

func TestBigTransactionsAnnounceWorkflows(t *testing.T) {
	a, b := graph.NewID(), graph.NewID()
	var in []Change
	for i := 0; i < 5000; i++ {
		wf := a
		if i%2 == 0 {
			wf = b
		}
		in = append(in, Change{ChangeNode, graph.NewID(), wf, 1, false})
	}
	s := encodeMessage("t", in)
	if len(s) > 200 {
		t.Fatalf("5,000 changes made a %d-byte message", len(s))
	}
	_, changes, wfs, err := decodeMessage(s)
	if err != nil || len(changes) != 0 || len(wfs) != 2 {
		t.Fatalf("%v %v %v", changes, wfs, err)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good := graph.NewID()
	for _, s := range []string{
		``, `{`, `[]`,
		`{"t":"x","c":[{"k":"z","i":"` + good + `","v":1}]}`,
		`{"t":"x","c":[{"k":"n","i":"nope","f":"` + good + `","v":1}]}`,
		`{"t":"x","c":[{"k":"n","i":"` + good + `","v":1}]}`, // node without workflow
		`{"t":"x","c":[{"k":"w","i":"` + good + `","v":-1}]}`,
		`{"t":"x","w":["` + strings.ToUpper(good) + `"]}`,
	} {
		if _, _, _, err := decodeMessage(s); err == nil {
			t.Errorf("accepted %q", s)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage("t", []Change{{ChangeNode, graph.NewID(), graph.NewID(), 2, true}}))
	f.Add(`{"t":"x","w":["` + graph.NewID() + `"]}`)
	f.Fuzz(func(t *testing.T, s string) {
		tab, changes, wfs, err := decodeMessage(s)
		if err != nil {
			return
		}
		// Whatever is accepted is well-formed and survives a round trip.
		for _, c := range changes {
			if !graph.ValidID(c.ID) || !graph.ValidID(c.WorkflowID) || c.Version < 0 {
				t.Fatalf("accepted bad change %+v", c)
			}
		}
		if len(changes) > 0 && len(changes) <= maxChanges {
			_, again, _, err := decodeMessage(encodeMessage(tab, changes))
			if err != nil || !reflect.DeepEqual(again, changes) {
				t.Fatalf("round trip: %v %v", again, err)
			}
		}
		_ = wfs
	})
}
