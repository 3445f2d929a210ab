//go:build js && wasm

package idb

import (
	"errors"
	"slices"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// twoTabs opens two stores on one database: to each other they are two
// tabs (separate connections and tab ids, a real BroadcastChannel between
// them).
func twoTabs(t *testing.T) (*DB, *DB) {
	t.Helper()
	return twoTabsNamed(t, dbName(t))
}

// twoTabsNamed is twoTabs on the database called name.
func twoTabsNamed(t *testing.T, name string) (*DB, *DB) {
	t.Helper()
	a := openNamed(t, name, nil, migrations)
	b, err := Open(testCtx(t), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// subscription records what a subscriber is handed.
type subscription struct {
	mu     sync.Mutex
	sets   []ChangeSet
	closed []error
	wake   chan struct{}
}

func subscribe(t *testing.T, d *DB) (*subscription, func()) {
	t.Helper()
	s := &subscription{wake: make(chan struct{}, 1)}
	stop := d.Subscribe(func(cs ChangeSet) {
		s.mu.Lock()
		s.sets = append(s.sets, cs)
		s.mu.Unlock()
		s.poke()
	}, func(err error) {
		s.mu.Lock()
		s.closed = append(s.closed, err)
		s.mu.Unlock()
		s.poke()
	})
	return s, stop
}

func (s *subscription) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// got returns the change sets handed so far.
func (s *subscription) got() []ChangeSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sets)
}

// until waits for a change set that satisfies cond.
func (s *subscription) until(t *testing.T, cond func(ChangeSet) bool) ChangeSet {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		for _, cs := range s.got() {
			if cond(cs) {
				return cs
			}
		}
		select {
		case <-s.wake:
		case <-deadline:
			t.Fatalf("no such change set within 5s; got %+v", s.got())
		}
	}
}

// reasons returns the reasons closed was called with so far.
func (s *subscription) reasons() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.closed)
}

// untilClosed waits for the closed callback and returns its reasons.
func (s *subscription) untilClosed(t *testing.T) []error {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if c := s.reasons(); len(c) > 0 {
			return c
		}
		select {
		case <-s.wake:
		case <-deadline:
			t.Fatal("closed not called within 5s")
		}
	}
}

func has(cs ChangeSet, c Change) bool { return slices.Contains(cs.Changes, c) }

// TestSubscribe: this tab's change sets reach subscribers before the
// writing call returns; unsubscribing stops them; closing the store calls
// closed once, at once for a subscription made after.
func TestSubscribe(t *testing.T) {
	ctx := testCtx(t)
	d := newDB(t, nil)
	s, stop := subscribe(t, d)
	w := mustWorkflow(t, d, "subscribed")
	nodes, err := d.SetNodes(ctx, w.ID, someNodes(2))
	if err != nil {
		t.Fatal(err)
	}
	got := s.got() // no waiting: the sets must be there already
	if len(got) != 2 {
		t.Fatalf("%d change sets for two writes: %+v", len(got), got)
	}
	if cs := got[0]; cs.Remote || !has(cs, Change{ChangeWorkflow, w.ID, w.ID, w.Version, false}) {
		t.Fatalf("create: %+v", cs)
	}
	for _, n := range nodes {
		if cs := got[1]; cs.Remote || len(cs.Workflows) != 0 || !has(cs, Change{ChangeNode, n.ID, w.ID, n.Version, false}) {
			t.Fatalf("set nodes: %+v", cs)
		}
	}
	if err := d.DeleteNodes(ctx, w.ID, nodes[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := s.got(); len(got) != 3 || !has(got[2], Change{ChangeNode, nodes[0].ID, w.ID, 0, false}) {
		t.Fatalf("a deletion is announced with version 0: %+v", got)
	}

	// Another subscriber goes on after the first one stops.
	s2, _ := subscribe(t, d)
	stop()
	stop() // twice is fine
	if _, err := d.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new("renamed")}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.got()); n != 3 {
		t.Fatalf("%d change sets after unsubscribing, want 3", n)
	}
	if n := len(s2.got()); n != 1 {
		t.Fatalf("the other subscriber got %d change sets, want 1", n)
	}

	d.Close()
	if c := s2.untilClosed(t); len(c) != 1 || !errors.Is(c[0], errs.ErrClosed) {
		t.Fatalf("closed: %v", c)
	}
	if c := s.reasons(); c != nil {
		t.Fatalf("an unsubscribed subscriber was told of the close: %v", c)
	}
	late, _ := subscribe(t, d)
	if c := late.untilClosed(t); len(c) != 1 || !errors.Is(c[0], errs.ErrClosed) {
		t.Fatalf("subscribing to a closed store: %v", c)
	}
	time.Sleep(20 * time.Millisecond)
	if c, l := s2.reasons(), late.reasons(); len(c) != 1 || len(l) != 1 {
		t.Fatalf("closed called more than once: %v, %v", c, l)
	}
}

