package storetest

import (
	"context"

	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

// dataRoute fills the workspace and one more path value into a server
// read route.
func dataRoute(r, ws, key, value string) string {
	return strings.Replace(route(r, ws), "{"+key+"}", value, 1)
}

// Server code reads what clients pushed, through Workspace and over HTTP:
// the live workflows, a graph without its deleted parts, single entities
// with their authoritative versions, asset bytes; never another
// workspace's data, and a typed NotFound for what is missing or deleted.
func testData(t *testing.T, open Opener) {
	e := newEnv(t, open)
	ctx := context.Background()
	wf, other := graph.NewID(), graph.NewID()
	n1, n2, n3, ed := graph.NewID(), graph.NewID(), graph.NewID(), graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 100, "Storyboard"), workflowOp(other, 0, 1, 50, "Older"),
		nodeOp(wf, n1, 0, 1, 101, "one"), nodeOp(wf, n2, 0, 1, 102, "two"), nodeOp(wf, n3, 0, 1, 103, "three"),
		edgeOp(wf, ed, n1, n2, 0, 1, 104))
	e.push("alpha", nodeOp(wf, n1, 1, 2, 105, "one, edited"), deleteOp(syncproto.EntityNode, wf, n3, 1, 2, 106))
	// A concurrent write that loses: the state stays the winner's.
	e.push("alpha", nodeOp(wf, n2, 0, 1, 90, "two, stale"))
	secret := graph.NewID()
	e.push("beta", workflowOp(secret, 0, 1, 100, "Beta's"))
	latest := e.latest("alpha")

	d, err := e.h.Workspace("alpha")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.Workspace("not a workspace"); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("Workspace of a bad name: %v", err)
	}
	list, err := d.Workflows(ctx)
	if err != nil || len(list) != 2 || list[0].ID != wf || list[1].ID != other || list[0].Version != latest[wf].Version {
		t.Fatalf("Workflows: %+v, %v", list, err)
	}
	g, err := d.Graph(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	if g.Workflow.Name != "Storyboard" || len(g.Nodes) != 2 || len(g.Edges) != 1 || g.Edges[0].ID != ed {
		t.Fatalf("Graph: %+v", g)
	}
	for _, n := range g.Nodes {
		if n.Version != latest[n.ID].Version || n.UpdatedAt != latest[n.ID].UpdatedAt {
			t.Fatalf("node %s in the graph at version %d (%d), the server's is %d (%d)", n.ID, n.Version, n.UpdatedAt, latest[n.ID].Version, latest[n.ID].UpdatedAt)
		}
	}
	n, err := d.Node(ctx, n1)
	if err != nil || n.Title != "one, edited" || n.Version != 2 {
		t.Fatalf("Node: %+v, %v", n, err)
	}
	if n, err := d.Node(ctx, n2); err != nil || n.Title != "two" || n.Version != latest[n2].Version {
		t.Fatalf("Node after a lost write: %+v, %v (server version %d)", n, err, latest[n2].Version)
	}
	if e, err := d.Edge(ctx, ed); err != nil || e.Source != n1 || e.Target != n2 {
		t.Fatalf("Edge: %+v, %v", e, err)
	}
	missing := map[string]func() error{
		"deleted node":              func() error { _, err := d.Node(ctx, n3); return err },
		"unknown node":              func() error { _, err := d.Node(ctx, graph.NewID()); return err },
		"a node as a workflow":      func() error { _, err := d.Workflow(ctx, n1); return err },
		"a workflow as an edge":     func() error { _, err := d.Edge(ctx, wf); return err },
		"another workspace's":       func() error { _, err := d.Workflow(ctx, secret); return err },
		"another workspace's graph": func() error { _, err := d.Graph(ctx, secret); return err },
		"unknown asset": func() error {
			_, _, err := d.Asset(ctx, assetref.HashBytes([]byte("never uploaded")))
			return err
		},
	}
	for what, f := range missing {
		var nf *server.NotFoundError
		if err := f(); !errors.Is(err, errs.ErrNotFound) || !errors.As(err, &nf) {
			t.Errorf("%s: %v, want a *server.NotFoundError", what, err)
		}
	}
	if _, _, err := d.Asset(ctx, "sha256:nope"); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("Asset of a malformed hash: %v", err)
	}

	content := []byte("the bytes of a generated image")
	e.upload(t, "alpha", content, "image/png")
	hash := assetref.HashBytes(content)
	f, info, err := d.Asset(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != string(content) || info.MIME != "image/png" || info.Size != int64(len(content)) {
		t.Fatalf("Asset: %q %+v", got, info)
	}
	if beta, _ := e.h.Workspace("beta"); beta != nil {
		if _, _, err := beta.Asset(ctx, hash); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("another workspace reads alpha's asset: %v", err)
		}
	}

	// The same over HTTP.
	tok := tokenOf("alpha")
	r := e.do("GET", route(server.RouteWorkflows, "alpha"), tok, nil)
	var wr server.WorkflowsResponse
	if wantStatus(t, "GET workflows", r, http.StatusOK, ""); json.Unmarshal(r.body, &wr) != nil || len(wr.Workflows) != 2 || wr.Seq != head(t, e.store, "alpha") {
		t.Fatalf("GET workflows: %s", r.body)
	}
	r = e.do("GET", dataRoute(server.RouteGraph, "alpha", "id", wf), tok, nil)
	var hg graph.Graph
	if wantStatus(t, "GET graph", r, http.StatusOK, ""); json.Unmarshal(r.body, &hg) != nil || len(hg.Nodes) != 2 || hg.Workflow.ID != wf {
		t.Fatalf("GET graph: %s", r.body)
	}
	r = e.do("GET", dataRoute(server.RouteNode, "alpha", "id", n1), tok, nil)
	var hn graph.Node
	if wantStatus(t, "GET node", r, http.StatusOK, ""); json.Unmarshal(r.body, &hn) != nil || hn.Title != "one, edited" || hn.Version != 2 {
		t.Fatalf("GET node: %s", r.body)
	}
	wantStatus(t, "GET edge", e.do("GET", dataRoute(server.RouteEdge, "alpha", "id", ed), tok, nil), http.StatusOK, "")
	wantStatus(t, "GET deleted node", e.do("GET", dataRoute(server.RouteNode, "alpha", "id", n3), tok, nil), http.StatusNotFound, "NotFound")
	wantStatus(t, "GET another workspace's graph", e.do("GET", dataRoute(server.RouteGraph, "alpha", "id", secret), tok, nil), http.StatusNotFound, "NotFound")
	wantStatus(t, "GET with beta's path", e.do("GET", dataRoute(server.RouteGraph, "beta", "id", secret), tok, nil), http.StatusForbidden, "Forbidden")
	wantStatus(t, "GET without a token", e.do("GET", route(server.RouteWorkflows, "alpha"), "", nil), http.StatusUnauthorized, "Unauthorized")
	sum, _ := assetref.ParseHash(hash)
	for _, h := range []string{hexSum(sum), url.PathEscape(hash)} {
		r = e.do("GET", dataRoute(server.RouteAsset, "alpha", "hash", h), tok, nil)
		if wantStatus(t, "GET asset "+h, r, http.StatusOK, ""); string(r.body) != string(content) || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET asset %s: %q %v", h, r.body, r.header)
		}
	}
	wantStatus(t, "GET asset of a bad hash", e.do("GET", dataRoute(server.RouteAsset, "alpha", "hash", "xyz"), tok, nil), http.StatusBadRequest, "Invalid")
	wantStatus(t, "GET beta's asset", e.do("GET", dataRoute(server.RouteAsset, "beta", "hash", hexSum(sum)), tokenOf("beta"), nil), http.StatusNotFound, "NotFound")
}

