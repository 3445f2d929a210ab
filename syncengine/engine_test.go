package syncengine

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/syncproto"
)

// memStore is the local side in memory: an outbox, and the changes applied.
type memStore struct {
	mu       sync.Mutex
	ops      []syncproto.Op
	parked   map[string]string
	cursor   int64
	applied  map[string]syncproto.Change
	versions map[string]int64 // confirmed version per entity
}

func newMemStore(ops ...syncproto.Op) *memStore {
	return &memStore{ops: append([]syncproto.Op(nil), ops...), parked: map[string]string{}, applied: map[string]syncproto.Change{}, versions: map[string]int64{}}
}

func (m *memStore) PendingOps(_ context.Context, limit int) ([]syncproto.Op, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []syncproto.Op
	for _, op := range m.ops {
		if m.parked[op.ID] == "" && (limit <= 0 || len(out) < limit) {
			out = append(out, op)
		}
	}
	return out, nil
}

func (m *memStore) AckOps(_ context.Context, acks []syncproto.Ack) ([]syncproto.Conflict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var conflicts []syncproto.Conflict
	for _, a := range acks {
		for i, op := range m.ops {
			if op.ID != a.OpID {
				continue
			}
			switch a.Status {
			case syncproto.Rejected:
				m.parked[op.ID] = a.Error
				conflicts = append(conflicts, syncproto.Conflict{Lost: op, Reason: a.Error})
			case syncproto.Superseded:
				conflicts = append(conflicts, syncproto.Conflict{Lost: op, Winner: a.Current})
				m.ops = append(m.ops[:i], m.ops[i+1:]...)
			default:
				m.versions[op.EntityID] = a.Version
				m.ops = append(m.ops[:i], m.ops[i+1:]...)
			}
			break
		}
	}
	return conflicts, nil
}

func (m *memStore) ApplyChanges(_ context.Context, changes []syncproto.Change, cursor int64) (syncproto.ApplyResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range changes {
		m.applied[c.EntityID] = c
		m.versions[c.EntityID] = max(m.versions[c.EntityID], c.Version)
	}
	m.cursor = cursor
	return syncproto.ApplyResult{Applied: len(changes)}, nil
}

func (m *memStore) SyncCursor(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursor, nil
}

func (m *memStore) ParkedOps(context.Context) ([]syncproto.Conflict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []syncproto.Conflict
	for _, op := range m.ops {
		if r := m.parked[op.ID]; r != "" {
			out = append(out, syncproto.Conflict{Lost: op, Reason: r})
		}
	}
	return out, nil
}

func (m *memStore) CountOps(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ops), nil
}

// memServer applies syncproto's rule, with faults on demand.
type memServer struct {
	mu      sync.Mutex
	state   map[string]*syncproto.Change
	acks    map[string]syncproto.Ack
	log     []syncproto.Change
	seq     int64
	applied int // ops applied (a replay does not count)

	forgotten    map[string]bool // op ids whose acks were compacted: a push of one is answered Resync
	down         int             // fail this many requests with a 503
	dropAfter    int             // commit, then lose the response, this many times
	poison       string          // an op id that makes any batch holding it a 400
	pushRequests int
}

func newMemServer() *memServer {
	return &memServer{state: map[string]*syncproto.Change{}, acks: map[string]syncproto.Ack{}}
}

