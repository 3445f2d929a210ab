package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
	"github.com/atelierstore/atelier/server/sqlite"
	"github.com/atelierstore/atelier/syncproto"
)

// rawConn opens a connection to the fixture's server and writes head to it:
// a request line and header, and maybe the start of a body.
func (f *fixture) rawConn(t *testing.T, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// dribble writes one byte of body to c every gap until stop is closed
// or a write fails.
func dribble(c net.Conn, gap time.Duration, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(gap):
		}
		if _, err := c.Write([]byte{' '}); err != nil {
			return
		}
	}
}

// readAnswer reads the response on c and its JSON error, if any.
func readAnswer(t *testing.T, c net.Conn) (*http.Response, syncproto.ErrorResponse) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	var e syncproto.ErrorResponse
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(body, &e); err != nil || e.Code == "" {
			t.Fatalf("%d answered with %q, not a JSON error", resp.StatusCode, body)
		}
	}
	return resp, e
}

// closedSoon reports whether the server closes (or resets) c within d.
func closedSoon(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

func pushHead(auth string, length int) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nAtelier-Sync: 2\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		strings.Replace(syncproto.RoutePush, "{ws}", "alpha", 1), auth, length)
}

// TestSlowBodies opens many connections that send their bodies a byte at
// a time, far below the minimum rate: each is answered 408 and closed
// once its first StallTimeout has passed, and /healthz stays quick all
// along.
func TestSlowBodies(t *testing.T) {
	const n = 40
	stall := 300 * time.Millisecond
	f := newServer(t, &server.Options{StallTimeout: stall, MinRate: 1000})
	stop := make(chan struct{})
	defer close(stop)
	start := time.Now()
	var wg sync.WaitGroup
	answered := make(chan time.Duration, n)
	for i := range n {
		c := f.rawConn(t, pushHead("token-alpha", 10_000))
		if i%2 == 1 { // also a blob upload to a valid URL
			c.Close()
			c = f.rawConn(t, "PUT "+uploadURL(t, f, 10_000)+" HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n")
		}
		go dribble(c, 50*time.Millisecond, stop)
		wg.Go(func() {
			resp, e := readAnswer(t, c)
			if resp.StatusCode != http.StatusRequestTimeout || e.Code != "Timeout" {
				t.Errorf("slow body: %d %+v", resp.StatusCode, e)
			}
			if !closedSoon(c, 5*time.Second) {
				t.Error("the connection of a slow body stayed open")
			}
			answered <- time.Since(start)
		})
	}
	// /healthz answers quickly while the slow bodies are open.
	var slowest time.Duration
	for time.Since(start) < stall {
		t0 := time.Now()
		resp, err := f.srv.Client().Get(f.srv.URL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v %v", resp, err)
		}
		resp.Body.Close()
		slowest = max(slowest, time.Since(t0))
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	close(answered)
	for d := range answered {
		if d < stall || d > stall+5*time.Second {
			t.Errorf("a slow body was cut off after %v; want a little over %v", d, stall)
		}
	}
	if slowest > time.Second {
		t.Errorf("healthz took %v with slow bodies open", slowest)
	}
	if logs := f.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("slow bodies logged as errors:\n%s", logs)
	}
}

