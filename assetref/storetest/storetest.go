package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

// LargeSize is the size of the asset the Large subtest streams.
const LargeSize = 8 << 20

// concurrency is the number of simultaneous Puts in the Concurrent subtests.
const concurrency = 8

// Run runs the conformance suite against the Store that newStore returns.
// Each subtest calls newStore once and gets an empty store of its own;
// newStore should register the store's removal with t.Cleanup.
//
// If the store implements assetref.Lister, the suite also checks that failed
// and duplicate Puts leave nothing behind, and after every subtest that
// each listed asset opens, hashes to its recorded hash and Stats to its
// listed Info.
//
// The subtests do not call t.Parallel: whether two stores from newStore can
// be used at once is the caller's to know. Run works on the host and under
// GOOS=js GOARCH=wasm.
func Run(t *testing.T, newStore func(t *testing.T) assetref.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s assetref.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"RandomAccess", testRandomAccess},
		{"DefaultMIME", testDefaultMIME},
		{"InvalidHint", testInvalidHint},
		{"HintID", testHintID},
		{"Empty", testEmpty},
		{"Large", testLarge},
		{"Dedup", testDedup},
		{"FailingReader", testFailingReader},
		{"CancelBeforePut", testCancelBeforePut},
		{"CancelDuringPut", testCancelDuringPut},
		{"CancelOtherMethods", testCancelOtherMethods},
		{"NotFound", testNotFound},
		{"StaleHash", testStaleHash},
		{"WrongKind", testWrongKind},
		{"InvalidRef", testInvalidRef},
		{"ConcurrentSameContent", testConcurrentSame},
		{"ConcurrentDistinctContent", testConcurrentDistinct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if l, ok := s.(assetref.Lister); ok {
				t.Cleanup(func() { checkConsistent(t, s, l) })
			}
			tt.fn(t, s)
		})
	}
}

// content returns n bytes of deterministic noise; different seeds give
// different content.
func content(n int, seed uint64) []byte {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// chunkReader yields its data in chunks of the sizes given, in turn. It
// implements only Read, so a store cannot take a shortcut around it.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
	err   error // returned with the last chunk instead of io.EOF, if set
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := min(r.sizes[r.i%len(r.sizes)], len(p), len(r.data))
	r.i++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	if len(r.data) == 0 && r.err != nil {
		return n, r.err // data and error in one call, as io.Reader allows
	}
	return n, nil
}

var oddSizes = []int{1, 7, 4093, 65537, 333331}

func put(t *testing.T, s assetref.Store, data []byte, hint assetref.Hint) assetref.Ref {
	t.Helper()
	ref, err := s.Put(t.Context(), &chunkReader{data: data, sizes: oddSizes}, hint)
	if err != nil {
		t.Fatalf("Put(%d bytes, %+v): %v", len(data), hint, err)
	}
	checkRef(t, ref, data, hint.MIME)
	return ref
}

// checkRef checks what Put must return for data stored with mime.
func checkRef(t *testing.T, ref assetref.Ref, data []byte, mime string) {
	t.Helper()
	if err := ref.Validate(); err != nil {
		t.Fatalf("Put returned an invalid ref %+v: %v", ref, err)
	}
	if ref.Kind == assetref.KindURL {
		t.Fatalf("Put returned a url ref %+v", ref)
	}
	if mime == "" {
		mime = assetref.DefaultMIME
	}
	if ref.MIME != mime || ref.Bytes != int64(len(data)) || ref.Hash != assetref.HashBytes(data) {
		t.Fatalf("Put returned %+v, want MIME %q, Bytes %d, Hash %s", ref, mime, len(data), assetref.HashBytes(data))
	}
}

func readAll(t *testing.T, s assetref.Store, ref assetref.Ref) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), ref)
	if err != nil {
		t.Fatalf("Open(%+v): %v", ref, err)
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %+v: %v", ref, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("closing %+v: %v", ref, err)
	}
	return got
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want one matching %v", what, err, target)
	}
}

