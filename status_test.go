package atelier

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncengine"
	"github.com/atelierstore/atelier/syncproto"
)

// testBus connects the statusShares of several simulated tabs: a post
// reaches every tab but the poster, as a BroadcastChannel does.
type testBus struct {
	mu   sync.Mutex
	tabs []*testTab
	sent []string
}

type testTab struct {
	bus      *testBus
	share    *statusShare
	leading  atomic.Bool
	statuses []SyncStatus
	conflict [][]syncproto.Conflict
	mu       sync.Mutex
	own      SyncStatus
}

type tabPoster struct{ t *testTab }

func (p tabPoster) Post(msg string) error {
	b := p.t.bus
	b.mu.Lock()
	b.sent = append(b.sent, msg)
	others := append([]*testTab(nil), b.tabs...)
	b.mu.Unlock()
	for _, o := range others {
		if o != p.t {
			o.share.recv(msg)
		}
	}
	return nil
}

func (b *testBus) open(leading bool, state syncengine.State) *testTab {
	t := &testTab{bus: b, own: SyncStatus{Status: syncengine.Status{State: state}}}
	t.leading.Store(leading)
	t.share = &statusShare{
		leading: t.leading.Load,
		local: func() SyncStatus {
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.own
		},
		onStatus: func(s SyncStatus) {
			t.mu.Lock()
			t.statuses = append(t.statuses, s)
			t.mu.Unlock()
		},
		onConflict: func(cs []syncproto.Conflict) {
			t.mu.Lock()
			t.conflict = append(t.conflict, cs)
			t.mu.Unlock()
		},
	}
	b.mu.Lock()
	b.tabs = append(b.tabs, t)
	b.mu.Unlock()
	t.share.connect(tabPoster{t})
	return t
}

func TestStatusShareFollowerReportsLeader(t *testing.T) {
	bus := &testBus{}
	leader := bus.open(true, syncengine.Syncing)
	leader.mu.Lock()
	leader.own.Pending = 3
	leader.own.RetryAt = time.UnixMilli(1700000000123)
	leader.own.Assets = syncengine.UploadStatus{State: syncengine.Synced, Uploaded: 2, Current: "abc", Sent: 5, Total: 9}
	leader.mu.Unlock()

	// A tab that opens asks; the leader answers with its own status.
	follower := bus.open(false, syncengine.Offline)
	got := follower.share.current()
	if got.State != syncengine.Syncing || got.Pending != 3 || got.Leader {
		t.Fatalf("follower's status = %+v, want the leader's (syncing, 3 pending) with Leader false", got)
	}
	if !got.RetryAt.Equal(time.UnixMilli(1700000000123)) || got.Assets.Uploaded != 2 || got.Assets.Current != "abc" {
		t.Fatalf("follower's status lost fields on the way: %+v", got)
	}
	if own := leader.share.current(); !own.Leader || own.Pending != 3 {
		t.Fatalf("leader's status = %+v, want its own with Leader true", own)
	}

	// A change in the leader reaches the follower's OnSyncStatus.
	leader.mu.Lock()
	leader.own.Pending = 0
	leader.own.State = syncengine.Synced
	leader.mu.Unlock()
	leader.share.changed()
	follower.mu.Lock()
	n := len(follower.statuses)
	last := follower.statuses[n-1]
	follower.mu.Unlock()
	if last.State != syncengine.Synced || last.Pending != 0 || last.Leader {
		t.Fatalf("follower heard %+v, want synced, 0 pending, Leader false", last)
	}
	if len(leader.statuses) != 1 || !leader.statuses[0].Leader {
		t.Fatalf("leader's OnSyncStatus got %+v, want one status with Leader true", leader.statuses)
	}
}

func TestStatusShareFollowerChangesAreNotShared(t *testing.T) {
	bus := &testBus{}
	bus.open(true, syncengine.Synced)
	follower := bus.open(false, syncengine.Failing)
	before := len(bus.sent)
	follower.share.changed() // an engine stopping as the tab steps down
	if len(bus.sent) != before || len(follower.statuses) != 1 {
		// the one status the follower has is the answer to its ask
		t.Fatalf("a follower's change was posted (%d new messages) or reported (%d statuses)",
			len(bus.sent)-before, len(follower.statuses))
	}
}

func TestStatusShareNoBusReportsOwnStatus(t *testing.T) {
	s := &statusShare{leading: func() bool { return false },
		local: func() SyncStatus { return SyncStatus{Status: syncengine.Status{State: syncengine.Offline, Pending: 7}} }}
	s.connect(nil)
	got := s.current()
	if got.State != syncengine.Offline || got.Pending != 7 || got.Leader {
		t.Fatalf("without a bus the status = %+v, want this tab's own", got)
	}
}

