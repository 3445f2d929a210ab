package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/atelierstore/atelier/internal/uuid7"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/opfs"
)

// Backend names a store for new assets.
type Backend string

// Backends.
const (
	BackendAuto Backend = ""     // OPFS, or IndexedDB where OPFS is missing or refuses
	BackendOPFS Backend = "opfs" // the origin private file system only
	BackendIDB  Backend = "idb"  // IndexedDB only
)

// Options configure Open; zero fields mean the defaults.
type Options struct {
	Backend Backend
	// OPFS configures the OPFS store (and the layout inside folders the
	// user picks). Without a Root, Open gives each database a directory
	// of its own, WorkspaceRoot(name), or opfs.DefaultRoot for a database
	// that already keeps assets there.
	OPFS *opfs.Options
	// StartAfter is how long after New the background work waits: the
	// sweep (Env.Sweep) and, on the leader, the first Reconcile and
	// Collect; default 2 s, negative: at once. That work is about what is
	// older than Grace, and a tab that has just opened is busy loading:
	// waiting also keeps its transactions out of the way of another tab
	// that upgrades the database right after this one opened (an upgrade
	// waits for transactions in flight, and says it is blocked).
	StartAfter time.Duration
	// Grace is how old unused or unregistered bytes must be before
	// Collect and Reconcile delete them; default 10 minutes.
	Grace time.Duration
	// CollectEvery is how often the leading tab runs Collect; default 1
	// hour. Negative: never on its own.
	CollectEvery time.Duration
	Logger       *slog.Logger

	// With a sync server (SetRemote):

	// FetchWait is how long Open, Blob and Stat keep trying to fetch an
	// asset that is not on this device while the server lacks it (the
	// device that has it may not have uploaded it yet) or cannot be
	// reached; default 15 s. Negative: one try.
	FetchWait time.Duration
	// EvictAbove is the fraction of the storage quota in use above which
	// the leading tab evicts local copies of uploaded assets; default
	// 0.8. Negative: never on its own (Evict still works).
	EvictAbove float64
	// EvictTo is the fraction of the quota eviction aims for; default
	// 0.6, at most EvictAbove.
	EvictTo float64
	// EvictIdle keeps copies read more recently than this; default 10
	// minutes. Negative: evict whatever was read last.
	EvictIdle time.Duration
	// EvictEvery is how often the leading tab compares usage with the
	// quota; default 1 minute.
	EvictEvery time.Duration

	fetchBackoff time.Duration                                             // first fetch retry delay; tests shorten it
	estimate     func(ctx context.Context) (usage, quota int64, err error) // Env.Estimate; tests replace it
}

// Library is the asset layer of one workflow store. Its methods are safe
// for concurrent use.
type Library struct {
	env      Env
	reg      Registry
	primary  assetref.Store // nil: Fallback takes new assets
	fallback assetref.Store
	locks    Locker
	backend  Backend // what new assets go to (unless a folder)
	why      string  // why
	opts     Options
	log      *slog.Logger

	// Set by the browser's Open.

	mu        sync.Mutex
	folders   map[string]assetref.Store // opened folder stores, by key
	target    string                    // the folder new assets go to, if any
	stop      func()
	stopEvict func()
	stopSweep func()
	swept     chan struct{}         // closed when the sweep started by New ends
	remote    fetcher               // nil: no sync server
	onStored  []func()              // called when a new asset is registered
	bus       Notifier              // tells other tabs of new assets
	fetching  map[string]*fetchCall // downloads in flight, by hash
}

