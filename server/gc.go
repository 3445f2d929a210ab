package server

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/uuid7"
	"github.com/atelierstore/atelier/syncproto"
)

// Defaults of GCOptions.
const (
	// DefaultGCGrace is how long a blob stays after GC first finds it
	// unreferenced, and after it was recorded or an upload of it was
	// granted.
	DefaultGCGrace = 24 * time.Hour
	// DefaultAckRetention is how long acks are kept.
	DefaultAckRetention = 30 * 24 * time.Hour
)

// ClockSkew is how far ahead of the server's clock a client's clock may
// run for the server to still tell a replay of an op whose ack was
// compacted from an op it never saw. An op id (a UUIDv7) carries the time
// its device made it; a push of an op the workspace has no ack for, made
// (by that time) before the workspace's ack horizon plus ClockSkew, may
// be one whose ack was deleted, and is answered Resync (see ResyncError).
// A device whose clock runs further ahead than that, and that replays an
// op older than the horizon, has it decided again as a new op, which the
// field merge makes harmless for the workspace's state (see doc.go).
const ClockSkew = 24 * time.Hour

// ResyncError is the answer to a push holding an op whose ack may have
// been compacted: the workspace cannot tell whether, or how, it applied.
// It is answered 409 with code "Resync"; the client pulls the whole
// workspace again (from cursor 0) and keeps such ops parked, reported,
// instead of pushing them again.
type ResyncError struct {
	OpID    string // the first such op of the push
	Horizon int64  // the workspace's ack horizon, ms since the Unix epoch
}

func (e *ResyncError) Error() string {
	return fmt.Sprintf("op %s is older than the workspace's ack horizon (%s) and its ack may have been deleted: resynchronise (pull from cursor 0)",
		e.OpID, time.UnixMilli(e.Horizon).UTC().Format(time.RFC3339))
}

// mayBeCompacted reports whether op id, unknown to the workspace, may be
// one whose ack was deleted before horizon.
func mayBeCompacted(id string, horizon int64) bool {
	if horizon <= 0 {
		return false
	}
	t, ok := uuid7.Time(id)
	// An id that is not a UUIDv7 says nothing of its age (server code
	// may use others): it is decided as new.
	return ok && t.UnixMilli() < horizon+ClockSkew.Milliseconds()
}

// assetHash finds what looks like an asset hash anywhere in an entity's
// JSON: GC keeps every blob a live entity mentions, wherever it does.
var assetHash = regexp.MustCompile(`sha256-[A-Za-z0-9+/]{43}=`)

// assetHashes returns the asset hashes data mentions, each once.
func assetHashes(data []byte, into map[string]bool) {
	if !bytes.Contains(data, []byte("sha256-")) {
		return
	}
	if bytes.Contains(data, []byte(`\/`)) {
		data = bytes.ReplaceAll(data, []byte(`\/`), []byte("/")) // JSON may escape '/'
	}
	for _, m := range assetHash.FindAll(data, -1) {
		into[string(m)] = true
	}
}

// hold records that an upload of g's blob is granted, before its URL is
// handed out: GC keeps those bytes until the URL, and the commit URL
// after it, have expired and the grace has passed. It answers 500 and
// reports false when the store fails.
func (s *Server) hold(w http.ResponseWriter, r *http.Request, g *blobGrant) bool {
	until := s.now().Add(2*s.ttl).UnixMilli() + 2000
	if err := s.store.HoldBlob(r.Context(), assetref.FormatHash(g.sum), until); err != nil {
		s.internal(w, r, fmt.Errorf("blob upload URL in %s: %w", g.ws, err))
		return false
	}
	return true
}

