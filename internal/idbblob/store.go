//go:build js && wasm

package idbblob

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/internal/uuid7"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// The object stores and the index the store keeps assets in. Version 2 of
// the workflow store's schema (package idb, schema.go) creates them: this
// package never creates or upgrades the database, and its tests fail if
// idb's schema stops creating them.
const (
	storeBlobs    = "blobs"    // chunks, under out-of-line keys [dataID, index]
	storeBlobMeta = "blobmeta" // one record per committed asset, key path "key"
	indexHash     = "hash"     // unique index of blobmeta on "hash"
)

// Store keeps asset bytes in IndexedDB: the fallback for browsers
// without OPFS, or when OPFS refuses. It hands out refs of kind idb. Its
// methods are safe for concurrent use.
//
// An asset is stored as chunks of at most the chunk size (single huge
// values hit browser limits), each a Blob under the key [dataID, index],
// written in transactions of their own as the reader yields them. The
// asset becomes visible when its record in blobmeta is added: that record
// maps the blob key (the asset id) to the data id, and its unique index on
// the hash is what makes identical bytes stored once, even when two tabs
// store them at the same moment. A failed or cancelled Put deletes its
// chunks; chunks left by a crash have no record and are removed by Sweep.
type Store struct {
	conn  *idbx.Lazy
	chunk int

	// How chunks are kept (probe.go): Blobs, or ArrayBuffers (bytes)
	// where the browser refuses Blobs.
	probeMu sync.Mutex
	probed  bool
	why     error // why bytes
	bytes   atomic.Bool
}

// DefaultChunkSize is the chunk size of a Store opened with chunkSize <= 0.
const DefaultChunkSize = 4 << 20

// inFlight is how many chunk transactions a Put keeps open at once: enough
// to overlap copying with committing, few enough to bound memory.
const inFlight = 2

var (
	_ assetref.Store  = (*Store)(nil)
	_ assetref.Lister = (*Store)(nil)
	_ io.ReaderAt     = (*blobReader)(nil)
	_ io.Seeker       = (*blobReader)(nil)
)