func TestStatusShareConflictsReachEveryTab(t *testing.T) {
	bus := &testBus{}
	leader := bus.open(true, syncengine.Synced)
	a := bus.open(false, syncengine.Synced)
	b := bus.open(false, syncengine.Synced)
	winner := &syncproto.Change{Seq: 9, EntityID: "w1"}
	cs := []syncproto.Conflict{{Lost: syncproto.Op{ID: "op1", EntityID: "w1"}, Winner: winner},
		{Lost: syncproto.Op{ID: "op2"}, Reason: "node has no workflow"}}
	leader.share.conflicts(cs)
	for name, tab := range map[string]*testTab{"leader": leader, "a": a, "b": b} {
		if len(tab.conflict) != 1 {
			t.Fatalf("%s got %d conflict reports, want 1", name, len(tab.conflict))
		}
		got := tab.conflict[0]
		if len(got) != 2 || got[0].Lost.ID != "op1" || got[0].Winner == nil || got[0].Winner.Seq != 9 ||
			got[1].Reason != "node has no workflow" || got[1].Winner != nil {
			t.Fatalf("%s got conflicts %+v, want %+v", name, got, cs)
		}
	}
}

func TestStatusShareDropsMalformedMessages(t *testing.T) {
	bus := &testBus{}
	follower := bus.open(false, syncengine.Offline)
	for _, msg := range []string{statusPrefix + "{", statusPrefix + "[]", conflictPrefix + "{", "hello", ""} {
		follower.share.recv(msg)
	}
	if len(follower.statuses) != 0 || len(follower.conflict) != 0 {
		t.Fatalf("malformed messages were reported: %+v %+v", follower.statuses, follower.conflict)
	}
	if got := follower.share.current(); got.State != syncengine.Offline {
		t.Fatalf("after malformed messages the status = %+v, want the tab's own", got)
	}
	// A leader ignores other statuses: it reports its own.
	leader := bus.open(true, syncengine.Synced)
	b, _ := json.Marshal(SyncStatus{Status: syncengine.Status{State: syncengine.Failing}})
	leader.share.recv(statusPrefix + string(b))
	if got := leader.share.current(); got.State != syncengine.Synced || !got.Leader {
		t.Fatalf("a leader took another tab's status: %+v", got)
	}
	if !strings.HasPrefix(bus.sent[0], statusAsk) {
		t.Fatalf("the first message is %q, want the follower's ask", bus.sent[0])
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, c := range []struct {
		name  string
		opts  Options
		field string
	}{
		{"", Options{}, "name"},
		{"w", Options{AssetBackend: "s3"}, "assetBackend"},
		{"w", Options{Sync: &SyncOptions{URL: "ftp://x", Workspace: "a"}}, "sync.url"},
		{"w", Options{Sync: &SyncOptions{URL: "/relative", Workspace: "a"}}, "sync.url"},
		{"w", Options{Sync: &SyncOptions{URL: "https://x"}}, "sync.workspace"},
		{"w", Options{Sync: &SyncOptions{URL: "https://x", Workspace: "a", PullInterval: -1}}, "sync.pullInterval"},
	} {
		err := c.opts.check(c.name)
		var ve *ValidationError
		if !asValidation(err, &ve) || ve.Field != c.field {
			t.Errorf("check(%q, %+v) = %v, want a ValidationError on %s", c.name, c.opts, err, c.field)
		}
	}
	ok := Options{AssetBackend: "idb", Sync: &SyncOptions{URL: "http://127.0.0.1:8787", Workspace: "dev"}}
	if err := ok.check("w"); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
}

func asValidation(err error, target **ValidationError) bool {
	return errors.As(err, target)
}

// SyncNow in any tab asks the leader's engine for a round and returns
// once one has finished, with its outcome.
func TestStatusShareSyncNow(t *testing.T) {
	bus := &testBus{}
	leader := bus.open(true, syncengine.Synced)
	follower := bus.open(false, syncengine.Synced)
	// The leader's engine: a flush runs one round, which ends as told.
	outcome := make(chan syncengine.State, 4)
	var flushes atomic.Int32
	leader.share.flush = func() {
		flushes.Add(1)
		go func() {
			st := <-outcome
			leader.mu.Lock()
			leader.own.Rounds++
			leader.own.State = st
			if st == syncengine.Failing {
				leader.own.LastError = "sync server: 503"
			}
			leader.mu.Unlock()
			leader.share.changed()
		}()
	}
	ctx := t.Context()
	for _, tc := range []struct {
		tab   *testTab
		state syncengine.State
		want  error
	}{
		{leader, syncengine.Synced, nil},
		{follower, syncengine.Synced, nil},
		{follower, syncengine.Failing, errs.ErrUnavailable},
		{leader, syncengine.Offline, errs.ErrUnavailable},
	} {
		outcome <- tc.state
		if err := tc.tab.share.syncNow(ctx); !errors.Is(err, tc.want) {
			t.Fatalf("syncNow ending %s = %v, want %v", tc.state, err, tc.want)
		}
	}
	if n := flushes.Load(); n != 4 {
		t.Fatalf("%d flushes, want 4 (the follower's by message)", n)
	}
	// Offline already: no round is asked for.
	if err := follower.share.syncNow(ctx); !errors.Is(err, errs.ErrUnavailable) || flushes.Load() != 4 {
		t.Fatalf("syncNow while offline = %v after %d flushes", err, flushes.Load())
	}
	// A round that does not end leaves the caller to its context.
	leader.mu.Lock()
	leader.own.State = syncengine.Synced
	leader.mu.Unlock()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := leader.share.syncNow(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("syncNow without an answer = %v, want the context's error", err)
	}
	outcome <- syncengine.Synced // let the flush goroutine end
}
