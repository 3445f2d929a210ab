//go:build js && wasm

package idb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbx"
)

// next is a test-only schema version after the library's latest.
var next = latest + 1

// reshape returns the library's migrations plus a test-only version next
// that reshapes node records: it adds an index on the node type
// (structural step) and copies each node's type from its body into a plain
// "type" property so the index sees it (data step). It also renames the
// body key "title" to "label", a reshaping of the body itself that the test
// can check record by record.
func reshape(dataErr func() error) []Migration {
	ms := append([]Migration(nil), migrations...)
	return append(ms, Migration{
		Version: next,
		Name:    "index nodes by type",
		Structure: func(s Schema) error {
			return s.CreateIndex(storeNodes, "type", "type", IndexOptions{})
		},
		Data: func(tx RecordTx) error {
			if dataErr != nil {
				if err := dataErr(); err != nil {
					return err
				}
			}
			recs, err := tx.Records(storeNodes)
			if err != nil {
				return err
			}
			for _, r := range recs {
				var body map[string]any
				if err := msgpack.Unmarshal(r.Body, &body); err != nil {
					return err
				}
				if _, done := r.Props["type"]; done {
					continue // idempotent: already migrated
				}
				r.Props["type"] = body["type"]
				if title, ok := body["title"]; ok {
					body["label"] = title
					delete(body, "title")
				}
				if r.Body, err = msgpack.Marshal(body); err != nil {
					return err
				}
				if err := tx.PutRecord(storeNodes, r); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// seed creates a database at the library's schema with two workflows of
// nodes and closes it.
func seed(t *testing.T, name string) map[string]graph.Node {
	t.Helper()
	ctx := testCtx(t)
	d, err := Open(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := map[string]graph.Node{}
	for i, wname := range []string{"first", "second"} {
		w, err := d.CreateWorkflow(ctx, wname)
		if err != nil {
			t.Fatal(err)
		}
		in := someNodes(20)
		for j := range in {
			in[j].Type = fmt.Sprintf("kind-%d", (i+j)%3)
			in[j].Title = fmt.Sprintf("title %d/%d", i, j)
		}
		nodes, err := d.SetNodes(ctx, w.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			want[n.ID] = n
		}
	}
	return want
}

// checkReshaped verifies every node record of a reshaped database against
// the seeded data.
func checkReshaped(t *testing.T, d *DB, want map[string]graph.Node) {
	t.Helper()
	err := d.View(testCtx(t), func(tx *Tx) error {
		recs, err := tx.Records(storeNodes)
		if err != nil {
			return err
		}
		if len(recs) != len(want) {
			return fmt.Errorf("%d node records, want %d", len(recs), len(want))
		}
		for _, r := range recs {
			id, _ := r.Props["id"].(string)
			n, ok := want[id]
			if !ok {
				return fmt.Errorf("unexpected record %q", id)
			}
			if r.Props["type"] != n.Type {
				return fmt.Errorf("node %s: type property %v, want %q", id, r.Props["type"], n.Type)
			}
			var body map[string]any
			if err := msgpack.Unmarshal(r.Body, &body); err != nil {
				return err
			}
			if _, still := body["title"]; still || body["label"] != n.Title {
				return fmt.Errorf("node %s: body not reshaped: %v", id, body)
			}
			if r.Props["workflowId"] != n.WorkflowID || r.Props["v"] != float64(n.Version) {
				return fmt.Errorf("node %s: other properties changed: %v", id, r.Props)
			}
		}
		// The new index answers queries.
		req, err := tx.tx.GetAllKeys(storeNodes, "type", "kind-1")
		if err != nil {
			return err
		}
		keys, err := req.Await(tx.ctx)
		if err != nil {
			return err
		}
		wantKeys := 0
		for _, n := range want {
			if n.Type == "kind-1" {
				wantKeys++
			}
		}
		if keys.Length() != wantKeys {
			return fmt.Errorf("index type=kind-1 has %d keys, want %d", keys.Length(), wantKeys)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.schemaVersion(testCtx(t)); err != nil || v != next {
		t.Fatalf("schemaVersion = %d, %v; want %d", v, err, next)
	}
}

func TestMigrationReshapesRecords(t *testing.T) {
	name := dbName(t)
	defer dropDB(t, name)
	want := seed(t, name)
	d, err := open(testCtx(t), name, nil, reshape(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkReshaped(t, d, want)
}

// TestMigrationCrashBetweenPhases: the structural upgrade commits, then the
// tab dies before the data step; the next open finishes the job.
func TestMigrationCrashBetweenPhases(t *testing.T) {
	name := dbName(t)
	defer dropDB(t, name)
	want := seed(t, name)
	ctx := testCtx(t)

	crash := errors.New("simulated crash")
	testHookBeforeData = func() error { return crash }
	_, err := open(ctx, name, nil, reshape(nil))
	testHookBeforeData = nil
	if !errors.Is(err, crash) {
		t.Fatalf("open with crash hook: %v", err)
	}
	// The database is at version next structurally, with data behind.
	conn, err := idbx.Open(ctx, name, next, idbx.Hooks{Upgrade: func(*idbx.Upgrade) error {
		return errors.New("unexpected upgrade: the structural step did not commit")
	}})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()

	// A data step that fails is rolled back as a whole and retried later.
	_, err = open(ctx, name, nil, reshape(func() error { return crash }))
	if !errors.Is(err, crash) {
		t.Fatalf("open with failing data step: %v", err)
	}

	d, err := open(ctx, name, nil, reshape(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkReshaped(t, d, want)

	// Opening again runs nothing.
	ran := false
	d.Close()
	d2, err := open(ctx, name, nil, reshape(func() error { ran = true; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	d2.Close()
	if ran {
		t.Fatal("data step ran again on an up-to-date database")
	}
}

func TestUpgradeFailureLeavesOldVersion(t *testing.T) {
	name := dbName(t)
	defer dropDB(t, name)
	want := seed(t, name)
	broken := append([]Migration(nil), migrations...)
	broken = append(broken, Migration{Version: next, Name: "broken", Structure: func(s Schema) error {
		if err := s.CreateIndex(storeNodes, "type", "type", IndexOptions{}); err != nil {
			return err
		}
		return s.CreateIndex("no-such-store", "x", "x", IndexOptions{})
	}})
	_, err := open(testCtx(t), name, nil, broken)
	if err == nil {
		t.Fatal("open with a failing structural step succeeded")
	}
	// Still at the old version, data intact, and the library opens it.
	d, err := Open(testCtx(t), name, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer d.Close()
	if v := d.conn.Version(); v != latest {
		t.Fatalf("version %d after failed upgrade", v)
	}
	n := len(want)
	err = d.View(testCtx(t), func(tx *Tx) error {
		recs, err := tx.Records(storeNodes)
		if len(recs) != n {
			return fmt.Errorf("%d nodes after failed upgrade, want %d", len(recs), n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	name := dbName(t)
	defer dropDB(t, name)
	d, err := open(testCtx(t), name, nil, reshape(nil))
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = Open(testCtx(t), name, nil)
	if !errors.Is(err, errs.ErrSchemaTooNew) {
		t.Fatalf("opening a newer database: %v", err)
	}
}

// TestVersionChangeClosesAndTells: a newer schema opened elsewhere closes
// this store at once (the upgrade is not blocked) and tells the app.
func TestVersionChangeClosesAndTells(t *testing.T) {
	name := dbName(t)
	defer dropDB(t, name)
	ctx := testCtx(t)
	told := make(chan VersionChange, 1)
	blocked := make(chan Blocked, 1)
	old, err := Open(ctx, name, &Options{OnVersionChange: func(v VersionChange) { told <- v }})
	if err != nil {
		t.Fatal(err)
	}
	w, err := old.CreateWorkflow(ctx, "before upgrade")
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	newer, err := open(ctx, name, &Options{OnBlocked: func(b Blocked) { blocked <- b }}, reshape(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer newer.Close()
	t.Logf("upgrade with an open older connection took %v", time.Since(start))
	select {
	case v := <-told:
		if v.OldVersion != latest || v.NewVersion != next {
			t.Fatalf("told %+v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnVersionChange not called")
	}
	select {
	case b := <-blocked:
		t.Fatalf("upgrade was blocked (%+v) although the old store closes itself", b)
	default:
	}
	_, err = old.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new("after")})
	if !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("write to the closed store: %v", err)
	}
	if _, err := old.ListWorkflows(ctx); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("read from the closed store: %v", err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	// The new store has the data.
	g, err := newer.LoadWorkflow(ctx, w.ID)
	if err != nil || g.Workflow.Name != "before upgrade" {
		t.Fatalf("after upgrade: %+v, %v", g.Workflow, err)
	}
}

// TestOpenBlockedThenCompletes: a connection that ignores versionchange (an
// old tab running other code) blocks the upgrade; Open says so, keeps
// waiting, and completes once that connection closes.
func TestOpenBlockedThenCompletes(t *testing.T) {
	name := dbName(t)
	defer dropDB(t, name)
	ctx := testCtx(t)
	seed(t, name)

	stubborn := rawOpen(t, name)
	blocked := make(chan Blocked, 1)
	type result struct {
		d   *DB
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := open(ctx, name, &Options{OnBlocked: func(b Blocked) { blocked <- b }}, reshape(nil))
		done <- result{d, err}
	}()
	select {
	case b := <-blocked:
		if b.OldVersion != latest || b.NewVersion != next {
			t.Fatalf("blocked %+v", b)
		}
	case r := <-done:
		t.Fatalf("open finished while blocked: %v", r.err)
	case <-time.After(5 * time.Second):
		t.Fatal("OnBlocked not called")
	}
	select {
	case r := <-done:
		t.Fatalf("open finished while still blocked: %v", r.err)
	case <-time.After(100 * time.Millisecond):
	}
	stubborn.Call("close")
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.d.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("open did not complete after the blocker closed")
	}

	// With a blocker that never closes, Open gives up when its context ends.
	stubborn = rawOpen(t, name)
	defer stubborn.Call("close")
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	later := append(reshape(nil), Migration{Version: next + 1, Name: "noop", Structure: func(Schema) error { return nil }})
	if _, err := open(short, name, nil, later); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked open with deadline: %v", err)
	}
}

// rawOpen opens a plain IndexedDB connection that ignores versionchange.
func rawOpen(t *testing.T, name string) js.Value {
	t.Helper()
	req := js.Global().Get("indexedDB").Call("open", name)
	ch := make(chan js.Value, 1)
	var ok js.Func
	ok = js.FuncOf(func(js.Value, []js.Value) any {
		ok.Release()
		ch <- req.Get("result")
		return nil
	})
	req.Set("onsuccess", ok)
	select {
	case db := <-ch:
		return db
	case <-time.After(5 * time.Second):
		t.Fatal("raw open timed out")
		return js.Undefined()
	}
}

func TestRecordsBodiesAreMsgpack(t *testing.T) {
	// The documented record layout: plain properties plus a msgpack body
	// that generic tools decode.
	d := newDB(t, nil)
	w := mustWorkflow(t, d, "Layout")
	err := d.View(testCtx(t), func(tx *Tx) error {
		recs, err := tx.Records(storeWorkflows)
		if err != nil {
			return err
		}
		if len(recs) != 1 {
			return fmt.Errorf("%d records", len(recs))
		}
		var body map[string]any
		if err := msgpack.NewDecoder(bytes.NewReader(recs[0].Body)).Decode(&body); err != nil {
			return err
		}
		if body["name"] != "Layout" || recs[0].Props["id"] != w.ID || recs[0].Props["v"] != float64(1) {
			return fmt.Errorf("record %v / %v", recs[0].Props, body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
