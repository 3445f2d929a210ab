package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncengine"
)

// Assets and the sync server. With a Remote set, the library is the local
// side of asset sync:
//
//   - it is a syncengine.AssetSource: an Uploader in the leading tab
//     uploads what the server lacks and marks it uploaded in the asset
//     registry;
//   - Open, Blob and Stat of an asset whose bytes are not on this device
//     (it came with a node from another device, or its copy was evicted)
//     fetch them from the server, store them (deduplicated by hash) and
//     serve them, so a synced workflow loads its metadata at once and its
//     assets when something reads them;
//   - Evict removes local copies of uploaded assets, least recently read
//     first, when storage nears its quota; reading them again fetches them
//     back.

// fetcher is where assets are fetched from: in the browser a Remote's
// DownloadBlob (see SetRemote).
type fetcher interface {
	// download returns the content of the blob with the given hash. It
	// fails with an error matching errs.ErrNotFound when the server has
	// no such blob (perhaps not yet); an error with a method Permanent()
	// bool that returns true means asking again cannot help.
	download(ctx context.Context, hash string) (fetched, error)
}

// fetched is the content of one downloaded asset.
type fetched interface {
	size() int64
	mime() string // "" if the server did not say
	// putInto stores the content in s (the store fetched copies go to).
	putInto(ctx context.Context, s assetref.Store, hint assetref.Hint) (assetref.Ref, error)
}

var _ syncengine.AssetSource = (*Library)(nil)

// FetchError is the failure to fetch the bytes of an asset that are not on
// this device. It matches errs.ErrNotFound with errors.Is: the asset is
// not available here, now. Err says why (the server lacks it, or cannot be
// reached); Temporary whether a later try may succeed.
type FetchError struct {
	Hash string
	Err  error
}

func (e *FetchError) Error() string {
	return "asset " + e.Hash + " is not on this device and fetching it failed: " + e.Err.Error()
}

func (e *FetchError) Unwrap() error { return e.Err }

// Is reports whether target is errs.ErrNotFound.
func (e *FetchError) Is(target error) bool { return target == errs.ErrNotFound }

// Temporary reports whether a later try may succeed: the server lacked
// the asset (the device that has it may not have uploaded it yet) or could
// not be reached.
func (e *FetchError) Temporary() bool {
	return !isPermanent(e.Err) && !errors.Is(e.Err, errMismatch)
}

var errMismatch = fmt.Errorf("the sync server sent bytes with another hash: %w", errs.ErrCorrupt)

func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// setRemote makes the library fetch assets whose bytes are not on this
// device from f (nil: stop fetching), and lets the leader evict local
// copies of uploaded assets when storage nears its quota.
func (l *Library) setRemote(f fetcher) {
	l.mu.Lock()
	l.remote = f
	l.mu.Unlock()
}

func (l *Library) getRemote() fetcher {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.remote
}

// OnStored registers f to be called (from its own goroutine) when an asset
// new to the store is registered, in this tab or another: an Uploader
// (syncengine.NewUploader) uses it to start at once.
func (l *Library) OnStored(f func()) {
	l.mu.Lock()
	l.onStored = append(l.onStored, f)
	l.mu.Unlock()
}

// stored tells this tab's and the other tabs' listeners that hash is new.
func (l *Library) stored(hash string, local bool) {
	l.mu.Lock()
	fs := append([]func(){}, l.onStored...)
	bus := l.bus
	l.mu.Unlock()
	for _, f := range fs {
		go f()
	}
	if local && bus != nil {
		_ = bus.Post(hash)
	}
}

// PendingUploads implements syncengine.AssetSource: the assets stored on
// this device that the sync server is not known to have.
func (l *Library) PendingUploads(ctx context.Context) ([]syncengine.PendingAsset, error) {
	recs, err := l.reg.Assets(ctx)
	if err != nil {
		return nil, err
	}
	var out []syncengine.PendingAsset
	for _, r := range recs {
		if r.Uploaded == 0 && !r.Remote {
			out = append(out, syncengine.PendingAsset{Hash: r.Hash, Bytes: r.Ref.Bytes, Used: len(r.Users) > 0, Created: r.CreatedAt})
		}
	}
	return out, nil
}