// New builds a library on env (see Env for what is required and what a
// nil field means). In the background it runs env.Sweep and, on the
// leader, reconciles and collects. It fails with errs.ErrInvalid when
// env lacks a Registry or a Fallback store.
func New(env Env, opts *Options) (*Library, error) {
	if env.Registry == nil || env.Fallback == nil {
		return nil, &errs.ValidationError{Entity: "asset library", Field: "env", Reason: "a Registry and a Fallback store are required"}
	}
	l := &Library{env: env, reg: env.Registry, primary: env.Primary, fallback: env.Fallback, locks: env.Locks,
		folders: map[string]assetref.Store{}, fetching: map[string]*fetchCall{}}
	if l.locks == nil {
		l.locks = newLocalLocks()
	}
	if opts != nil {
		l.opts = *opts
	}
	o := &l.opts
	if o.Grace <= 0 {
		o.Grace = 10 * time.Minute
	}
	if o.StartAfter == 0 {
		o.StartAfter = 2 * time.Second
	}
	if o.CollectEvery == 0 {
		o.CollectEvery = time.Hour
	}
	if o.FetchWait == 0 {
		o.FetchWait = 15 * time.Second
	}
	if o.EvictAbove == 0 {
		o.EvictAbove = 0.8
	}
	if o.EvictTo <= 0 || o.EvictTo > o.EvictAbove && o.EvictAbove > 0 {
		o.EvictTo = min(0.6, max(o.EvictAbove, 0))
	}
	switch {
	case o.EvictIdle == 0:
		o.EvictIdle = 10 * time.Minute
	case o.EvictIdle < 0:
		o.EvictIdle = 0
	}
	if o.EvictEvery <= 0 {
		o.EvictEvery = time.Minute
	}
	if o.fetchBackoff <= 0 {
		o.fetchBackoff = 500 * time.Millisecond
	}
	if o.estimate == nil {
		o.estimate = env.Estimate
	}
	l.log = l.opts.Logger
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.backend, l.why = BackendIDB, env.Why
	if l.primary != nil && !env.PrimaryReadOnly {
		l.backend = BackendOPFS
	}
	if env.Sweep != nil {
		sctx, stopSweep := context.WithCancel(context.Background())
		l.stopSweep = stopSweep
		l.swept = make(chan struct{})
		go func() {
			defer close(l.swept)
			if !l.waitStart(sctx) {
				return
			}
			env.Sweep(sctx, l.opts.Grace, l.log)
		}()
	}
	if env.Notify != nil {
		if bus, err := env.Notify(func(string) { l.stored("", false) }); err == nil {
			l.bus = bus
		} else {
			l.log.Warn("telling other tabs of new assets is unavailable", "err", err)
		}
	}
	if env.Leader != nil {
		l.stop = env.Leader.RunOnLeader("assets", l.upkeep)
		if l.opts.EvictAbove >= 0 {
			l.stopEvict = env.Leader.RunOnLeader("assets-evict", l.evictLoop)
		}
	}
	return l, nil
}

// upkeep runs in the leading tab: reconcile once, then collect
// periodically.
// waitStart waits Options.StartAfter; false means ctx ended first.
func (l *Library) waitStart(ctx context.Context) bool {
	d := l.opts.StartAfter
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (l *Library) upkeep(ctx context.Context) {
	if !l.waitStart(ctx) {
		return
	}
	if r, err := l.Reconcile(ctx); err != nil {
		l.log.Warn("reconciling assets failed", "err", err)
	} else if r.Removed > 0 || len(r.Missing) > 0 {
		l.log.Info("reconciled assets", "removed", r.Removed, "missing", len(r.Missing))
	}
	for {
		if n, err := l.Collect(ctx); err != nil && ctx.Err() == nil {
			l.log.Warn("collecting unused assets failed", "err", err)
		} else if n > 0 {
			l.log.Info("collected unused assets", "removed", n)
		}
		if l.opts.CollectEvery < 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.opts.CollectEvery):
		}
	}
}

