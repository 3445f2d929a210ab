package storetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

// watchResult is one answer to a watch request and when it came.
type watchResult struct {
	r    *response
	seq  int64
	took time.Duration
}

// watch asks base's watch route of ws with the raw query q in the
// background.
func (e *env) watch(base, ws, q string) <-chan watchResult {
	out := make(chan watchResult, 1)
	start := time.Now()
	go func() {
		req, _ := http.NewRequest("GET", base+route(syncproto.RouteWatch, ws)+"?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+tokenOf(ws))
		req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
		res := watchResult{r: &response{}}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			res.r = &response{status: resp.StatusCode, header: resp.Header, body: b}
			var w syncproto.WatchResponse
			if json.Unmarshal(res.r.body, &w) == nil {
				res.seq = w.Seq
			}
		}
		res.took = time.Since(start)
		out <- res
	}()
	return out
}

func waitWatch(t *testing.T, what string, c <-chan watchResult, limit time.Duration) watchResult {
	t.Helper()
	select {
	case res := <-c:
		if res.r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", what, res.r.status, res.r.body)
		}
		return res
	case <-time.After(limit):
		t.Fatalf("%s: no answer within %v", what, limit)
		return watchResult{}
	}
}

// A watch answers at once when changes follow its cursor, as soon as a
// push lands otherwise (and not for a push to another workspace), with
// its cursor when the wait is over; a second server process on the same
// database wakes it within its poll interval.
func testWatch(t *testing.T, open Opener) {
	e := newEnv(t, open, func(o *server.Options) { o.WatchPoll = 100 * time.Millisecond })
	wf := graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 1, "watched"))
	seq := head(t, e.store, "alpha")

	if res := waitWatch(t, "watch behind", e.watch(e.srv.URL, "alpha", "after=0"), 5*time.Second); res.seq < 1 || res.seq > seq {
		t.Fatalf("watch after 0 answered seq %d, want 1..%d", res.seq, seq)
	}
	if res := waitWatch(t, "watch timing out", e.watch(e.srv.URL, "alpha", "after="+itoa(seq)+"&wait=200"), 5*time.Second); res.seq != seq || res.took < 150*time.Millisecond {
		t.Fatalf("watch with nothing new answered seq %d after %v, want %d after the wait", res.seq, res.took, seq)
	}

	// Held until a push lands, not woken by another workspace's.
	c := e.watch(e.srv.URL, "alpha", "after="+itoa(seq)+"&wait=10000")
	time.Sleep(100 * time.Millisecond)
	e.push("beta", workflowOp(graph.NewID(), 0, 1, 1, "elsewhere"))
	select {
	case res := <-c:
		t.Fatalf("watch of alpha answered after a push to beta: %d %s", res.r.status, res.r.body)
	case <-time.After(300 * time.Millisecond):
	}
	pushed := time.Now()
	e.push("alpha", nodeOp(wf, graph.NewID(), 0, 1, 2, "new"))
	res := waitWatch(t, "watch woken by a push", c, 5*time.Second)
	if res.seq <= seq {
		t.Fatalf("woken watch answered seq %d, want above %d", res.seq, seq)
	}
	if lag := time.Since(pushed); lag > 2*time.Second {
		t.Fatalf("watch answered %v after the push", lag)
	}

	// Another server process on the same database: its push reaches this
	// one's watcher through the store.
	other := e.open(t)
	defer other.Close()
	h, err := server.New(other, e.blobs, &e.opts)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h)
	defer srv2.Close()
	seq = head(t, e.store, "alpha")
	c = e.watch(e.srv.URL, "alpha", "after="+itoa(seq)+"&wait=10000")
	time.Sleep(50 * time.Millisecond)
	if r := e.do("POST", srv2.URL+route(syncproto.RoutePush, "alpha"), tokenOf("alpha"),
		syncproto.PushRequest{Ops: []syncproto.Op{nodeOp(wf, graph.NewID(), 0, 1, 3, "via other")}}); r.status != http.StatusOK {
		t.Fatalf("push through the second server: %d %s", r.status, r.body)
	}
	if res := waitWatch(t, "watch woken by another process", c, 5*time.Second); res.seq <= seq {
		t.Fatalf("watch answered seq %d, want above %d", res.seq, seq)
	}

	for _, q := range []string{"", "after=-1", "after=x", "after=1&wait=-1", "after=1&wait=55001", "after=1&wait=x"} {
		r := e.do("GET", route(syncproto.RouteWatch, "alpha")+"?"+q, tokenOf("alpha"), nil)
		wantStatus(t, "watch ?"+q, r, http.StatusBadRequest, "Invalid")
	}
	wantStatus(t, "watch without a token", e.do("GET", route(syncproto.RouteWatch, "alpha")+"?after=0", "", nil), http.StatusUnauthorized, "Unauthorized")
	wantStatus(t, "watch of another workspace", e.do("GET", route(syncproto.RouteWatch, "beta")+"?after=0", tokenOf("alpha"), nil), http.StatusForbidden, "Forbidden")
}