// UploadContent implements syncengine.AssetSource. It fails with an error
// matching errs.ErrNotFound when the bytes are not on this device.
func (l *Library) UploadContent(ctx context.Context, hash string) (syncengine.Content, error) {
	rec, err := l.reg.Asset(ctx, hash)
	if err != nil {
		return nil, err
	}
	if rec.Remote {
		return nil, fmt.Errorf("asset %s: the bytes are not on this device: %w", hash, errs.ErrNotFound)
	}
	s, err := l.store(ctx, rec.Ref)
	if err != nil {
		return nil, err
	}
	mime := rec.Ref.MIME
	if mime == "" {
		mime = assetref.DefaultMIME
	}
	if l.env.BlobUploads {
		return blobContent(ctx, s, rec.Ref, mime)
	}
	rc, err := s.Open(ctx, rec.Ref)
	if err != nil {
		return nil, err
	}
	size := rec.Ref.Bytes
	if info, err := s.Stat(ctx, rec.Ref); err == nil {
		size = info.Size
	}
	return &readerContent{ReadCloser: rc, size: size, mime: mime}, nil
}

// readerContent is the content UploadContent returns where no Blob is at
// hand (outside the browser):
// a reader of the stored bytes, for a transport that streams them.
type readerContent struct {
	io.ReadCloser
	size int64
	mime string
}

// Size implements syncengine.Content.
func (c *readerContent) Size() int64 { return c.size }

// MIME implements syncengine.Content.
func (c *readerContent) MIME() string { return c.mime }

// MarkUploaded implements syncengine.AssetSource.
func (l *Library) MarkUploaded(ctx context.Context, hashes []string) error {
	return l.reg.MarkAssetsUploaded(ctx, hashes)
}

// absent reports whether err means the bytes are not on this device (or
// not reachable in the location the registry names), so that fetching
// them is the way to go.
func absent(err error) bool {
	return errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrUnsupported) ||
		errors.Is(err, errs.ErrPermission)
}

// access runs f on the local copy of ref's bytes: at the location the
// registry records for ref's hash (which may differ from ref's, when
// identical bytes were stored first elsewhere), fetched from the Remote
// first when they are not on this device. f runs under the asset's read
// lock, which keeps Evict away; with keep, access returns the lock's
// release function instead of releasing it.
func (l *Library) access(ctx context.Context, ref assetref.Ref, keep bool, f func(s assetref.Store, loc assetref.Ref) error) (release func(), err error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	if ref.Kind == assetref.KindURL || ref.Kind == assetref.KindEmbedded {
		return nil, fmt.Errorf("%w: assets of kind %s are not stored here", errs.ErrInvalidRef, ref.Kind)
	}
	if ref.Hash == "" {
		// Without a hash there is no record and nothing to fetch.
		s, err := l.store(ctx, ref)
		if err != nil {
			return nil, err
		}
		return func() {}, f(s, ref)
	}
	var rec *assetref.Record
	switch r, err := l.reg.Asset(ctx, ref.Hash); {
	case err == nil:
		rec = &r
	case !errors.Is(err, errs.ErrNotFound):
		return nil, err
	}
	release, err = l.readLock(ctx, ref.Hash)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil || !keep {
			release()
		}
	}()
	loc := ref
	if rec != nil {
		loc = rec.Ref
	}
	if rec == nil || !rec.Remote {
		s, serr := l.store(ctx, loc)
		if serr == nil {
			serr = f(s, loc)
		}
		if serr == nil {
			l.touch(ctx, rec)
			return release, nil
		}
		// A location outside this device's stores (another device's
		// folder or root) is as good as absent.
		if !absent(serr) && !errors.Is(serr, errs.ErrInvalidRef) || l.getRemote() == nil {
			return release, serr
		}
	} else if l.getRemote() == nil {
		return release, fmt.Errorf("asset %s: the bytes are not on this device and no sync server is set: %w", ref.Hash, errs.ErrNotFound)
	}
	mime := ref.MIME
	if rec != nil && rec.Ref.MIME != "" {
		mime = rec.Ref.MIME
	}
	loc, err = l.fetch(ctx, ref.Hash, loc, mime)
	if err != nil {
		return release, err
	}
	s, err := l.store(ctx, loc)
	if err != nil {
		return release, err
	}
	return release, f(s, loc)
}

