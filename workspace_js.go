//go:build js && wasm

package atelier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/tabs"
	"github.com/atelierstore/atelier/syncengine"
)

// Workspace is one open workspace: the workflow store (graph and live
// queries), the asset library (assets and packages) and, when configured,
// sync with a server. Its methods are safe for concurrent use.
type Workspace struct {
	store  *idb.DB
	lib    *assets.Library
	engine *syncengine.Engine // nil without sync
	share  *statusShare       // nil without sync
	bus    *tabs.Bus          // nil without sync or without a channel

	closed atomic.Bool // set by Close and by another tab's upgrade
	mu     sync.Mutex  // guards store, lib, bus and share while Open sets them

	libOnce, storeOnce sync.Once
	libErr, storeErr   error
}

// errClosed is what a closed workspace answers.
var errClosed = fmt.Errorf("workspace %w", ErrClosed)

// Open opens the workspace called name in this browser profile: its
// IndexedDB database, its asset stores and, with opts.Sync, the outbox
// and the sync engine, which run in whichever tab leads. Nil opts are the
// defaults (see Options). Invalid options return a *ValidationError
// before anything is opened.
func Open(ctx context.Context, name string, opts *Options) (*Workspace, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.check(name); err != nil {
		return nil, err
	}
	w := &Workspace{}
	store, err := idb.Open(ctx, name, w.storeOptions(&o))
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.store = store
	w.mu.Unlock()
	lib, err := assets.Open(ctx, store, &assets.Options{Backend: o.AssetBackend})
	if err != nil {
		store.Close()
		return nil, err
	}
	w.mu.Lock()
	w.lib = lib
	w.mu.Unlock()
	if w.closed.Load() { // another tab upgraded meanwhile
		_ = w.Close()
		return nil, errClosed
	}
	if o.Sync != nil {
		if err := w.startSync(ctx, &o); err != nil {
			_ = w.Close()
			return nil, err
		}
	}
	return w, nil
}

// storeOptions are the workflow store's options for o.
func (w *Workspace) storeOptions(o *Options) *idb.Options {
	so := &idb.Options{Logger: o.Logger, RecordOps: o.Sync != nil, StrictDurability: o.StrictDurability,
		OnBlocked: o.OnBlocked, OnLeaderChange: o.OnLeaderChange}
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

// startSync assembles sync, in this order: the outbox learns of writes
// made before sync was configured, the status is shared before anything
// can change it, writes nudge the engine, and the leader runs the engine
// and the asset uploader.
func (w *Workspace) startSync(ctx context.Context, o *Options) error {
	store, lib, s := w.store, w.lib, o.Sync
	if _, err := store.RecordUnsynced(ctx); err != nil {
		return err
	}
	var (
		engine *syncengine.Engine
		up     *syncengine.Uploader
	)
	share := &statusShare{leading: store.Leading, onStatus: o.OnSyncStatus, onConflict: o.OnConflict,
		local: func() SyncStatus { return SyncStatus{Status: engine.Status(), Assets: up.Status()} }}
	tr := syncengine.NewHTTP(s.URL, s.Workspace, s.Token)
	engine = syncengine.New(store, tr, &syncengine.Options{PullInterval: s.PullInterval,
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
	w.engine, w.share, w.bus = engine, share, bus
	w.mu.Unlock()
	if bus != nil {
		share.connect(bus)
	}
	store.OnOps(engine.Nudge) // push soon after a write, in this tab or another
	stopOnline := syncengine.FollowOnline(engine)
	store.RunOnLeader("sync", func(ctx context.Context) {
		defer stopOnline()
		_ = engine.Run(ctx)
	})
	store.RunOnLeader("assets-upload", func(ctx context.Context) {
		stop := up.FollowOnline()
		defer stop()
		_ = up.Run(ctx)
	})
	return nil
}

// Name is the workspace's name, as passed to Open.
func (w *Workspace) Name() string { return w.store.Name() }

// Store is the workflow store: workflows, nodes and edges, their live
// queries, and the tab leadership.
func (w *Workspace) Store() *idb.DB { return w.store }

// Assets is the asset library: asset bytes, folders, packages.
func (w *Workspace) Assets() *assets.Library { return w.lib }

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

// SyncNow asks for a sync round at once (in the leading tab).
func (w *Workspace) SyncNow() error {
	if w.closed.Load() {
		return errClosed
	}
	if w.engine == nil {
		return errNoSync
	}
	w.engine.Flush()
	return nil
}

// ParkedOps are this device's operations the server refused, waiting for
// RetryParked.
func (w *Workspace) ParkedOps(ctx context.Context) ([]idb.Conflict, error) {
	return w.store.ParkedOps(ctx)
}

// RetryParked puts parked operations (all, or those with the given op ids)
// back in the outbox and asks for a sync round.
func (w *Workspace) RetryParked(ctx context.Context, opIDs ...string) error {
	err := w.store.RetryParked(ctx, opIDs...)
	if err == nil && w.engine != nil {
		w.engine.Flush()
	}
	return err
}

// Close stops sync and the asset upkeep, waits for queued writes and
// closes the database. Calling it again waits for the first call and
// returns its error.
func (w *Workspace) Close() error {
	w.closed.Store(true)
	w.mu.Lock()
	store, lib, bus := w.store, w.lib, w.bus
	w.mu.Unlock()
	if bus != nil {
		bus.Close()
	}
	var lerr, serr error
	if lib != nil {
		w.libOnce.Do(func() { w.libErr = lib.Close() })
		lerr = w.libErr
	}
	if store != nil {
		w.storeOnce.Do(func() { w.storeErr = store.Close() })
		serr = w.storeErr
	}
	return errors.Join(serr, lerr)
}
