package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// memStore is a Store in memory for one workspace, whose Update works on
// a copy that replaces the state only on success, as a rollback would.
type memStore struct {
	mu sync.Mutex
	tx *memTx
}

func (m *memStore) Update(ctx context.Context, ws string, fn func(Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := m.tx.clone()
	if err := fn(tx); err != nil {
		return err
	}
	m.tx = tx
	return nil
}

func (m *memStore) View(ctx context.Context, ws string, fn func(View) error) error {
	m.mu.Lock()
	tx := m.tx.clone()
	m.mu.Unlock()
	return fn(tx)
}

func (m *memTx) clone() *memTx {
	c := &memTx{seq: m.seq, acks: maps.Clone(m.acks), entities: map[string]*syncproto.Change{}}
	for id, e := range m.entities {
		cc := *e
		c.entities[id] = &cc
	}
	return c
}

func (m *memStore) Changes(ctx context.Context, ws string, q ChangesQuery) ([]syncproto.Change, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []syncproto.Change
	for _, c := range m.tx.entities {
		if c.Seq > q.After {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b syncproto.Change) int { return int(a.Seq - b.Seq) })
	return out, false, nil
}

func (m *memStore) MissingBlobs(ctx context.Context, ws string, hashes []string) ([]string, error) {
	return hashes, nil
}

func (m *memStore) Blob(ctx context.Context, ws, hash string) (BlobInfo, error) {
	return BlobInfo{}, errs.ErrNotFound
}

func (m *memStore) PutBlob(ctx context.Context, ws string, b BlobInfo) error { return nil }
func (m *memStore) Close() error                                             { return nil }

type noBlobs struct{}

func (noBlobs) Put(context.Context, [32]byte, io.Reader) error { return errs.ErrInvalid }
func (noBlobs) Open(context.Context, [32]byte) (io.ReadSeekCloser, error) {
	return nil, errs.ErrNotFound
}

// Fixed ids, so that a corpus can name the entities a fuzzed store holds.
const (
	fzFlow  = "01900000-0000-7000-8000-000000000001"
	fzNodeA = "01900000-0000-7000-8000-00000000000a"
	fzNodeB = "01900000-0000-7000-8000-00000000000b"
	fzEdge  = "01900000-0000-7000-8000-0000000000e0"
	fzTop   = "01900000-0000-7000-8000-0000000000f0" // an edge at the largest version
)

func fzID(n int) string { return fmt.Sprintf("01900000-0000-7000-8000-%012x", 0x1000+n) }

// fuzzStore holds a workflow with two nodes, an edge between them and
// another at version MaxSafeInt, so that fuzzed pushes reach updates,
// cascades and the version bound.
func fuzzStore(tb testing.TB) *memStore {
	m := &memStore{tx: newMemTx()}
	node := func(id string) json.RawMessage {
		b, _ := json.Marshal(graph.Node{ID: id, WorkflowID: fzFlow, Type: "prompt"})
		return b
	}
	edge := func(id string) json.RawMessage {
		b, _ := json.Marshal(graph.Edge{ID: id, WorkflowID: fzFlow, Source: fzNodeA, Target: fzNodeB})
		return b
	}
	flow, _ := json.Marshal(graph.Workflow{ID: fzFlow, Name: "W", Viewport: graph.DefaultViewport})
	ops := []syncproto.Op{
		{ID: fzID(1), Entity: syncproto.EntityWorkflow, EntityID: fzFlow, WorkflowID: fzFlow, Kind: syncproto.OpCreate, Data: flow, Version: 1},
		{ID: fzID(2), Entity: syncproto.EntityNode, EntityID: fzNodeA, WorkflowID: fzFlow, Kind: syncproto.OpCreate, Data: node(fzNodeA), Version: 1},
		{ID: fzID(3), Entity: syncproto.EntityNode, EntityID: fzNodeB, WorkflowID: fzFlow, Kind: syncproto.OpCreate, Data: node(fzNodeB), Version: 3},
		{ID: fzID(4), Entity: syncproto.EntityEdge, EntityID: fzEdge, WorkflowID: fzFlow, Kind: syncproto.OpCreate, Data: edge(fzEdge), Version: 1},
		{ID: fzID(5), Entity: syncproto.EntityEdge, EntityID: fzTop, WorkflowID: fzFlow, Kind: syncproto.OpCreate, Data: edge(fzTop), Version: syncproto.MaxSafeInt},
	}
	if _, err := applyOps(m.tx, ops, 0); err != nil {
		tb.Fatal(err)
	}
	return m
}

func handlerFuzzSeeds() [][]byte {
	op := func(entity, id, kind string, base, version int64, data string) string {
		s := fmt.Sprintf(`{"id":%q,"entity":%q,"entityId":%q,"workflowId":%q,"kind":%q,"baseVersion":%d,"version":%d,"updatedAt":5`,
			fzID(100+int(version%50)), entity, id, fzFlow, kind, base, version)
		if data != "" {
			s += `,"data":` + data
		}
		return s + "}"
	}
	node := func(id, title string) string {
		return fmt.Sprintf(`{"id":%q,"workflowId":%q,"type":"prompt","title":%q}`, id, fzFlow, title)
	}
	push := func(ops ...string) []byte { return []byte(`{"ops":[` + strings.Join(ops, ",") + `]}`) }
	seeds := [][]byte{
		push(op("node", fzNodeA, "update", 1, 2, node(fzNodeA, "moved"))),
		push(op("node", fzNodeB, "delete", 3, 4, "")),    // buries the edge at the top: refused
		push(op("node", fzNodeA, "delete", 1, 2, "")),    // likewise
		push(op("edge", fzEdge, "delete", 1, 2, "")),     // fine
		push(op("workflow", fzFlow, "delete", 1, 2, "")), // buries everything
		push(op("node", fzID(7), "create", 0, 1, node(fzID(7), "new")), op("node", fzNodeA, "update", 0, 1, node(fzNodeA, "stale"))),
		push(op("node", fzID(8), "create", 0, 1, `{"id":"`+fzID(8)+`","workflowId":"`+fzFlow+`","type":"prompt","title":"\ud800"}`)),
		push(op("node", fzID(9), "create", 0, 1, `{"id":"`+fzID(9)+`","workflowId":"`+fzFlow+`","type":"prompt","title":"\ud83d\ude00 ok"}`)),
		push(op("node", fzID(10), "create", 0, 9007199254740991, node(fzID(10), "top"))),
		push(op("node", fzID(11), "create", 0, 9007199254740992, node(fzID(11), "past the top"))),
		push(op("edge", fzTop, "update", 0, 9007199254740991, `{"id":"`+fzTop+`","workflowId":"`+fzFlow+`","source":"`+fzNodeA+`","target":"`+fzNodeB+`"}`)),
		[]byte("{\"ops\":[{\"id\":\"\xff\"}]}"),
		[]byte(`{"ops":`),
	}
	seeds = append(seeds, bytes.Replace(seeds[0], []byte("moved"), []byte("mo\xffved"), 1))
	return append(seeds, fuzzSeeds()...)
}

// FuzzPushHandler posts fuzzed bodies to the push route of a Server over
// a store holding a small graph: the answer is never a 500, is JSON of
// the protocol's shape, a refused push stores nothing, an accepted one
// stores only text that decodes to what it says and versions within
// MaxSafeInt, and its replay answers the same bytes and stores nothing.
func FuzzPushHandler(f *testing.F) {
	for _, s := range handlerFuzzSeeds() {
		f.Add(s)
	}
	tokens, err := NewTokens(map[string]string{"tok": "ws"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		store := fuzzStore(t)
		s, err := New(store, noBlobs{}, &Options{Tokens: tokens, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		post := func() (int, []byte) {
			r := httptest.NewRequest("POST", strings.Replace(syncproto.RoutePush, "{ws}", "ws", 1), bytes.NewReader(body))
			r.Header.Set("Authorization", "Bearer tok")
			r.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			return w.Code, w.Body.Bytes()
		}
		before := store.tx.clone()
		status, answer := post()
		switch status {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			var e syncproto.ErrorResponse
			if err := json.Unmarshal(answer, &e); err != nil || e.Code == "" || e.Error == "" {
				t.Fatalf("%d answered %q", status, answer)
			}
			if store.tx.seq != before.seq || len(store.tx.acks) != len(before.acks) || !maps.EqualFunc(store.tx.entities, before.entities,
				func(a, b *syncproto.Change) bool { return a.Seq == b.Seq }) {
				t.Fatalf("a refused push (%d %s) changed the store", status, answer)
			}
			return
		default:
			t.Fatalf("status %d: %s", status, answer)
		}

		var resp syncproto.PushResponse
		if err := json.Unmarshal(answer, &resp); err != nil {
			t.Fatalf("answer %q: %v", answer, err)
		}
		req, err := decodePush(body)
		if err != nil || len(resp.Acks) != len(req.Ops) {
			t.Fatalf("accepted a body decodePush refuses (%v), or %d acks for it", err, len(resp.Acks))
		}
		if store.tx.seq > syncproto.MaxSafeInt {
			t.Fatalf("seq %d", store.tx.seq)
		}
		for id, c := range store.tx.entities {
			if c.Version < 1 || c.Version > syncproto.MaxSafeInt {
				t.Fatalf("stored %s at version %d", id, c.Version)
			}
			if before.entities[id] != nil && before.entities[id].Seq == c.Seq {
				continue
			}
			if !utf8.Valid(c.Data) || syncproto.CheckText(c.Data) != nil {
				t.Fatalf("stored data %q", c.Data)
			}
			// Text that decodes with U+FFFD in it said so itself.
			var v any
			if err := json.Unmarshal(c.Data, &v); !c.Deleted && err != nil {
				t.Fatalf("stored data %q: %v", c.Data, err)
			}
			if d, _ := json.Marshal(v); bytes.Contains(d, []byte("\ufffd")) &&
				!bytes.Contains(bytes.ToLower(c.Data), []byte(`\ufffd`)) && !bytes.Contains(c.Data, []byte("\ufffd")) {
				t.Fatalf("stored data %q decodes with U+FFFD", c.Data)
			}
		}
		seq := store.tx.seq
		again, replay := post()
		if again != http.StatusOK || !bytes.Equal(replay, answer) || store.tx.seq != seq {
			t.Fatalf("replay: %d %s, first %s; seq %d, was %d", again, replay, answer, store.tx.seq, seq)
		}
	})
}

func (m *memStore) Workspaces(ctx context.Context) ([]string, error)             { return nil, nil }
func (m *memStore) HoldBlob(ctx context.Context, hash string, until int64) error { return nil }
func (m *memStore) Holds(ctx context.Context, before int64) ([]BlobHold, error) {
	return nil, nil
}
func (m *memStore) DropBytes(ctx context.Context, hash string, before int64, drop func(context.Context) error) (bool, error) {
	return false, nil
}

func (noBlobs) Delete(context.Context, [32]byte) error { return nil }
