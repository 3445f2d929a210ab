package syncengine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// Assets travel apart from operations: an op carries a node whose result
// refers to an asset by its hash, and the asset's bytes go to the server's
// blob store, content-addressed, through an Uploader. Another device that
// pulls the node fetches the bytes when it first needs them (see
// assets.Library.SetRemote).

// PendingAsset is an asset whose bytes the server is not known to have.
type PendingAsset struct {
	Hash  string // "sha256-…"
	Bytes int64  // its size, 0 if unknown
	// Used reports that nodes refer to the asset: ops carrying those nodes
	// are pushed (or will be), so other devices may soon ask for it.
	Used    bool
	Created int64 // when it was stored, ms since the Unix epoch
}

// Content is the local content of one asset, ready to upload. The
// transport knows how to read its concrete type: the HTTP transport
// uploads content with a method Blob() assetref.Blob that returns a Blob
// the browser holds, without reading it into Go.
type Content interface {
	Size() int64
	MIME() string
	// Close releases the content; the uploader calls it once it is done.
	Close() error
}

// AssetSource is the local side of asset uploads (implemented by
// *assets.Library).
type AssetSource interface {
	// PendingUploads lists the assets not known to be on the server.
	PendingUploads(ctx context.Context) ([]PendingAsset, error)
	// UploadContent returns the local content of an asset. It fails with
	// an error matching errs.ErrNotFound when the bytes are not on
	// this device (they arrived with a synced node and will be uploaded
	// by the device that has them) or errs.ErrPermission when they
	// cannot be read now.
	UploadContent(ctx context.Context, hash string) (Content, error)
	// MarkUploaded records that the server has the assets.
	MarkUploaded(ctx context.Context, hashes []string) error
}

// BlobTransport reaches a sync server's blob routes (implemented by
// *HTTP).
type BlobTransport interface {
	// MissingBlobs returns which of the hashes (at most
	// syncproto.MaxCheckHashes) the server lacks.
	MissingBlobs(ctx context.Context, hashes []string) ([]string, error)
	// UploadBlob uploads the content of the asset with the given hash,
	// calling progress (if not nil) as bytes go out. Uploading a blob the
	// server has already succeeds.
	UploadBlob(ctx context.Context, hash string, c Content, progress func(sent, total int64)) error
}

// UploaderOptions configure an Uploader; zero fields mean the defaults.
type UploaderOptions struct {
	BackoffBase time.Duration // first retry delay after a failed pass; default 2 s
	BackoffCap  time.Duration // longest delay; default 32 s
	// Interval is how often an idle uploader looks for new assets, which
	// other tabs may have stored; default 15 s. Flush asks at once.
	Interval time.Duration
	// Hold is how long an asset the server refused for good (its bytes
	// do not match their hash, or it is too large) waits before it is
	// tried again; default 1 hour.
	Hold time.Duration

	// OnStatus receives every change of UploadStatus, including progress
	// during an upload.
	OnStatus func(UploadStatus)

	sleep func(ctx context.Context, d time.Duration) error // tests
	now   func() time.Time                                 // tests
}

// UploadStatus is what an app can show about asset uploads.
type UploadStatus struct {
	State     State // Synced, Syncing, Offline or Failing, as for operations
	Pending   int   // assets not known to be on the server, this device's or not
	Waiting   int   // of those, assets whose bytes are on another device
	Held      int   // of those, assets the server refused, waiting for Hold
	Uploaded  int   // assets this uploader uploaded since it started
	Current   string
	Sent      int64 // bytes of Current sent so far
	Total     int64 // size of Current
	Failures  int   // consecutive failed passes
	LastError string
	RetryAt   time.Time
}

// UploadError is an asset the server refused for good. It is reported in
// UploadStatus.LastError and retried after UploaderOptions.Hold.
type UploadError struct {
	Hash string
	Err  error
}

func (e *UploadError) Error() string { return "upload asset " + e.Hash + ": " + e.Err.Error() }
func (e *UploadError) Unwrap() error { return e.Err }

