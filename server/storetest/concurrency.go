package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

// testConcurrent pushes conflicting ops to one workspace from many
// goroutines through two servers on two handles of the database, as two
// server processes would, then replays everything the same way.
func testConcurrent(t *testing.T, open Opener) {
	const goroutines, batches, perBatch = 12, 4, 8
	e := newEnv(t, open)
	second := open(t)
	defer second.Close()
	h2, err := server.New(second, e.blobs, &e.opts)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()

	rng := rand.New(rand.NewSource(3))
	wf := graph.NewID()
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = graph.NewID()
	}
	ops, winners := concurrentOps(rng, wf, ids, goroutines*batches*perBatch)
	rng.Shuffle(len(ops), func(a, b int) { ops[a], ops[b] = ops[b], ops[a] })

	run := func() map[string]json.RawMessage {
		var mu sync.Mutex
		acks := map[string]json.RawMessage{}
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Go(func() {
				url := e.srv.URL
				if g%2 == 1 {
					url = srv2.URL
				}
				mine := ops[g*batches*perBatch : (g+1)*batches*perBatch]
				for b := 0; b < batches; b++ {
					batch := mine[b*perBatch : (b+1)*perBatch]
					raw, err := tryPush(url, "alpha", batch)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for i, a := range raw {
						acks[batch[i].ID] = a
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return acks
	}
	first := run()
	if t.Failed() {
		return
	}
	applied := 0
	for _, op := range ops {
		var a syncproto.Ack
		if err := json.Unmarshal(first[op.ID], &a); err != nil {
			t.Fatal(err)
		}
		switch a.Status {
		case syncproto.Applied:
			applied++
		case syncproto.Superseded:
			c := a.Current
			if !c.Deleted && !(syncproto.Stamp{At: c.UpdatedAt, Op: c.OpID}).After(syncproto.Stamp{At: op.UpdatedAt, Op: op.ID}) {
				t.Fatalf("op %s superseded by %+v, which does not win over it", op.ID, c)
			}
		default:
			t.Fatalf("ack %+v", a)
		}
	}
	checkWinners(t, e, "alpha", winners)
	// Seqs are assigned without gaps: one per applied op.
	if got := head(t, e.store, "alpha"); got != int64(applied) {
		t.Fatalf("last seq %d after %d applied ops", got, applied)
	}

	again := run()
	for id, a := range first {
		if string(again[id]) != string(a) {
			t.Fatalf("replay of %s: %s, first %s", id, again[id], a)
		}
	}
	if got := head(t, e.store, "alpha"); got != int64(applied) {
		t.Fatalf("replay moved the seq to %d", got)
	}
}

var errTest = errors.New("test error")

// testTx checks the Store's transactions directly.
func testTx(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	wf, id := graph.NewID(), graph.NewID()
	change := func(seq int64) syncproto.Change {
		return syncproto.Change{Seq: seq, Entity: syncproto.EntityNode, EntityID: id, WorkflowID: wf, Version: seq, Proposed: seq,
			UpdatedAt: 5, OpID: graph.NewID(), Data: nodeData(wf, id, "n", seq, 5)}
	}
	c1 := change(1)
	ack := server.StoredAck{OpID: c1.OpID, JSON: []byte(`{"opId":"x", "status":"applied"}`)}

	// An error or a panic rolls everything back.
	err := s.Update(ctx, "alpha", func(tx server.Tx) error {
		if err := tx.Put([]syncproto.Change{c1}, []server.StoredAck{ack}); err != nil {
			return err
		}
		if tx.Seq() != 1 {
			t.Errorf("Seq after Put: %d", tx.Seq())
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		s.Update(ctx, "alpha", func(tx server.Tx) error {
			tx.Put([]syncproto.Change{c1}, []server.StoredAck{ack})
			panic("boom")
		})
	}()
	s.Update(ctx, "alpha", func(tx server.Tx) error {
		acks, err1 := tx.Acks([]string{c1.OpID})
		ents, err2 := tx.Entities([]string{id})
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if tx.Seq() != 0 || len(acks) != 0 || len(ents) != 0 {
			t.Fatalf("rolled back writes are visible: seq %d, %v, %v", tx.Seq(), acks, ents)
		}
		return nil
	})

	// Stored as given, byte for byte; deletions without data.
	del := change(2)
	del.Deleted, del.Data = true, nil
	if err := s.Update(ctx, "alpha", func(tx server.Tx) error {
		return tx.Put([]syncproto.Change{c1}, []server.StoredAck{ack})
	}); err != nil {
		t.Fatal(err)
	}
	s.Update(ctx, "alpha", func(tx server.Tx) error {
		acks, err := tx.Acks([]string{c1.OpID, graph.NewID()})
		if err != nil || len(acks) != 1 || string(acks[c1.OpID]) != string(ack.JSON) {
			t.Fatalf("Acks: %q, %v", acks, err)
		}
		ents, err := tx.Entities([]string{id, id, graph.NewID()})
		if err != nil || len(ents) != 1 || string(ents[id].Data) != string(c1.Data) || ents[id].Seq != 1 || ents[id].OpID != c1.OpID {
			t.Fatalf("Entities: %+v, %v", ents, err)
		}
		if err := tx.Put([]syncproto.Change{change(1)}, nil); err == nil {
			t.Error("Put accepted a seq not above Seq()")
		}
		return nil
	})
	err = s.Update(ctx, "alpha", func(tx server.Tx) error {
		return tx.Put(nil, []server.StoredAck{ack})
	})
	if err == nil {
		t.Fatal("an ack was stored twice")
	}
	if err := s.Update(ctx, "alpha", func(tx server.Tx) error { return tx.Put([]syncproto.Change{del}, nil) }); err != nil {
		t.Fatal(err)
	}
	got, more, err := s.Changes(ctx, "alpha", server.ChangesQuery{Limit: 10})
	if err != nil || more || len(got) != 1 || !got[0].Deleted || got[0].Data != nil || got[0].Seq != 2 {
		t.Fatalf("Changes: %+v, %v, %v", got, more, err)
	}

	// Blob records: per workspace, the first one kept.
	b := server.BlobInfo{Hash: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Size: 0, MIME: "text/plain", Created: 7}
	if _, err := s.Blob(ctx, "alpha", b.Hash); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Blob of nothing: %v", err)
	}
	if err := s.PutBlob(ctx, "alpha", b); err != nil {
		t.Fatal(err)
	}
	b2 := b
	b2.MIME, b2.Created = "image/png", 8
	if err := s.PutBlob(ctx, "alpha", b2); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Blob(ctx, "alpha", b.Hash); err != nil || got != b {
		t.Fatalf("Blob: %+v, %v; want %+v", got, err, b)
	}
	if _, err := s.Blob(ctx, "beta", b.Hash); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("beta's Blob: %v", err)
	}
	if m, err := s.MissingBlobs(ctx, "alpha", nil); err != nil || len(m) != 0 {
		t.Fatalf("MissingBlobs of nothing: %v, %v", m, err)
	}
}

func testClosed(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Close() // twice is fine
	results := []error{
		s.Update(ctx, "alpha", func(server.Tx) error { return nil }),
		s.PutBlob(ctx, "alpha", server.BlobInfo{Hash: "h"}),
	}
	_, _, err := s.Changes(ctx, "alpha", server.ChangesQuery{Limit: 1})
	results = append(results, err)
	_, err = s.Blob(ctx, "alpha", "h")
	results = append(results, err)
	_, err = s.MissingBlobs(ctx, "alpha", []string{"h"})
	results = append(results, err)
	for i, err := range results {
		if !errors.Is(err, errs.ErrClosed) {
			t.Errorf("call %d after Close: %v", i, err)
		}
	}
}

// tryPush pushes ops to ws at the server at base, for goroutines that
// must not call t.Fatal.
func tryPush(base, ws string, ops []syncproto.Op) ([]json.RawMessage, error) {
	body, err := json.Marshal(syncproto.PushRequest{Ops: ops})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest("POST", base+route(syncproto.RoutePush, ws), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tokenOf(ws))
	req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("push: %d %s", resp.StatusCode, b)
	}
	var r struct{ Acks []json.RawMessage }
	if err := json.Unmarshal(b, &r); err != nil || len(r.Acks) != len(ops) {
		return nil, fmt.Errorf("push response %s: %v", b, err)
	}
	return r.Acks, nil
}
