//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
)

// Workflow scenarios: S1 (write 10k nodes), S2 (one position update until
// committed), S3 (load 10k nodes). The library writes to its own database,
// raw JavaScript and Dexie to theirs, each with the same layout an app
// would use (one object per node, an index on workflowId).

// makeNodes returns n realistic nodes of workflow wf with fresh ids, about
// 450 bytes each as JSON: ids, type, title, status, position, size and a
// model configuration.
func makeNodes(wf string, n int) []graph.Node {
	now := time.Now().UnixMilli()
	nodes := make([]graph.Node, n)
	for i := range nodes {
		nodes[i] = graph.Node{
			ID:         graph.NewID(),
			WorkflowID: wf,
			Type:       "image-generation",
			Title:      fmt.Sprintf("Render pass %d", i),
			Status:     "idle",
			Position:   graph.Position{X: float64(i%100) * 260, Y: float64(i/100) * 180.5},
			Size:       &graph.Size{Width: 240, Height: 160},
			Config:     json.RawMessage(fmt.Sprintf(`{"model":"sdxl-1.0","prompt":"a lighthouse on a cliff at dusk, volumetric light, %d","negative":"blurry, low quality","steps":30,"cfg":7.5,"seed":%d,"sampler":"dpmpp_2m"}`, i, 1000+i)),
			UpdatedAt:  now,
			Version:    1,
		}
	}
	return nodes
}

// jsNodes returns the same nodes as plain JavaScript objects, as a page
// without the library would hold them.
func jsNodes(nodes []graph.Node) (js.Value, int, error) {
	b, err := json.Marshal(nodes)
	if err != nil {
		return js.Undefined(), 0, err
	}
	return js.Global().Get("JSON").Call("parse", string(b)), len(b) / max(len(nodes), 1), nil
}

// contenders opens the three databases of a workflow scenario.
type contenders struct {
	lib   *idb.DB
	raw   js.Value
	dexie js.Value
}