// Close stops the background work and releases the stores.
func (l *Library) Close() error {
	if l.stopSweep != nil {
		l.stopSweep()
		<-l.swept
	}
	if l.stop != nil {
		l.stop()
	}
	if l.stopEvict != nil {
		l.stopEvict()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bus != nil {
		l.bus.Close()
		l.bus = nil
	}
	for k, f := range l.folders {
		if c, ok := f.(io.Closer); ok {
			_ = c.Close()
		}
		delete(l.folders, k)
	}
	if l.env.Close != nil {
		return l.env.Close()
	}
	return nil
}

// Backend reports the store new assets go to when no folder is in use.
func (l *Library) Backend() Backend { return l.backend }

// BackendReason says why Backend is what it is ("" when the Env did not
// say).
func (l *Library) BackendReason() string { return l.why }

// store returns the store holding assets of the ref's kind.
func (l *Library) store(ctx context.Context, ref assetref.Ref) (assetref.Store, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	switch ref.Kind {
	case assetref.KindOPFS:
		if l.primary == nil {
			return nil, fmt.Errorf("asset %s: OPFS is %w", ref.Path, errs.ErrUnsupported)
		}
		return l.primary, nil
	case assetref.KindIDB:
		return l.fallback, nil
	case assetref.KindFSHandle:
		key, _, err := opfs.ParseHandleID(ref.HandleID)
		if err != nil {
			return nil, err
		}
		return l.folder(ctx, key, false)
	}
	return nil, fmt.Errorf("%w: assets of kind %s are not stored here", errs.ErrInvalidRef, ref.Kind)
}

// newStore returns the store new assets go to.
func (l *Library) newStore(ctx context.Context) (assetref.Store, error) {
	l.mu.Lock()
	target := l.target
	l.mu.Unlock()
	if target != "" {
		return l.folder(ctx, target, true)
	}
	return l.cacheStore(), nil
}

// Put stores r's bytes and registers them. Identical bytes already stored
// (in any store) are not stored twice: their ref is returned. It fails
// with errs.ErrQuotaExceeded (nothing stored) when the origin is out of
// quota, and like assetref.Store.Put otherwise.
func (l *Library) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
	s, err := l.newStore(ctx)
	if err != nil {
		return assetref.Ref{}, err
	}
	hint = withID(hint)
	ref, err := s.Put(ctx, r, hint)
	if errors.Is(err, errs.ErrQuotaExceeded) {
		// Room may be made by evicting uploaded assets; only a seekable
		// reader can be read again.
		if seeker, ok := r.(io.Seeker); ok {
			ref, err = l.withRoom(ctx, 0, func() (assetref.Ref, error) {
				if _, err := seeker.Seek(0, io.SeekStart); err != nil {
					return assetref.Ref{}, err
				}
				return s.Put(ctx, r, hint)
			})
		}
	}
	if errors.Is(err, errs.ErrUnsupported) && l.primary != nil && s == l.primary {
		// OPFS refused at write time: the fallback takes it. The reader
		// may be partly consumed; only a seekable one can be retried.
		if seeker, ok := r.(io.Seeker); ok {
			if _, serr := seeker.Seek(0, io.SeekStart); serr == nil {
				l.log.Warn("OPFS refused a write: using IndexedDB", "err", err)
				s = l.fallback
				ref, err = s.Put(ctx, r, hint)
			}
		}
	}
	if err != nil {
		return assetref.Ref{}, err
	}
	return l.register(ctx, s, ref)
}

// withID gives the hint a UUIDv7 id, whose timestamp tells Reconcile how
// old unregistered bytes are.
func withID(h assetref.Hint) assetref.Hint {
	if h.ID == "" {
		h.ID = graph.NewID()
	}
	return h
}

// register records a stored asset. When its bytes were already known
// under another ref (stored earlier, in another store or folder), the new
// copy is deleted and the known ref returned.
func (l *Library) register(ctx context.Context, s assetref.Store, ref assetref.Ref) (assetref.Ref, error) {
	r, _, err := l.registerNew(ctx, s, ref)
	return r, err
}

