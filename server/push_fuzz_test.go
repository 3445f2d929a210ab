package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// memTx is a Tx in memory, enough to run applyOps without a database.
type memTx struct {
	seq      int64
	acks     map[string][]byte
	entities map[string]*syncproto.Change
}

func newMemTx() *memTx {
	return &memTx{acks: map[string][]byte{}, entities: map[string]*syncproto.Change{}}
}

func (m *memTx) Seq() int64 { return m.seq }

func (m *memTx) Acks(ids []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, id := range ids {
		if a, ok := m.acks[id]; ok {
			out[id] = a
		}
	}
	return out, nil
}

func (m *memTx) Entities(ids []string) (map[string]*syncproto.Change, error) {
	out := map[string]*syncproto.Change{}
	for _, id := range ids {
		if c, ok := m.entities[id]; ok {
			cc := *c
			out[id] = &cc
		}
	}
	return out, nil
}

func (m *memTx) Contents(wf string) ([]*syncproto.Change, error) {
	var out []*syncproto.Change
	for _, c := range m.entities {
		if c.WorkflowID == wf && c.Entity != syncproto.EntityWorkflow && !c.Deleted {
			cc := *c
			out = append(out, &cc)
		}
	}
	return out, nil
}

func (m *memTx) Workflows() ([]*syncproto.Change, error) {
	var out []*syncproto.Change
	for _, c := range m.entities {
		if c.Entity == syncproto.EntityWorkflow && !c.Deleted {
			cc := *c
			out = append(out, &cc)
		}
	}
	return out, nil
}

func (m *memTx) Put(changes []syncproto.Change, acks []StoredAck) error {
	for _, c := range changes {
		if c.Seq <= m.seq {
			return errors.New("seq not increasing")
		}
		m.seq = c.Seq
		cc := c
		m.entities[c.EntityID] = &cc
	}
	for _, a := range acks {
		if _, dup := m.acks[a.OpID]; dup {
			return errors.New("ack stored twice")
		}
		m.acks[a.OpID] = a.JSON
	}
	return nil
}

func fuzzSeeds() [][]byte {
	wf, n := graph.NewID(), graph.NewID()
	node, _ := json.Marshal(graph.Node{ID: n, WorkflowID: wf, Type: "prompt", Position: graph.Position{X: 1}})
	flow, _ := json.Marshal(graph.Workflow{ID: wf, Name: "W", Viewport: graph.DefaultViewport})
	ops := []syncproto.Op{
		{ID: graph.NewID(), Entity: syncproto.EntityWorkflow, EntityID: wf, WorkflowID: wf, Kind: syncproto.OpCreate, Data: flow, Version: 1, UpdatedAt: 1},
		{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: n, WorkflowID: wf, Kind: syncproto.OpCreate, Data: node, Version: 1, UpdatedAt: 1},
		{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: n, WorkflowID: wf, Kind: syncproto.OpUpdate, Data: node, BaseVersion: 1, Version: 2, UpdatedAt: 2},
		{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: n, WorkflowID: wf, Kind: syncproto.OpDelete, BaseVersion: 0, Version: 1, UpdatedAt: 0},
		{ID: graph.NewID(), Entity: syncproto.EntityEdge, EntityID: wf, WorkflowID: wf, Kind: syncproto.OpDelete, Version: 5},
	}
	good, _ := json.Marshal(syncproto.PushRequest{Ops: ops})
	return [][]byte{
		good,
		bytes.Replace(good, []byte(`"version":2`), []byte(`"version":1`), 1),
		[]byte(`{"ops":[{"id":"x"}]}`),
		[]byte(`{"ops":[]}`),
		[]byte(`null`),
		[]byte(`{"ops":[` + strings.Repeat(`{},`, 3) + `{}]}`),
		[]byte(`{"ops":[{"data":{"a":[1,2,{"b":null}]}}]} `),
	}
}