// touch records that rec's bytes were read, at most once per
// touchEvery.
func (l *Library) touch(ctx context.Context, rec *assetref.Record) {
	if rec == nil {
		return
	}
	every := l.touchEvery()
	if time.Now().UnixMilli()-rec.UsedAt < every.Milliseconds() {
		return
	}
	if err := l.reg.TouchAsset(ctx, rec.Hash, every); err != nil && !errors.Is(err, errs.ErrNotFound) {
		l.log.Warn("recording the use of an asset failed", "hash", rec.Hash, "err", err)
	}
}

func (l *Library) touchEvery() time.Duration {
	return max(0, min(time.Minute, l.opts.EvictIdle/4))
}

// lockedReader releases the asset's read lock when closed.
type lockedReader struct {
	io.ReadCloser
	release func()
}

func (r *lockedReader) Close() error {
	err := r.ReadCloser.Close()
	r.release()
	return err
}

// readerAtSeeker is what readers of the stores offer beyond ReadCloser.
type readerAtSeeker interface {
	io.ReadCloser
	io.ReaderAt
	io.Seeker
}

// lockedRandomReader keeps io.ReaderAt and io.Seeker visible (packing
// zips needs them).
type lockedRandomReader struct {
	readerAtSeeker
	release func()
}

func (r *lockedRandomReader) Close() error {
	err := r.readerAtSeeker.Close()
	r.release()
	return err
}

// fetchCall is one download in flight, shared by every reader of the
// asset in this tab.
type fetchCall struct {
	done chan struct{}
	loc  assetref.Ref
	err  error

	mu        sync.Mutex
	listeners []context.Context // the readers' contexts, whose ProgressFuncs hear of the download
}

// listen makes the ProgressFunc ctx carries (if any) hear of the
// download's progress from now on.
func (c *fetchCall) listen(ctx context.Context) {
	c.mu.Lock()
	c.listeners = append(c.listeners, ctx)
	c.mu.Unlock()
}

// report tells every reader's ProgressFunc how far the download has
// come.
func (c *fetchCall) report(done, total int64) {
	c.mu.Lock()
	ls := c.listeners
	c.mu.Unlock()
	for _, ctx := range ls {
		assetref.ReportProgress(ctx, done, total)
	}
}

// fetch brings the bytes of the asset with the given hash from the Remote
// into the store new copies go to, records them, and returns where they
// now are. expect is the location the registry named (found empty), mime
// the asset's media type. Concurrent fetches of one hash in this tab share
// one download, and the ProgressFunc each caller's ctx carries
// (assetref.WithProgress) hears of the bytes received (the last figure
// perhaps more than once); another tab's
// download is noticed when registering.
func (l *Library) fetch(ctx context.Context, hash string, expect assetref.Ref, mime string) (assetref.Ref, error) {
	for {
		l.mu.Lock()
		c := l.fetching[hash]
		leader := c == nil
		if leader {
			c = &fetchCall{done: make(chan struct{})}
			l.fetching[hash] = c
		}
		c.listen(ctx)
		l.mu.Unlock()
		if leader {
			c.loc, c.err = l.download(assetref.WithProgress(ctx, c.report), hash, expect, mime)
			l.mu.Lock()
			delete(l.fetching, hash)
			l.mu.Unlock()
			close(c.done)
			return c.loc, c.err
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return assetref.Ref{}, ctx.Err()
		}
		// The caller that downloaded gave up: try ourselves.
		if errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded) {
			continue
		}
		return c.loc, c.err
	}
}

