package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
	"github.com/atelierstore/atelier/syncproto"
)

// Opener opens the database of one test. Every call opens the same
// database; the caller closes what it opened.
type Opener func(tb testing.TB) server.Store

// NewDB creates an empty database for one test, removed when tb ends, and
// returns its Opener.
type NewDB func(tb testing.TB) Opener

// Workspaces the test server knows; the token of workspace ws is
// "token-"+ws.
var workspaces = []string{"alpha", "beta", "w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"}

func tokenOf(ws string) string { return "token-" + ws }

// clock is the test server's time, moved by hand.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time { return time.UnixMilli(c.ms.Load()) }

// env is a sync server over the store under test, served by httptest.
type env struct {
	tb    testing.TB
	open  Opener
	store server.Store
	blobs server.BlobStore
	srv   *httptest.Server
	h     *server.Server
	clock *clock
	opts  server.Options
	// protocol "-" sends requests without syncproto.ProtocolHeader, as a
	// client of the first protocol version did.
	protocol string
}

func newEnv(tb testing.TB, open Opener, configure ...func(*server.Options)) *env {
	tb.Helper()
	blobs, err := dirblob.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return newEnvOn(tb, open, blobs, configure...)
}

// newEnvOn is newEnv with the blob store given.
func newEnvOn(tb testing.TB, open Opener, blobs server.BlobStore, configure ...func(*server.Options)) *env {
	tb.Helper()
	m := map[string]string{}
	for _, ws := range workspaces {
		m[tokenOf(ws)] = ws
	}
	tokens, err := server.NewTokens(m)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{tb: tb, open: open, blobs: blobs, clock: &clock{}}
	e.clock.ms.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli())
	e.opts = server.Options{
		Tokens: tokens,
		Secret: []byte("0123456789abcdef0123456789abcdef"),
		Logger: slog.New(slog.DiscardHandler),
		Now:    e.clock.now,
	}
	for _, f := range configure {
		f(&e.opts)
	}
	e.start()
	tb.Cleanup(func() { e.stop() })
	return e
}

func (e *env) start() {
	e.tb.Helper()
	e.store = e.open(e.tb)
	h, err := server.New(e.store, e.blobs, &e.opts)
	if err != nil {
		e.tb.Fatal(err)
	}
	e.h = h
	e.srv = httptest.NewServer(h)
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.Close()
		e.store.Close()
		e.srv = nil
	}
}

// restart closes the server and the store and opens them again on the
// same database, as a crash and restart of the process would.
func (e *env) restart() {
	e.tb.Helper()
	e.stop()
	e.start()
}

// response is one HTTP answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorCode decodes the body as a syncproto.ErrorResponse.
func (r *response) errorCode() string {
	var er syncproto.ErrorResponse
	if json.Unmarshal(r.body, &er) != nil || er.Error == "" {
		return "(not an ErrorResponse: " + string(r.body) + ")"
	}
	return er.Code
}