// registerNew is register also reporting whether the content was new to
// the registry.
func (l *Library) registerNew(ctx context.Context, s assetref.Store, ref assetref.Ref) (assetref.Ref, bool, error) {
	rec, existed, err := l.reg.RegisterAsset(ctx, ref)
	if err != nil {
		// The bytes stay until Reconcile finds them unregistered.
		return assetref.Ref{}, false, fmt.Errorf("register asset: %w", err)
	}
	if existed && !sameLocation(rec.Ref, ref) {
		if err := s.Delete(ctx, ref); err != nil && !errors.Is(err, errs.ErrNotFound) {
			l.log.Warn("deleting a duplicate copy failed", "ref", ref, "err", err)
		}
	}
	if sameLocation(rec.Ref, ref) {
		// This copy is the registered one (new, or taking the place of
		// an evicted or never fetched one): it may need uploading.
		l.stored(rec.Hash, true)
	}
	return rec.Ref, !existed, nil
}

var sameLocation = assetref.SameLocation

// Open returns a reader of an asset's bytes: those the registry records
// for the ref's hash, wherever identical bytes were stored first. When
// they are not on this device and a sync server is set (SetRemote), Open
// fetches them, stores them and records where, retrying for up to
// Options.FetchWait. Evict leaves the asset alone until the reader is
// closed.
//
// It fails with errs.ErrNotFound for unknown assets (a *FetchError when
// fetching failed), errs.ErrInvalidRef for refs of kinds not stored
// here (url, embedded), and errs.ErrQuotaExceeded when a fetched copy
// finds no room.
func (l *Library) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	var rc io.ReadCloser
	release, err := l.access(ctx, ref, true, func(s assetref.Store, loc assetref.Ref) error {
		var err error
		rc, err = s.Open(ctx, loc)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r, ok := rc.(readerAtSeeker); ok {
		return &lockedRandomReader{r, release}, nil
	}
	return &lockedReader{rc, release}, nil
}

// Stat describes an asset. An asset whose bytes are not on this device
// but can be fetched (it is registered, and a sync server is set) is
// described from its record, without fetching it. Otherwise it fails like
// Open.
func (l *Library) Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
	info, err := l.statLocal(ctx, ref)
	if err == nil || !absent(err) || ref.Hash == "" || l.getRemote() == nil {
		return info, err
	}
	rec, rerr := l.reg.Asset(ctx, ref.Hash)
	if rerr != nil {
		return info, err
	}
	mime := rec.Ref.MIME
	if mime == "" {
		mime = assetref.DefaultMIME
	}
	return assetref.Info{Ref: rec.Ref, Size: rec.Ref.Bytes, MIME: mime, Hash: rec.Hash}, nil
}

// statLocal describes the local copy of an asset, at the location the
// registry records for its hash, without fetching anything.
func (l *Library) statLocal(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
	loc := ref
	if ref.Hash != "" {
		if rec, err := l.reg.Asset(ctx, ref.Hash); err == nil {
			if rec.Remote {
				return assetref.Info{}, fmt.Errorf("asset %s: the bytes are not on this device: %w", ref.Hash, errs.ErrNotFound)
			}
			loc = rec.Ref
		} else if !errors.Is(err, errs.ErrNotFound) {
			return assetref.Info{}, err
		}
	}
	s, err := l.store(ctx, loc)
	if err != nil {
		return assetref.Info{}, err
	}
	return s.Stat(ctx, loc)
}

// Delete deletes an asset no node uses: its record, then its bytes. It
// fails with assetref.ErrInUse when nodes use it, and errs.ErrNotFound when
// it is unknown.
func (l *Library) Delete(ctx context.Context, ref assetref.Ref) error {
	if ref.Hash == "" {
		return fmt.Errorf("%w: deleting an asset needs its hash", errs.ErrInvalidRef)
	}
	rec, err := l.reg.ForgetAsset(ctx, ref.Hash)
	if err != nil {
		return err
	}
	if rec.Remote {
		return nil // no copy here
	}
	return l.deleteBytes(ctx, rec.Ref)
}

