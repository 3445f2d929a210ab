//go:build js && wasm

package atelier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/assets/registry"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/tabs"
	"github.com/atelierstore/atelier/live"
	"github.com/atelierstore/atelier/outbox"
	"github.com/atelierstore/atelier/syncengine"
	"github.com/atelierstore/atelier/syncproto"
)

// Workspace is one open workspace: the workflow store (graph, transactions)
// with its live queries, the asset library (assets, folders, packages),
// the tab that leads and, when configured, sync with a server. Its methods
// are safe for concurrent use.
type Workspace struct {
	store *idb.DB
	reg   *registry.Registry
	live  *live.Live
	lead  *tabs.Leadership
	lib   *assets.Library
	ob    *outbox.Outbox     // nil without sync
	eng   *syncengine.Engine // nil without sync
	share *statusShare       // nil without sync
	bus   *tabs.Bus          // nil without sync or without a channel

	closed    atomic.Bool // set by Close and by another tab's upgrade
	mu        sync.Mutex  // guards the parts while Open sets them
	closeOnce sync.Once
	closeErr  error
}

// errClosed is what a closed workspace answers.
var errClosed = fmt.Errorf("workspace %w", ErrClosed)

// Open opens the workspace called name in this browser profile: its
// IndexedDB database, its asset stores and, with opts.Sync, the outbox
// and the sync engine, which run in whichever tab leads. Nil opts are the
// defaults (see Options). Invalid options return a *ValidationError
// before anything is opened. Close releases it all.
func Open(ctx context.Context, name string, opts *Options) (*Workspace, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.check(name); err != nil {
		return nil, err
	}
	w := &Workspace{}
	if err := w.open(ctx, name, &o); err != nil {
		_ = w.Close()
		return nil, err
	}
	if w.closed.Load() { // another tab upgraded meanwhile
		_ = w.Close()
		return nil, errClosed
	}
	return w, nil
}

// open assembles the parts in order: the store, the hooks that must see
// every write (the registry; the outbox comes with sync), the live
// queries, the leadership, the asset library, then sync.
func (w *Workspace) open(ctx context.Context, name string, o *Options) error {
	store, err := idb.Open(ctx, name, w.storeOptions(o))
	if err != nil {
		return err
	}
	reg := registry.Open(store)
	lv := live.New(store, o.Logger)
	lead, alone := tabs.Lead("atelier:"+name+":leader", o.OnLeaderChange)
	if alone && o.Logger != nil {
		o.Logger.Warn("Web Locks unavailable: every tab runs leader jobs")
	}
	w.mu.Lock()
	w.store, w.reg, w.live, w.lead = store, reg, lv, lead
	w.mu.Unlock()
	lib, err := assets.Open(ctx, store, reg, lead, &assets.Options{Backend: o.AssetBackend, Logger: o.Logger})
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.lib = lib
	w.mu.Unlock()
	if o.Sync != nil {
		return w.startSync(ctx, o)
	}
	return nil
}

// storeOptions are the workflow store's options for o.
func (w *Workspace) storeOptions(o *Options) *idb.Options {
	so := &idb.Options{Logger: o.Logger, StrictDurability: o.StrictDurability, OnBlocked: o.OnBlocked}
	so.OnVersionChange = func(v idb.VersionChange) {
		// The store has closed its connection already; release the rest
		// (asset stores, sync) too, without waiting here.
		w.closed.Store(true)
		go func() { _ = w.Close() }()
		if o.OnVersionChange != nil {
			o.OnVersionChange(v)
		}
	}
	return so
}

// startSync assembles sync, in this order: the outbox records every write
// from now on and learns of those made before, the status is shared
// before anything can change it, writes nudge the engine, and the leader
// runs the engine and the asset uploader.
func (w *Workspace) startSync(ctx context.Context, o *Options) error {
	store, lib, s := w.store, w.lib, o.Sync
	ob := outbox.Open(store)
	w.mu.Lock()
	w.ob = ob
	w.mu.Unlock()
	if _, err := ob.RecordUnsynced(ctx); err != nil {
		return err
	}
	var (
		engine *syncengine.Engine
		up     *syncengine.Uploader
	)
	share := &statusShare{leading: w.lead.Leading, onStatus: o.OnSyncStatus, onConflict: o.OnConflict,
		local: func() SyncStatus { return SyncStatus{Status: engine.Status(), Assets: up.Status()} },
		flush: func() { engine.Flush() }}
	tr := syncengine.NewHTTP(s.URL, s.Workspace, s.Token)
	engine = syncengine.New(ob, tr, &syncengine.Options{PullInterval: s.PullInterval, NoWatch: s.PollOnly,
		OnStatus: func(syncengine.Status) { share.changed() }, OnConflict: share.conflicts})
	// Assets travel beside the operations: the leader uploads what the
	// server lacks; every tab fetches what is not on this device.
	lib.SetRemote(tr)
	up = syncengine.NewUploader(lib, tr, &syncengine.UploaderOptions{
		OnStatus: func(syncengine.UploadStatus) { share.changed() }})
	bus, err := tabs.Open("atelier:"+store.Name()+":sync-status", share.recv)
	if err != nil {
		bus = nil // no channel: every tab reports its own status
	}
	w.mu.Lock()
	w.eng, w.share, w.bus = engine, share, bus
	w.mu.Unlock()
	if bus != nil {
		share.connect(bus)
	}
	ob.OnOps(engine.Nudge) // push soon after a write, in this tab or another
	stopOnline := syncengine.FollowOnline(engine)
	w.lead.RunOnLeader("sync", func(ctx context.Context) {
		defer stopOnline()
		_ = engine.Run(ctx)
	})
	w.lead.RunOnLeader("assets-upload", func(ctx context.Context) {
		stop := up.FollowOnline()
		defer stop()
		_ = up.Run(ctx)
	})
	return nil
}

