package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/atelierstore/atelier/syncproto"
)

// Store is the database of a sync server: per workspace, the latest state
// of every entity, the acks of every op seen, the workspace's last
// sequence number, and which blobs it has. Implementations live in the
// sqlite and postgres packages and pass storetest.Run.
//
// Every method is safe for concurrent use, also by several processes
// sharing one database.
type Store interface {
	// Update runs fn in one write transaction on workspace ws and commits
	// it when fn returns nil; an error or a panic rolls it back. Updates of
	// one workspace are serialized, across processes too, so Tx.Seq and
	// what fn reads stay current until the commit. An implementation may
	// run fn again after a transient failure, so fn must not have effects
	// outside tx. The error is fn's, or the database's.
	Update(ctx context.Context, ws string, fn func(Tx) error) error

	// View runs fn in a read-only transaction on workspace ws: what fn
	// reads is one consistent state, and it does not wait for, or hold up,
	// writers. The error is fn's, or the database's.
	View(ctx context.Context, ws string, fn func(View) error) error

	// Changes returns the entities of ws whose last change has a sequence
	// number above q.After, in sequence order: at most q.Limit of them,
	// and no more once their Data add up to q.MaxBytes (but at least one).
	// more reports whether further changes follow.
	Changes(ctx context.Context, ws string, q ChangesQuery) (changes []syncproto.Change, more bool, err error)

	// MissingBlobs returns those of hashes that ws has no blob for, in
	// their order.
	MissingBlobs(ctx context.Context, ws string, hashes []string) ([]string, error)

	// Blob returns what ws has under hash; it fails with an error matching
	// errs.ErrNotFound when ws has no such blob.
	Blob(ctx context.Context, ws, hash string) (BlobInfo, error)

	// PutBlob records that ws has the blob b. Recording a blob ws already
	// has keeps the first record and succeeds.
	PutBlob(ctx context.Context, ws string, b BlobInfo) error

	// Workspaces returns every workspace the database knows (one that has
	// entities, acks or blobs), in no particular order: what GC goes
	// through.
	Workspaces(ctx context.Context) ([]string, error)

	// HoldBlob records that the bytes of hash may be stored, and must not
	// be deleted, until until (ms since the Unix epoch): an upload URL was
	// handed out, or server code is storing content. A hold already
	// lasting longer is kept. See GC.
	HoldBlob(ctx context.Context, hash string, until int64) error

	// Holds returns the holds that end before before, in no particular
	// order: the bytes GC must look at (an upload that never finished, or
	// a blob whose records it deleted, see Tx.DeleteBlobs).
	Holds(ctx context.Context, before int64) ([]BlobHold, error)

	// DropBytes deletes the bytes of hash when nothing keeps them: in one
	// transaction that holds off HoldBlob of hash, it calls drop unless
	// the hold of hash is gone or lasts until before or later, or some
	// workspace has a record of hash; then it removes the hold (unless
	// drop failed: its error is returned and the hold stays). dropped
	// reports whether drop was called and succeeded.
	DropBytes(ctx context.Context, hash string, before int64, drop func(ctx context.Context) error) (dropped bool, err error)

	// Close releases the database. Calls after Close fail with an error
	// matching errs.ErrClosed.
	io.Closer
}

// Announcer is implemented by a Store whose database is shared by several
// server processes and which can tell each of them, as they commit, of
// the changes the others write: PostgreSQL's LISTEN/NOTIFY in the postgres
// package. A Server whose store is an Announcer wakes its watch requests
// (syncproto.RouteWatch) when it hears of a change, instead of noticing
// it at its next poll (Options.WatchPoll). A store without it (the sqlite
// one, used by one process) needs nothing: a Server announces the changes
// written through it to its own watchers.
type Announcer interface {
	// Listen tells h of the changes of every workspace committed through
	// other Store values on the same database (other processes), until
	// ctx is done or the store is closed, and then returns ctx's error or
	// one matching errs.ErrClosed. Changes written through this Store
	// value are not announced to it: the Server that wrote them knows.
	//
	// Listen holds a connection of its own. When it loses it, it tells h
	// (Lost) and connects again after a backoff, for as long as it runs;
	// each time it is connected it tells h (Connected), as changes may
	// have gone unannounced meanwhile. h's methods are called from one
	// goroutine and must return quickly.
	Listen(ctx context.Context, h AnnounceHandler) error
}

// AnnounceHandler receives what Announcer.Listen hears.
type AnnounceHandler interface {
	// Changed tells that a change of workspace ws was committed.
	Changed(ws string)

	// Connected tells that Listen is connected and hears what is
	// committed from now on. Changes committed before, since Listen was
	// called or since its connection was lost, may have gone unannounced:
	// any workspace may have changed.
	Connected()

	// Lost tells that Listen lost its connection, or could not connect,
	// with err, and tries again after retry. Changes committed until it is
	// Connected again go unannounced.
	Lost(err error, retry time.Duration)
}