// wantGone checks that Open, Stat and Delete all report ref not found.
func wantGone(t *testing.T, s assetref.Store, ref assetref.Ref) {
	t.Helper()
	ctx := t.Context()
	rc, err := s.Open(ctx, ref)
	if err == nil {
		rc.Close()
	}
	wantErr(t, err, errs.ErrNotFound, "Open of a missing asset")
	_, err = s.Stat(ctx, ref)
	wantErr(t, err, errs.ErrNotFound, "Stat of a missing asset")
	wantErr(t, s.Delete(ctx, ref), errs.ErrNotFound, "Delete of a missing asset")
}

// wantCount checks the number of stored assets, if the store can list them.
func wantCount(t *testing.T, s assetref.Store, n int) {
	t.Helper()
	l, ok := s.(assetref.Lister)
	if !ok {
		return
	}
	infos, err := l.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(infos) != n {
		t.Fatalf("List returned %d assets, want %d: %+v", len(infos), n, infos)
	}
}

// checkConsistent runs after each subtest: every listed asset must Stat to
// its Info and its content must match its size and hash.
func checkConsistent(t *testing.T, s assetref.Store, l assetref.Lister) {
	// t.Context is already cancelled when cleanups run.
	ctx := context.Background()
	infos, err := l.List(ctx)
	if err != nil {
		t.Errorf("consistency check: List: %v", err)
		return
	}
	for _, info := range infos {
		if err := info.Ref.Validate(); err != nil {
			t.Errorf("consistency check: listed ref %+v: %v", info.Ref, err)
			continue
		}
		if info.Size != info.Ref.Bytes || info.MIME != info.Ref.MIME || info.Hash != info.Ref.Hash {
			t.Errorf("consistency check: Info %+v disagrees with its Ref", info)
		}
		got, err := s.Stat(ctx, info.Ref)
		if err != nil || got != info {
			t.Errorf("consistency check: Stat(%+v) = %+v, %v; List said %+v", info.Ref, got, err, info)
			continue
		}
		rc, err := s.Open(ctx, info.Ref)
		if err != nil {
			t.Errorf("consistency check: Open(%+v): %v", info.Ref, err)
			continue
		}
		var h assetref.Hasher
		_, err = io.Copy(&h, rc)
		rc.Close()
		if err != nil || h.Size() != info.Size || h.Sum() != info.Hash {
			t.Errorf("consistency check: %+v holds %d bytes hashing to %s (err %v)", info.Ref, h.Size(), h.Sum(), err)
		}
	}
}

func testRoundTrip(t *testing.T, s assetref.Store) {
	ctx := t.Context()
	data := content(100_003, 1)
	ref := put(t, s, data, assetref.Hint{MIME: "image/png"})
	if got := readAll(t, s, ref); !bytes.Equal(got, data) {
		t.Fatalf("Open returned %d bytes that differ from the %d put", len(got), len(data))
	}
	want := assetref.Info{Ref: ref, Size: int64(len(data)), MIME: "image/png", Hash: ref.Hash}
	info, err := s.Stat(ctx, ref)
	if err != nil || info != want {
		t.Fatalf("Stat = %+v, %v; want %+v", info, err, want)
	}
	// The locator alone names the asset.
	bare := ref
	bare.MIME, bare.Bytes, bare.Hash = "", 0, ""
	if info, err := s.Stat(ctx, bare); err != nil || info != want {
		t.Fatalf("Stat of the ref without MIME, Bytes, Hash = %+v, %v; want %+v", info, err, want)
	}
	wantCount(t, s, 1)
	if err := s.Delete(ctx, ref); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantGone(t, s, ref)
	wantCount(t, s, 0)
}