func uploadURL(t *testing.T, f *fixture, size int) string {
	t.Helper()
	content := bytes.Repeat([]byte("u"), size)
	body, _ := json.Marshal(syncproto.BlobURLRequest{Hash: assetref.HashBytes(content), Bytes: int64(size)})
	req, _ := http.NewRequest("POST", f.srv.URL+strings.Replace(syncproto.RouteBlobUpload, "{ws}", "alpha", 1), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer token-alpha")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u syncproto.BlobURLResponse
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil || u.URL == "" {
		t.Fatalf("upload URL: %d %v", resp.StatusCode, err)
	}
	return strings.TrimPrefix(u.URL, f.srv.URL)
}

// TestUploadAtMinRate uploads a blob for longer than StallTimeout but
// faster than MinRate: the deadline moves on as the bytes come. A body
// that stops arriving half-way is cut off StallTimeout later.
func TestUploadAtMinRate(t *testing.T) {
	stall := 200 * time.Millisecond
	f := newServer(t, &server.Options{StallTimeout: stall, MinRate: 2000})
	const size = 3000
	path := uploadURL(t, f, size)

	c := f.rawConn(t, fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, size))
	start := time.Now()
	for sent := 0; sent < size; sent += 100 { // 100 bytes every 25 ms: 4000 B/s
		time.Sleep(25 * time.Millisecond)
		if _, err := c.Write(bytes.Repeat([]byte("u"), 100)); err != nil {
			t.Fatalf("after %d bytes: %v", sent, err)
		}
	}
	if took := time.Since(start); took < 2*stall {
		t.Fatalf("the upload took %v, not long enough to test anything", took)
	}
	if resp, e := readAnswer(t, c); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("upload at twice the minimum rate: %d %+v", resp.StatusCode, e)
	}

	// Another blob, whose upload stops after a good start.
	path = uploadURL(t, f, size+1)
	c = f.rawConn(t, fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, size+1))
	c.Write(bytes.Repeat([]byte("u"), size/2))
	start = time.Now()
	if resp, e := readAnswer(t, c); resp.StatusCode != http.StatusRequestTimeout || e.Code != "Timeout" {
		t.Fatalf("stalled upload: %d %+v", resp.StatusCode, e)
	}
	if took := time.Since(start); took < stall/2 || took > stall+5*time.Second {
		t.Fatalf("a stalled upload was cut off after %v", took)
	}
}

// TestUnauthenticatedBodyNotRead sends a push with a wrong token and a
// body that never comes: it is answered 401 at once, and the connection
// closed rather than kept to read a body nobody wants.
func TestUnauthenticatedBodyNotRead(t *testing.T) {
	f := newServer(t, &server.Options{StallTimeout: time.Minute})
	for _, head := range []string{
		pushHead("wrong-token", 1<<20),
		pushHead("wrong-token", 1000), // net/http would read up to 256 KiB of it
		"PUT /v1/blobs/alpha/00?expires=1&signature=bad HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n",
		"PUT /v1/blobs/alpha/00?expires=1&signature=bad HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
	} {
		c := f.rawConn(t, head)
		start := time.Now()
		resp, e := readAnswer(t, c)
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%d %+v", resp.StatusCode, e)
		}
		if !resp.Close || !closedSoon(c, 5*time.Second) || time.Since(start) > 5*time.Second {
			t.Fatalf("the connection stayed open after %d without a body", resp.StatusCode)
		}
	}
}

// TestDrain cuts off a body being received, and answers a request that
// arrives with a body later 503 at once; a request without one is served.
func TestDrain(t *testing.T) {
	f := newServer(t, &server.Options{StallTimeout: time.Minute})
	c := f.rawConn(t, pushHead("token-alpha", 100))
	c.Write([]byte(`{"ops":`))
	time.Sleep(50 * time.Millisecond) // the handler waits for the rest
	f.h.Drain()
	start := time.Now()
	if resp, e := readAnswer(t, c); resp.StatusCode != http.StatusServiceUnavailable || e.Code != "Unavailable" {
		t.Fatalf("a body arriving when draining: %d %+v", resp.StatusCode, e)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Drain took %v to cut a body off", time.Since(start))
	}
	c = f.rawConn(t, pushHead("token-alpha", 100))
	if resp, e := readAnswer(t, c); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a body after Drain: %d %+v", resp.StatusCode, e)
	}
	if r := f.do(t, "GET", strings.Replace(syncproto.RoutePull, "{ws}", "alpha", 1), map[string]string{"Authorization": "Bearer token-alpha"}, ""); r.StatusCode != 200 {
		t.Fatalf("pull after Drain: %d", r.StatusCode)
	}
}

// TestRouterErrorsAreJSON checks the answers of the router itself: an
// unknown path, a known path with another method, a path with ".."
// segments (which ServeMux would redirect) and a preflight-less OPTIONS.
func TestRouterErrorsAreJSON(t *testing.T) {
	f := newServer(t, nil)
	for _, tc := range []struct {
		req    string
		status int
		code   string
	}{
		{"GET /nope", 404, "NotFound"},
		{"GET /", 404, "NotFound"},
		{"DELETE /v1/workspaces/alpha/push", 405, "Invalid"},
		{"OPTIONS /v1/workspaces/alpha/pull", 405, "Invalid"},
		{"GET /v1/workspaces/beta/../alpha/pull", 400, "Invalid"},
		{"GET /v1//workspaces/alpha/pull", 400, "Invalid"},
		{"GET /v1/workspaces/alpha/./pull", 400, "Invalid"},
	} {
		c := f.rawConn(t, tc.req+" HTTP/1.1\r\nHost: x\r\nAtelier-Sync: 2\r\nAuthorization: Bearer token-alpha\r\n\r\n")
		resp, e := readAnswer(t, c)
		if resp.StatusCode != tc.status || e.Code != tc.code || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %+v", tc.req, resp.StatusCode, e)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", tc.req)
		}
	}
}