// GCOptions configure GC. The zero value (or nil) applies the defaults
// and deletes.
type GCOptions struct {
	// Grace is how long a blob record stays after GC first found no live
	// entity of its workspace referring to it, and after it was created;
	// and how long after an upload URL expired its bytes are kept. 0
	// means DefaultGCGrace.
	Grace time.Duration

	// AckRetention is how long acks are kept; older ones are deleted and
	// the workspace's ack horizon moves past them. 0 means
	// DefaultAckRetention; negative keeps acks forever.
	AckRetention time.Duration

	// DryRun reports what a collection would delete and changes nothing:
	// no record is marked, no ack or byte deleted. Blobs it finds
	// unreferenced for the first time are counted in Marked; a record is
	// counted in BlobRecords only once an earlier collection marked it
	// and the grace has passed.
	DryRun bool

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// GCReport says what a collection deleted, or with DryRun would delete.
type GCReport struct {
	DryRun     bool
	Workspaces int // workspaces looked at

	Marked      int   // blob records found unreferenced for the first time
	BlobRecords int   // blob records deleted
	RecordBytes int64 // the size of their blobs
	Blobs       int   // blobs whose bytes were deleted from the BlobStore
	BlobBytes   int64 // their size, where a record told it
	Acks        int64 // acks deleted
	AckBytes    int64 // their size, as counted before deleting them

	// Deleted lists the blob records deleted, by workspace.
	Deleted map[string][]string
}

// GC collects the garbage of every workspace of store: blob records that
// no live entity of their workspace has referred to for opts.Grace, the
// bytes of blobs (in blobs) that no workspace has a record of and no
// upload holds, and acks older than opts.AckRetention. It is safe to run
// while servers serve the store, and in several processes at once: see
// doc.go, "Garbage collection". It stops at the first error, having
// deleted what its report says.
func GC(ctx context.Context, store Store, blobs BlobStore, opts *GCOptions) (*GCReport, error) {
	var o GCOptions
	if opts != nil {
		o = *opts
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGCGrace
	}
	if o.AckRetention == 0 {
		o.AckRetention = DefaultAckRetention
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	now := o.Now().UnixMilli()
	cutoff := now - o.Grace.Milliseconds()
	ackBefore := int64(math.MinInt64)
	if o.AckRetention > 0 {
		ackBefore = now - o.AckRetention.Milliseconds()
	}
	rep := &GCReport{DryRun: o.DryRun, Deleted: map[string][]string{}}
	wss, err := store.Workspaces(ctx)
	if err != nil {
		return rep, fmt.Errorf("gc: %w", err)
	}
	sort.Strings(wss)
	// With DryRun: which workspaces keep a record of each hash, and
	// which would delete theirs.
	kept := map[string]bool{}
	var dropping []BlobInfo
	for _, ws := range wss {
		rep.Workspaces++
		plan, err := gcWorkspace(ctx, store, ws, now, cutoff, ackBefore, o.DryRun)
		if err != nil {
			return rep, fmt.Errorf("gc of workspace %s: %w", ws, err)
		}
		rep.Marked += len(plan.mark)
		rep.Acks += plan.acks
		rep.AckBytes += plan.ackBytes
		for _, b := range plan.del {
			rep.BlobRecords++
			rep.RecordBytes += b.Size
			rep.Deleted[ws] = append(rep.Deleted[ws], b.Hash)
		}
		dropping = append(dropping, plan.del...)
		for _, h := range plan.keep {
			kept[h] = true
		}
	}
	sizes := map[string]int64{}
	for _, b := range dropping {
		sizes[b.Hash] = b.Size
	}
	if o.DryRun {
		holds, err := store.Holds(ctx, math.MaxInt64)
		if err != nil {
			return rep, fmt.Errorf("gc: %w", err)
		}
		held := map[string]bool{}
		for _, h := range holds {
			if h.Until >= cutoff {
				held[h.Hash] = true
			} else if !kept[h.Hash] {
				if _, ok := sizes[h.Hash]; !ok {
					sizes[h.Hash] = 0 // an upload that never reached a workspace
				}
			}
		}
		for h, size := range sizes {
			if !kept[h] && !held[h] {
				rep.Blobs++
				rep.BlobBytes += size
			}
		}
		return rep, nil
	}
	holds, err := store.Holds(ctx, cutoff)
	if err != nil {
		return rep, fmt.Errorf("gc: %w", err)
	}
	for _, h := range holds {
		sum, err := assetref.ParseHash(h.Hash)
		if err != nil {
			return rep, fmt.Errorf("gc: hold of %q: %w", h.Hash, err)
		}
		dropped, err := store.DropBytes(ctx, h.Hash, cutoff, func(ctx context.Context) error {
			return blobs.Delete(ctx, sum)
		})
		if err != nil {
			return rep, fmt.Errorf("gc: bytes of %s: %w", h.Hash, err)
		}
		if dropped {
			rep.Blobs++
			rep.BlobBytes += sizes[h.Hash]
		}
	}
	return rep, nil
}

// gcPlan is what a collection does to one workspace.
type gcPlan struct {
	unmark, mark []string   // records referred to again; found unreferenced
	del          []BlobInfo // records to delete
	keep         []string   // the hashes of the records that stay
	acks         int64      // acks deleted (or, with DryRun, to delete)
	ackBytes     int64
}

// plan decides, from the hashes live entities refer to, what happens to
// each record: one referred to loses its mark; one not referred to is
// marked, or deleted when it was marked and created before cutoff.
func plan(records []BlobInfo, refs map[string]bool, cutoff int64) *gcPlan {
	p := &gcPlan{}
	for _, b := range records {
		switch {
		case refs[b.Hash]:
			if b.Unreferenced != 0 {
				p.unmark = append(p.unmark, b.Hash)
			}
			p.keep = append(p.keep, b.Hash)
		case b.Unreferenced == 0:
			p.mark = append(p.mark, b.Hash)
			p.keep = append(p.keep, b.Hash)
		case b.Unreferenced <= cutoff && b.Created <= cutoff:
			p.del = append(p.del, b)
		default:
			p.keep = append(p.keep, b.Hash)
		}
	}
	return p
}

// gcWorkspace collects the garbage of one workspace. The entities are
// read in a snapshot that holds up no push; the decision is made again in
// a write transaction, which pushes wait for, with the entities written
// since the snapshot and the records as they are then: a push that refers
// to a blob, committed before, keeps it (it also clears its mark, see
// applyOps); one committed after finds the record gone and the client
// uploads it again.
func gcWorkspace(ctx context.Context, store Store, ws string, now, cutoff, ackBefore int64, dryRun bool) (*gcPlan, error) {
	refs := map[string]bool{}
	var seq int64
	var p *gcPlan
	err := store.View(ctx, ws, func(v View) error {
		seq = v.Seq()
		if err := v.Live(0, func(c *syncproto.Change) error { assetHashes(c.Data, refs); return nil }); err != nil {
			return err
		}
		records, err := v.Blobs()
		if err != nil {
			return err
		}
		p = plan(records, refs, cutoff)
		p.acks, p.ackBytes, err = v.OldAcks(ackBefore)
		return err
	})
	if err != nil || dryRun || len(p.unmark)+len(p.mark)+len(p.del) == 0 && p.acks == 0 {
		return p, err
	}
	err = store.Update(ctx, ws, func(tx Tx) error {
		since := maps.Clone(refs)
		if err := tx.Live(seq, func(c *syncproto.Change) error { assetHashes(c.Data, since); return nil }); err != nil {
			return err
		}
		records, err := tx.Blobs()
		if err != nil {
			return err
		}
		acks, ackBytes := p.acks, p.ackBytes
		p = plan(records, since, cutoff)
		p.acks, p.ackBytes = acks, ackBytes
		if len(p.unmark) > 0 {
			if err := tx.MarkBlobs(p.unmark, 0); err != nil {
				return err
			}
		}
		if len(p.mark) > 0 {
			if err := tx.MarkBlobs(p.mark, now); err != nil {
				return err
			}
		}
		if len(p.del) > 0 {
			hashes := make([]string, len(p.del))
			for i, b := range p.del {
				hashes[i] = b.Hash
			}
			if err := tx.DeleteBlobs(hashes); err != nil {
				return err
			}
		}
		if acks > 0 {
			p.acks, err = tx.CompactAcks(ackBefore)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
