package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// gatedStore is a memStore whose first Update waits for a signal, so
// that pushes queue up behind it.
type gatedStore struct {
	*memStore
	gate    chan struct{}
	mu      sync.Mutex
	updates int
}

func (g *gatedStore) Update(ctx context.Context, ws string, fn func(Tx) error) error {
	g.mu.Lock()
	g.updates++
	first := g.updates == 1
	g.mu.Unlock()
	if first {
		<-g.gate
	}
	return g.memStore.Update(ctx, ws, fn)
}

// TestGroupCommit queues pushes to one workspace behind a slow one: they
// are committed in one transaction, an op id in two of them gets one ack,
// and the push that cannot apply fails alone with nothing of it stored.
func TestGroupCommit(t *testing.T) {
	store := &gatedStore{memStore: fuzzStore(t), gate: make(chan struct{})}
	s, err := New(store, noBlobs{}, &Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	node := func(title string) syncproto.Op {
		id := graph.NewID()
		data, _ := json.Marshal(graph.Node{ID: id, WorkflowID: fzFlow, Type: "prompt", Title: title})
		return syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: fzFlow,
			Kind: syncproto.OpCreate, Data: data, Version: 1}
	}
	first, a, d := node("first"), node("a"), node("d")
	shared := node("in two pushes")
	// Deleting node B would bury the edge at the largest version.
	overflow := syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: fzNodeB, WorkflowID: fzFlow,
		Kind: syncproto.OpDelete, BaseVersion: 3, Version: 4}
	pushes := [][]syncproto.Op{{first}, {a, shared}, {shared, node("b")}, {node("c"), overflow}, {d}}

	type answer struct {
		acks [][]byte
		err  error
	}
	answers := make([]answer, len(pushes))
	var wg sync.WaitGroup
	wg.Go(func() { answers[0].acks, answers[0].err = s.apply(context.Background(), "ws", pushes[0]) })
	time.Sleep(20 * time.Millisecond) // the first push holds the store
	for i := 1; i < len(pushes); i++ {
		wg.Go(func() { answers[i].acks, answers[i].err = s.apply(context.Background(), "ws", pushes[i]) })
	}
	for { // all queued
		s.groups.mu.Lock()
		n := len(s.groups.queues["ws"])
		s.groups.mu.Unlock()
		if n == len(pushes)-1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(store.gate)
	wg.Wait()

	if store.updates != 2 {
		t.Fatalf("%d transactions for a push and a group", store.updates)
	}
	for i, ans := range answers {
		if i == 3 {
			if !errors.Is(ans.err, errs.ErrInvalid) || ans.acks != nil {
				t.Fatalf("the push past the largest version: %v", ans.err)
			}
			continue
		}
		if ans.err != nil || len(ans.acks) != len(pushes[i]) {
			t.Fatalf("push %d: %d acks, %v", i, len(ans.acks), ans.err)
		}
	}
	if !bytes.Equal(answers[1].acks[1], answers[2].acks[0]) {
		t.Fatalf("one op in two pushes: acks %s and %s", answers[1].acks[1], answers[2].acks[0])
	}
	tx := store.memStore.tx
	for _, op := range []syncproto.Op{first, a, d, shared} {
		if tx.entities[op.EntityID] == nil || tx.acks[op.ID] == nil {
			t.Fatalf("op %s was not stored", op.ID)
		}
	}
	if tx.entities[pushes[3][0].EntityID] != nil || tx.acks[overflow.ID] != nil || tx.entities[fzNodeB].Deleted {
		t.Fatal("the refused push was stored")
	}
	if want := int64(5 + 5); tx.seq != want { // the graph, then first, a, shared, b, d
		t.Fatalf("seq %d, want %d", tx.seq, want)
	}
}

// TestEncodePull checks the hand-made pull page against encoding/json.
func TestEncodePull(t *testing.T) {
	for _, changes := range [][]syncproto.Change{
		nil,
		{
			{Seq: 1, Entity: syncproto.EntityNode, EntityID: fzNodeA, WorkflowID: fzFlow, Version: 2, Proposed: 2, UpdatedAt: 5, OpID: fzID(1),
				Data: json.RawMessage(`{"id":"x","title":"é \u2028 \"q\""}`), Overwrote: []string{fzID(0), "odd \"é😀\x01<\\\xff"}},
			{Seq: 3, Entity: syncproto.EntityEdge, EntityID: fzEdge, WorkflowID: fzFlow, Version: syncproto.MaxSafeInt, Proposed: 1, OpID: fzID(2), Deleted: true},
		},
	} {
		for _, more := range []bool{false, true} {
			got := encodePull(changes, 3, more)
			want := syncproto.PullResponse{Changes: changes, Cursor: 3, More: more}
			if want.Changes == nil {
				want.Changes = []syncproto.Change{}
			}
			var back syncproto.PullResponse
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("%s: %v", got, err)
			}
			b, _ := json.Marshal(want)
			var wantBack syncproto.PullResponse
			json.Unmarshal(b, &wantBack)
			if !reflect.DeepEqual(back, wantBack) {
				t.Fatalf("encodePull: %s\nwant %s", got, b)
			}
		}
	}
}