// FuzzPush feeds push bodies through the decoding path the handler uses
// and, when one is accepted, applies it twice in memory: the second time
// must answer the same acks and change nothing.
func FuzzPush(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodePush(body)
		if err != nil {
			if req != nil {
				t.Fatal("a refused body came with a request")
			}
			return
		}
		for _, op := range req.Ops {
			if err := op.Validate(); err != nil {
				t.Fatalf("accepted an invalid op: %v", err)
			}
		}
		tx := newMemTx()
		first, err := applyOps(tx, req.Ops, 0)
		var invalid *errs.ValidationError
		if errors.As(err, &invalid) {
			// Valid ops that cannot apply (a version past 2^53-1): the
			// batch is refused whole.
			if tx.seq != 0 || len(tx.acks) != 0 {
				t.Fatal("a refused batch was stored")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		seq := tx.seq
		again, err := applyOps(tx, req.Ops, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != len(req.Ops) || tx.seq != seq {
			t.Fatalf("%d acks for %d ops; replay moved seq from %d to %d", len(first), len(req.Ops), seq, tx.seq)
		}
		for i := range first {
			if !bytes.Equal(first[i], again[i]) {
				t.Fatalf("replayed ack %d: %s, first %s", i, again[i], first[i])
			}
			var a syncproto.Ack
			if err := json.Unmarshal(first[i], &a); err != nil || a.OpID != req.Ops[i].ID {
				t.Fatalf("ack %d: %s (%v)", i, first[i], err)
			}
		}
	})
}

func TestDecodePushErrors(t *testing.T) {
	for _, b := range []string{`{`, `[]`, `{"ops":[]}`, `{"ops":[{"id":"x"}]}`, `{"ops":null} x`} {
		if _, err := decodePush([]byte(b)); err == nil {
			t.Errorf("decodePush(%s) accepted it", b)
		}
	}
	_, err := decodePush(fuzzSeeds()[1])
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("an invalid op: %v, want ErrInvalid", err)
	}
}

func TestVerifier(t *testing.T) {
	content := bytes.Repeat([]byte("abc"), 10_000)
	var sum [32]byte
	copy(sum[:], sha(content))
	for _, tc := range []struct {
		name string
		body []byte
		size int64
		want error
	}{
		{"exact", content, int64(len(content)), nil},
		{"one more", append(append([]byte(nil), content...), 'x'), int64(len(content)), ErrBlobTooLarge},
		{"one less", content[1:], int64(len(content)), ErrBlobMismatch},
		{"other bytes", bytes.Repeat([]byte("abd"), 10_000), int64(len(content)), ErrBlobMismatch},
		{"declared smaller", content, 10, ErrBlobTooLarge},
	} {
		var out bytes.Buffer
		_, err := out.ReadFrom(newVerifier(bytes.NewReader(tc.body), sum, tc.size))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == nil && !bytes.Equal(out.Bytes(), content) {
			t.Errorf("%s: passed %d bytes through", tc.name, out.Len())
		}
		if int64(out.Len()) > tc.size {
			t.Errorf("%s: passed %d bytes, more than the %d declared", tc.name, out.Len(), tc.size)
		}
	}
}

func sha(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// TestSeqBound runs a batch on a workspace whose sequence numbers are used
// up: it is refused as invalid, with nothing stored.
func TestSeqBound(t *testing.T) {
	tx := newMemTx()
	tx.seq = syncproto.MaxSafeInt - 1
	wf, a, b := graph.NewID(), graph.NewID(), graph.NewID()
	data := func(id string) json.RawMessage {
		d, _ := json.Marshal(graph.Node{ID: id, WorkflowID: wf, Type: "prompt"})
		return d
	}
	op := func(id string) syncproto.Op {
		return syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: wf,
			Kind: syncproto.OpCreate, Data: data(id), Version: 1}
	}
	if _, err := applyOps(tx, []syncproto.Op{op(a)}, 0); err != nil {
		t.Fatalf("the last seq: %v", err)
	}
	_, err := applyOps(tx, []syncproto.Op{op(b)}, 0)
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a seq past 2^53-1: %v", err)
	}
	if tx.seq != syncproto.MaxSafeInt || tx.entities[b] != nil {
		t.Fatal("the refused batch was stored")
	}
}

// The GC side of Tx, which applyOps uses only to clear marks.

func (m *memTx) Horizon() int64 { return 0 }

func (m *memTx) Live(after int64, fn func(*syncproto.Change) error) error {
	for _, c := range m.entities {
		if c.Seq > after && !c.Deleted {
			if err := fn(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memTx) Blobs() ([]BlobInfo, error)                 { return nil, nil }
func (m *memTx) OldAcks(before int64) (int64, int64, error) { return 0, 0, nil }
func (m *memTx) TouchBlobs(hashes []string) error           { return nil }
func (m *memTx) MarkBlobs(hashes []string, at int64) error  { return nil }
func (m *memTx) DeleteBlobs(hashes []string) error          { return nil }
func (m *memTx) CompactAcks(before int64) (int64, error)    { return 0, nil }