func (l *Library) deleteBytes(ctx context.Context, ref assetref.Ref) error {
	s, err := l.store(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.Delete(ctx, ref); err != nil && !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	return nil
}

// Collect deletes the assets no node uses that were registered more than
// Options.Grace ago, and returns how many it deleted.
func (l *Library) Collect(ctx context.Context) (int, error) {
	recs, err := l.reg.Assets(ctx)
	if err != nil {
		return 0, err
	}
	cutoff := time.Now().Add(-l.opts.Grace).UnixMilli()
	n := 0
	for _, r := range recs {
		if len(r.Users) > 0 || r.CreatedAt > cutoff {
			continue
		}
		rec, err := l.reg.ForgetAsset(ctx, r.Hash)
		if errors.Is(err, assetref.ErrInUse) || errors.Is(err, errs.ErrNotFound) {
			continue // used or collected meanwhile
		}
		if err != nil {
			return n, err
		}
		if rec.Remote {
			n++
			continue // no copy here
		}
		if err := l.deleteBytes(ctx, rec.Ref); err != nil {
			// The record is gone; Reconcile will remove the bytes.
			l.log.Warn("deleting collected bytes failed", "ref", rec.Ref, "err", err)
		}
		n++
	}
	return n, nil
}

// Report is what Reconcile found.
type Report struct {
	// Removed counts stored bytes that no record knew (left by a crash
	// between storing and registering) and that Reconcile deleted.
	Removed int
	// Missing lists records whose bytes are gone (deleted outside the
	// library, or a folder the user emptied). Nodes using them will fail
	// to open their asset; the app decides what to do.
	Missing []assetref.Record
}

// Reconcile compares what the stores hold with the asset records: it
// deletes bytes no record knows (once older than Options.Grace) and
// reports records whose bytes are missing.
func (l *Library) Reconcile(ctx context.Context) (Report, error) {
	var rep Report
	recs, err := l.reg.Assets(ctx)
	if err != nil {
		return rep, err
	}
	known := map[string]assetref.Ref{}
	for _, r := range recs {
		known[r.Hash] = r.Ref
	}
	stores := []assetref.Store{l.fallback}
	if l.primary != nil {
		stores = append(stores, l.primary)
	}
	l.mu.Lock()
	for _, f := range l.folders {
		stores = append(stores, f)
	}
	l.mu.Unlock()
	cutoff := time.Now().Add(-l.opts.Grace)
	for _, s := range stores {
		lister, ok := s.(assetref.Lister)
		if !ok {
			continue
		}
		infos, err := lister.List(ctx)
		if err != nil {
			return rep, err
		}
		for _, info := range infos {
			if r, ok := known[info.Hash]; ok && sameLocation(r, info.Ref) {
				continue
			}
			if !olderThan(info.Ref, cutoff) {
				continue // perhaps another tab is about to register it
			}
			if err := s.Delete(ctx, info.Ref); err != nil && !errors.Is(err, errs.ErrNotFound) {
				return rep, err
			}
			rep.Removed++
		}
	}
	for _, r := range recs {
		if r.Remote {
			continue // the sync server has the bytes, not this device
		}
		if _, err := l.statLocal(ctx, r.Ref); errors.Is(err, errs.ErrNotFound) {
			rep.Missing = append(rep.Missing, r)
		} else if err != nil && !errors.Is(err, errs.ErrPermission) {
			return rep, err
		}
	}
	return rep, nil
}

// olderThan reports whether the asset's id (a UUIDv7, as Put gives) says
// it was stored before t. Assets with other ids count as old.
func olderThan(ref assetref.Ref, t time.Time) bool {
	id := ref.BlobKey
	switch ref.Kind {
	case assetref.KindOPFS:
		id = lastSegment(ref.Path)
	case assetref.KindFSHandle:
		id = lastSegment(ref.HandleID)
	}
	made, ok := uuid7.Time(id)
	return !ok || made.Before(t)
}

func lastSegment(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// UseFolder sends new assets to the persisted folder with the given key,
// asking for write permission if the browser needs it (call it from a
// user gesture then); an empty key goes back to the default store. It
// fails with errs.ErrPermission when the user refuses.
func (l *Library) UseFolder(ctx context.Context, key string) error {
	if key != "" {
		// The library keeps the stores of folders it opened: ask the
		// persisted list, so that a folder removed (here or in another
		// tab) is not used again.
		if err := l.knownFolder(ctx, key); err != nil {
			return err
		}
		if _, err := l.folder(ctx, key, true); err != nil {
			return err
		}
	}
	l.mu.Lock()
	l.target = key
	l.mu.Unlock()
	return nil
}

// Records returns the registry's record of every asset, by hash: where
// its bytes are, the nodes that use it and its sync state.
func (l *Library) Records(ctx context.Context) ([]assetref.Record, error) {
	return l.reg.Assets(ctx)
}

// AddFolder persists a folder the user picked (the JavaScript binding
// wraps its FileSystemDirectoryHandle) and returns its key. With use, new
// assets go there from now on. It fails with errs.ErrUnsupported without
// folder support (Env.Folders) and with errs.ErrInvalid for a nil folder.
func (l *Library) AddFolder(ctx context.Context, f assetref.Folder, use bool) (string, error) {
	if l.env.Folders == nil {
		return "", fmt.Errorf("folders: %w", errs.ErrUnsupported)
	}
	if f == nil {
		return "", &errs.ValidationError{Entity: "folder", Field: "handle", Reason: "no directory"}
	}
	key, err := l.env.Folders.AddFolder(ctx, f)
	if err != nil {
		return "", err
	}
	if use {
		if err := l.UseFolder(ctx, key); err != nil {
			return "", err
		}
	}
	return key, nil
}

// Folders lists the persisted folders (none without folder support).
func (l *Library) Folders(ctx context.Context) ([]Folder, error) {
	if l.env.Folders == nil {
		return nil, nil
	}
	return l.env.Folders.Folders(ctx)
}

// knownFolder fails with errs.ErrNotFound unless key names a persisted
// folder.
func (l *Library) knownFolder(ctx context.Context, key string) error {
	fs, err := l.Folders(ctx)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Key == key {
			return nil
		}
	}
	return fmt.Errorf("folder %s: %w", key, errs.ErrNotFound)
}

// RemoveFolder forgets a persisted folder; the files in it stay. New
// assets that went there go to the default store again. It refuses with
// assetref.ErrInUse while nodes use assets kept there (their refs would
// dangle), and fails with errs.ErrNotFound when there is no such folder.
func (l *Library) RemoveFolder(ctx context.Context, key string) error {
	if l.env.Folders == nil {
		return fmt.Errorf("folder %s: %w", key, errs.ErrNotFound)
	}
	recs, err := l.reg.Assets(ctx)
	if err != nil {
		return err
	}
	used := 0
	for _, r := range recs {
		if r.Ref.Kind != assetref.KindFSHandle || len(r.Users) == 0 {
			continue
		}
		if k, _, err := opfs.ParseHandleID(r.Ref.HandleID); err == nil && k == key {
			used++
		}
	}
	if used > 0 {
		return fmt.Errorf("folder %s holds %d assets that nodes use: %w", key, used, assetref.ErrInUse)
	}
	if err := l.env.Folders.RemoveFolder(ctx, key); err != nil {
		return err
	}
	l.mu.Lock()
	s := l.folders[key]
	delete(l.folders, key)
	if l.target == key {
		l.target = ""
	}
	l.mu.Unlock()
	if c, ok := s.(io.Closer); ok {
		_ = c.Close()
	}
	return nil
}

// folder opens (once) the store of a folder the user picked, checking
// (and with ask, requesting) permission.
func (l *Library) folder(ctx context.Context, key string, ask bool) (assetref.Store, error) {
	l.mu.Lock()
	s := l.folders[key]
	l.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if l.env.Folders == nil {
		return nil, fmt.Errorf("folder %s: %w", key, errs.ErrNotFound)
	}
	s, err := l.env.Folders.OpenFolder(ctx, key, ask)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if existing := l.folders[key]; existing != nil {
		if c, ok := s.(io.Closer); ok {
			_ = c.Close()
		}
		return existing, nil
	}
	l.folders[key] = s
	return s, nil
}
