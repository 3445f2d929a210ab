//go:build js && wasm

package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/live"
)

// S6: a change made in tab A, seen by a watcher (live.Live.WatchWorkflow) in
// tab B. The driver opens both tabs, sets up with S6.setup in A and
// S6.watch in B, then runs S6.update in A and reads S6.seen from B. Times
// are performance.timeOrigin + performance.now(), a clock the tabs of one
// browser share.

var s6 struct {
	mu   sync.Mutex
	db   *idb.DB
	seen map[string]float64 // position x -> when B's watcher first saw it
}

func s6Open(ctx context.Context, name string) (*idb.DB, error) {
	s6.mu.Lock()
	defer s6.mu.Unlock()
	if s6.db != nil {
		return s6.db, nil
	}
	db, err := idb.Open(ctx, name, nil)
	if err != nil {
		return nil, err
	}
	s6.db = db
	return db, nil
}

func key(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// s6Setup (tab A) creates the workflow with one node.
func s6Setup(ctx context.Context, o Options) (map[string]string, error) {
	if _, err := call(ctx, "dropDB", o.Name); err != nil {
		return nil, err
	}
	db, err := s6Open(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	w, err := db.CreateWorkflow(ctx, "bench tabs")
	if err != nil {
		return nil, err
	}
	nodes, err := db.SetNodes(ctx, w.ID, makeNodes(w.ID, 10))
	if err != nil {
		return nil, err
	}
	return map[string]string{"wf": w.ID, "node": nodes[3].ID}, nil
}

// s6Watch (tab B) starts watching the workflow and records when each
// position of the node first shows up in a snapshot.
func s6Watch(ctx context.Context, o Options) (string, error) {
	db, err := s6Open(ctx, o.Name)
	if err != nil {
		return "", err
	}
	w, err := live.New(db, nil).WatchWorkflow(context.Background(), o.WF)
	if err != nil {
		return "", err
	}
	first := <-w.C
	if first.Err != nil {
		return "", first.Err
	}
	s6.mu.Lock()
	s6.seen = map[string]float64{}
	s6.mu.Unlock()
	go func() {
		for snap := range w.C {
			at := perfNow()
			for _, n := range snap.Graph.Nodes {
				if n.ID != o.Node {
					continue
				}
				k := key(n.Position.X)
				s6.mu.Lock()
				if _, ok := s6.seen[k]; !ok {
					s6.seen[k] = at
				}
				s6.mu.Unlock()
			}
		}
	}()
	return "watching", nil
}

// s6Update (tab A) moves the node o.Samples times, o.GapMS apart, to
// positions o.Key+1, o.Key+2, ...; it returns when each call started and
// when it returned (after the commit).
func s6Update(ctx context.Context, o Options) (map[string]map[string]float64, error) {
	db, err := s6Open(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	sent, acked := map[string]float64{}, map[string]float64{}
	for i := 1; i <= o.Samples; i++ {
		x := o.Key + float64(i)
		pos := graph.Position{X: x, Y: 0}
		t0 := perfNow()
		if _, err := db.UpdateNode(ctx, o.WF, o.Node, graph.NodePatch{Position: &pos, Size: nil}); err != nil {
			return nil, err
		}
		t1 := perfNow()
		sent[key(x)], acked[key(x)] = t0, t1
		if err := sleep(ctx, time.Duration(o.GapMS*float64(time.Millisecond))); err != nil {
			return nil, err
		}
	}
	return map[string]map[string]float64{"sent": sent, "acked": acked}, nil
}

// s6Seen (tab B) returns what the watcher has seen so far.
func s6Seen() map[string]float64 {
	s6.mu.Lock()
	defer s6.mu.Unlock()
	out := make(map[string]float64, len(s6.seen))
	for k, v := range s6.seen {
		out[k] = v
	}
	return out
}