// Open opens the asset store in the IndexedDB database called name, on a
// connection of its own, at the version the database has. The workflow
// store (idb.Open) creates and upgrades that database; Open fails with an
// error matching errs.ErrNotFound when there is no such database or it
// has not been upgraded to schema version 2 yet, and with ctx.Err() when
// ctx ends first (another tab's upgrade in progress holds it up).
// chunkSize <= 0 means DefaultChunkSize.
//
// When another tab upgrades or deletes the database, the store closes its
// connection (so as not to block that tab) and its methods fail with an
// error matching errs.ErrClosed from then on: reload the page.
func Open(ctx context.Context, name string, chunkSize int) (*Store, error) {
	s := New(name, chunkSize)
	if _, err := s.conn.Get(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// New is Open without the connection, which the store makes at its first
// use (and fails then, as Open would): a page that never needs the
// IndexedDB asset store pays nothing for it when it starts.
func New(name string, chunkSize int) *Store {
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	return &Store{conn: idbx.NewLazy(name, "idbblob", checkIndex, storeBlobs, storeBlobMeta), chunk: chunkSize}
}

// checkIndex fails with an error matching errs.ErrNotFound unless
// blobmeta has the index the store uses.
func checkIndex(conn *idbx.DB) error {
	tx, err := conn.Begin(idbx.ReadOnly, storeBlobMeta)
	if err != nil {
		return err
	}
	has := false
	err = tx.Issue(storeBlobMeta, func(st js.Value) error {
		has = st.Get("indexNames").Call("contains", indexHash).Bool()
		return nil
	})
	tx.Abort()
	if err != nil {
		return err
	}
	if !has {
		return fmt.Errorf("object store %q has no index %q: %w", storeBlobMeta, indexHash, errs.ErrNotFound)
	}
	return nil
}

// Close closes the store's connection once the transactions in flight
// have finished; a Put in progress fails, and so do later calls, with an
// error matching errs.ErrClosed. Close is safe to call more than once and
// always returns nil.
func (s *Store) Close() error {
	s.conn.Close()
	return nil
}

var (
	jsBlob     = js.Global().Get("Blob")
	jsKeyRange = js.Global().Get("IDBKeyRange")
)

// blobMeta is a committed asset: a record of blobmeta.
type blobMeta struct {
	key, data, hash, mime string
	size                  int64
	chunks, chunkSize     int
}

func (m *blobMeta) js() js.Value {
	return js.ValueOf(map[string]any{
		"key": m.key, "data": m.data, "hash": m.hash, "mime": m.mime,
		"size": float64(m.size), "chunks": m.chunks, "chunk": m.chunkSize,
	})
}

func metaFromJS(v js.Value) (m *blobMeta, err error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	err = jsutil.Try(func() {
		m = &blobMeta{
			key: v.Get("key").String(), data: v.Get("data").String(), hash: v.Get("hash").String(),
			mime: v.Get("mime").String(), size: int64(v.Get("size").Float()),
			chunks: v.Get("chunks").Int(), chunkSize: v.Get("chunk").Int(),
		}
	})
	return m, err
}

func (m *blobMeta) ref() assetref.Ref {
	return assetref.Ref{Kind: assetref.KindIDB, BlobKey: m.key, MIME: m.mime, Bytes: m.size, Hash: m.hash}
}

func (m *blobMeta) info() assetref.Info {
	return assetref.Info{Ref: m.ref(), Size: m.size, MIME: m.mime, Hash: m.hash}
}

// newID returns a UUIDv7 string; its timestamp tells Sweep how old an
// upload is.
func newID() (string, error) { return uuid7.New(), nil }

func chunkKey(data string, i int) js.Value { return js.ValueOf([]any{data, i}) }

// chunkRange covers every chunk of one data id.
func chunkRange(data string) (js.Value, error) {
	return idbx.KeyRange(chunkKey(data, 0), js.ValueOf([]any{data, math.Inf(1)}))
}

// begin starts a transaction; once the store is closed it fails with the
// reason.
func (s *Store) begin(mode idbx.Mode, stores ...string) (*idbx.Tx, error) {
	return s.conn.Begin(context.Background(), mode, stores...)
}

// Put implements assetref.Store.
func (s *Store) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
	if err := ctx.Err(); err != nil {
		return assetref.Ref{}, err
	}
	hint, err := hint.Normalize()
	if err != nil {
		return assetref.Ref{}, err
	}
	data, err := newID()
	if err != nil {
		return assetref.Ref{}, err
	}
	_ = s.Probe(ctx) // on failure it decided for bytes, or the write fails too
	m := &blobMeta{key: hint.ID, data: data, mime: hint.MIME, chunkSize: s.chunk}
	if err := s.writeChunks(ctx, r, m); err != nil {
		s.dropChunks(m.data)
		return assetref.Ref{}, err
	}
	ref, err := s.commit(ctx, m)
	if err != nil {
		s.dropChunks(m.data)
		return assetref.Ref{}, err
	}
	if ref.BlobKey != m.key || ref.Hash != m.hash {
		s.dropChunks(m.data) // deduplicated: the bytes were already stored
	}
	return ref, nil
}

// hashAtOnce is the largest asset whose hash Store.Put leaves to
// WebCrypto, over the chunks' Blobs once they are all written: several
// times faster than SHA-256 in Go on wasm, but it needs the content in
// memory at once. A variable for the tests.
var hashAtOnce = fsx.DigestLimit()

// writeChunks streams r into chunks under m.data, filling in size, hash
// and chunk count. It keeps the chunks' Blobs to hash them at the end
// (hashAtOnce); should the asset outgrow that, it hashes what it kept in
// Go, lets them go and hashes the rest in Go as it passes.
func (s *Store) writeChunks(ctx context.Context, r io.Reader, m *blobMeta) error {
	h := sha256.New()
	var kept []js.Value // the chunks' Blobs, until the asset outgrows hashAtOnce
	inGo := false
	buf := make([]byte, s.chunk)
	var pending []*idbx.Tx
	wait := func(tx *idbx.Tx) error {
		if err := tx.Wait(ctx); err != nil {
			return fmt.Errorf("store chunk: %w", err)
		}
		return nil
	}
	defer func() {
		for _, tx := range pending {
			_ = tx.Wait(context.Background())
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if len(pending) == inFlight {
				if err := wait(pending[0]); err != nil {
					return err
				}
				pending = pending[1:]
			}
			tx, blob, err := s.putChunk(m.data, m.chunks, buf[:n])
			if err != nil {
				return err
			}
			pending = append(pending, tx)
			m.chunks++
			m.size += int64(n)
			switch {
			case inGo:
				h.Write(buf[:n])
			case m.size <= hashAtOnce:
				kept = append(kept, blob)
			default:
				// buf holds this chunk: read the kept ones elsewhere.
				tmp := make([]byte, s.chunk)
				for _, b := range kept {
					if err := hashBlobInGo(ctx, h, b, tmp); err != nil {
						return err
					}
				}
				kept, inGo = nil, true
				h.Write(buf[:n])
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read asset: %w", rerr)
		}
	}
	for len(pending) > 0 {
		if err := wait(pending[0]); err != nil {
			return err
		}
		pending = pending[1:]
	}
	if !inGo {
		hash, err := fsx.HashBlob(ctx, fsx.NewBlob(kept, ""))
		if err != nil {
			return fmt.Errorf("hash asset: %w", err)
		}
		m.hash = hash
		return nil
	}
	var sum [sha256.Size]byte
	m.hash = assetref.FormatHash([sha256.Size]byte(h.Sum(sum[:0])))
	return nil
}

// hashBlobInGo adds the content of b, a chunk's Blob of at most len(buf)
// bytes, to h.
func hashBlobInGo(ctx context.Context, h hash.Hash, b js.Value, buf []byte) error {
	blob, err := fsx.WrapBlob(b)
	if err != nil {
		return err
	}
	n, err := blob.ReadAt(ctx, buf[:blob.Size()], 0)
	if err != nil && int64(n) < blob.Size() {
		return fmt.Errorf("hash asset: %w", err)
	}
	h.Write(buf[:n])
	return nil
}

// putChunk starts a transaction storing one chunk, and returns it with
// the chunk's Blob. The bytes are copied into JavaScript at once, so buf
// can be reused.
func (s *Store) putChunk(data string, i int, buf []byte) (*idbx.Tx, js.Value, error) {
	tx, err := s.begin(idbx.ReadWrite, storeBlobs)
	if err != nil {
		return nil, js.Value{}, err
	}
	var blob, u8 js.Value
	if err := jsutil.Try(func() { u8 = jsutil.Uint8Array(buf); blob = jsBlob.New([]any{u8}) }); err != nil {
		tx.Abort()
		return nil, js.Value{}, err
	}
	if err := tx.PutKey(storeBlobs, chunkKey(data, i), s.chunkValue(u8, blob)); err != nil {
		tx.Abort()
		return nil, js.Value{}, err
	}
	tx.Commit()
	return tx, blob, nil
}

// commit makes the asset visible by adding its record, unless the same
// bytes are already stored (then their ref is returned) or the id holds
// other content (ErrInvalid). A ConstraintError means another tab
// committed the same hash or id in between: look again.
func (s *Store) commit(ctx context.Context, m *blobMeta) (assetref.Ref, error) {
	for attempt := 0; attempt < 3; attempt++ {
		ref, done, err := s.tryCommit(ctx, m)
		if done || err != nil {
			return ref, err
		}
	}
	return assetref.Ref{}, errors.New("commit asset: lost three races for the same content")
}

func (s *Store) tryCommit(ctx context.Context, m *blobMeta) (ref assetref.Ref, done bool, err error) {
	tx, err := s.begin(idbx.ReadWrite, storeBlobMeta)
	if err != nil {
		return ref, true, err
	}
	byKey, err := tx.Get(storeBlobMeta, m.key)
	if err != nil {
		tx.Abort()
		return ref, true, err
	}
	byHash, err := tx.GetAll(storeBlobMeta, indexHash, m.hash)
	if err != nil {
		tx.Abort()
		return ref, true, err
	}
	arr, err := byHash.Await(ctx)
	if err != nil {
		tx.Abort()
		return ref, true, err
	}
	if arr.Length() > 0 {
		existing, err := metaFromJS(arr.Index(0))
		tx.Abort()
		if err != nil {
			return ref, true, err
		}
		return existing.ref(), true, nil
	}
	kv, err := byKey.Result()
	if err != nil {
		tx.Abort()
		return ref, true, err
	}
	if !kv.IsUndefined() {
		tx.Abort()
		return ref, true, &errs.ValidationError{Entity: "asset hint", ID: m.key, Field: "id", Reason: "already holds other content"}
	}
	v := m.js()
	if err := tx.Add(storeBlobMeta, v); err != nil {
		tx.Abort()
		return ref, true, err
	}
	tx.Commit()
	if err := tx.Wait(ctx); err != nil {
		if errors.Is(err, jsutil.Named("ConstraintError")) {
			return ref, false, nil // raced: look again
		}
		return ref, true, fmt.Errorf("commit asset: %w", err)
	}
	return m.ref(), true, nil
}

// dropChunks deletes the chunks of an uncommitted or replaced data id, as
// best it can: what it cannot delete, Sweep does later.
func (s *Store) dropChunks(data string) {
	tx, err := s.begin(idbx.ReadWrite, storeBlobs)
	if err != nil {
		return
	}
	rng, err := chunkRange(data)
	if err == nil {
		err = tx.Delete(storeBlobs, rng)
	}
	if err != nil {
		tx.Abort()
		return
	}
	tx.Commit()
	_ = tx.Wait(context.Background())
}

// lookup returns the record a ref names, or an error matching
// errs.ErrNotFound or errs.ErrInvalidRef.
func (s *Store) lookup(ctx context.Context, ref assetref.Ref) (*blobMeta, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	if ref.Kind != assetref.KindIDB {
		return nil, fmt.Errorf("%w: the IndexedDB store holds refs of kind idb, not %s", errs.ErrInvalidRef, ref.Kind)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tx, err := s.begin(idbx.ReadOnly, storeBlobMeta)
	if err != nil {
		return nil, err
	}
	r, err := tx.Get(storeBlobMeta, ref.BlobKey)
	if err != nil {
		return nil, err
	}
	v, err := r.Await(ctx)
	if err != nil {
		return nil, err
	}
	m, err := metaFromJS(v)
	if err != nil {
		return nil, err
	}
	if m == nil || (ref.Hash != "" && ref.Hash != m.hash) {
		return nil, fmt.Errorf("asset %s: %w", ref.BlobKey, errs.ErrNotFound)
	}
	return m, nil
}

// Stat implements assetref.Store.
func (s *Store) Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return assetref.Info{}, err
	}
	return m.info(), nil
}

// Delete implements assetref.Store: the record and the chunks go in one
// transaction.
func (s *Store) Delete(ctx context.Context, ref assetref.Ref) error {
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return err
	}
	tx, err := s.begin(idbx.ReadWrite, storeBlobMeta, storeBlobs)
	if err != nil {
		return err
	}
	rng, err := chunkRange(m.data)
	if err == nil {
		err = tx.Delete(storeBlobMeta, m.key)
	}
	if err == nil {
		err = tx.Delete(storeBlobs, rng)
	}
	if err != nil {
		tx.Abort()
		return err
	}
	tx.Commit()
	if err := tx.Wait(ctx); err != nil {
		return fmt.Errorf("delete asset %s: %w", m.key, err)
	}
	return nil
}