func testRandomAccess(t *testing.T, s assetref.Store) {
	data := content(70_001, 2)
	ref := put(t, s, data, assetref.Hint{})
	rc, err := s.Open(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ra, isReaderAt := rc.(io.ReaderAt)
	sk, isSeeker := rc.(io.Seeker)
	if !isReaderAt && !isSeeker {
		t.Skip("the reader Open returns implements neither io.ReaderAt nor io.Seeker")
	}
	if isReaderAt {
		p := make([]byte, 1000)
		if n, err := ra.ReadAt(p, 12_345); n != len(p) || err != nil || !bytes.Equal(p, data[12_345:13_345]) {
			t.Fatalf("ReadAt(1000 bytes at 12345) = %d, %v, or wrong bytes", n, err)
		}
		n, err := ra.ReadAt(p, int64(len(data)-10))
		if n != 10 || err != io.EOF || !bytes.Equal(p[:10], data[len(data)-10:]) {
			t.Fatalf("ReadAt across the end = %d, %v, want 10, io.EOF and the last 10 bytes", n, err)
		}
	}
	if isSeeker {
		end, err := sk.Seek(0, io.SeekEnd)
		if err != nil || end != int64(len(data)) {
			t.Fatalf("Seek(0, SeekEnd) = %d, %v, want %d", end, err, len(data))
		}
		if _, err := sk.Seek(-100, io.SeekEnd); err != nil {
			t.Fatal(err)
		}
		tail, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(tail, data[len(data)-100:]) {
			t.Fatalf("reading after Seek(-100, SeekEnd): %d bytes, %v", len(tail), err)
		}
		if _, err := sk.Seek(5, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 10)
		if _, err := io.ReadFull(rc, p); err != nil || !bytes.Equal(p, data[5:15]) {
			t.Fatalf("reading after Seek(5, SeekStart): %v", err)
		}
	}
}

func testDefaultMIME(t *testing.T, s assetref.Store) {
	put(t, s, content(10, 3), assetref.Hint{}) // checkRef wants DefaultMIME
	const withParams = `video/mp4; codecs="avc1.42E01E, mp4a.40.2"`
	put(t, s, content(10, 4), assetref.Hint{MIME: withParams})
}

func testInvalidHint(t *testing.T, s assetref.Store) {
	for _, hint := range []assetref.Hint{
		{MIME: "image"},
		{MIME: "image/*"},
		{ID: "a/b"},
		{ID: ".."},
		{ID: "a\x00"},
	} {
		_, err := s.Put(t.Context(), bytes.NewReader(content(10, 5)), hint)
		wantErr(t, err, errs.ErrInvalid, fmt.Sprintf("Put with hint %#v", hint))
	}
	wantCount(t, s, 0)
}

func testHintID(t *testing.T, s assetref.Store) {
	a, b := content(1000, 6), content(1000, 7)
	refA := put(t, s, a, assetref.Hint{ID: "asset-a"})
	_, err := s.Put(t.Context(), bytes.NewReader(b), assetref.Hint{ID: "asset-a"})
	wantErr(t, err, errs.ErrInvalid, "Put of other content under a used id")
	if again := put(t, s, a, assetref.Hint{ID: "asset-a"}); again != refA {
		t.Fatalf("Put of the same content under the same id = %+v, want %+v", again, refA)
	}
	// Deduplication wins over the hint.
	if other := put(t, s, a, assetref.Hint{ID: "asset-other"}); other != refA {
		t.Fatalf("Put of the same content under another id = %+v, want %+v", other, refA)
	}
	if got := readAll(t, s, refA); !bytes.Equal(got, a) {
		t.Fatal("the asset changed after a refused Put under its id")
	}
	wantCount(t, s, 1)
}

func testEmpty(t *testing.T, s assetref.Store) {
	ref := put(t, s, nil, assetref.Hint{MIME: "text/plain"})
	if got := readAll(t, s, ref); len(got) != 0 {
		t.Fatalf("Open of an empty asset returned %d bytes", len(got))
	}
	info, err := s.Stat(t.Context(), ref)
	if err != nil || info.Size != 0 || info.Hash != assetref.HashBytes(nil) {
		t.Fatalf("Stat of an empty asset = %+v, %v", info, err)
	}
	if err := s.Delete(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, ref)
}

func testLarge(t *testing.T, s assetref.Store) {
	data := content(LargeSize, 8)
	ref := put(t, s, data, assetref.Hint{MIME: "video/mp4"})
	rc, err := s.Open(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	// Read back in odd-sized pieces, comparing as we go.
	buf := make([]byte, 65_521)
	off := 0
	for {
		n, err := rc.Read(buf)
		if !bytes.Equal(buf[:n], data[off:min(off+n, len(data))]) {
			t.Fatalf("content differs within bytes %d..%d", off, off+n)
		}
		off += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading at %d: %v", off, err)
		}
	}
	if off != len(data) {
		t.Fatalf("read %d bytes, want %d", off, len(data))
	}
}

func testDedup(t *testing.T, s assetref.Store) {
	ctx := t.Context()
	data := content(5000, 9)
	first := put(t, s, data, assetref.Hint{MIME: "image/png", ID: "first"})
	ref, err := s.Put(ctx, bytes.NewReader(data), assetref.Hint{MIME: "image/webp", ID: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if ref != first {
		t.Fatalf("second Put of the same bytes = %+v, want the first ref %+v", ref, first)
	}
	wantCount(t, s, 1)
	// One copy: deleting through one ref removes it for the other.
	if err := s.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, ref)
	wantCount(t, s, 0)
	// And the content can be stored again.
	put(t, s, data, assetref.Hint{MIME: "image/png"})
	wantCount(t, s, 1)
}

var errBoom = errors.New("storetest: reader failed")

func testFailingReader(t *testing.T, s assetref.Store) {
	data := content(50_000, 10)
	for _, r := range []io.Reader{
		// Data, then an error on its own.
		io.MultiReader(&chunkReader{data: data[:30_000], sizes: oddSizes}, &chunkReader{err: errBoom}),
		// Data and the error from the same Read.
		&chunkReader{data: data[:30_000], sizes: oddSizes, err: errBoom},
		// An error before any data.
		&chunkReader{err: errBoom},
	} {
		_, err := s.Put(t.Context(), r, assetref.Hint{ID: "failing"})
		wantErr(t, err, errBoom, "Put from a failing reader")
		wantCount(t, s, 0)
	}
	// Nothing was left under the id or the hash of the prefix.
	put(t, s, data, assetref.Hint{ID: "failing"})
	put(t, s, data[:30_000], assetref.Hint{})
	wantCount(t, s, 2)
}

func testCancelBeforePut(t *testing.T, s assetref.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Put(ctx, bytes.NewReader(content(100, 11)), assetref.Hint{ID: "cancelled"})
	wantErr(t, err, context.Canceled, "Put with a cancelled context")
	wantCount(t, s, 0)
	put(t, s, content(100, 11), assetref.Hint{ID: "cancelled"})
}

// cancellingReader cancels a context once it has yielded half its data, and
// keeps yielding data after that.
type cancellingReader struct {
	chunkReader
	cancel func()
	at     int
	n      int
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	n, err := r.chunkReader.Read(p)
	r.n += n
	if r.n >= r.at {
		r.cancel()
	}
	return n, err
}

func testCancelDuringPut(t *testing.T, s assetref.Store) {
	data := content(200_000, 12)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &cancellingReader{chunkReader: chunkReader{data: data, sizes: []int{4096}}, cancel: cancel, at: len(data) / 2}
	_, err := s.Put(ctx, r, assetref.Hint{ID: "cancelled"})
	wantErr(t, err, context.Canceled, "Put cancelled midway")
	wantCount(t, s, 0)
	put(t, s, data, assetref.Hint{ID: "cancelled"})
}

func testCancelOtherMethods(t *testing.T, s assetref.Store) {
	ref := put(t, s, content(100, 13), assetref.Hint{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rc, err := s.Open(ctx, ref)
	if err == nil {
		rc.Close()
	}
	wantErr(t, err, context.Canceled, "Open with a cancelled context")
	_, err = s.Stat(ctx, ref)
	wantErr(t, err, context.Canceled, "Stat with a cancelled context")
	wantErr(t, s.Delete(ctx, ref), context.Canceled, "Delete with a cancelled context")
	if _, err := s.Stat(t.Context(), ref); err != nil {
		t.Fatalf("the asset is gone after a cancelled Delete: %v", err)
	}
}

func testNotFound(t *testing.T, s assetref.Store) {
	// A ref of the store's own kind that names nothing: one that was
	// deleted, with and without its optional fields.
	ref := put(t, s, content(100, 14), assetref.Hint{})
	if err := s.Delete(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	wantGone(t, s, ref)
	bare := ref
	bare.MIME, bare.Bytes, bare.Hash = "", 0, ""
	wantGone(t, s, bare)
}

func testStaleHash(t *testing.T, s assetref.Store) {
	data := content(100, 15)
	ref := put(t, s, data, assetref.Hint{})
	stale := ref
	stale.Hash = assetref.HashBytes(content(100, 16))
	wantGone(t, s, stale)
	if got := readAll(t, s, ref); !bytes.Equal(got, data) {
		t.Fatal("the asset changed after operations on a stale ref")
	}
}

func testWrongKind(t *testing.T, s assetref.Store) {
	ctx := t.Context()
	ref := put(t, s, content(100, 17), assetref.Hint{ID: "k"})
	others := []assetref.Ref{
		{Kind: assetref.KindURL, URL: "https://example.com/k"},
		{Kind: assetref.KindOPFS, Path: "k"},
		{Kind: assetref.KindFSHandle, HandleID: "k"},
		{Kind: assetref.KindIDB, BlobKey: "k"},
		{Kind: assetref.KindEmbedded, ID: "k"},
	}
	for _, o := range others {
		if o.Kind == ref.Kind {
			continue
		}
		o.Hash = ref.Hash
		rc, err := s.Open(ctx, o)
		if err == nil {
			rc.Close()
		}
		wantErr(t, err, errs.ErrInvalidRef, fmt.Sprintf("Open of a %s ref", o.Kind))
		_, err = s.Stat(ctx, o)
		wantErr(t, err, errs.ErrInvalidRef, fmt.Sprintf("Stat of a %s ref", o.Kind))
		wantErr(t, s.Delete(ctx, o), errs.ErrInvalidRef, fmt.Sprintf("Delete of a %s ref", o.Kind))
	}
	wantCount(t, s, 1)
}

func testInvalidRef(t *testing.T, s assetref.Store) {
	ctx := t.Context()
	ref := put(t, s, content(100, 18), assetref.Hint{})
	bad := []assetref.Ref{{}, ref, ref, ref}
	bad[1].Bytes = -1
	bad[2].Hash = "sha256-nope"
	bad[3].MIME = "not a type"
	for _, b := range bad {
		rc, err := s.Open(ctx, b)
		if err == nil {
			rc.Close()
		}
		wantErr(t, err, errs.ErrInvalidRef, fmt.Sprintf("Open(%+v)", b))
		_, err = s.Stat(ctx, b)
		wantErr(t, err, errs.ErrInvalidRef, fmt.Sprintf("Stat(%+v)", b))
		wantErr(t, s.Delete(ctx, b), errs.ErrInvalidRef, fmt.Sprintf("Delete(%+v)", b))
	}
	wantCount(t, s, 1)
}

// putAll runs one Put per reader concurrently and returns the results.
func putAll(t *testing.T, s assetref.Store, datas [][]byte) ([]assetref.Ref, []error) {
	refs := make([]assetref.Ref, len(datas))
	errs := make([]error, len(datas))
	var wg sync.WaitGroup
	for i, d := range datas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs[i], errs[i] = s.Put(t.Context(), &chunkReader{data: d, sizes: oddSizes}, assetref.Hint{})
		}()
	}
	wg.Wait()
	return refs, errs
}

func testConcurrentSame(t *testing.T, s assetref.Store) {
	data := content(300_000, 19)
	datas := make([][]byte, concurrency)
	for i := range datas {
		datas[i] = data
	}
	refs, errs := putAll(t, s, datas)
	for i := range refs {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		checkRef(t, refs[i], data, "")
		if refs[i] != refs[0] {
			t.Fatalf("concurrent Puts of the same bytes returned %+v and %+v", refs[0], refs[i])
		}
	}
	wantCount(t, s, 1)
	if got := readAll(t, s, refs[0]); !bytes.Equal(got, data) {
		t.Fatal("content differs after concurrent Puts")
	}
}

func testConcurrentDistinct(t *testing.T, s assetref.Store) {
	datas := make([][]byte, concurrency)
	for i := range datas {
		datas[i] = content(100_000+i, 20+uint64(i))
	}
	refs, errs := putAll(t, s, datas)
	seen := map[assetref.Ref]bool{}
	for i := range refs {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		checkRef(t, refs[i], datas[i], "")
		if seen[refs[i]] {
			t.Fatalf("two different contents got the same ref %+v", refs[i])
		}
		seen[refs[i]] = true
	}
	wantCount(t, s, concurrency)
	for i, ref := range refs {
		if got := readAll(t, s, ref); !bytes.Equal(got, datas[i]) {
			t.Fatalf("content %d differs after concurrent Puts", i)
		}
	}
}