// View reads one workspace in a transaction. It uses the context given to
// Store.View or Store.Update and must not be used after fn returns.
type View interface {
	// Seq returns the workspace's last sequence number (0 before its first
	// change) as of this transaction, including changes Put in it.
	Seq() int64

	// Entities returns the stored state of each of entityIDs that the
	// workspace has, keyed by entity id; a deleted entity is a Change with
	// Deleted set and no Data.
	Entities(entityIDs []string) (map[string]*syncproto.Change, error)

	// Contents returns the stored state of every node and edge of
	// workflow workflowID that is not deleted, in no particular order.
	Contents(workflowID string) ([]*syncproto.Change, error)

	// Workflows returns the stored state of every workflow of the
	// workspace that is not deleted, in no particular order.
	Workflows() ([]*syncproto.Change, error)

	// Horizon returns the workspace's ack horizon as of this transaction:
	// the acks of ops stored before it (ms since the Unix epoch) may have
	// been deleted (Tx.CompactAcks); 0 when none has.
	Horizon() int64

	// Live calls fn with every entity of the workspace that is not deleted
	// and whose last change has a sequence number above after, in no
	// particular order; fn must not keep c. GC reads the assets entities
	// refer to with it.
	Live(after int64, fn func(c *syncproto.Change) error) error

	// Blobs returns the workspace's blob records, in no particular order.
	Blobs() ([]BlobInfo, error)

	// OldAcks returns how many of the workspace's acks were stored before
	// before (ms since the Unix epoch), and their size in bytes.
	OldAcks(before int64) (n, size int64, err error)
}

// Tx is a write transaction on one workspace. It uses the context given
// to Store.Update and must not be used after fn returns.
type Tx interface {
	View

	// Acks returns the stored ack of each of opIDs that the workspace has
	// seen, keyed by op id, exactly as it was stored.
	Acks(opIDs []string) (map[string][]byte, error)

	// Put stores changes, each replacing the state of its entity, and
	// acks. Every change carries its Seq, above Seq() and increasing in
	// the order given; afterwards Seq() returns the last one. An ack for
	// an op id already stored is an error, which a store that sends its
	// writes with the next statement (as the postgres one does, to save
	// round trips) returns from that call, or from Update at commit.
	Put(changes []syncproto.Change, acks []StoredAck) error

	// TouchBlobs clears the Unreferenced mark of the workspace's records
	// of hashes that have one: a write refers to them again. Hashes the
	// workspace has no record of are ignored.
	TouchBlobs(hashes []string) error

	// MarkBlobs sets the Unreferenced mark of the workspace's records of
	// hashes to at (ms since the Unix epoch), 0 clearing it.
	MarkBlobs(hashes []string, at int64) error

	// DeleteBlobs removes the workspace's records of hashes, and makes
	// sure each hash has a hold (BlobHold), ended if it had none, so that
	// GC looks at its bytes even if it stops before doing so.
	DeleteBlobs(hashes []string) error

	// CompactAcks deletes the acks stored before before (ms since the
	// Unix epoch) and raises the workspace's Horizon to before (it never
	// lowers it). It returns how many acks it deleted.
	CompactAcks(before int64) (int64, error)
}

// StoredAck is the ack of one op as stored: the JSON answered, byte for
// byte, on every replay of the op, and when it was stored (ms since the
// Unix epoch), which ack compaction goes by.
type StoredAck struct {
	OpID   string
	JSON   []byte
	Stored int64
}

// BlobHold says that the bytes of a blob must be kept until Until (ms
// since the Unix epoch): see Store.HoldBlob.
type BlobHold struct {
	Hash  string
	Until int64
}

// ChangesQuery selects a page of changes for Store.Changes.
type ChangesQuery struct {
	After    int64 // only changes with a greater Seq
	Limit    int   // at most this many changes (at least 1)
	MaxBytes int   // stop once the Data returned add up to this; 0 means no bound
}

// BlobInfo is what a workspace knows of one blob.
type BlobInfo struct {
	Hash    string // "sha256-…", as assetref.FormatHash writes it
	Size    int64  // in bytes
	MIME    string // the media type declared on upload
	Created int64  // when the workspace got it, ms since the Unix epoch
	// Unreferenced is when GC first found no live entity of the workspace
	// referring to the blob (ms since the Unix epoch), 0 when one did the
	// last time it looked, or a write referred to it since (Tx.TouchBlobs).
	Unreferenced int64
}

// EncodeClocks is the text a store keeps for syncproto.Change.Clocks: ""
// for none, else JSON. DecodeClocks reads it back.
func EncodeClocks(c syncproto.Clocks) string {
	if len(c) == 0 {
		return ""
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // a map of strings to plain structs
	}
	return string(b)
}

// DecodeClocks reads what EncodeClocks wrote.
func DecodeClocks(s string) (syncproto.Clocks, error) {
	if s == "" {
		return nil, nil
	}
	var c syncproto.Clocks
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("clocks: %w", err)
	}
	return c, nil
}