// Uploader uploads the assets of a store to a sync server: it asks the
// server which hashes it lacks, then uploads those (assets that nodes use
// first), one at a time, marking each uploaded as soon as the server has
// it. A failed pass is retried with exponential backoff and jitter. Run
// it only in the leading tab (atelier.Workspace runs it on the leader), next to the Engine.
// Its methods are safe for concurrent use.
type Uploader struct {
	src  AssetSource
	tr   BlobTransport
	opts UploaderOptions

	loop   *loop
	status statusCell[UploadStatus]
	mu     sync.Mutex           // guards held
	held   map[string]time.Time // hash -> when to try again
}

// NewUploader returns an uploader; opts nil means defaults. If src can
// tell when new assets are stored (it has a method OnStored(func())), a
// pass starts then, unless the uploader is backing off after a failure.
func NewUploader(src AssetSource, tr BlobTransport, opts *UploaderOptions) *Uploader {
	u := &Uploader{src: src, tr: tr, loop: newLoop(), held: map[string]time.Time{}}
	if opts != nil {
		u.opts = *opts
	}
	o := &u.opts
	if o.BackoffBase <= 0 {
		o.BackoffBase = 2 * time.Second
	}
	if o.BackoffCap <= 0 {
		o.BackoffCap = 32 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = 15 * time.Second
	}
	if o.Hold <= 0 {
		o.Hold = time.Hour
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	if o.now == nil {
		o.now = time.Now
	}
	u.status.v.State = Synced
	if n, ok := src.(interface{ OnStored(func()) }); ok {
		// A new asset starts a pass, but does not cut a backoff short:
		// while the server fails, assets wait for the next retry.
		n.OnStored(func() { signal(u.loop.nudge) })
	}
	return u
}

// Flush asks for a round as soon as possible, even during a backoff delay.
func (u *Uploader) Flush() { signal(u.loop.wake) }

// SetOnline pauses (false) or resumes (true) uploads; resuming starts a
// pass at once. An upload under way when the browser goes offline fails
// and is retried from its start.
func (u *Uploader) SetOnline(online bool) {
	u.loop.setOnline(online)
	if !online {
		u.setStatus(func(s *UploadStatus) { s.State = Offline })
	}
}

// Status returns the uploader's status.
func (u *Uploader) Status() UploadStatus { return u.status.get() }

func (u *Uploader) setStatus(f func(*UploadStatus)) { u.status.update(f, u.opts.OnStatus) }

// Run runs passes until ctx ends: at once, after every Flush, every
// Interval, and after a failure when the backoff delay has passed. It
// returns ctx.Err().
func (u *Uploader) Run(ctx context.Context) error {
	p := pacing{base: u.opts.BackoffBase, cap: u.opts.BackoffCap, interval: u.opts.Interval,
		sleep: u.opts.sleep, now: u.opts.now, seed: 1}
	return u.loop.run(ctx, p, u.pass, func(o outcome) {
		u.setStatus(func(s *UploadStatus) {
			switch {
			case o.offline && o.err != nil:
				s.State = Offline
			case o.offline:
				s.State, s.Failures, s.RetryAt = Offline, 0, time.Time{}
				if s.Held == 0 {
					s.LastError = ""
				}
			case o.err != nil:
				s.State, s.Failures, s.LastError, s.RetryAt = Failing, o.failures, o.err.Error(), o.retryAt
			default:
				s.State, s.Failures, s.RetryAt = Synced, 0, time.Time{}
				if s.Held == 0 {
					s.LastError = ""
				}
			}
		})
	})
}

// Round runs one round (check, then upload what the server lacks) and
// returns its error. Run calls it; tests and apps that drive uploads
// themselves may too.
func (u *Uploader) Round(ctx context.Context) error { return u.pass(ctx) }

func (u *Uploader) pass(ctx context.Context) error {
	u.setStatus(func(s *UploadStatus) { s.State = Syncing })
	pending, err := u.src.PendingUploads(ctx)
	if err != nil {
		return fmt.Errorf("list assets to upload: %w", err)
	}
	// Assets that nodes use first: ops referring to them are on their way
	// to other devices. Then the oldest first.
	sort.SliceStable(pending, func(i, j int) bool {
		a, b := pending[i], pending[j]
		if a.Used != b.Used {
			return a.Used
		}
		return a.Created < b.Created
	})
	now := u.opts.now()
	var todo []PendingAsset
	held := 0
	u.mu.Lock()
	for _, p := range pending {
		if until, ok := u.held[p.Hash]; ok && now.Before(until) {
			held++
			continue
		}
		delete(u.held, p.Hash)
		todo = append(todo, p)
	}
	u.mu.Unlock()
	u.setStatus(func(s *UploadStatus) { s.Pending, s.Held, s.Waiting = len(pending), held, 0 })

	waiting := 0
	for len(todo) > 0 {
		n := min(len(todo), syncproto.MaxCheckHashes)
		batch := todo[:n]
		todo = todo[n:]
		hashes := make([]string, len(batch))
		for i, p := range batch {
			hashes[i] = p.Hash
		}
		missing, err := u.tr.MissingBlobs(ctx, hashes)
		if err != nil {
			return fmt.Errorf("ask the sync server which assets it lacks: %w", err)
		}
		lacks := make(map[string]bool, len(missing))
		for _, h := range missing {
			lacks[h] = true
		}
		var present []string
		for _, h := range hashes {
			if !lacks[h] {
				present = append(present, h)
			}
		}
		if err := u.src.MarkUploaded(ctx, present); err != nil {
			return fmt.Errorf("record uploaded assets: %w", err)
		}
		u.setStatus(func(s *UploadStatus) { s.Pending -= len(present) })
		for _, p := range batch {
			if !lacks[p.Hash] {
				continue
			}
			switch err := u.upload(ctx, p); {
			case err == nil:
			case errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrPermission):
				// The bytes are elsewhere (another device made the node)
				// or unreadable now: nothing to do until they are here.
				waiting++
			case permanent(err) || errors.Is(err, errs.ErrInvalidRef) || errors.Is(err, errs.ErrUnsupported):
				held++
				e := &UploadError{Hash: p.Hash, Err: err}
				u.mu.Lock()
				u.held[p.Hash] = u.opts.now().Add(u.opts.Hold)
				u.mu.Unlock()
				u.setStatus(func(s *UploadStatus) { s.Held, s.LastError = held, e.Error() })
			default:
				return err
			}
		}
	}
	u.setStatus(func(s *UploadStatus) { s.Waiting = waiting })
	return nil
}