// List implements assetref.Lister.
func (s *Store) List(ctx context.Context) ([]assetref.Info, error) {
	tx, err := s.begin(idbx.ReadOnly, storeBlobMeta)
	if err != nil {
		return nil, err
	}
	r, err := tx.GetAll(storeBlobMeta, "", nil)
	if err != nil {
		return nil, err
	}
	arr, err := r.Await(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]assetref.Info, 0, arr.Length())
	for i := 0; i < arr.Length(); i++ {
		m, err := metaFromJS(arr.Index(i))
		if err != nil {
			return nil, err
		}
		out = append(out, m.info())
	}
	return out, nil
}

// Sweep deletes chunks that no committed asset owns (left by a crash in
// the middle of a Put) and that are older than grace, so that Puts in
// progress in other tabs are left alone. It returns how many uncommitted
// uploads it removed.
func (s *Store) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	tx, err := s.begin(idbx.ReadOnly, storeBlobMeta, storeBlobs)
	if err != nil {
		return 0, err
	}
	metas, err := tx.GetAll(storeBlobMeta, "", nil)
	if err != nil {
		return 0, err
	}
	keys, err := tx.GetAllKeys(storeBlobs, "", nil)
	if err != nil {
		return 0, err
	}
	karr, err := keys.Await(ctx)
	if err != nil {
		return 0, err
	}
	marr, err := metas.Result()
	if err != nil {
		return 0, err
	}
	owned := map[string]bool{}
	for i := 0; i < marr.Length(); i++ {
		owned[marr.Index(i).Get("data").String()] = true
	}
	cutoff := time.Now().Add(-grace)
	seen := map[string]bool{}
	var orphans []string
	for i := 0; i < karr.Length(); i++ {
		data := karr.Index(i).Index(0).String()
		if seen[data] || owned[data] {
			continue
		}
		seen[data] = true
		if made, ok := uuid7.Time(data); ok && made.Before(cutoff) {
			orphans = append(orphans, data)
		}
	}
	for _, data := range orphans {
		s.dropChunks(data)
	}
	return len(orphans), nil
}

