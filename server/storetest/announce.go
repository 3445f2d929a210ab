package storetest

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

// noPoll is a watch poll interval no test outlasts: a watch answered
// before the end of its wait was woken by an announcement.
const noPoll = time.Hour

// announceLimit bounds how long an announced change may take to reach a
// watch of another server; the poll it replaces is 5 s.
const announceLimit = 2 * time.Second

// Announcements records what a server.Announcer tells it, as its
// AnnounceHandler, in order: "+" when connected, "-" when the connection
// was lost, else the workspace changed.
type Announcements struct {
	mu     sync.Mutex
	events []string
	heard  chan struct{} // gets a value after each event, if there is room
}

// NewAnnouncements returns an empty record.
func NewAnnouncements() *Announcements { return &Announcements{heard: make(chan struct{}, 1)} }

func (a *Announcements) add(ev string) {
	a.mu.Lock()
	a.events = append(a.events, ev)
	a.mu.Unlock()
	select {
	case a.heard <- struct{}{}:
	default:
	}
}

// Changed implements server.AnnounceHandler.
func (a *Announcements) Changed(ws string) { a.add(ws) }

// Connected implements server.AnnounceHandler.
func (a *Announcements) Connected() { a.add("+") }

// Lost implements server.AnnounceHandler.
func (a *Announcements) Lost(error, time.Duration) { a.add("-") }

// Events returns what was heard so far.
func (a *Announcements) Events() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.events)
}

// Await waits up to limit for the event want, past the first from
// events, and returns its index, or -1 after limit.
func (a *Announcements) Await(from int, limit time.Duration, want string) int {
	end := time.NewTimer(limit)
	defer end.Stop()
	for {
		for i, ev := range a.Events() {
			if i >= from && ev == want {
				return i
			}
		}
		select {
		case <-a.heard:
		case <-end.C:
			return -1
		}
	}
}