// download fetches, retrying with backoff for up to Options.FetchWait
// while the server lacks the asset or cannot be reached, then stores.
func (l *Library) download(ctx context.Context, hash string, expect assetref.Ref, mime string) (assetref.Ref, error) {
	remote := l.getRemote()
	if remote == nil {
		return assetref.Ref{}, &FetchError{Hash: hash, Err: errors.New("no sync server is set")}
	}
	start := time.Now()
	r := rand.New(rand.NewPCG(uint64(start.UnixNano()), 2))
	var content fetched
	for attempt := 1; ; attempt++ {
		var err error
		content, err = remote.download(ctx, hash)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return assetref.Ref{}, ctx.Err()
		}
		wait := syncengine.Backoff(l.opts.fetchBackoff, 8*l.opts.fetchBackoff, attempt, r)
		if isPermanent(err) || l.opts.FetchWait < 0 || time.Since(start)+wait > l.opts.FetchWait {
			return assetref.Ref{}, &FetchError{Hash: hash, Err: err}
		}
		l.log.Info("fetching an asset failed: trying again", "hash", hash, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return assetref.Ref{}, ctx.Err()
		}
	}
	if mime == "" {
		mime = content.mime()
	}
	hint := assetref.Hint{ID: idOf(expect), MIME: mime}
	if _, err := hint.Normalize(); err != nil {
		hint = assetref.Hint{MIME: mime}
		if _, err := hint.Normalize(); err != nil {
			hint.MIME = ""
		}
	}
	s := l.cacheStore()
	// The progress reported is the download's: at each step of storing
	// the copy, quick next to it, the readers hear again that all the
	// bytes came.
	dl, size := ctx, content.size()
	ctx = assetref.WithProgress(dl, func(int64, int64) { assetref.ReportProgress(dl, size, size) })
	put := func() (assetref.Ref, error) {
		ref, err := content.putInto(ctx, s, withID(hint))
		if errors.Is(err, errs.ErrInvalid) && hint.ID != "" {
			// The id holds other content here: take a new one.
			hint.ID = ""
			ref, err = content.putInto(ctx, s, withID(hint))
		}
		return ref, err
	}
	ref, err := l.withRoom(ctx, content.size(), put)
	if err != nil {
		return assetref.Ref{}, fmt.Errorf("store fetched asset %s: %w", hash, err)
	}
	if ref.Hash != hash {
		// Only delete the copy if no record names it: dedup may have
		// handed back bytes another asset owns.
		if rec, err := l.reg.Asset(ctx, ref.Hash); err != nil || !assetref.SameLocation(rec.Ref, ref) {
			_ = s.Delete(ctx, ref)
		}
		return assetref.Ref{}, &FetchError{Hash: hash, Err: fmt.Errorf("%w (%s)", errMismatch, ref.Hash)}
	}
	rec, moved, err := l.reg.AssetFetched(ctx, ref, expect)
	if err != nil {
		return assetref.Ref{}, fmt.Errorf("record fetched asset %s: %w", hash, err)
	}
	if !moved && !assetref.SameLocation(rec.Ref, ref) {
		// Another tab stored it first, elsewhere.
		if err := s.Delete(ctx, ref); err != nil && !errors.Is(err, errs.ErrNotFound) {
			l.log.Warn("deleting a duplicate fetched copy failed", "ref", ref, "err", err)
		}
	}
	l.log.Info("fetched an asset", "hash", hash, "bytes", ref.Bytes, "took", time.Since(start))
	return rec.Ref, nil
}

// cacheStore is where fetched copies go: OPFS, else IndexedDB; never a
// folder the user picked (those hold the user's own files).
func (l *Library) cacheStore() assetref.Store {
	if l.primary != nil && l.backend == BackendOPFS {
		return l.primary
	}
	return l.fallback
}

// idOf is the asset id in a ref's locator, so that a fetched copy lands
// where the ref says when the stores agree.
func idOf(ref assetref.Ref) string {
	switch ref.Kind {
	case assetref.KindOPFS:
		return lastSegment(ref.Path)
	case assetref.KindFSHandle:
		return lastSegment(ref.HandleID)
	case assetref.KindIDB:
		return ref.BlobKey
	}
	return ""
}

// withRoom runs put; when it fails for want of quota and a sync server
// holds assets this device could let go, it evicts about need bytes (at
// least) and tries once more.
func (l *Library) withRoom(ctx context.Context, need int64, put func() (assetref.Ref, error)) (assetref.Ref, error) {
	ref, err := put()
	if !errors.Is(err, errs.ErrQuotaExceeded) || l.getRemote() == nil {
		return ref, err
	}
	rep, eerr := l.Evict(ctx, max(need, 1))
	if eerr != nil || rep.Bytes < need {
		return ref, err
	}
	l.log.Info("out of quota: evicted uploaded assets to make room", "evicted", rep.Evicted, "bytes", rep.Bytes)
	return put()
}

// EvictReport is what Evict did.
type EvictReport struct {
	Evicted int   // local copies deleted
	Bytes   int64 // their size
}