// do sends a request with the token, if any; a body of type io.Reader is
// sent as is (chunked), anything else as JSON unless it is []byte.
func (e *env) do(method, path, token string, body any) *response {
	e.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if e.protocol != "-" {
		req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.tb.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// route fills the workspace into a syncproto route.
func route(r, ws string) string { return strings.Replace(r, "{ws}", ws, 1) }

// pushRaw pushes ops to ws and returns the response body, failing unless
// the answer is 200.
func (e *env) pushRaw(ws string, ops ...syncproto.Op) []byte {
	e.tb.Helper()
	r := e.do("POST", route(syncproto.RoutePush, ws), tokenOf(ws), syncproto.PushRequest{Ops: ops})
	if r.status != http.StatusOK {
		e.tb.Fatalf("push to %s: %d %s", ws, r.status, r.body)
	}
	return r.body
}

// rawAcks splits a push response into the JSON of each ack.
func rawAcks(tb testing.TB, body []byte) []json.RawMessage {
	tb.Helper()
	var resp struct{ Acks []json.RawMessage }
	if err := json.Unmarshal(body, &resp); err != nil {
		tb.Fatalf("push response %s: %v", body, err)
	}
	return resp.Acks
}

// push pushes ops to ws and returns the acks, one per op.
func (e *env) push(ws string, ops ...syncproto.Op) []syncproto.Ack {
	e.tb.Helper()
	body := e.pushRaw(ws, ops...)
	var resp syncproto.PushResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		e.tb.Fatal(err)
	}
	if len(resp.Acks) != len(ops) {
		e.tb.Fatalf("push of %d ops got %d acks", len(ops), len(resp.Acks))
	}
	for i, a := range resp.Acks {
		if a.OpID != ops[i].ID {
			e.tb.Fatalf("ack %d is for %s, want %s", i, a.OpID, ops[i].ID)
		}
	}
	return resp.Acks
}

// pull asks for a page with the raw query q ("cursor=3&limit=10").
func (e *env) pull(ws, q string) syncproto.PullResponse {
	e.tb.Helper()
	r := e.do("GET", route(syncproto.RoutePull, ws)+"?"+q, tokenOf(ws), nil)
	if r.status != http.StatusOK {
		e.tb.Fatalf("pull %s?%s: %d %s", ws, q, r.status, r.body)
	}
	var p syncproto.PullResponse
	if err := json.Unmarshal(r.body, &p); err != nil {
		e.tb.Fatal(err)
	}
	if p.Changes == nil {
		e.tb.Fatalf("pull %s?%s: changes is null, want a list: %s", ws, q, r.body)
	}
	return p
}

// pullAll pages through every change of ws after cursor, checking that
// seqs increase and cursors follow them.
func (e *env) pullAll(ws string, cursor int64) []syncproto.Change {
	e.tb.Helper()
	var all []syncproto.Change
	for {
		p := e.pull(ws, "limit=1000&cursor="+itoa(cursor))
		for _, c := range p.Changes {
			if c.Seq <= cursor {
				e.tb.Fatalf("pull after %d returned seq %d", cursor, c.Seq)
			}
			cursor = c.Seq
		}
		if p.Cursor != cursor {
			e.tb.Fatalf("page cursor %d, want %d", p.Cursor, cursor)
		}
		all = append(all, p.Changes...)
		if !p.More {
			return all
		}
		if len(p.Changes) == 0 {
			e.tb.Fatal("empty page with more set")
		}
	}
}

// head returns the last seq assigned in ws.
func head(tb testing.TB, s server.Store, ws string) int64 {
	tb.Helper()
	var seq int64
	if err := s.Update(context.Background(), ws, func(tx server.Tx) error { seq = tx.Seq(); return nil }); err != nil {
		tb.Fatal(err)
	}
	return seq
}

// latest returns the pulled state of ws keyed by entity id.
func (e *env) latest(ws string) map[string]syncproto.Change {
	e.tb.Helper()
	m := map[string]syncproto.Change{}
	for _, c := range e.pullAll(ws, 0) {
		if _, dup := m[c.EntityID]; dup {
			e.tb.Fatalf("entity %s twice in one pull", c.EntityID)
		}
		m[c.EntityID] = c
	}
	return m
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Op builders. Data is what a client would send: the entity as JSON.

func nodeData(wf, id, title string, version, at int64) json.RawMessage {
	b, _ := json.Marshal(graph.Node{ID: id, WorkflowID: wf, Type: "prompt", Title: title,
		Position: graph.Position{X: float64(version), Y: float64(at % 1000)}, UpdatedAt: at, Version: version})
	return b
}

func nodeOp(wf, id string, base, version, at int64, title string) syncproto.Op {
	kind := syncproto.OpUpdate
	if base == 0 {
		kind = syncproto.OpCreate
	}
	return syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: wf, Kind: kind,
		Data: nodeData(wf, id, title, version, at), BaseVersion: base, Version: version, UpdatedAt: at, Tab: "t1", Time: at}
}

func workflowOp(id string, base, version, at int64, name string) syncproto.Op {
	data, _ := json.Marshal(graph.Workflow{ID: id, Name: name, Viewport: graph.DefaultViewport, UpdatedAt: at, Version: version})
	return syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityWorkflow, EntityID: id, WorkflowID: id, Kind: syncproto.OpCreate,
		Data: data, BaseVersion: base, Version: version, UpdatedAt: at, Tab: "t1", Time: at}
}

func edgeOp(wf, id, src, dst string, base, version, at int64) syncproto.Op {
	data, _ := json.Marshal(graph.Edge{ID: id, WorkflowID: wf, Source: src, Target: dst, UpdatedAt: at, Version: version})
	return syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityEdge, EntityID: id, WorkflowID: wf, Kind: syncproto.OpCreate,
		Data: data, BaseVersion: base, Version: version, UpdatedAt: at, Tab: "t1", Time: at}
}

func deleteOp(entity syncproto.Entity, wf, id string, base, version, at int64) syncproto.Op {
	return syncproto.Op{ID: graph.NewID(), Entity: entity, EntityID: id, WorkflowID: wf, Kind: syncproto.OpDelete,
		BaseVersion: base, Version: version, UpdatedAt: at, Tab: "t2", Time: at}
}

// compact returns the compact form of JSON, as the server stores Data.
func compact(tb testing.TB, b []byte) json.RawMessage {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
