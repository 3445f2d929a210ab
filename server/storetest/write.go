package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

func ptr[T any](v T) *T { return &v }

// Server code writes through Workspace: a node update on the latest state
// that clients pull like their own, idempotent by op id, refused whole
// when invalid; raw ops through Apply, validated like a push.
func testServerWrites(t *testing.T, open Opener) {
	e := newEnv(t, open)
	ctx := context.Background()
	wf, id, gone := graph.NewID(), graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 100, "jobs"), nodeOp(wf, id, 0, 1, 101, "queued node"), nodeOp(wf, gone, 0, 1, 102, "gone"))
	e.push("alpha", deleteOp(syncproto.EntityNode, wf, gone, 1, 2, 103))
	d, _ := e.h.Workspace("alpha")
	cursor := head(t, e.store, "alpha")
	watch := e.watch(e.srv.URL, "alpha", "after="+itoa(cursor)+"&wait=10000")

	opID := graph.NewID()
	patch := graph.NodePatch{Status: ptr("done"), Config: json.RawMessage(`{"prompt":"a lighthouse","seed":7}`),
		Result: &graph.Result{Text: "generated"}}
	n, err := d.UpdateNode(ctx, id, patch, opID)
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != "done" || n.Title != "queued node" || n.Result == nil || n.Result.Text != "generated" || n.Version != 2 {
		t.Fatalf("UpdateNode returned %+v", n)
	}
	if res := waitWatch(t, "watch of a server write", watch, 5e9); res.seq <= cursor {
		t.Fatalf("watch answered %d after a server write, want above %d", res.seq, cursor)
	}
	changes := e.pullAll("alpha", cursor)
	if len(changes) != 1 || changes[0].EntityID != id || changes[0].Version != 2 || changes[0].OpID != opID {
		t.Fatalf("clients pull %+v after the server write", changes)
	}
	var pulled graph.Node
	if err := json.Unmarshal(changes[0].Data, &pulled); err != nil || pulled.Status != "done" || string(pulled.Config) != `{"prompt":"a lighthouse","seed":7}` {
		t.Fatalf("pulled node %+v, %v", pulled, err)
	}
	// A replay writes nothing.
	seq := head(t, e.store, "alpha")
	if again, err := d.UpdateNode(ctx, id, patch, opID); err != nil || again.Version != 2 || head(t, e.store, "alpha") != seq {
		t.Fatalf("replayed UpdateNode: %+v, %v; seq %d -> %d", again, err, seq, head(t, e.store, "alpha"))
	}
	var nf *server.NotFoundError
	if _, err := d.UpdateNode(ctx, gone, patch, ""); !errors.As(err, &nf) {
		t.Fatalf("UpdateNode of a deleted node: %v", err)
	}
	if _, err := d.UpdateNode(ctx, graph.NewID(), patch, ""); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("UpdateNode of an unknown node: %v", err)
	}
	for what, p := range map[string]graph.NodePatch{
		"title too long":  {Title: ptr(strings.Repeat("t", graph.MaxTitleLen+1))},
		"config not JSON": {Config: json.RawMessage(`{"a":`)},
	} {
		if _, err := d.UpdateNode(ctx, id, p, ""); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("UpdateNode with %s: %v, want ErrInvalid", what, err)
		}
	}
	if _, err := d.UpdateNode(ctx, id, patch, "not-an-op-id"); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("UpdateNode with a bad op id: %v", err)
	}
	if head(t, e.store, "alpha") != seq {
		t.Fatal("refused server writes changed the workspace")
	}

	// Apply: a batch with an invalid op changes nothing; a valid one is
	// acked like a push.
	bad := nodeOp(wf, graph.NewID(), 0, 1, 200, "ok")
	worse := nodeOp(wf, graph.NewID(), 0, 1, 200, "bad")
	worse.Version = 0
	if _, err := d.Apply(ctx, []syncproto.Op{bad, worse}); !errors.Is(err, errs.ErrInvalid) || head(t, e.store, "alpha") != seq {
		t.Fatalf("Apply of an invalid batch: %v", err)
	}
	acks, err := d.Apply(ctx, []syncproto.Op{bad})
	if err != nil || len(acks) != 1 || acks[0].Status != syncproto.Applied {
		t.Fatalf("Apply: %+v, %v", acks, err)
	}

	// Over HTTP.
	path := dataRoute(server.RouteNode, "alpha", "id", id)
	key := graph.NewID()
	patchReq := func(body, idem string) *response {
		req, _ := http.NewRequest("PATCH", e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokenOf("alpha"))
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return &response{status: resp.StatusCode, header: resp.Header, body: b}
	}
	r := patchReq(`{"status":"queued","title":"again"}`, key)
	var hn graph.Node
	if wantStatus(t, "PATCH node", r, http.StatusOK, ""); json.Unmarshal(r.body, &hn) != nil || hn.Status != "queued" || hn.Title != "again" || hn.Version != 3 {
		t.Fatalf("PATCH node: %s", r.body)
	}
	if r := patchReq(`{"status":"other"}`, key); r.status != http.StatusOK || head(t, e.store, "alpha") != seq+2 {
		t.Fatalf("PATCH replayed with its Idempotency-Key: %d %s, seq %d (want %d)", r.status, r.body, head(t, e.store, "alpha"), seq+2)
	}
	wantStatus(t, "PATCH with an unknown field", patchReq(`{"colour":"red"}`, ""), http.StatusBadRequest, "Invalid")
	wantStatus(t, "PATCH not JSON", patchReq(`{`, ""), http.StatusBadRequest, "Invalid")
	wantStatus(t, "PATCH a deleted node", e.do("PATCH", dataRoute(server.RouteNode, "alpha", "id", gone), tokenOf("alpha"), map[string]string{"title": "x"}), http.StatusNotFound, "NotFound")
	wantStatus(t, "PATCH in another workspace", e.do("PATCH", dataRoute(server.RouteNode, "beta", "id", id), tokenOf("alpha"), map[string]string{"title": "x"}), http.StatusForbidden, "Forbidden")
}