func (s *memServer) Push(_ context.Context, req *syncproto.PushRequest) (*syncproto.PushResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushRequests++
	if s.down > 0 {
		s.down--
		return nil, &HTTPError{Status: 503, Code: "Internal", Msg: "down"}
	}
	if err := req.Validate(); err != nil {
		return nil, &HTTPError{Status: 400, Code: "Invalid", Msg: err.Error()}
	}
	for _, op := range req.Ops {
		if op.ID == s.poison {
			return nil, &HTTPError{Status: 400, Code: "Invalid", Msg: "poison"}
		}
	}
	for _, op := range req.Ops {
		if _, acked := s.acks[op.ID]; !acked && s.forgotten[op.ID] {
			return nil, &HTTPError{Status: 409, Code: syncproto.CodeResync, Msg: "op " + op.ID + " is older than the ack horizon"}
		}
	}
	resp := &syncproto.PushResponse{}
	for i := range req.Ops {
		op := &req.Ops[i]
		if a, done := s.acks[op.ID]; done {
			resp.Acks = append(resp.Acks, a)
			continue
		}
		m, err := syncproto.Merge(s.state[op.EntityID], op)
		if err != nil {
			return nil, &HTTPError{Status: 500, Code: "Internal", Msg: err.Error()}
		}
		var a syncproto.Ack
		if m.Applied {
			s.seq++
			s.applied++
			c := m.State
			c.Seq = s.seq
			s.state[op.EntityID] = c
			s.log = append(s.log, *c)
			a = syncproto.Ack{OpID: op.ID, Status: syncproto.Applied, Version: c.Version}
			if m.Mixed {
				a.Current = c
			}
		} else {
			cur := *s.state[op.EntityID]
			a = syncproto.Ack{OpID: op.ID, Status: syncproto.Superseded, Version: cur.Version, Current: &cur}
		}
		s.acks[op.ID] = a
		resp.Acks = append(resp.Acks, a)
	}
	if s.dropAfter > 0 {
		s.dropAfter--
		return nil, errors.New("connection reset after the server committed")
	}
	return resp, nil
}

func (s *memServer) Pull(_ context.Context, cursor int64, limit int) (*syncproto.PullResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down > 0 {
		s.down--
		return nil, &HTTPError{Status: 503, Code: "Internal", Msg: "down"}
	}
	resp := &syncproto.PullResponse{Cursor: cursor}
	for _, c := range s.log {
		if c.Seq > cursor {
			if len(resp.Changes) == limit {
				resp.More = true
				break
			}
			resp.Changes = append(resp.Changes, c)
			resp.Cursor = c.Seq
		}
	}
	return resp, nil
}

func nodeOp(wf, id string, base, version int64) syncproto.Op {
	data, _ := json.Marshal(graph.Node{ID: id, WorkflowID: wf, Type: "t", Version: version})
	return syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: wf,
		Kind: syncproto.OpUpdate, Data: data, BaseVersion: base, Version: version, UpdatedAt: version}
}

func someOps(n int) []syncproto.Op {
	wf := graph.NewID()
	var ops []syncproto.Op
	for i := 0; i < n; i++ {
		ops = append(ops, nodeOp(wf, graph.NewID(), 0, 1))
	}
	return ops
}

func TestRoundPushesInBatchesAndPulls(t *testing.T) {
	store, srv := newMemStore(someOps(1234)...), newMemServer()
	e := New(store, srv, &Options{BatchSize: 100, PullPage: 50})
	if err := e.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.applied != 1234 || srv.pushRequests != 13 {
		t.Fatalf("applied %d in %d pushes", srv.applied, srv.pushRequests)
	}
	if p, _ := store.PendingOps(context.Background(), 0); len(p) != 0 {
		t.Fatalf("%d ops left", len(p))
	}
	if store.cursor != 1234 || len(store.applied) != 1234 {
		t.Fatalf("pulled to %d, %d entities", store.cursor, len(store.applied))
	}
	if s := e.Status(); s.State != Syncing || s.Pending != 0 { // Round leaves State to Run
		t.Fatalf("status %+v", s)
	}
}

// TestLostResponsesApplyNothingTwice: the server commits but the answer is
// lost; the ops are pushed again with their ids and acknowledged once.
func TestLostResponsesApplyNothingTwice(t *testing.T) {
	store, srv := newMemStore(someOps(30)...), newMemServer()
	srv.dropAfter = 2
	e := New(store, srv, &Options{BatchSize: 10})
	for i := 0; i < 3; i++ {
		err := e.Round(context.Background())
		if i < 2 && err == nil {
			t.Fatalf("round %d succeeded with a lost response", i)
		}
		if i == 2 && err != nil {
			t.Fatal(err)
		}
	}
	if srv.applied != 30 {
		t.Fatalf("server applied %d ops for 30", srv.applied)
	}
	if p, _ := store.PendingOps(context.Background(), 0); len(p) != 0 {
		t.Fatalf("%d ops left", len(p))
	}
}

