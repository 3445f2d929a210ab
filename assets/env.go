package assets

import (
	"context"
	"log/slog"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/pack"
)

// The library's logic (Put, Open, Collect, Reconcile, Evict, fetch on
// demand, upload bookkeeping) is written once over the interfaces below and
// builds everywhere; its tests run on the host against memstore and an
// in-memory registry. In the browser, Open assembles the adapters: the
// registry of the store's database (package assets/registry), the OPFS
// and IndexedDB byte stores, the folder handles the user picked, Web
// Locks, navigator.storage.estimate and a cross-tab bus.

// Registry is the asset registry: one record per stored asset, keyed by
// its content hash, saying where the bytes are and which nodes use them.
// *idb.DB implements it; see its methods of the same names for what each
// one guarantees (they are the contract).
type Registry interface {
	// Asset returns the record of hash; errs.ErrNotFound when there is none.
	Asset(ctx context.Context, hash string) (assetref.Record, error)
	// Assets returns every record, by hash.
	Assets(ctx context.Context) ([]assetref.Record, error)
	// RegisterAsset records stored bytes; with existed, the returned
	// record is the one registered before (its Ref is ref's when it was
	// Remote).
	RegisterAsset(ctx context.Context, ref assetref.Ref) (rec assetref.Record, existed bool, err error)
	// ForgetAsset deletes the record of an asset no node uses and returns
	// it; assetref.ErrInUse when nodes use it, errs.ErrNotFound when there
	// is none.
	ForgetAsset(ctx context.Context, hash string) (assetref.Record, error)
	// TouchAsset records a read now, writing only when the recorded time
	// is older than granularity.
	TouchAsset(ctx context.Context, hash string, granularity time.Duration) error
	// MarkAssetsUploaded records that the sync server has the assets.
	MarkAssetsUploaded(ctx context.Context, hashes []string) error
	// AssetFetched records fetched bytes stored at ref; moved reports
	// that the record now names ref (it was Remote or at expect).
	AssetFetched(ctx context.Context, ref, expect assetref.Ref) (rec assetref.Record, moved bool, err error)
	// EvictAsset marks the local copy at `at` as gone (Remote) before the
	// caller deletes it; assetref.ErrNotUploaded, errs.ErrNotFound or
	// errs.ErrVersionConflict change nothing.
	EvictAsset(ctx context.Context, hash string, at assetref.Ref) (assetref.Record, error)
}

// Workflows is what Export and Import need of the workflow store
// (implemented by *idb.DB).
type Workflows interface {
	// LoadWorkflow returns a workflow's graph; errs.ErrNotFound when
	// there is no such workflow.
	LoadWorkflow(ctx context.Context, id string) (graph.Graph, error)
	// PutGraph stores a graph in one transaction and returns it as stored.
	PutGraph(ctx context.Context, g *graph.Graph) (graph.Graph, error)
}

// Folders keeps the folders the user picked (in the browser, persisted
// directory handles) and opens their stores.
type Folders interface {
	// OpenFolder returns the store of the folder with the given key,
	// checking (with ask, requesting) write permission. It fails with
	// errs.ErrNotFound for an unknown key and errs.ErrPermission when
	// permission is refused. The library closes the store (if it is an
	// io.Closer) when it closes.
	OpenFolder(ctx context.Context, key string, ask bool) (assetref.Store, error)
	// AddFolder persists a folder the user picked and returns its new
	// key; errs.ErrInvalid for a folder it cannot keep.
	AddFolder(ctx context.Context, f assetref.Folder) (key string, err error)
	// Folders lists the persisted folders.
	Folders(ctx context.Context) ([]Folder, error)
	// RemoveFolder forgets a persisted folder (the files in it stay);
	// errs.ErrNotFound when there is none with that key.
	RemoveFolder(ctx context.Context, key string) error
}

// Folder is a folder the user picked, as persisted.
type Folder struct {
	Key       string
	Name      string
	CreatedAt int64           // ms since the Unix epoch
	Handle    assetref.Folder // the browser's handle, for the binding
}

// Locker holds the per-asset locks that keep Evict away from assets being
// read: in the browser Web Locks, shared by every tab of the origin.
type Locker interface {
	// ReadLock holds the asset's lock shared, waiting while it is held
	// exclusively, until release is called.
	ReadLock(ctx context.Context, hash string) (release func(), err error)
	// TryLock takes the asset's lock exclusively if nobody holds it now;
	// ok false means someone does.
	TryLock(ctx context.Context, hash string) (release func(), ok bool, err error)
}

// Leader runs jobs in one process of several sharing the stores (in the
// browser, the leading tab: the workspace's leadership).
type Leader interface {
	// RunOnLeader starts job whenever this process leads, cancelling its
	// context when it stops leading; unregister stops it for good.
	RunOnLeader(name string, job func(ctx context.Context)) (unregister func())
}

// Notifier tells the other processes sharing the stores (tabs) that an
// asset was stored.
type Notifier interface {
	Post(msg string) error
	Close()
}

// Env is what a Library is built on. Registry and Fallback are required;
// every other nil field turns its feature off, as documented.
type Env struct {
	Registry  Registry
	Workflows Workflows // nil: Export and Import fail with errs.ErrUnsupported

	// Primary is where new assets go (OPFS in the browser, holding refs
	// of kind opfs); nil: Fallback. Fallback (IndexedDB in the browser,
	// refs of kind idb) takes what Primary refuses, and everything when
	// there is no Primary.
	Primary, Fallback assetref.Store
	// PrimaryReadOnly keeps Primary for the assets already in it but
	// sends new ones to Fallback: the browser has the store but refused
	// a test write to it.
	PrimaryReadOnly bool
	// Why says why new assets go where they go, for Capabilities.
	Why     string
	Folders Folders // nil: refs of kind fs-handle are not found

	Locks Locker // nil: locks known to this process only
	// Leader runs the upkeep (Reconcile, then Collect every
	// Options.CollectEvery) and the eviction loop; nil: neither runs on
	// its own.
	Leader Leader
	// Notify opens the notifier of new assets, calling recv (which must
	// not block) for each message another process posts; nil: none.
	Notify func(recv func(string)) (Notifier, error)
	// Estimate reports storage usage and quota, for EvictIfNeeded; nil:
	// EvictIfNeeded does nothing.
	Estimate func(ctx context.Context) (usage, quota int64, err error)
	// Sweep, if set, runs in the background when the library opens (the
	// browser's removes what an earlier session left half-written, older
	// than grace), logging to log; Close cancels it and waits for it.
	Sweep func(ctx context.Context, grace time.Duration, log *slog.Logger)
	// BlobUploads makes UploadContent hand the transport each asset as a
	// Blob the browser holds (its bytes need not pass through Go); false:
	// a reader of its bytes.
	BlobUploads bool
	// FetchURL fetches the bytes of url assets for Export and ImportURL's
	// package; nil: pack's default.
	FetchURL pack.FetchFunc
	// Close, if set, runs last when the library closes: it closes what
	// the stores hold open.
	Close func() error
}