// Open implements assetref.Store. The reader fetches one chunk at a time;
// it also implements io.Seeker and io.ReaderAt.
func (s *Store) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &blobReader{ctx: ctx, s: s, m: m, bufIndex: -1, nextIndex: -1,
		blobs: js.Undefined(), next: js.Undefined()}, nil
}

type blobReader struct {
	ctx    context.Context
	s      *Store
	m      *blobMeta
	off    int64
	closed bool

	// The chunk last fetched: as a JavaScript Blob (for ReadAt slices) and,
	// once a sequential Read needed it, copied whole into buf.
	cur      js.Value
	curIndex int
	hasCur   bool
	buf      []byte
	bufIndex int // chunk held in buf, -1 for none

	// For sequential reads: every chunk's Blob, and the chunk being loaded
	// ahead (a promise of its ArrayBuffer).
	blobs     js.Value
	next      js.Value
	nextIndex int
}

// Read serves sequential reads from a whole chunk copied into Go at once:
// one browser round trip per chunk instead of one per caller buffer. The
// chunk after it is already loading while the caller consumes this one.
func (r *blobReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("read of a closed asset reader")
	}
	if r.off >= r.m.size {
		return 0, io.EOF
	}
	i := int(r.off / int64(r.m.chunkSize))
	if r.bufIndex != i || r.buf == nil {
		if err := r.load(i); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off-int64(i)*int64(r.m.chunkSize):])
	r.off += int64(n)
	return n, nil
}

