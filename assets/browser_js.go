//go:build js && wasm

package assets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/folders"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbblob"
	"github.com/atelierstore/atelier/internal/tabs"
	"github.com/atelierstore/atelier/opfs"
)

// Open assembles the asset library of the store db in the browser: reg
// (the store's registry, package assets/registry), the OPFS store (unless
// opts.Backend is BackendIDB) with the IndexedDB store as its fallback,
// the folders the user picked, Web Locks, the storage estimate and a bus
// to the other tabs; lead runs the upkeep. With Backend BackendOPFS it
// fails when OPFS is unavailable; otherwise IndexedDB takes its place.
// The backend is chosen by what works, not by what exists: Open writes a
// small file to OPFS the way Put will (opfs.Store.Probe) and, where
// IndexedDB takes new assets, stores a small Blob there
// (idbblob.Store.Probe, which makes the store keep ArrayBuffers where
// the browser refuses Blobs). Capabilities reports the choice and why.
// atelier.Open calls it; Close closes what it opened.
func Open(ctx context.Context, db *idb.DB, reg Registry, lead Leader, opts *Options) (*Library, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	// The IndexedDB store and the folder list connect when first used.
	blobs, fs := idbblob.New(db.Name(), 0), folders.New(db.Name())
	var store *opfs.Store
	why := "Options.Backend asks for IndexedDB"
	readOnly := false
	if o.Backend != BackendIDB {
		var err error
		store, why, err = openOPFS(ctx, db.Name(), reg, &o)
		if err != nil {
			blobs.Close()
			fs.Close()
			return nil, err
		}
	}
	if store != nil {
		if err := probeOPFS(ctx, store); err != nil {
			if o.Backend == BackendOPFS {
				blobs.Close()
				fs.Close()
				return nil, errors.Join(err, store.Close())
			}
			why, readOnly = "OPFS refused a test write ("+err.Error()+"); new assets go to IndexedDB", true
			if o.Logger != nil {
				o.Logger.Warn("OPFS refused a test write: new assets go to IndexedDB", "err", err)
			}
		}
	}
	if store == nil || readOnly {
		if err := probeIDBBlobs(ctx, blobs); err != nil && o.Logger != nil {
			o.Logger.Warn("IndexedDB refused a Blob: asset chunks are stored as ArrayBuffers", "err", err)
		}
	}
	env := Env{Registry: reg, Workflows: db, Fallback: blobs, Leader: lead, PrimaryReadOnly: readOnly, Why: why,
		Folders:     &pickedFolders{s: fs, opts: o.OPFS},
		Estimate:    fsx.Estimate,
		BlobUploads: true,
		FetchURL:    Fetch,
		Notify: func(recv func(string)) (Notifier, error) {
			return tabs.Open("atelier:"+db.Name()+":assets", recv)
		},
		Close: func() error {
			blobs.Close()
			fs.Close()
			if store != nil {
				return store.Close()
			}
			return nil
		},
	}
	if store != nil {
		env.Primary = store
	}
	if fsx.LocksSupported() {
		env.Locks = webLocks{prefix: "atelier:" + db.Name() + ":asset:"}
	}
	// What an earlier session left half-written goes in the background:
	// the sweeps wait for writes in progress in other tabs (their locks),
	// and writes starting now wait for the sweeps.
	env.Sweep = func(ctx context.Context, grace time.Duration, log *slog.Logger) {
		sweepStores(ctx, grace, log, store, blobs)
	}
	lib, err := New(env, &o)
	if err != nil {
		return nil, errors.Join(err, env.Close())
	}
	return lib, nil
}

// testProbes, when a test sets it, stands for the probes' results: a
// non-nil error is taken as the probe's failure, so that the fallbacks run
// in a browser where the real probes pass; nil runs the real probe.
var testProbes *struct{ OPFS, IDBBlobs error }

// probeOPFS is s.Probe, or the failure a test set.
func probeOPFS(ctx context.Context, s *opfs.Store) error {
	if testProbes != nil && testProbes.OPFS != nil {
		return testProbes.OPFS
	}
	return s.Probe(ctx)
}

// probeIDBBlobs is s.Probe, or the failure a test set (which makes s keep
// ArrayBuffers).
func probeIDBBlobs(ctx context.Context, s *idbblob.Store) error {
	if testProbes != nil && testProbes.IDBBlobs != nil {
		s.UseBytes(testProbes.IDBBlobs)
		return testProbes.IDBBlobs
	}
	return s.Probe(ctx)
}