// upload uploads one asset and marks it uploaded.
func (u *Uploader) upload(ctx context.Context, p PendingAsset) error {
	c, err := u.src.UploadContent(ctx, p.Hash)
	if err != nil {
		return fmt.Errorf("read asset %s: %w", p.Hash, err)
	}
	defer c.Close()
	total := c.Size()
	u.setStatus(func(s *UploadStatus) { s.Current, s.Sent, s.Total = p.Hash, 0, total })
	err = u.tr.UploadBlob(ctx, p.Hash, c, func(sent, total int64) {
		u.setStatus(func(s *UploadStatus) { s.Sent, s.Total = sent, total })
	})
	var h *HTTPError
	if errors.As(err, &h) && h.Code == "Exists" {
		err = nil // uploaded meanwhile, by another device
	}
	u.setStatus(func(s *UploadStatus) { s.Current, s.Sent, s.Total = "", 0, 0 })
	if err != nil {
		return fmt.Errorf("upload asset %s: %w", p.Hash, err)
	}
	if err := u.src.MarkUploaded(ctx, []string{p.Hash}); err != nil {
		return fmt.Errorf("record uploaded asset: %w", err)
	}
	u.setStatus(func(s *UploadStatus) { s.Uploaded++; s.Pending-- })
	return nil
}
