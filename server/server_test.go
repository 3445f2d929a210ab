package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
	"github.com/atelierstore/atelier/server/sqlite"
	"github.com/atelierstore/atelier/syncproto"
)

func TestTokens(t *testing.T) {
	digest := sha256.Sum256([]byte("hashed-secret"))
	tok, err := server.NewTokens(map[string]string{
		"plain-secret": "alpha",
		"sha256:" + hex.EncodeToString(digest[:]): "beta",
	})
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]string{"plain-secret": "alpha", "hashed-secret": "beta", "": "", "plain": "", "sha256:" + hex.EncodeToString(digest[:]): ""} {
		ws, ok := tok.Workspace(token)
		if ws != want || ok != (want != "") {
			t.Errorf("Workspace(%q) = %q, %v; want %q", token, ws, ok, want)
		}
	}
	if _, ok := (*server.Tokens)(nil).Workspace("x"); ok {
		t.Error("a nil Tokens knows a token")
	}
	for _, m := range []map[string]string{
		{"t": "bad workspace"}, {"t": ""}, {"t": "-lead"}, {"": "alpha"}, {"a b": "alpha"}, {"sha256:abc": "alpha"},
	} {
		if _, err := server.NewTokens(m); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("NewTokens(%v): %v, want ErrInvalid", m, err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.json")
	os.WriteFile(path, []byte(`{"dev-token": "dev"}`), 0o600)
	if tok, err := server.LoadTokens(path); err != nil {
		t.Fatal(err)
	} else if ws, _ := tok.Workspace("dev-token"); ws != "dev" {
		t.Fatalf("loaded token maps to %q", ws)
	}
	os.WriteFile(path, []byte(`["dev-token"]`), 0o600)
	if _, err := server.LoadTokens(path); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("LoadTokens of a list: %v", err)
	}
	if _, err := server.LoadTokens(filepath.Join(dir, "none.json")); err == nil {
		t.Fatal("LoadTokens of a missing file succeeded")
	}
}

func TestValidWorkspace(t *testing.T) {
	for ws, want := range map[string]bool{
		"a": true, "dev": true, "Team-1.prod_2": true, strings.Repeat("w", 64): true,
		"": false, strings.Repeat("w", 65): false, "-a": false, ".a": false, "a/b": false, "a b": false, "ä": false, "a\n": false,
	} {
		if got := server.ValidWorkspace(ws); got != want {
			t.Errorf("ValidWorkspace(%q) = %v", ws, got)
		}
	}
}

type fixture struct {
	h    *server.Server
	srv  *httptest.Server
	logs *syncBuffer
}

// syncBuffer is a buffer that the server's goroutines write and the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newServer(t *testing.T, opts *server.Options) *fixture {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "sync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := dirblob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{logs: &syncBuffer{}}
	if opts == nil {
		opts = &server.Options{}
	}
	opts.Tokens, _ = server.NewTokens(map[string]string{"token-alpha": "alpha"})
	opts.Logger = slog.New(slog.NewTextHandler(f.logs, nil))
	h, err := server.New(store, blobs, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path string, header map[string]string, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestCORS(t *testing.T) {
	pull := strings.Replace(syncproto.RoutePull, "{ws}", "alpha", 1)
	preflight := map[string]string{
		"Origin":                         "http://localhost:8080",
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization, content-type",
	}
	t.Run("any origin", func(t *testing.T) {
		f := newServer(t, nil)
		r := f.do(t, "OPTIONS", pull, preflight, "")
		h := r.Header
		if r.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "PUT") ||
			h.Get("Access-Control-Allow-Headers") != "authorization, content-type" {
			t.Fatalf("preflight: %d %v", r.StatusCode, h)
		}
		// Errors carry the headers too, or the page could not read them.
		r = f.do(t, "GET", pull, map[string]string{"Origin": "http://elsewhere.test"}, "")
		if r.StatusCode != http.StatusUnauthorized || r.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
			t.Fatalf("401: %d %v", r.StatusCode, r.Header)
		}
	})
	t.Run("listed origins", func(t *testing.T) {
		f := newServer(t, &server.Options{AllowedOrigins: []string{"http://localhost:8080/"}})
		r := f.do(t, "OPTIONS", pull, preflight, "")
		if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:8080" ||
			!strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
			t.Fatalf("preflight of a listed origin: %d %v", r.StatusCode, r.Header)
		}
		other := map[string]string{"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"}
		r = f.do(t, "OPTIONS", pull, other, "")
		if r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Fatalf("preflight of another origin allowed: %v", r.Header)
		}
		r = f.do(t, "GET", pull, map[string]string{"Origin": "http://evil.test", "Authorization": "Bearer token-alpha"}, "")
		if r.StatusCode != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("request from another origin: %d %v", r.StatusCode, r.Header)
		}
	})
}