// A graph read while clients push is one consistent state: every edge's
// ends are among its nodes, whatever the pushes are doing.
func testDataConsistent(t *testing.T, open Opener) {
	e := newEnv(t, open)
	ctx := context.Background()
	wf := graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 1, "busy"))
	d, _ := e.h.Workspace("alpha")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a, b, ed := graph.NewID(), graph.NewID(), graph.NewID()
				at := int64(10 + i*4 + c)
				// A pair of nodes and their edge in one push, then the
				// first node's deletion (which takes the edge with it).
				if _, err := tryPush(e.srv.URL, "alpha", []syncproto.Op{nodeOp(wf, a, 0, 1, at, "a"), nodeOp(wf, b, 0, 1, at, "b"), edgeOp(wf, ed, a, b, 0, 1, at)}); err != nil {
					t.Error(err)
					return
				}
				if _, err := tryPush(e.srv.URL, "alpha", []syncproto.Op{deleteOp(syncproto.EntityNode, wf, a, 1, 2, at+1)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 40 {
		g, err := d.Graph(ctx, wf)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, n := range g.Nodes {
			ids[n.ID] = true
		}
		for _, ed := range g.Edges {
			if !ids[ed.Source] || !ids[ed.Target] {
				t.Fatalf("graph read mid-push has edge %s without its ends", ed.ID)
			}
		}
	}
	close(stop)
	wg.Wait()
}

func hexSum(sum [32]byte) string { return fmt.Sprintf("%x", sum) }