func TestPoisonOpIsParkedOthersGoThrough(t *testing.T) {
	ops := someOps(40)
	store, srv := newMemStore(ops...), newMemServer()
	srv.poison = ops[27].ID
	var reported []syncproto.Conflict
	e := New(store, srv, &Options{OnConflict: func(c []syncproto.Conflict) { reported = append(reported, c...) }})
	if err := e.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.applied != 39 {
		t.Fatalf("applied %d of the 39 good ops", srv.applied)
	}
	if len(reported) != 1 || reported[0].Lost.ID != ops[27].ID || reported[0].Reason == "" {
		t.Fatalf("reported %d conflicts, first %s (%s), want %s", len(reported), reported[0].Lost.ID, reported[0].Reason, ops[27].ID)
	}
	if s := e.Status(); s.Parked != 1 || s.Pending != 0 {
		t.Fatalf("status %+v", s)
	}
}

// TestResync: a device offline past the server's ack retention pushes an
// op the server applied (its answer was lost) and one it never saw, both
// forgotten, and a new one. The engine pulls the whole workspace again,
// once, parks and reports the two, and pushes the new one.
func TestResync(t *testing.T) {
	ops := someOps(4)
	srv := newMemServer()
	// Another device's changes, which this one has not pulled.
	other := New(newMemStore(someOps(5)...), srv, nil)
	if err := other.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	// ops[0] applied, its answer lost; then its ack compacted, as the
	// ack of ops[1] would have been had it arrived.
	srv.dropAfter = 1
	if err := New(newMemStore(ops[0]), srv, nil).push(context.Background(), ops[:1], new(bool)); err == nil {
		t.Fatal("push with a lost answer succeeded")
	}
	delete(srv.acks, ops[0].ID)
	srv.forgotten = map[string]bool{ops[0].ID: true, ops[1].ID: true}
	head := srv.seq

	store := newMemStore(ops...)
	store.cursor = head // as if it had pulled, but it lost what it had
	var reported []syncproto.Conflict
	e := New(store, srv, &Options{BatchSize: 3, OnConflict: func(c []syncproto.Conflict) { reported = append(reported, c...) }})
	if err := e.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := e.Status(); s.Resyncs != 1 || s.Parked != 2 {
		t.Fatalf("status %+v, want one resync and two parked", s)
	}
	// The other device's changes, below the cursor the device had, came
	// with the pull from 0; then its new ops' changes.
	if len(store.applied) != 5+1+2 || store.cursor != srv.seq {
		t.Fatalf("after the resync the device has %d entities at cursor %d; want 8 at %d", len(store.applied), store.cursor, srv.seq)
	}
	if _, ok := store.applied[ops[0].EntityID]; !ok {
		t.Fatal("the forgotten op's effect was not pulled")
	}
	if len(reported) != 2 {
		t.Fatalf("reported %d conflicts, want 2", len(reported))
	}
	for i, c := range reported {
		if c.Lost.ID != ops[i].ID || !syncproto.IsResyncReason(c.Reason) || !strings.Contains(c.Reason, "ack horizon") {
			t.Fatalf("conflict %d: %s %q", i, c.Lost.ID, c.Reason)
		}
	}
	if srv.applied != 5+1+2 {
		t.Fatalf("the server applied %d ops, want 8 (the forgotten ones not again)", srv.applied)
	}
	// Kept, parked: a later round neither pushes them nor resyncs again.
	pushes := srv.pushRequests
	if err := e.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.pushRequests != pushes || e.Status().Resyncs != 1 || e.Status().Parked != 2 {
		t.Fatalf("a later round: %d pushes, status %+v", srv.pushRequests-pushes, e.Status())
	}
}