func TestLogOmitsSignatures(t *testing.T) {
	f := newServer(t, nil)
	f.do(t, "GET", "/v1/blobs/alpha/00?expires=1&signature=SECRETSIG", nil, "")
	f.do(t, "GET", strings.Replace(syncproto.RoutePull, "{ws}", "alpha", 1), map[string]string{"Authorization": "Bearer token-alpha"}, "")
	logs := f.logs.String()
	if strings.Contains(logs, "SECRETSIG") || strings.Contains(logs, "token-alpha") {
		t.Fatalf("secrets in the log:\n%s", logs)
	}
	if !strings.Contains(logs, "status=403") || !strings.Contains(logs, "status=200") {
		t.Fatalf("log lacks statuses:\n%s", logs)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	store, _ := sqlite.Open(filepath.Join(t.TempDir(), "sync.db"))
	defer store.Close()
	blobs, _ := dirblob.Open(t.TempDir())
	for _, o := range []server.Options{
		{Secret: []byte("short")},
		{BaseURL: "sync.example.com"},
		{URLTTL: -time.Second},
		{MaxPullBytes: -1},
		{PartSize: server.MinPartSize - 1},
		{PartSize: server.MaxPartSize + 1},
		{PartSize: -1},
	} {
		if _, err := server.New(store, blobs, &o); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("New(%+v): %v, want ErrInvalid", o, err)
		}
	}
	if _, err := server.New(nil, blobs, nil); err == nil {
		t.Error("New without a Store succeeded")
	}
}