// Name is the workspace's name, as passed to Open.
func (w *Workspace) Name() string { return w.store.Name() }

// Store is the workflow store: workflows, nodes and edges, and
// transactions over them.
func (w *Workspace) Store() *idb.DB { return w.store }

// Assets is the asset library: asset bytes, folders, packages.
func (w *Workspace) Assets() *assets.Library { return w.lib }

// WatchWorkflow watches one workflow with its nodes and edges: a snapshot
// now and after every change, in this tab or another (see package live).
func (w *Workspace) WatchWorkflow(ctx context.Context, id string) (*live.Watch[live.WorkflowSnapshot], error) {
	return w.live.WatchWorkflow(ctx, id)
}

// WatchWorkflows watches the list of workflows.
func (w *Workspace) WatchWorkflows(ctx context.Context) (*live.Watch[live.ListSnapshot], error) {
	return w.live.WatchWorkflows(ctx)
}

// Leading reports whether this tab is the leader, the one tab of the
// profile that runs background jobs (sync, asset collection).
func (w *Workspace) Leading() bool { return w.lead.Leading() }

// RunOnLeader runs job in the leading tab: it starts when this tab leads
// (at once if it does), and its context ends when the tab stops leading or
// the workspace closes. The returned function unregisters it.
func (w *Workspace) RunOnLeader(name string, job func(ctx context.Context)) (unregister func()) {
	return w.lead.RunOnLeader(name, job)
}

// Closed reports whether the workspace is closed, by Close or because
// another tab upgraded the database.
func (w *Workspace) Closed() bool { return w.closed.Load() }

// Syncing reports whether the workspace was opened with sync.
func (w *Workspace) Syncing() bool { return w.share != nil }

// SyncStatus is the status of sync, which the leading tab runs; in the
// other tabs it is the last status the leader shared. ok is false without
// sync.
func (w *Workspace) SyncStatus() (st SyncStatus, ok bool) {
	if w.share == nil {
		return SyncStatus{}, false
	}
	return w.share.current(), true
}

// errNoSync is what sync calls answer in a workspace opened without sync.
var errNoSync = &ValidationError{Entity: "sync", Reason: "not configured: open the workspace with sync options"}

// SyncNow asks the leading tab for a sync round at once (even during a
// backoff delay) and waits until a round has finished: it returns nil once
// everything written before the call is on the server and the server's
// changes are here, an error matching ErrUnavailable when the browser is
// offline or the round failed (local writes are kept and go later), and
// ctx.Err() when ctx ends first.
func (w *Workspace) SyncNow(ctx context.Context) error {
	if w.closed.Load() {
		return errClosed
	}
	if w.share == nil {
		return errNoSync
	}
	return w.share.syncNow(ctx)
}

// ParkedOps are this device's operations the server refused, waiting for
// RetryParked. Without sync there are none.
func (w *Workspace) ParkedOps(ctx context.Context) ([]syncproto.Conflict, error) {
	if w.ob == nil {
		return nil, nil
	}
	return w.ob.ParkedOps(ctx)
}

// RetryParked puts parked operations (all, or those with the given op ids)
// back in the outbox and asks for a sync round. One parked because the
// server had forgotten it (syncproto.IsResyncReason) goes back under a
// new op id, decided afresh. Without sync there are none, and it does
// nothing.
func (w *Workspace) RetryParked(ctx context.Context, opIDs ...string) error {
	if w.ob == nil {
		return nil
	}
	err := w.ob.RetryParked(ctx, opIDs...)
	if err == nil {
		w.eng.Flush()
	}
	return err
}

// Close stops the background jobs and sync, waits for queued writes and
// closes the database and the asset stores. Calling it again waits for
// the first call and returns its error.
func (w *Workspace) Close() error {
	w.closed.Store(true)
	w.closeOnce.Do(func() { w.closeErr = w.close() })
	return w.closeErr
}

func (w *Workspace) close() error {
	w.mu.Lock()
	store, lead, lv, lib, bus, ob, reg := w.store, w.lead, w.live, w.lib, w.bus, w.ob, w.reg
	w.mu.Unlock()
	if lead != nil {
		lead.Close() // stops sync, uploads and the asset upkeep
	}
	if bus != nil {
		bus.Close()
	}
	if lv != nil {
		lv.Close()
	}
	var lerr, serr error
	if lib != nil {
		lerr = lib.Close()
	}
	if store != nil {
		serr = store.Close() // queued writes still reach the hooks
	}
	if ob != nil {
		ob.Close()
	}
	if reg != nil {
		reg.Close()
	}
	return errors.Join(serr, lerr)
}