func openContenders(ctx context.Context, prefix string, withDexie bool) (*contenders, error) {
	for _, s := range []string{"-lib", "-raw", "-dexie"} {
		if _, err := call(ctx, "dropDB", prefix+s); err != nil {
			return nil, err
		}
	}
	c := &contenders{}
	var err error
	if c.lib, err = idb.Open(ctx, prefix+"-lib", nil); err != nil {
		return nil, err
	}
	if c.raw, err = call(ctx, "rawOpen", prefix+"-raw"); err != nil {
		return nil, err
	}
	if withDexie {
		if c.dexie, err = call(ctx, "dexieOpen", prefix+"-dexie"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *contenders) close() {
	c.lib.Close()
	c.raw.Call("close")
	if c.dexie.Truthy() {
		c.dexie.Call("close")
	}
}

// s1 writes o.N new nodes of one workflow in one call: the library's
// SetNodes, raw JavaScript's put loop in one transaction, Dexie's bulkPut.
// Every contender writes the same nodes, each into a database of its own
// that is created afresh (untimed) for every iteration, so every write
// starts from the same state: an empty store, no deleted records left for
// the database to skip or compact.
func s1(ctx context.Context, o Options) (*Result, error) {
	res := newResult()
	for i := -1; i < o.Runs; i++ { // i = -1 warms up
		if err := s1Once(ctx, o, i, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// s1Once is one iteration of s1 (i < 0: warm-up, not recorded).
func s1Once(ctx context.Context, o Options, i int, res *Result) error {
	c, err := openContenders(ctx, "bench-s1", true)
	if err != nil {
		return err
	}
	defer c.close()
	w, err := c.lib.CreateWorkflow(ctx, "bench")
	if err != nil {
		return err
	}
	nodes := makeNodes(w.ID, o.N)
	objs, size, err := jsNodes(nodes)
	if err != nil {
		return err
	}
	res.Info["recordBytes"] = size
	for _, who := range order(i+1, "library", "raw", "dexie") {
		var t float64
		switch who {
		case "library":
			t0 := time.Now()
			out, err := c.lib.SetNodes(ctx, w.ID, nodes)
			t = ms(t0)
			if err != nil {
				return err
			}
			if len(out) != o.N {
				return fmt.Errorf("SetNodes stored %d nodes, want %d", len(out), o.N)
			}
		case "raw":
			if t, err = timed(ctx, "rawPutAll", c.raw, objs); err != nil {
				return err
			}
		case "dexie":
			if t, err = timed(ctx, "dexiePutAll", c.dexie, objs); err != nil {
				return err
			}
		}
		if i >= 0 {
			res.add(who, i, t)
		}
	}
	g, err := c.lib.LoadWorkflow(ctx, w.ID)
	if err != nil {
		return err
	}
	if len(g.Nodes) != o.N {
		return fmt.Errorf("the library holds %d nodes, want %d", len(g.Nodes), o.N)
	}
	for _, db := range []js.Value{c.raw, c.dexie} {
		n, err := call(ctx, "count", db)
		if err != nil {
			return err
		}
		if n.Int() != o.N {
			return fmt.Errorf("a baseline stored %d nodes, want %d", n.Int(), o.N)
		}
	}
	return nil
}

// s2 moves one node of a 100-node workflow and waits until the change is
// committed, one update at a time (what a drag sees): the library's
// UpdateNode (a move) against a raw put of the node's object in its own
// transaction. The two alternate update by update.
func s2(ctx context.Context, o Options) (*Result, error) {
	c, err := openContenders(ctx, "bench-s2", false)
	if err != nil {
		return nil, err
	}
	defer c.close()
	w, err := c.lib.CreateWorkflow(ctx, "bench")
	if err != nil {
		return nil, err
	}
	nodes, err := c.lib.SetNodes(ctx, w.ID, makeNodes(w.ID, 100))
	if err != nil {
		return nil, err
	}
	objs, _, err := jsNodes(nodes)
	if err != nil {
		return nil, err
	}
	if _, err := timed(ctx, "rawPutAll", c.raw, objs); err != nil {
		return nil, err
	}
	id, obj := nodes[42].ID, objs.Index(42)
	res := newResult()
	const warm = 20
	for i := -warm; i < o.Runs*o.Samples; i++ {
		run := -1
		if i >= 0 {
			run = i / o.Samples
		}
		x := float64(i + warm + 1)
		for _, who := range order(i+warm, "library", "raw") {
			var t float64
			if who == "library" {
				pos := graph.Position{X: x, Y: 7}
				t0 := time.Now()
				n, err := c.lib.UpdateNode(ctx, w.ID, id, graph.NodePatch{Position: &pos, Size: nil})
				t = ms(t0)
				if err != nil {
					return nil, err
				}
				if n.Position.X != x {
					return nil, fmt.Errorf("stored position %v, want %v", n.Position.X, x)
				}
			} else if t, err = timed(ctx, "rawMoveOne", c.raw, obj, x); err != nil {
				return nil, err
			}
			if run >= 0 {
				res.add(who, run, t)
			}
		}
	}
	return res, nil
}

// s3 loads a workflow of o.N nodes: the library's LoadWorkflow into Go
// structs, raw JavaScript's index getAll into JavaScript objects, Dexie's
// where("workflowId").equals(id).toArray().
func s3(ctx context.Context, o Options) (*Result, error) {
	c, err := openContenders(ctx, "bench-s3", true)
	if err != nil {
		return nil, err
	}
	defer c.close()
	w, err := c.lib.CreateWorkflow(ctx, "bench")
	if err != nil {
		return nil, err
	}
	nodes := makeNodes(w.ID, o.N)
	if _, err := c.lib.SetNodes(ctx, w.ID, nodes); err != nil {
		return nil, err
	}
	objs, size, err := jsNodes(nodes)
	if err != nil {
		return nil, err
	}
	if _, err := timed(ctx, "rawPutAll", c.raw, objs); err != nil {
		return nil, err
	}
	if _, err := timed(ctx, "dexiePutAll", c.dexie, objs); err != nil {
		return nil, err
	}
	objs = js.Undefined()
	res := newResult()
	res.Info["recordBytes"] = size
	for i := -1; i < o.Runs; i++ {
		for _, who := range order(i+1, "library", "raw", "dexie") {
			var t float64
			switch who {
			case "library":
				t0 := time.Now()
				g, err := c.lib.LoadWorkflow(ctx, w.ID)
				t = ms(t0)
				if err != nil {
					return nil, err
				}
				if len(g.Nodes) != o.N {
					return nil, fmt.Errorf("LoadWorkflow gave %d nodes, want %d", len(g.Nodes), o.N)
				}
			case "raw":
				t, err = timed(ctx, "rawLoad", c.raw, w.ID, o.N)
			case "dexie":
				t, err = timed(ctx, "dexieLoad", c.dexie, w.ID, o.N)
			}
			if err != nil {
				return nil, err
			}
			if i >= 0 {
				res.add(who, i, t)
			}
		}
	}
	return res, nil
}