// load copies chunk i into buf and starts loading chunk i+1.
func (r *blobReader) load(i int) error {
	if r.blobs.IsUndefined() {
		if err := r.fetchAll(); err != nil {
			return err
		}
	}
	p := r.next
	if r.nextIndex != i || p.IsUndefined() {
		p = r.blobs.Index(i).Call("arrayBuffer")
	}
	r.next, r.nextIndex = js.Undefined(), -1
	if i+1 < r.blobs.Length() {
		r.next, r.nextIndex = r.blobs.Index(i+1).Call("arrayBuffer"), i+1
	}
	ab, err := jsutil.Await(r.ctx, p)
	if err != nil {
		return fmt.Errorf("read asset %s: %w", r.m.key, err)
	}
	arr := jsUint8Array.New(ab)
	if cap(r.buf) < arr.Length() {
		r.buf = make([]byte, arr.Length())
	}
	r.buf = r.buf[:arr.Length()]
	js.CopyBytesToGo(r.buf, arr)
	r.bufIndex = i
	return nil
}

// fetchAll gets the Blob handles of every chunk in one request; their bytes
// are read only when asked for.
func (r *blobReader) fetchAll() error {
	tx, err := r.s.begin(idbx.ReadOnly, storeBlobs)
	if err != nil {
		return err
	}
	rng, err := chunkRange(r.m.data)
	if err != nil {
		return err
	}
	req, err := tx.GetAll(storeBlobs, "", rng)
	if err != nil {
		return err
	}
	v, err := req.Await(r.ctx)
	if err != nil {
		return err
	}
	if v.Length() != r.m.chunks {
		return fmt.Errorf("asset %s: %d of %d chunks: %w (deleted while being read?)", r.m.key, v.Length(), r.m.chunks, errs.ErrNotFound)
	}
	if err := asBlobs(v); err != nil {
		return err
	}
	r.blobs = v
	return nil
}