// Server writes racing client pushes on one node: the server sets the
// node's status while 20 clients move it, each without seeing the others.
// Both kinds of edit survive (a different field each), the position is
// the latest move's, and clients, server code and the stored state agree
// at the end.
func testServerWriteRace(t *testing.T, open Opener) {
	e := newEnv(t, open)
	ctx := context.Background()
	wf, id := graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 1, "race"), nodeOp(wf, id, 0, 1, 2, "start"))
	d, _ := e.h.Workspace("alpha")
	now := time.Now().UnixMilli()
	var wg sync.WaitGroup
	moves := make([]syncproto.Op, 20)
	for i := range moves {
		moves[i] = nodeOp(wf, id, 1, int64(2+i%5), now+int64(i%7), "client")
		moves[i].Fields = []string{"position"}
		var n graph.Node
		json.Unmarshal(moves[i].Data, &n)
		n.Position = graph.Position{X: float64(i), Y: float64(i)}
		moves[i].Data, _ = json.Marshal(n)
	}
	latest := moves[0]
	for _, m := range moves[1:] {
		if later(m, latest) {
			latest = m
		}
	}
	for i := range moves {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := tryPush(e.srv.URL, "alpha", moves[i:i+1]); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := d.UpdateNode(ctx, id, graph.NodePatch{Status: ptr(fmt.Sprintf("running-%d", i))}, ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	final := e.latest("alpha")[id]
	n, err := d.Node(ctx, id)
	if err != nil || n.Version != final.Version {
		t.Fatalf("Node %+v, %v; the clients' latest change is at version %d", n, err, final.Version)
	}
	var pulled graph.Node
	json.Unmarshal(final.Data, &pulled)
	if pulled.Title != n.Title || pulled.Status != n.Status || pulled.Position != n.Position {
		t.Fatalf("clients pull %+v, server code reads %+v", pulled, n)
	}
	var want graph.Node
	json.Unmarshal(latest.Data, &want)
	if n.Position != want.Position || !strings.HasPrefix(n.Status, "running-") || n.Title != "start" {
		t.Fatalf("final node %+v: want the latest move's position %+v, a server status and the first title", n, want.Position)
	}
}

// Server code stores an asset (PutAsset) and points a node's result at
// it: the bytes read back by hash, clients pull the node with the ref and
// can download the blob; a bad media type or a failing reader records
// nothing.
func testServerAssets(t *testing.T, open Opener) {
	e := newEnv(t, open)
	ctx := context.Background()
	wf, id := graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 100, "jobs"), nodeOp(wf, id, 0, 1, 101, "queued"))
	d, _ := e.h.Workspace("alpha")
	content := bytes.Repeat([]byte("generated picture "), 5000)
	ref, err := d.PutAsset(ctx, bytes.NewReader(content), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Validate(); err != nil || ref.Hash != assetref.HashBytes(content) || ref.Bytes != int64(len(content)) ||
		ref.MIME != "image/png" || !strings.HasPrefix(ref.Path, "atelier/assets/image/") {
		t.Fatalf("PutAsset returned %+v (%v)", ref, err)
	}
	r, info, err := d.Asset(ctx, ref.Hash)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, content) || info.Size != int64(len(content)) || info.MIME != "image/png" {
		t.Fatalf("read back %d bytes, %+v", len(got), info)
	}
	again, err := d.PutAsset(ctx, bytes.NewReader(content), "image/png")
	if err != nil || again.Hash != ref.Hash {
		t.Fatalf("the same content again: %+v, %v", again, err)
	}
	if _, err := d.UpdateNode(ctx, id, graph.NodePatch{Status: ptr("done"), Result: &graph.Result{Asset: &ref}}, ""); err != nil {
		t.Fatal(err)
	}
	var pulled graph.Node
	json.Unmarshal(e.latest("alpha")[id].Data, &pulled)
	if pulled.Result == nil || pulled.Result.Asset == nil || *pulled.Result.Asset != ref {
		t.Fatalf("clients pull the result %+v, want the ref %+v", pulled.Result, ref)
	}
	if missing, err := e.store.MissingBlobs(ctx, "alpha", []string{ref.Hash}); err != nil || len(missing) != 0 {
		t.Fatalf("clients are told the blob is missing: %v %v", missing, err)
	}

	if _, err := d.PutAsset(ctx, bytes.NewReader(content), "not a type"); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a bad media type: %v", err)
	}
	other := []byte("never stored")
	failing := io.MultiReader(bytes.NewReader(other[:5]), iotestErr{})
	if _, err := d.PutAsset(ctx, failing, "image/png"); err == nil {
		t.Fatal("a failing reader stored an asset")
	}
	if _, _, err := d.Asset(ctx, assetref.HashBytes(other[:5])); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the part a failing reader gave is readable: %v", err)
	}
	if beta, _ := e.h.Workspace("beta"); beta != nil {
		if _, _, err := beta.Asset(ctx, ref.Hash); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("another workspace reads the asset: %v", err)
		}
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("connection lost") }