func TestBackoff(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 5: 32 * time.Second, 9: 32 * time.Second} {
		for i := 0; i < 100; i++ {
			d := Backoff(2*time.Second, 32*time.Second, n, r)
			if d < want/2 || d > want {
				t.Fatalf("retry %d: %v outside [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

// TestRunRetriesWithBackoffAndRecovers: the server is down for three
// rounds; the engine waits the growing delays, reports the failures, and
// syncs when the server is back.
func TestRunRetriesWithBackoffAndRecovers(t *testing.T) {
	store, srv := newMemStore(someOps(5)...), newMemServer()
	srv.down = 3
	var mu sync.Mutex
	var waits []time.Duration
	var states []State
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := &Options{
		OnStatus: func(s Status) {
			mu.Lock()
			defer mu.Unlock()
			if len(states) == 0 || states[len(states)-1] != s.State {
				states = append(states, s.State)
			}
		},
		sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits = append(waits, d)
			n := len(waits)
			mu.Unlock()
			if n >= 5 {
				cancel()
				return ctx.Err()
			}
			return nil
		},
	}
	e := New(store, srv, opts)
	if err := e.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if srv.applied != 5 {
		t.Fatalf("applied %d", srv.applied)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, max := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if waits[i] < max/2 || waits[i] > max {
			t.Fatalf("wait %d: %v, want within [%v, %v] (%v)", i, waits[i], max/2, max, waits)
		}
	}
	if waits[3] != 15*time.Second {
		t.Fatalf("after recovery the engine waited %v, want the pull interval", waits[3])
	}
	want := []State{Syncing, Failing, Syncing, Failing, Syncing, Failing, Syncing, Synced}
	if len(states) < len(want) {
		t.Fatalf("states %v", states)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("states %v, want %v…", states, want)
		}
	}
}

func TestOfflinePausesAndResumes(t *testing.T) {
	store, srv := newMemStore(someOps(3)...), newMemServer()
	e := New(store, srv, nil)
	e.SetOnline(false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	if srv.pushRequests != 0 || e.Status().State != Offline {
		t.Fatalf("offline engine pushed %d times, state %s", srv.pushRequests, e.Status().State)
	}
	e.SetOnline(true)
	deadline := time.Now().Add(5 * time.Second)
	for e.Status().State != Synced && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.applied != 3 {
		t.Fatalf("applied %d after coming online", srv.applied)
	}
	cancel()
	<-done
}

func TestConvergenceOfTwoDevices(t *testing.T) {
	srv := newMemServer()
	wf, id := graph.NewID(), graph.NewID()
	a := newMemStore(nodeOp(wf, id, 0, 1), nodeOp(wf, id, 0, 2), nodeOp(wf, id, 0, 3))
	b := newMemStore(nodeOp(wf, id, 0, 1), nodeOp(wf, id, 0, 2))
	var lost []syncproto.Conflict
	ea := New(a, srv, nil)
	eb := New(b, srv, &Options{OnConflict: func(c []syncproto.Conflict) { lost = append(lost, c...) }})
	for _, e := range []*Engine{eb, ea, eb, ea} {
		if err := e.Round(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	winner := srv.state[id]
	if winner.Version != 3 {
		t.Fatalf("server holds v%d", winner.Version)
	}
	for name, s := range map[string]*memStore{"a": a, "b": b} {
		if s.applied[id].OpID != winner.OpID {
			t.Errorf("device %s holds %s, the server %s", name, s.applied[id].OpID, winner.OpID)
		}
	}
	_ = lost
}

// offlineMidPush is a transport whose push fails as a fetch does when the
// browser goes offline while it is under way.
type offlineMidPush struct {
	*memServer
	e *Engine
}

func (o *offlineMidPush) Push(ctx context.Context, req *syncproto.PushRequest) (*syncproto.PushResponse, error) {
	o.e.SetOnline(false)
	return nil, errors.New("sync server unreachable: TypeError: Failed to fetch")
}

// A round cut short by going offline leaves the engine offline, not
// failing with a backoff: it waits for the network, then syncs at once.
func TestOfflineDuringARound(t *testing.T) {
	store := newMemStore(someOps(2)...)
	tr := &offlineMidPush{memServer: newMemServer()}
	e := New(store, tr, &Options{BackoffBase: time.Hour, BackoffCap: time.Hour, PullInterval: time.Hour})
	tr.e = e
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for e.Status().State != Offline && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the round has ended by now
	if s := e.Status(); s.State != Offline || s.Failures != 0 {
		t.Fatalf("status %+v, want offline with no failures", s)
	}
	cancel()
	<-done
}

// offlineMidPull is a transport whose pull succeeds although the browser
// went offline while it was under way (the answer was on its way).
type offlineMidPull struct {
	*memServer
	e *Engine
}

func (o *offlineMidPull) Pull(ctx context.Context, cursor int64, limit int) (*syncproto.PullResponse, error) {
	o.e.SetOnline(false)
	return o.memServer.Pull(ctx, cursor, limit)
}

// A round that succeeds after the browser went offline leaves the engine
// offline: it must not report "synced" while it is paused.
func TestOfflineDuringASuccessfulRound(t *testing.T) {
	store := newMemStore(someOps(2)...)
	tr := &offlineMidPull{memServer: newMemServer()}
	e := New(store, tr, &Options{PullInterval: time.Hour})
	tr.e = e
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for s := e.Status(); s.Pending != 0 || s.State == Syncing; s = e.Status() {
		if time.Now().After(deadline) {
			t.Fatalf("the round did not end: %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the round has reported by now
	if s := e.Status(); s.State != Offline || s.Failures != 0 {
		t.Fatalf("status %+v, want offline with no failures", s)
	}
	cancel()
	<-done
}

// While offline, a Nudge updates the pending count (a page shows how many
// changes wait for the network) and pushes nothing.
func TestNudgeWhileOfflineCountsPending(t *testing.T) {
	store, srv := newMemStore(someOps(3)...), newMemServer()
	e := New(store, srv, &Options{PushDelay: time.Millisecond})
	e.SetOnline(false)
	e.Nudge()
	deadline := time.Now().Add(5 * time.Second)
	for e.Status().Pending != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want 3 pending", e.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := e.Status(); s.State != Offline || srv.pushRequests != 0 {
		t.Fatalf("status %+v after %d pushes, want offline and none", s, srv.pushRequests)
	}
}

// A Nudge pushes what was recorded after PushDelay, long before the pull
// interval; while the engine backs off, nudges wait for the retry.
func TestNudgePushesSoonButNotDuringBackoff(t *testing.T) {
	store, srv := newMemStore(), newMemServer()
	e := New(store, srv, &Options{PullInterval: time.Hour, PushDelay: 10 * time.Millisecond,
		BackoffBase: time.Hour, BackoffCap: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	pushes := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.pushRequests
	}
	record := func(ops ...syncproto.Op) {
		store.mu.Lock()
		store.ops = append(store.ops, ops...)
		store.mu.Unlock()
		e.Nudge()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (status %+v)", what, e.Status())
			}
		}
	}
	waitFor("the first round", func() bool { return e.Status().State == Synced })

	ops := someOps(4)
	record(ops[0], ops[1])
	waitFor("the nudged push", func() bool { return pushes() == 1 })
	store.mu.Lock()
	n := len(store.ops)
	store.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d ops left after the nudged push", n)
	}

	// The server fails: the engine backs off (an hour); nudges must not
	// start rounds meanwhile.
	srv.mu.Lock()
	srv.down = 1
	srv.mu.Unlock()
	record(ops[2])
	waitFor("the failing round", func() bool { return e.Status().State == Failing })
	before := pushes()
	for range 5 {
		e.Nudge()
		time.Sleep(30 * time.Millisecond)
	}
	if got := pushes(); got != before {
		t.Fatalf("nudges during a backoff started %d rounds", got-before)
	}
	// Flush still cuts the delay short, and the retry pushes everything.
	record(ops[3])
	e.Flush()
	waitFor("the flushed retry", func() bool { return e.Status().State == Synced })
	store.mu.Lock()
	left := len(store.ops)
	store.mu.Unlock()
	srv.mu.Lock()
	applied := srv.applied
	srv.mu.Unlock()
	if left != 0 || applied != 4 {
		t.Fatalf("after the retry: %d ops left, %d applied on the server, want 0 and 4", left, applied)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}
