//go:build js && wasm

package assets

import (
	"context"
	"fmt"
	"strings"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/tabs"
	"github.com/atelierstore/atelier/opfs"
)

// The browser's side of the library: Open assembles the adapters (the
// registry and folder handles of an *idb.DB, the OPFS and IndexedDB
// stores, Web Locks, navigator.storage.estimate, a cross-tab bus), and the
// methods about storage and folders the user picked live here.

var (
	_ Registry  = (*idb.DB)(nil)
	_ Workflows = (*idb.DB)(nil)
	_ Leader    = (*idb.DB)(nil)
)

// Open opens the asset layer of db. In the background it removes what an
// earlier session left half-written and, in the leading tab, reconciles
// and collects. With Options.Backend BackendOPFS it fails when OPFS is
// unavailable; otherwise IndexedDB takes its place.
func Open(ctx context.Context, db *idb.DB, opts *Options) (*Library, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	blobs := db.BlobStore(0)
	env := Env{Registry: db, Workflows: db, Fallback: blobs, Leader: db,
		Folders:  &idbFolders{db: db, opts: o.OPFS},
		Estimate: fsx.Estimate,
		Notify: func(recv func(string)) (Notifier, error) {
			return tabs.Open("atelier:"+db.Name()+":assets", recv)
		},
	}
	if fsx.LocksSupported() {
		env.Locks = webLocks{prefix: "atelier:" + db.Name() + ":asset:"}
	}
	var store *opfs.Store
	if o.Backend != BackendIDB {
		oo, err := opfsOptions(ctx, db, o.OPFS)
		if err != nil {
			return nil, err
		}
		s, err := opfs.Open(ctx, oo)
		switch {
		case err == nil:
			store, env.Primary = s, s
		case o.Backend == BackendOPFS:
			return nil, err
		default:
			if o.Logger != nil {
				o.Logger.Warn("OPFS unavailable: assets go to IndexedDB", "err", err)
			}
		}
	}
	var lib *Library
	// What an earlier session left half-written goes in the background:
	// the sweeps wait for writes in progress in other tabs (their locks),
	// and writes starting now wait for the sweeps.
	env.Sweep = func(ctx context.Context) {
		if store != nil {
			if _, err := store.Sweep(ctx); err != nil && ctx.Err() == nil {
				lib.log.Warn("sweeping OPFS failed", "err", err)
			}
		}
		if _, err := blobs.Sweep(ctx, lib.opts.Grace); err != nil && ctx.Err() == nil {
			lib.log.Warn("sweeping the IndexedDB asset store failed", "err", err)
		}
	}
	// The sweep reads lib: hold it back until lib is set.
	ready := make(chan struct{})
	sweep := env.Sweep
	env.Sweep = func(ctx context.Context) {
		<-ready
		sweep(ctx)
	}
	lib, err := New(env, &o)
	if err != nil {
		close(ready)
		if store != nil {
			_ = store.Close()
		}
		return nil, err
	}
	lib.content = blobContent
	lib.fetchURL = Fetch
	if store != nil {
		lib.closeStores = store.Close
	}
	close(ready)
	return lib, nil
}

// opfsOptions are the options of the database's OPFS store: with no Root
// set, a directory of the database's own (WorkspaceRoot), so that two
// databases of one origin never collect, reconcile or roll back each
// other's files, unless the database already keeps assets in the shared
// opfs.DefaultRoot, where earlier versions put every database's assets.
func opfsOptions(ctx context.Context, db *idb.DB, opts *opfs.Options) (*opfs.Options, error) {
	var o opfs.Options
	if opts != nil {
		o = *opts
	}
	if o.Root != "" {
		return &o, nil
	}
	recs, err := db.Assets(ctx)
	if err != nil {
		return nil, err
	}
	o.Root = WorkspaceRoot(db.Name())
	for _, r := range recs {
		if r.Ref.Kind == assetref.KindOPFS && strings.HasPrefix(r.Ref.Path, opfs.DefaultRoot+"/assets/") {
			o.Root = opfs.DefaultRoot // a database from before per-database roots
			break
		}
	}
	return &o, nil
}

// ---- adapters

// idbFolders opens the stores of the folders persisted in the database.
type idbFolders struct {
	db   *idb.DB
	opts *opfs.Options
}

func (f *idbFolders) OpenFolder(ctx context.Context, key string, ask bool) (assetref.Store, error) {
	folders, err := f.db.Folders(ctx)
	if err != nil {
		return nil, err
	}
	for _, fo := range folders {
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

// webLocks is the Locker over Web Locks, shared by the origin's tabs.
type webLocks struct{ prefix string }

func (w webLocks) ReadLock(ctx context.Context, hash string) (func(), error) {
	return fsx.Lock(ctx, w.prefix+hash, fsx.Shared)
}

func (w webLocks) TryLock(ctx context.Context, hash string) (func(), bool, error) {
	return fsx.TryLock(ctx, w.prefix+hash, fsx.Exclusive)
}

// ---- storage and folders

// Capabilities is what the app can show about storage.
type Capabilities struct {
	Backend      Backend // where new assets go, unless a folder is in use
	Folder       string  // the key of the folder new assets go to, if any
	OPFS         bool    // the origin private file system is available
	SyncAccess   bool    // the fast OPFS path (a dedicated worker) is in use
	FolderAccess bool    // the browser lets the user pick folders
	Persisted    bool    // storage is persistent (not evicted under pressure)
	Usage, Quota int64   // bytes, as navigator.storage.estimate() reports them
}

// Capabilities reports the storage situation.
func (l *Library) Capabilities(ctx context.Context) (Capabilities, error) {
	c := Capabilities{Backend: l.backend, OPFS: l.primary != nil, SyncAccess: fsx.SyncAccessSupported(),
		FolderAccess: fsx.FolderPickerSupported()}
	l.mu.Lock()
	c.Folder = l.target
	l.mu.Unlock()
	if !fsx.HasStorage() {
		return c, nil
	}
	var err error
	if c.Usage, c.Quota, err = fsx.Estimate(ctx); err != nil {
		return c, err
	}
	if p, err := fsx.Persisted(ctx); err == nil {
		c.Persisted = p
	}
	return c, nil
}

// Persist asks the browser to make this origin's storage persistent, and
// reports whether it is. It fails with errs.ErrUnsupported where the
// browser cannot tell.
func (l *Library) Persist(ctx context.Context) (bool, error) {
	return fsx.Persist(ctx)
}

// AddFolder persists a folder the user picked (the JavaScript binding
// wraps its FileSystemDirectoryHandle) and returns its key. With use, new
// assets go there from now on. It fails with errs.ErrUnsupported for a
// library not opened by Open, and with errs.ErrInvalid for a nil dir.
func (l *Library) AddFolder(ctx context.Context, d *fsx.Dir, use bool) (string, error) {
	folders, ok := l.env.Folders.(*idbFolders)
	if !ok {
		return "", fmt.Errorf("folders: %w", errs.ErrUnsupported)
	}
	if d == nil {
		return "", &errs.ValidationError{Entity: "folder", Field: "handle", Reason: "no directory"}
	}
	key := graph.NewID()
	if err := folders.db.PutFolder(ctx, idb.Folder{Key: key, Name: d.Name(), Dir: d}); err != nil {
		return "", err
	}
	if use {
		if err := l.UseFolder(ctx, key); err != nil {
			return "", err
		}
	}
	return key, nil
}