// testAnnouncer checks the Announcer contract of the store, when it has
// one: a write committed through another handle of the database is heard,
// one through the listening handle is not, Listen returns when the store
// closes, and fails at once on a closed store.
func testAnnouncer(t *testing.T, open Opener) {
	s := open(t)
	a, ok := s.(server.Announcer)
	if !ok {
		s.Close()
		t.Skip("the store is not a server.Announcer: one process per database")
	}
	other := open(t)
	defer other.Close()
	heard := NewAnnouncements()
	ended := make(chan error, 1)
	go func() { ended <- a.Listen(context.Background(), heard) }()
	if heard.Await(0, 10*time.Second, "+") < 0 {
		t.Fatalf("Listen did not connect: heard %q", heard.Events())
	}
	put := func(s server.Store, ws string) {
		t.Helper()
		err := s.Update(context.Background(), ws, func(tx server.Tx) error {
			c := syncproto.Change{EntityID: graph.NewID(), Entity: syncproto.EntityWorkflow, Seq: tx.Seq() + 1, Version: 1,
				OpID: graph.NewID(), Data: []byte(`{}`)}
			c.WorkflowID = c.EntityID
			return tx.Put([]syncproto.Change{c}, []server.StoredAck{{OpID: c.OpID, JSON: []byte(`{}`)}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(s, "beta") // its own: not heard
	put(other, "alpha")
	if i := heard.Await(1, announceLimit, "alpha"); i < 0 {
		t.Fatalf("a write through another handle was not heard: %q", heard.Events())
	}
	// A transaction that writes nothing announces nothing.
	if err := other.Update(context.Background(), "w1", func(server.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	put(other, "w0")
	if i := heard.Await(1, announceLimit, "w0"); i < 0 {
		t.Fatalf("a second write was not heard: %q", heard.Events())
	}
	if ev := heard.Events(); !slices.Equal(ev, []string{"+", "alpha", "w0"}) {
		t.Fatalf("heard %q, want the writes through the other handle only", ev)
	}

	s.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, errs.ErrClosed) {
			t.Fatalf("Listen returned %v when the store closed, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen goes on after Close")
	}
	if err := a.Listen(context.Background(), heard); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Listen on a closed store: %v", err)
	}

	// Ending its context ends it too.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { ended <- other.(server.Announcer).Listen(ctx, NewAnnouncements()) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Listen returned %v when its context ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen goes on after its context ended")
	}
}

// testAnnounce runs two servers on two handles of the database, as two
// server processes, with no watch poll: a write through either wakes the
// watches held on the other (of its workspace only) as soon as it
// commits, whether a client pushed it or server code wrote it, and both
// serve the same changes. It is skipped for a store that is not an
// Announcer.
func testAnnounce(t *testing.T, open Opener) {
	e := newEnv(t, open, func(o *server.Options) { o.WatchPoll = noPoll })
	if _, ok := e.store.(server.Announcer); !ok {
		t.Skip("the store is not a server.Announcer: one process per database")
	}
	other := open(t)
	defer other.Close()
	h2, err := server.New(other, e.blobs, &e.opts)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	e2 := &env{tb: t, open: open, store: other, blobs: e.blobs, srv: srv2, h: h2, clock: e.clock, opts: e.opts}

	wf := graph.NewID()
	e.push("alpha", workflowOp(wf, 0, 1, 1, "announced"))
	// Either listener may connect after that push: its connection wakes
	// every watch, so the first round passes either way, and the later
	// ones can be woken only by announcements.
	at := int64(2)
	for round := range 6 {
		from, to := e, e2
		if round%2 == 1 {
			from, to = e2, e
		}
		seq := head(t, e.store, "alpha")
		watch := to.watch(to.srv.URL, "alpha", "after="+itoa(seq)+"&wait=30000")
		time.Sleep(50 * time.Millisecond) // held
		pushed := time.Now()
		from.push("alpha", nodeOp(wf, graph.NewID(), 0, 1, at, "round"))
		at++
		res := waitWatch(t, "watch on the other server", watch, announceLimit)
		if res.seq <= seq {
			t.Fatalf("round %d: the watch answered %d, want above %d", round, res.seq, seq)
		}
		t.Logf("round %d: answered %v after the push", round, time.Since(pushed).Round(time.Millisecond))
	}

	// Server code's writes are announced too.
	d, _ := e.h.Workspace("alpha")
	id := graph.NewID()
	seq := head(t, e.store, "alpha")
	watch := e2.watch(e2.srv.URL, "alpha", "after="+itoa(seq)+"&wait=30000")
	time.Sleep(50 * time.Millisecond)
	if _, err := d.Apply(context.Background(), []syncproto.Op{nodeOp(wf, id, 0, 1, at, "by a job")}); err != nil {
		t.Fatal(err)
	}
	if res := waitWatch(t, "watch of a server Apply on the other server", watch, announceLimit); res.seq <= seq {
		t.Fatalf("watch answered %d after Apply, want above %d", res.seq, seq)
	}
	seq = head(t, e.store, "alpha")
	watch = e2.watch(e2.srv.URL, "alpha", "after="+itoa(seq)+"&wait=30000")
	time.Sleep(50 * time.Millisecond)
	if _, err := d.UpdateNode(context.Background(), id, graph.NodePatch{Status: ptr("done")}, ""); err != nil {
		t.Fatal(err)
	}
	if res := waitWatch(t, "watch of a server UpdateNode on the other server", watch, announceLimit); res.seq <= seq {
		t.Fatalf("watch answered %d after UpdateNode, want above %d", res.seq, seq)
	}

	// Pushes through both at once: both serve the same changes, with one
	// seq per applied op and no gap.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			base := e.srv.URL
			if g%2 == 1 {
				base = e2.srv.URL
			}
			for range 5 {
				var ops []syncproto.Op
				for range 4 {
					ops = append(ops, nodeOp(wf, graph.NewID(), 0, 1, at, "both"))
				}
				if _, err := tryPush(base, "alpha", ops); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	one, two := e.pullAll("alpha", 0), e2.pullAll("alpha", 0)
	if len(one) != len(two) {
		t.Fatalf("the servers serve %d and %d changes", len(one), len(two))
	}
	for i := range one {
		if one[i].Seq != two[i].Seq || one[i].OpID != two[i].OpID || one[i].Version != two[i].Version {
			t.Fatalf("change %d: %+v through one server, %+v through the other", i, one[i], two[i])
		}
	}
	if last, n := one[len(one)-1].Seq, head(t, other, "alpha"); last != n {
		t.Fatalf("the last change pulled has seq %d, the workspace %d", last, n)
	}
}
