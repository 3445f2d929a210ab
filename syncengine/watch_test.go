package syncengine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelierstore/atelier/syncproto"
)

// watchServer is a memServer that holds watches until a change follows
// their cursor, as the reference server does.
type watchServer struct {
	*memServer
	wait    time.Duration // the server's wait
	fail    error         // when set, every watch fails with it at once
	watches atomic.Int64
	mu      sync.Mutex
	changed chan struct{} // closed at the next push
}

func newWatchServer() *watchServer {
	return &watchServer{memServer: newMemServer(), wait: time.Hour, changed: make(chan struct{})}
}

func (w *watchServer) Push(ctx context.Context, req *syncproto.PushRequest) (*syncproto.PushResponse, error) {
	resp, err := w.memServer.Push(ctx, req)
	w.mu.Lock()
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	return resp, err
}

func (w *watchServer) Watch(ctx context.Context, after int64) (int64, error) {
	w.watches.Add(1)
	if w.fail != nil {
		return 0, w.fail
	}
	deadline := time.After(w.wait)
	for {
		w.mu.Lock()
		woken := w.changed
		w.mu.Unlock()
		w.memServer.mu.Lock()
		seq := w.memServer.seq
		w.memServer.mu.Unlock()
		if seq > after {
			return seq, nil
		}
		select {
		case <-woken:
		case <-deadline:
			return after, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func runEngine(t *testing.T, e *Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if e.Status().Live {
			t.Error("Live after Run returned")
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// A change another device pushes reaches an engine that only polls every
// hour within moments, through the server's announcement.
func TestWatchPullsWhatTheServerAnnounces(t *testing.T) {
	srv := newWatchServer()
	store := newMemStore()
	e := New(store, srv, &Options{PullInterval: time.Hour})
	runEngine(t, e)
	waitFor(t, "live", func() bool { return e.Status().Live })

	for i := range 5 {
		op := someOps(1)[0]
		if _, err := srv.Push(context.Background(), &syncproto.PushRequest{Ops: []syncproto.Op{op}}); err != nil {
			t.Fatal(err)
		}
		lag := waitFor(t, "the announced change applied", func() bool {
			store.mu.Lock()
			defer store.mu.Unlock()
			_, ok := store.applied[op.EntityID]
			return ok
		})
		t.Logf("change %d applied %v after the push", i, lag)
	}
	// One watch per change and the one waiting now, not a busy loop.
	time.Sleep(50 * time.Millisecond)
	if n := srv.watches.Load(); n > 12 {
		t.Fatalf("%d watches for 5 changes", n)
	}
}

// A server without the route leaves the engine polling; one that fails is
// asked again after a backoff, not in a busy loop; NoWatch never asks.
func TestWatchFallsBackToPolling(t *testing.T) {
	t.Run("no route", func(t *testing.T) {
		srv := newWatchServer()
		srv.fail = &HTTPError{Status: 404, Code: "NotFound", Msg: "no route"}
		e := New(newMemStore(), srv, &Options{PullInterval: 20 * time.Millisecond})
		runEngine(t, e)
		waitFor(t, "rounds go on", func() bool { return e.Status().Rounds >= 3 })
		if n := srv.watches.Load(); n != 1 || e.Status().Live {
			t.Fatalf("%d watches of a server without the route, live %v", n, e.Status().Live)
		}
	})
	t.Run("failing", func(t *testing.T) {
		srv := newWatchServer()
		srv.fail = &HTTPError{Status: 503, Code: "Internal", Msg: "down"}
		e := New(newMemStore(), srv, &Options{PullInterval: time.Hour, BackoffBase: 100 * time.Millisecond, BackoffCap: 200 * time.Millisecond})
		runEngine(t, e)
		time.Sleep(500 * time.Millisecond)
		if n := srv.watches.Load(); n < 2 || n > 6 || e.Status().Live {
			t.Fatalf("%d watches of a failing server in 500 ms with 100-200 ms backoff, live %v", n, e.Status().Live)
		}
	})
	t.Run("answering at once", func(t *testing.T) {
		srv := newWatchServer()
		srv.wait = 0
		e := New(newMemStore(), srv, &Options{PullInterval: time.Hour, BackoffBase: 100 * time.Millisecond, BackoffCap: 200 * time.Millisecond})
		runEngine(t, e)
		time.Sleep(500 * time.Millisecond)
		if n := srv.watches.Load(); n > 6 {
			t.Fatalf("%d watches of a server that does not hold them, in 500 ms", n)
		}
	})
	t.Run("NoWatch", func(t *testing.T) {
		srv := newWatchServer()
		e := New(newMemStore(), srv, &Options{PullInterval: 20 * time.Millisecond, NoWatch: true})
		runEngine(t, e)
		waitFor(t, "rounds go on", func() bool { return e.Status().Rounds >= 2 })
		if n := srv.watches.Load(); n != 0 {
			t.Fatalf("%d watches with NoWatch", n)
		}
	})
}