// TestLimitListener keeps two connections from one address and refuses a
// third with a JSON 503; with a total of one, a second connection waits
// for the first to close.
func TestLimitListener(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	serve := func(maxConns, perIP int) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: ok}
		go srv.Serve(server.LimitListener(ln, maxConns, perIP))
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	get := func(c net.Conn) *http.Response {
		t.Helper()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, _ := readAnswer(t, c)
		return resp
	}
	dial := func(addr string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	addr := serve(0, 2)
	a, b := dial(addr), dial(addr)
	if get(a).StatusCode != 200 || get(b).StatusCode != 200 {
		t.Fatal("the first two connections were not served")
	}
	third := dial(addr)
	if resp := get(third); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third connection from one address: %d", resp.StatusCode)
	}
	a.Close()
	time.Sleep(50 * time.Millisecond) // the server notices the close
	if get(dial(addr)).StatusCode != 200 {
		t.Fatal("a connection after one closed was not served")
	}

	addr = serve(1, 0)
	first := dial(addr)
	if get(first).StatusCode != 200 {
		t.Fatal("the first connection was not served")
	}
	second := dial(addr) // the kernel accepts it; the server does not yet
	io.WriteString(second, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	second.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := second.Read(make([]byte, 1)); err == nil {
		t.Fatal("a second connection was served with a limit of one")
	}
	first.Close()
	if resp, _ := readAnswer(t, second); resp.StatusCode != 200 {
		t.Fatalf("the waiting connection: %d", resp.StatusCode)
	}
}

// stuckStore is a Store whose Update and Changes wait for their context
// to end.
type stuckStore struct {
	server.Store
	entered chan struct{}
}

func (s *stuckStore) Update(ctx context.Context, ws string, fn func(server.Tx) error) error {
	s.entered <- struct{}{}
	<-ctx.Done()
	return fmt.Errorf("stuck: %w", ctx.Err())
}

func (s *stuckStore) Changes(ctx context.Context, ws string, q server.ChangesQuery) ([]syncproto.Change, bool, error) {
	s.entered <- struct{}{}
	<-ctx.Done()
	return nil, false, fmt.Errorf("stuck: %w", ctx.Err())
}

// TestClientGoneNotAnError has clients give up on a push and a pull while
// the store works: the server logs that at debug level, with status 499,
// and logs no error.
func TestClientGoneNotAnError(t *testing.T) {
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "sync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	blobs, _ := dirblob.Open(t.TempDir())
	tokens, _ := server.NewTokens(map[string]string{"token-alpha": "alpha"})
	logs := &syncBuffer{}
	stuck := &stuckStore{Store: store, entered: make(chan struct{}, 1)}
	h, err := server.New(stuck, blobs, &server.Options{Tokens: tokens,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	op := syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: graph.NewID(), Kind: syncproto.OpDelete, Version: 1}
	op.WorkflowID = graph.NewID()
	push, _ := json.Marshal(syncproto.PushRequest{Ops: []syncproto.Op{op}})
	for _, tc := range []struct{ method, route, body string }{
		{"POST", syncproto.RoutePush, string(push)},
		{"GET", syncproto.RoutePull, ""},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, tc.method, srv.URL+strings.Replace(tc.route, "{ws}", "alpha", 1), strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer token-alpha")
		req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
		go func() { <-stuck.entered; cancel() }()
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("%s answered %d", tc.route, resp.StatusCode)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "status=499") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if strings.Count(out, "status=499") != 2 || strings.Count(out, "level=DEBUG msg=\"request canceled\"") != 2 ||
		strings.Contains(out, "level=ERROR") || strings.Contains(out, "status=500") {
		t.Fatalf("canceled requests logged as:\n%s", out)
	}
}