// ReadAt reads from the chunks covering [off, off+len(p)), slicing their
// Blobs so that only the bytes asked for are copied.
func (r *blobReader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed {
		return 0, errors.New("read of a closed asset reader")
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= r.m.size {
			return n, io.EOF
		}
		i := int(at / int64(r.m.chunkSize))
		start := at - int64(i)*int64(r.m.chunkSize)
		if r.bufIndex == i && r.buf != nil {
			n += copy(p[n:], r.buf[start:])
			continue
		}
		blob, err := r.chunk(i)
		if err != nil {
			return n, err
		}
		end := min(start+int64(len(p)-n), int64(blob.Get("size").Float()))
		ab, err := jsutil.Await(r.ctx, blob.Call("slice", start, end).Call("arrayBuffer"))
		if err != nil {
			return n, fmt.Errorf("read asset %s: %w", r.m.key, err)
		}
		n += js.CopyBytesToGo(p[n:n+int(end-start)], jsUint8Array.New(ab))
	}
	return n, nil
}

var jsUint8Array = js.Global().Get("Uint8Array")

func (r *blobReader) chunk(i int) (js.Value, error) {
	if r.hasCur && r.curIndex == i {
		return r.cur, nil
	}
	tx, err := r.s.begin(idbx.ReadOnly, storeBlobs)
	if err != nil {
		return js.Value{}, err
	}
	req, err := tx.Get(storeBlobs, chunkKey(r.m.data, i))
	if err != nil {
		return js.Value{}, err
	}
	v, err := req.Await(r.ctx)
	if err != nil {
		return js.Value{}, err
	}
	if v.IsUndefined() {
		return js.Value{}, fmt.Errorf("asset %s, chunk %d: %w (deleted while being read?)", r.m.key, i, errs.ErrNotFound)
	}
	if v, err = asBlob(v); err != nil {
		return js.Value{}, err
	}
	r.cur, r.curIndex, r.hasCur = v, i, true
	return v, nil
}

func (r *blobReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.m.size
	default:
		return r.off, errors.New("seek: bad whence")
	}
	if offset < 0 {
		return r.off, errors.New("seek before the start")
	}
	r.off = offset
	return offset, nil
}

func (r *blobReader) Close() error {
	r.closed = true
	r.hasCur = false
	r.cur, r.blobs, r.next = js.Undefined(), js.Undefined(), js.Undefined()
	r.buf = nil
	return nil
}
