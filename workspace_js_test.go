//go:build js && wasm

package atelier_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/syncengine"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wsName(t *testing.T) string {
	name := fmt.Sprintf("atelier-ws-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	t.Cleanup(func() { _ = idbx.Delete(context.Background(), name, nil) })
	return name
}

func TestOpenDefaultsKeepsGraphAndAssets(t *testing.T) {
	ctx, name := testCtx(t), wsName(t)
	ws, err := atelier.Open(ctx, name, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if ws.Name() != name || ws.Syncing() {
		t.Fatalf("Name %q Syncing %v, want %q and false", ws.Name(), ws.Syncing(), name)
	}
	wf, err := ws.Store().CreateWorkflow(ctx, "first")
	if err != nil {
		t.Fatalf("CreateWorkflow: %v", err)
	}
	n := graph.Node{ID: graph.NewID(), WorkflowID: wf.ID, Type: "text", Position: graph.Position{X: 1, Y: 2}}
	if _, err := ws.Store().PutNodes(ctx, wf.ID, []graph.Node{n}); err != nil {
		t.Fatalf("PutNodes: %v", err)
	}
	data := bytes.Repeat([]byte("asset bytes "), 1000)
	ref, err := ws.Assets().Put(ctx, bytes.NewReader(data), assetref.Hint{MIME: "text/plain"})
	if err != nil {
		t.Fatalf("Assets().Put: %v", err)
	}
	if _, ok := ws.SyncStatus(); ok {
		t.Fatal("SyncStatus ok without sync")
	}
	if err := ws.SyncNow(ctx); !errors.Is(err, atelier.ErrInvalid) {
		t.Fatalf("SyncNow without sync = %v, want ErrInvalid", err)
	}
	if err := ws.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := ws.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if !ws.Closed() {
		t.Fatal("Closed false after Close")
	}
	if _, err := ws.Store().ListWorkflows(ctx); !errors.Is(err, atelier.ErrClosed) {
		t.Fatalf("ListWorkflows after Close = %v, want ErrClosed", err)
	}
	if err := ws.SyncNow(ctx); !errors.Is(err, atelier.ErrClosed) {
		t.Fatalf("SyncNow after Close = %v, want ErrClosed", err)
	}

	// Reopened, the workspace holds what was written.
	ws, err = atelier.Open(ctx, name, &atelier.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer ws.Close()
	g, err := ws.Store().LoadWorkflow(ctx, wf.ID)
	if err != nil || len(g.Nodes) != 1 || g.Nodes[0].ID != n.ID {
		t.Fatalf("LoadWorkflow after reopen = %+v, %v; want the node", g, err)
	}
	r, err := ws.Assets().Open(ctx, ref)
	if err != nil {
		t.Fatalf("Assets().Open after reopen: %v", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("asset after reopen: %d bytes, %v; want %d bytes equal", len(got), err, len(data))
	}
}

func TestOpenRefusesBadOptionsBeforeOpening(t *testing.T) {
	ctx, name := testCtx(t), wsName(t)
	for _, o := range []*atelier.Options{
		{AssetBackend: "tape"},
		{Sync: &atelier.SyncOptions{URL: "ftp://example.com", Workspace: "w"}},
		{Sync: &atelier.SyncOptions{URL: "https://example.com"}},
	} {
		ws, err := atelier.Open(ctx, name, o)
		var ve *atelier.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, atelier.ErrInvalid) || ws != nil {
			t.Fatalf("Open(%+v) = %v, %v; want a ValidationError and no workspace", o, ws, err)
		}
	}
	if _, err := atelier.Open(ctx, "", nil); !errors.Is(err, atelier.ErrInvalid) {
		t.Fatalf("Open with no name = %v, want ErrInvalid", err)
	}
	list, err := jsutil.Await(ctx, js.Global().Get("indexedDB").Call("databases"))
	if err != nil {
		t.Fatalf("indexedDB.databases(): %v", err)
	}
	for i := 0; i < list.Length(); i++ {
		if list.Index(i).Get("name").String() == name {
			t.Fatalf("a refused Open created the database %q", name)
		}
	}
}

// TestOpenWithSyncOffline opens a workspace whose server is unreachable:
// the tab leads, writes wait in the outbox, and the status says so,
// through SyncStatus and OnSyncStatus.
func TestOpenWithSyncOffline(t *testing.T) {
	ctx, name := testCtx(t), wsName(t)
	var (
		mu       sync.Mutex
		statuses []atelier.SyncStatus
		leading  []bool
	)
	ws, err := atelier.Open(ctx, name, &atelier.Options{
		AssetBackend: assets.BackendIDB,
		Sync:         &atelier.SyncOptions{URL: "http://127.0.0.1:9", Workspace: "w", PullInterval: time.Hour},
		OnSyncStatus: func(s atelier.SyncStatus) {
			mu.Lock()
			statuses = append(statuses, s)
			mu.Unlock()
		},
		OnLeaderChange: func(l bool) {
			mu.Lock()
			leading = append(leading, l)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("Open with sync: %v", err)
	}
	defer ws.Close()
	if !ws.Syncing() {
		t.Fatal("Syncing false with sync options")
	}
	if _, err := ws.Store().CreateWorkflow(ctx, "offline"); err != nil {
		t.Fatalf("CreateWorkflow: %v", err)
	}
	// The server is unreachable: SyncNow waits for the round it asked for
	// and says so.
	if err := ws.SyncNow(ctx); !errors.Is(err, atelier.ErrUnavailable) {
		t.Fatalf("SyncNow with the server down: %v, want ErrUnavailable", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, ok := ws.SyncStatus()
		if ok && st.Leader && st.State == syncengine.Failing && st.Pending >= 1 && st.Failures >= 1 && st.LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed a failing leader with the write pending: %+v (ok %v)", st, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leading) == 0 || !leading[0] {
		t.Fatalf("OnLeaderChange got %v, want true first", leading)
	}
	var failing bool
	for _, s := range statuses {
		failing = failing || (s.Leader && s.State == syncengine.Failing)
	}
	if !failing {
		t.Fatalf("OnSyncStatus never reported the failing rounds: %+v", statuses)
	}
}

// Another tab's upgrade is not held up by this workspace: every
// connection it holds closes (a transaction in flight may delay that a
// moment, which the browser reports as blocked), OnVersionChange is
// called, and the workspace is closed.
func TestAnotherTabsUpgradeClosesTheWorkspace(t *testing.T) {
	ctx, name := testCtx(t), wsName(t)
	changed := make(chan struct{}, 1)
	ws, err := atelier.Open(ctx, name, &atelier.Options{OnVersionChange: func(idb.VersionChange) { changed <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	probe, err := idbx.Open(ctx, name, 0, idbx.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	v := probe.Version()
	probe.Close()
	upgrade, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	newer, err := idbx.Open(upgrade, name, v+1, idbx.Hooks{})
	if err != nil {
		t.Fatalf("another tab's upgrade did not complete: %v", err)
	}
	newer.Close()
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("OnVersionChange was not called")
	}
	if _, err := ws.Store().ListWorkflows(ctx); !errors.Is(err, atelier.ErrClosed) {
		t.Fatalf("ListWorkflows after the upgrade: %v", err)
	}
}