// TestFeedMessages: another tab's change sets arrive marked Remote, a big
// transaction as the workflows it changed; the feed ignores the echo of
// this tab's own message and malformed messages, and passes on what
// another tab announces even when it is old news (live models judge
// versions).
func TestFeedMessages(t *testing.T) {
	ctx := testCtx(t)
	a, b := twoTabs(t)
	s, stop := subscribe(t, b)
	defer stop()
	w := mustWorkflow(t, a, "messages")
	nodes, err := a.SetNodes(ctx, w.ID, someNodes(3))
	if err != nil {
		t.Fatal(err)
	}
	pos := graph.Position{X: 5, Y: 5}
	moved, err := a.UpdateNode(ctx, w.ID, nodes[1].ID, graph.NodePatch{Position: &pos, Size: nil})
	if err != nil {
		t.Fatal(err)
	}
	want := Change{ChangeNode, moved.ID, w.ID, moved.Version, false}
	if cs := s.until(t, func(cs ChangeSet) bool { return has(cs, want) }); !cs.Remote {
		t.Fatalf("another tab's change set not marked remote: %+v", cs)
	}
	s.until(t, func(cs ChangeSet) bool { return has(cs, Change{ChangeWorkflow, w.ID, w.ID, w.Version, false}) })
	s.until(t, func(cs ChangeSet) bool {
		return has(cs, Change{ChangeNode, nodes[0].ID, w.ID, nodes[0].Version, false})
	})

	// A transaction too big to list is announced by workflow.
	if _, err := a.SetNodes(ctx, w.ID, someNodes(maxChanges+10)); err != nil {
		t.Fatal(err)
	}
	cs := s.until(t, func(cs ChangeSet) bool { return len(cs.Workflows) > 0 })
	if !cs.Remote || len(cs.Changes) != 0 || !slices.Equal(cs.Workflows, []string{w.ID}) {
		t.Fatalf("big transaction: %+v", cs)
	}

	// Messages injected as the bus hands them over.
	n := len(s.got())
	b.feed.receive(encodeMessage("another-tab", []Change{want}))
	if got := s.got(); len(got) != n+1 || !got[n].Remote || !has(got[n], want) {
		t.Fatalf("another tab's repeated announcement: %+v", got[n:])
	}
	b.feed.receive(encodeMessage(b.tab, []Change{{ChangeNode, nodes[2].ID, w.ID, 99, false}}))
	b.feed.receive("not json")
	b.feed.receive(`{"t":"x","c":[{"k":"n","i":"not an id","f":"` + w.ID + `","v":1}]}`)
	b.feed.receive(`{"t":"x","c":[{"k":"q","i":"` + w.ID + `","v":1}]}`)
	b.feed.receive(`{"t":"x","w":["not an id"]}`)
	if got := s.got(); len(got) != n+1 {
		t.Fatalf("an echo or a malformed message reached subscribers: %+v", got[n+1:])
	}
}

// TestStorageEventFallback: without BroadcastChannel, changes travel
// through localStorage's storage event. Storage events reach other
// documents only, so a same-origin iframe relays the message back, the way
// a second tab would see it.
func TestStorageEventFallback(t *testing.T) {
	ctx := testCtx(t)
	name := dbName(t)
	a, b := func() (*DB, *DB) {
		saved := js.Global().Get("BroadcastChannel")
		js.Global().Set("BroadcastChannel", js.Undefined())
		defer js.Global().Set("BroadcastChannel", saved)
		return twoTabsNamed(t, name)
	}()
	for _, d := range []*DB{a, b} {
		if d.feed.bus == nil || d.feed.bus.Transport() != "storage" {
			t.Fatalf("transport %v", d.feed.bus)
		}
	}
	// The relay reports through globals: start from none (-count=N runs
	// this test again in the same page).
	js.Global().Delete("relayReady")
	js.Global().Delete("relayed")
	relay := js.Global().Get("document").Call("createElement", "iframe")
	relay.Set("srcdoc", `<script>
addEventListener("storage", (ev) => {
  if (ev.key && ev.key.startsWith("atelier-bus:") && ev.newValue && !ev.newValue.startsWith("relayed")) {
    parent.relayed = (parent.relayed || 0) + 1;
    localStorage.setItem(ev.key, "relayed" + ev.newValue);
  }
});
parent.relayReady = true;
</script>`)
	js.Global().Get("document").Get("body").Call("appendChild", relay)
	defer relay.Call("remove")
	for deadline := time.Now().Add(5 * time.Second); !js.Global().Get("relayReady").Truthy(); {
		if time.Now().After(deadline) {
			t.Fatal("relay iframe did not load")
		}
		time.Sleep(10 * time.Millisecond)
	}

	s, stop := subscribe(t, b)
	defer stop()
	w, err := a.CreateWorkflow(ctx, "over storage")
	if err != nil {
		t.Fatal(err)
	}
	s.until(t, func(cs ChangeSet) bool {
		return cs.Remote && has(cs, Change{ChangeWorkflow, w.ID, w.ID, w.Version, false})
	})
	renamed, err := a.UpdateWorkflow(ctx, w.ID, graph.WorkflowPatch{Name: new("renamed over storage")})
	if err != nil {
		t.Fatal(err)
	}
	s.until(t, func(cs ChangeSet) bool {
		return cs.Remote && has(cs, Change{ChangeWorkflow, w.ID, w.ID, renamed.Version, false})
	})
	if r := js.Global().Get("relayed"); r.Type() != js.TypeNumber || r.Int() < 1 {
		t.Fatal("the change did not go through the storage event")
	}
}