func TestBaseURL(t *testing.T) {
	f := newServer(t, &server.Options{BaseURL: "https://sync.example.com/"})
	hash := assetref.HashBytes([]byte("x"))
	body, _ := json.Marshal(syncproto.BlobURLRequest{Hash: hash, Bytes: 1})
	req, _ := http.NewRequest("POST", f.srv.URL+strings.Replace(syncproto.RouteBlobUpload, "{ws}", "alpha", 1), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer token-alpha")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u syncproto.BlobURLResponse
	json.NewDecoder(resp.Body).Decode(&u)
	if !strings.HasPrefix(u.URL, "https://sync.example.com/v1/blobs/alpha/") {
		t.Fatalf("URL %q", u.URL)
	}
}

// Example pushes a node to a server over an embedded store and pulls it
// back.
func Example() {
	dir, _ := os.MkdirTemp("", "atelier-sync-example")
	defer os.RemoveAll(dir)
	store, _ := sqlite.Open(filepath.Join(dir, "sync.db"))
	defer store.Close()
	blobs, _ := dirblob.Open(filepath.Join(dir, "blobs"))
	tokens, _ := server.NewTokens(map[string]string{"dev-token": "dev"})
	h, _ := server.New(store, blobs, &server.Options{Tokens: tokens, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h)
	defer srv.Close()

	call := func(method, route string, body, out any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+strings.Replace(route, "{ws}", "dev", 1), bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer dev-token")
		req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
		req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(out)
	}
	wf, id := graph.NewID(), graph.NewID()
	data, _ := json.Marshal(graph.Node{ID: id, WorkflowID: wf, Type: "prompt", Title: "Idea"})
	op := syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: wf,
		Kind: syncproto.OpCreate, Data: data, Version: 1, UpdatedAt: 1}

	var pushed syncproto.PushResponse
	call("POST", syncproto.RoutePush, syncproto.PushRequest{Ops: []syncproto.Op{op}}, &pushed)
	fmt.Println(pushed.Acks[0].Status, pushed.Acks[0].Version)
	call("POST", syncproto.RoutePush, syncproto.PushRequest{Ops: []syncproto.Op{op}}, &pushed)
	fmt.Println(pushed.Acks[0].Status, "again")

	var pulled syncproto.PullResponse
	call("GET", syncproto.RoutePull+"?cursor=0", nil, &pulled)
	fmt.Println(len(pulled.Changes), pulled.Changes[0].EntityID == id, pulled.Cursor, pulled.More)
	// Output:
	// applied 1
	// applied again
	// 1 true 1 false
}

// ExampleServer_Workspace reads, as server code, what a client pushed.
func ExampleServer_Workspace() {
	dir, _ := os.MkdirTemp("", "atelier-sync-example")
	defer os.RemoveAll(dir)
	store, _ := sqlite.Open(filepath.Join(dir, "sync.db"))
	defer store.Close()
	blobs, _ := dirblob.Open(filepath.Join(dir, "blobs"))
	srv, _ := server.New(store, blobs, &server.Options{Logger: slog.New(slog.DiscardHandler)})

	// A client's push, as the sync engine sends it.
	wf, id := graph.NewID(), graph.NewID()
	wfData, _ := json.Marshal(graph.Workflow{ID: wf, Name: "Storyboard", Viewport: graph.DefaultViewport})
	nodeData, _ := json.Marshal(graph.Node{ID: id, WorkflowID: wf, Type: "prompt", Title: "Hero shot",
		Config: json.RawMessage(`{"prompt":"a lighthouse at dusk"}`)})
	ops := []syncproto.Op{
		{ID: graph.NewID(), Entity: syncproto.EntityWorkflow, EntityID: wf, WorkflowID: wf, Kind: syncproto.OpCreate, Data: wfData, Version: 1, UpdatedAt: 1},
		{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: wf, Kind: syncproto.OpCreate, Data: nodeData, Version: 1, UpdatedAt: 2},
	}
	body, _ := json.Marshal(syncproto.PushRequest{Ops: ops})
	tokens, _ := server.NewTokens(map[string]string{"dev-token": "dev"})
	h, _ := server.New(store, blobs, &server.Options{Tokens: tokens, Logger: slog.New(slog.DiscardHandler)})
	req := httptest.NewRequest("POST", strings.Replace(syncproto.RoutePush, "{ws}", "dev", 1), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer dev-token")
	req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	h.ServeHTTP(httptest.NewRecorder(), req)

	// Server code: a job reads the node's prompt.
	ctx := context.Background()
	dev, _ := srv.Workspace("dev")
	g, _ := dev.Graph(ctx, wf)
	fmt.Println(g.Workflow.Name, len(g.Nodes))
	n, _ := dev.Node(ctx, id)
	var config struct{ Prompt string }
	json.Unmarshal(n.Config, &config)
	fmt.Printf("%s: %q (version %d)\n", n.Title, config.Prompt, n.Version)
	_, err := dev.Node(ctx, graph.NewID())
	fmt.Println(errors.Is(err, errs.ErrNotFound))
	// Output:
	// Storyboard 1
	// Hero shot: "a lighthouse at dusk" (version 1)
	// true
}

// TestBrokenUpload checks that an upload the client breaks off is the
// client's failure, not logged as the server's, and stores nothing.
func TestBrokenUpload(t *testing.T) {
	f := newServer(t, nil)
	content := bytes.Repeat([]byte("z"), 1<<20)
	hash := assetref.HashBytes(content)
	body, _ := json.Marshal(syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content))})
	req, _ := http.NewRequest("POST", f.srv.URL+strings.Replace(syncproto.RouteBlobUpload, "{ws}", "alpha", 1), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer token-alpha")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var u syncproto.BlobURLResponse
	json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()

	broken := io.MultiReader(bytes.NewReader(content[:1000]), iotestErr{})
	put, _ := http.NewRequest("PUT", u.URL, broken)
	put.ContentLength = int64(len(content))
	if resp, err := f.srv.Client().Do(put); err == nil {
		resp.Body.Close()
		t.Fatalf("a broken upload got %d", resp.StatusCode)
	}
	// The server notices when it reads the body; give it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.logs.String(), "method=PUT") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "status=400") || strings.Contains(logs, "level=ERROR") {
		t.Fatalf("broken upload logged as:\n%s", logs)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("client gave up") }

// EndWatches answers held watches at once with their cursor, and later
// ones too, so that they do not hold up a shutdown.
func TestEndWatches(t *testing.T) {
	f := newServer(t, nil)
	watch := strings.Replace(syncproto.RouteWatch, "{ws}", "alpha", 1) + "?after=0&wait=30000"
	auth := map[string]string{"Authorization": "Bearer token-alpha"}
	done := make(chan *http.Response, 1)
	start := time.Now()
	go func() {
		req, _ := http.NewRequest("GET", f.srv.URL+watch, nil)
		req.Header.Set("Authorization", "Bearer token-alpha")
		req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		done <- resp
	}()
	time.Sleep(100 * time.Millisecond)
	f.h.EndWatches()
	select {
	case resp := <-done:
		if resp == nil {
			t.Fatal("watch failed")
		}
		var w syncproto.WatchResponse
		json.NewDecoder(resp.Body).Decode(&w)
		resp.Body.Close()
		if resp.StatusCode != 200 || w.Seq != 0 {
			t.Fatalf("ended watch: %d seq %d", resp.StatusCode, w.Seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a held watch was not answered after EndWatches")
	}
	if r := f.do(t, "GET", watch, auth, ""); r.StatusCode != 200 || time.Since(start) > 5*time.Second {
		t.Fatalf("watch after EndWatches: %d after %v", r.StatusCode, time.Since(start))
	}
	f.h.EndWatches() // twice is fine
}