// openOPFS opens the OPFS store and says why new assets go there, or
// returns nil and why not where OPFS is unavailable and the options
// allow the IndexedDB store instead.
func openOPFS(ctx context.Context, name string, reg Registry, o *Options) (*opfs.Store, string, error) {
	oo, err := opfsOptions(ctx, name, reg, o.OPFS)
	if err != nil {
		return nil, "", err
	}
	s, err := opfs.Open(ctx, oo)
	switch {
	case err == nil:
		return s, "OPFS took a test write", nil
	case o.Backend == BackendOPFS:
		return nil, "", err
	}
	if o.Logger != nil {
		o.Logger.Warn("OPFS unavailable: assets go to IndexedDB", "err", err)
	}
	return nil, "OPFS is unavailable (" + err.Error() + ")", nil
}

// sweepStores removes what an earlier session left half-written.
func sweepStores(ctx context.Context, grace time.Duration, log *slog.Logger, store *opfs.Store, blobs *idbblob.Store) {
	if store != nil {
		if _, err := store.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweeping OPFS failed", "err", err)
		}
	}
	if _, err := blobs.Sweep(ctx, grace); err != nil && ctx.Err() == nil {
		log.Warn("sweeping the IndexedDB asset store failed", "err", err)
	}
}

// opfsOptions are the options of the database's OPFS store: with no Root
// set, a directory of the database's own (WorkspaceRoot), so that two
// databases of one origin never collect, reconcile or roll back each
// other's files, unless the database already keeps assets in the shared
// opfs.DefaultRoot, where earlier versions put every database's assets.
func opfsOptions(ctx context.Context, name string, reg Registry, opts *opfs.Options) (*opfs.Options, error) {
	var o opfs.Options
	if opts != nil {
		o = *opts
	}
	if o.Root != "" {
		return &o, nil
	}
	recs, err := reg.Assets(ctx)
	if err != nil {
		return nil, err
	}
	o.Root = WorkspaceRoot(name)
	for _, r := range recs {
		if r.Ref.Kind == assetref.KindOPFS && strings.HasPrefix(r.Ref.Path, opfs.DefaultRoot+"/assets/") {
			o.Root = opfs.DefaultRoot // a database from before per-database roots
			break
		}
	}
	return &o, nil
}

// pickedFolders are the folders the user picked, persisted in the
// database, as Folders; opts configures the layout inside them.
type pickedFolders struct {
	s    *folders.Store
	opts *opfs.Options
}

func (f *pickedFolders) OpenFolder(ctx context.Context, key string, ask bool) (assetref.Store, error) {
	list, err := f.s.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, fo := range list {
		if fo.Key != key {
			continue
		}
		p, err := fo.Dir.QueryPermission(ctx, true)
		if err == nil && p != fsx.PermissionGranted && ask {
			p, err = fo.Dir.RequestPermission(ctx, true)
		}
		if err != nil {
			return nil, err
		}
		if p != fsx.PermissionGranted {
			return nil, fmt.Errorf("folder %s (%s): %w", fo.Name, key, errs.ErrPermission)
		}
		return opfs.OpenFolder(ctx, key, fo.Dir, f.opts)
	}
	return nil, fmt.Errorf("folder %s: %w", key, errs.ErrNotFound)
}

func (f *pickedFolders) AddFolder(ctx context.Context, picked assetref.Folder) (string, error) {
	d, ok := fsx.DirOf(picked)
	if !ok {
		return "", &errs.ValidationError{Entity: "folder", Field: "handle", Reason: "not a directory the browser holds"}
	}
	key := graph.NewID()
	return key, f.s.Put(ctx, folders.Folder{Key: key, Name: d.Name(), Dir: d})
}

func (f *pickedFolders) Folders(ctx context.Context) ([]Folder, error) {
	list, err := f.s.List(ctx)
	out := make([]Folder, len(list))
	for i, fo := range list {
		out[i] = Folder{Key: fo.Key, Name: fo.Name, CreatedAt: fo.CreatedAt, Handle: fo.Dir}
	}
	return out, err
}

func (f *pickedFolders) RemoveFolder(ctx context.Context, key string) error {
	return f.s.Remove(ctx, key)
}

// webLocks is the Locker over Web Locks, shared by the origin's tabs.
type webLocks struct{ prefix string }

func (w webLocks) ReadLock(ctx context.Context, hash string) (func(), error) {
	return fsx.Lock(ctx, w.prefix+hash, fsx.Shared)
}

func (w webLocks) TryLock(ctx context.Context, hash string) (func(), bool, error) {
	return fsx.TryLock(ctx, w.prefix+hash, fsx.Exclusive)
}