// Evict deletes local copies of assets the sync server has, least
// recently read first, until at least want bytes are freed (want <= 0:
// every such copy), and reports what it deleted. The assets stay
// registered; reading one again fetches it back.
//
// It never deletes an asset the server is not known to have, one read
// within Options.EvictIdle, one being read (an open reader, in any tab),
// or one in a folder the user picked. It fails only when the store does;
// copies that cannot be deleted now are skipped.
func (l *Library) Evict(ctx context.Context, want int64) (EvictReport, error) {
	var rep EvictReport
	recs, err := l.reg.Assets(ctx)
	if err != nil {
		return rep, err
	}
	cutoff := time.Now().Add(-l.opts.EvictIdle).UnixMilli()
	var cands []assetref.Record
	for _, r := range recs {
		if r.Uploaded == 0 || r.Remote || r.LastUse() > cutoff {
			continue
		}
		if r.Ref.Kind != assetref.KindOPFS && r.Ref.Kind != assetref.KindIDB {
			continue
		}
		cands = append(cands, r)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].LastUse() < cands[j].LastUse() })
	for _, c := range cands {
		if want > 0 && rep.Bytes >= want {
			break
		}
		release, ok, err := l.tryEvictLock(ctx, c.Hash)
		if err != nil {
			return rep, err
		}
		if !ok {
			continue // being read
		}
		size := c.Ref.Bytes
		if info, err := l.statLocal(ctx, c.Ref); err == nil {
			size = info.Size
		} else if errors.Is(err, errs.ErrNotFound) {
			size = 0 // gone already: mark it all the same
		}
		rec, err := l.reg.EvictAsset(ctx, c.Hash, c.Ref)
		if err != nil {
			release()
			if errors.Is(err, assetref.ErrNotUploaded) || errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrVersionConflict) {
				continue // changed meanwhile
			}
			return rep, err
		}
		err = l.deleteBytes(ctx, rec.Ref)
		release()
		if err != nil {
			// The record calls the bytes remote; reading fetches them
			// again and finds them here, so nothing is lost.
			l.log.Warn("deleting an evicted copy failed", "ref", rec.Ref, "err", err)
			continue
		}
		rep.Evicted++
		rep.Bytes += size
	}
	return rep, nil
}

// evictLoop runs in the leading tab: it evicts when storage nears its
// quota, while a Remote is set.
func (l *Library) evictLoop(ctx context.Context) {
	for {
		if l.getRemote() != nil {
			if rep, err := l.EvictIfNeeded(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn("evicting uploaded assets failed", "err", err)
			} else if rep.Evicted > 0 {
				l.log.Info("storage nears its quota: evicted uploaded assets", "evicted", rep.Evicted, "bytes", rep.Bytes)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.opts.EvictEvery):
		}
	}
}

// EvictIfNeeded evicts (see Evict) when the origin uses more than
// Options.EvictAbove of its quota, down to Options.EvictTo. The leading
// tab calls it every Options.EvictEvery while a Remote is set.
func (l *Library) EvictIfNeeded(ctx context.Context) (EvictReport, error) {
	if l.opts.EvictAbove < 0 || l.opts.estimate == nil {
		return EvictReport{}, nil
	}
	usage, quota, err := l.opts.estimate(ctx)
	if err != nil || quota <= 0 {
		return EvictReport{}, err
	}
	if float64(usage) <= l.opts.EvictAbove*float64(quota) {
		return EvictReport{}, nil
	}
	return l.Evict(ctx, usage-int64(l.opts.EvictTo*float64(quota)))
}

// ---- locks

// readLock holds the asset's read lock, which keeps Evict away.
func (l *Library) readLock(ctx context.Context, hash string) (func(), error) {
	return l.locks.ReadLock(ctx, hash)
}

// tryEvictLock takes the asset's lock exclusively if nobody reads it now.
func (l *Library) tryEvictLock(ctx context.Context, hash string) (release func(), ok bool, err error) {
	return l.locks.TryLock(ctx, hash)
}

// localLocks is the Locker of one process: it counts the readers of each
// asset, and TryLock succeeds while there are none (without keeping new
// readers out meanwhile: only this process's readers are known anyway).
type localLocks struct {
	mu      sync.Mutex
	readers map[string]int
}

func newLocalLocks() *localLocks { return &localLocks{readers: map[string]int{}} }

func (k *localLocks) ReadLock(ctx context.Context, hash string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.readers[hash]++
	k.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			k.mu.Lock()
			defer k.mu.Unlock()
			if k.readers[hash]--; k.readers[hash] <= 0 {
				delete(k.readers, hash)
			}
		})
	}, nil
}

func (k *localLocks) TryLock(ctx context.Context, hash string) (func(), bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return func() {}, k.readers[hash] == 0, nil
}
