package pack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// The browser's parts are Blobs; these are their stand-ins in Go memory,
// so that the part paths of Export and Import run on the host against
// every case the io.Reader paths are tested with.

// memPart is a Part over bytes.
type memPart struct {
	data   []byte
	crcErr error           // CRC32 fails with it, if set
	wait   <-chan struct{} // CRC32 waits for it, if set
}

func (p *memPart) Size() int64 { return int64(len(p.data)) }

func (p *memPart) CRC32(ctx context.Context) (uint32, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p.wait != nil {
		select {
		case <-p.wait:
		case <-time.After(10 * time.Second):
			return 0, errors.New("waited in vain")
		}
	}
	if p.crcErr != nil {
		return 0, p.crcErr
	}
	return crc32.ChecksumIEEE(p.data), nil
}

// partReader is a PartReaderAt over a package in memory.
type partReader struct {
	*bytes.Reader
	data  []byte
	parts atomic.Int32
}

func newPartReader(data []byte) *partReader {
	return &partReader{Reader: bytes.NewReader(data), data: data}
}

func (r *partReader) Part(off, n int64) (Part, error) {
	if off < 0 || n < 0 || off+n > int64(len(r.data)) {
		return nil, fmt.Errorf("part [%d, %d+%d) outside %d bytes", off, off, n, len(r.data))
	}
	r.parts.Add(1)
	return &memPart{data: r.data[off : off+n]}, nil
}

// partBuffer is a PartWriter into memory.
type partBuffer struct {
	bytes.Buffer
	parts int
}

func (w *partBuffer) WritePart(ctx context.Context, p Part) error {
	mp, ok := p.(*memPart)
	if !ok {
		return fmt.Errorf("not a memPart: %T", p)
	}
	w.parts++
	_, err := w.Write(mp.data)
	return err
}

// partSource is a memstore that also hands out parts, with the hash the
// store recorded.
type partSource struct {
	*memstore.Store
	opens, parts atomic.Int32
	lie          func(p *memPart, hash string) (*memPart, string) // changes what OpenPart returns
	decline      bool                                             // OpenPart returns ErrNoPart
}

func (s *partSource) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	s.opens.Add(1)
	return s.Store.Open(ctx, ref)
}

func (s *partSource) OpenPart(ctx context.Context, ref assetref.Ref) (Part, string, error) {
	if s.decline {
		return nil, "", ErrNoPart
	}
	info, err := s.Stat(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	rc, err := s.Store.Open(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, "", err
	}
	s.parts.Add(1)
	p, hash := &memPart{data: data}, info.Hash
	if s.lie != nil {
		p, hash = s.lie(p, hash)
	}
	return p, hash, nil
}

// partSink is a memstore sink that takes parts and verifies their hash,
// as the browser's does with WebCrypto.
type partSink struct {
	AssetSink
	s                  *memstore.Store
	puts, parts, check atomic.Int32
	decline            bool                                    // PutPart and CheckPart return ErrNoPart
	lie                bool                                    // PutPart stores without checking the hash
	fail               func(n int32, hint assetref.Hint) error // fails the nth PutPart, if it returns an error
}

func newPartSink(dst *memstore.Store) *partSink { return &partSink{AssetSink: FromStore(dst), s: dst} }

func (k *partSink) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, bool, error) {
	k.puts.Add(1)
	return k.AssetSink.Put(ctx, r, hint)
}

func (k *partSink) PutPart(ctx context.Context, p Part, hash string, hint assetref.Hint) (assetref.Ref, bool, error) {
	if k.decline {
		return assetref.Ref{}, false, ErrNoPart
	}
	n := k.parts.Add(1)
	if k.fail != nil {
		if err := k.fail(n, hint); err != nil {
			return assetref.Ref{}, false, err
		}
	}
	data := p.(*memPart).data
	if !k.lie && assetref.HashBytes(data) != hash {
		return assetref.Ref{}, false, fmt.Errorf("stored nothing: %w", ErrHashMismatch)
	}
	return k.AssetSink.Put(ctx, bytes.NewReader(data), hint)
}

func (k *partSink) CheckPart(ctx context.Context, p Part, hash string) error {
	if k.decline {
		return ErrNoPart
	}
	k.check.Add(1)
	if assetref.HashBytes(p.(*memPart).data) != hash {
		return fmt.Errorf("checked: %w", ErrHashMismatch)
	}
	return nil
}

// findingPartSink is a partSink that is also an AssetFinder.
type findingPartSink struct{ *partSink }

func (k findingPartSink) FindHash(ctx context.Context, hash string) (assetref.Ref, bool, error) {
	return (&finderSink{s: k.s}).FindHash(ctx, hash)
}

// exportParts exports the fixture through the part paths.
func exportParts(t testing.TB, f *fixture, src *partSource, opts *ExportOptions) ([]byte, *ExportResult, *partBuffer) {
	t.Helper()
	var out partBuffer
	res, err := Export(context.Background(), &out, &f.g, src, opts)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if res.Size != int64(out.Len()) {
		t.Fatalf("ExportResult.Size = %d, wrote %d bytes", res.Size, out.Len())
	}
	return out.Bytes(), res, &out
}

// TestExportParts: a stored asset goes through as a part, with the hash
// the source recorded, a deflated one through Open, and the package reads
// back the same as one written the io.Reader way (other readers check
// the CRC-32s).
func TestExportParts(t *testing.T) {
	f := newFixture(t)
	src := &partSource{Store: f.src}
	var progress []Progress
	data, res, out := exportParts(t, f, src, &ExportOptions{Progress: func(p Progress) { progress = append(progress, p) }})
	if out.parts != 1 || src.parts.Load() != 1 || src.opens.Load() != 1 {
		t.Errorf("%d parts written, %d handed out, %d opened; want the PNG as a part and the text opened", out.parts, src.parts.Load(), src.opens.Load())
	}
	plain, plainRes := f.export(t, nil)
	if !reflect.DeepEqual(contentByHash(t, data, res), contentByHash(t, plain, plainRes)) {
		t.Error("the part export holds other content than the plain one")
	}
	for _, which := range []string{"archive/zip", "klauspost/compress/zip", "pack"} {
		contents(t, data, which) // fails on a CRC-32 mismatch
	}
	png := res.Manifest.Assets[0]
	if png.Hash != assetref.HashBytes(pngOf(f)) || png.Bytes != int64(len(pngOf(f))) {
		t.Errorf("manifest has the PNG as %+v", png)
	}
	if last := progress[len(progress)-1]; last.Done != last.Total || last.Done != int64(len(pngOf(f))+len(f.assets[res.Manifest.Assets[1].Hash])) {
		t.Errorf("progress ends at %+v", last)
	}

	// And it imports, the io.Reader way and the part way.
	for _, parts := range []bool{false, true} {
		dst := memstore.NewKind(assetref.KindIDB)
		k := newPartSink(dst)
		var r io.ReaderAt = bytes.NewReader(data)
		if parts {
			r = newPartReader(data)
		}
		imp, err := Import(context.Background(), r, int64(len(data)), k, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, f, &f.g, imp, dst)
		if want := map[bool]int32{false: 0, true: 1}[parts]; k.parts.Load() != want || k.puts.Load() != 2-want {
			t.Errorf("parts %v: %d PutPart, %d Put", parts, k.parts.Load(), k.puts.Load())
		}
	}
}

// contentByHash maps each embedded asset's manifest hash to its content.
func contentByHash(t testing.TB, data []byte, res *ExportResult) map[string][]byte {
	t.Helper()
	_, files := entries(t, data)
	out := map[string][]byte{}
	for _, a := range res.Manifest.Assets {
		if a.Origin == OriginEmbedded {
			out[a.Hash] = files[a.File]
		}
	}
	return out
}

// TestExportPartsFallBack: without a PartWriter, or with a source that
// declines, or without a recorded hash, assets go the io.Reader way.
func TestExportPartsFallBack(t *testing.T) {
	f := newFixture(t)

	src := &partSource{Store: f.src}
	var buf bytes.Buffer // not a PartWriter
	if _, err := Export(context.Background(), &buf, &f.g, src, nil); err != nil {
		t.Fatal(err)
	}
	if src.parts.Load() != 0 || src.opens.Load() != 2 {
		t.Errorf("plain writer: %d parts, %d opens", src.parts.Load(), src.opens.Load())
	}

	src = &partSource{Store: f.src, decline: true}
	if _, _, out := exportParts(t, f, src, nil); out.parts != 0 || src.opens.Load() != 2 {
		t.Errorf("declining source: %d parts written, %d opens", out.parts, src.opens.Load())
	}

	src = &partSource{Store: f.src, lie: func(p *memPart, _ string) (*memPart, string) { return p, "" }}
	data, res, out := exportParts(t, f, src, nil)
	if out.parts != 0 || src.opens.Load() != 2 {
		t.Errorf("source without a hash: %d parts written, %d opens", out.parts, src.opens.Load())
	}
	if got := contentByHash(t, data, res); !bytes.Equal(got[assetref.HashBytes(pngOf(f))], pngOf(f)) {
		t.Error("PNG missing or wrong")
	}
}

// TestExportPartFailures: a part that is not what the ref says, or whose
// content cannot be read, fails the asset like the io.Reader way does.
func TestExportPartFailures(t *testing.T) {
	f := newFixture(t)
	errGone := fmt.Errorf("file removed: %w", errs.ErrNotFound)
	for _, tc := range []struct {
		name string
		lie  func(p *memPart, hash string) (*memPart, string)
		want error
	}{
		{"size", func(p *memPart, h string) (*memPart, string) { return &memPart{data: p.data[1:]}, h }, ErrContentMismatch},
		{"hash", func(p *memPart, h string) (*memPart, string) { return p, assetref.HashBytes([]byte("other")) }, ErrContentMismatch},
		{"unreadable", func(p *memPart, h string) (*memPart, string) { return &memPart{data: p.data, crcErr: errGone}, h }, errs.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &partSource{Store: f.src, lie: tc.lie}
			var out partBuffer
			_, err := Export(context.Background(), &out, &f.g, src, nil)
			var ae *AssetError
			if !errors.As(err, &ae) || len(ae.Failures) != 1 || !errors.Is(err, tc.want) {
				t.Fatalf("error %v; want an AssetError for the PNG matching %v", err, tc.want)
			}
			if out.parts != 0 {
				t.Error("a failed part was written")
			}
		})
	}

	t.Run("writer fails", func(t *testing.T) {
		src := &partSource{Store: f.src}
		w := &failingPartWriter{}
		if _, err := Export(context.Background(), w, &f.g, src, nil); !errors.Is(err, errDiskFull) {
			t.Fatalf("error %v; want the writer's", err)
		}
	})
}

var errDiskFull = errors.New("disk full")

type failingPartWriter struct{ partBuffer }

func (w *failingPartWriter) WritePart(context.Context, Part) error { return errDiskFull }

// TestImportPartsRejectBadPackages runs every bad package through the part
// path: each fails with the same Problem as on the io.Reader path, and
// leaves the store as it was.
func TestImportPartsRejectBadPackages(t *testing.T) {
	f := newFixture(t)
	valid, _ := f.export(t, nil)
	base := unpack(t, valid)
	var parts atomic.Int32
	for _, tc := range badCases() {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.pkg(t, base.clone(), valid)
			for _, find := range []bool{false, true} {
				dst := destination(t, f)
				before := listStore(t, dst)
				k := newPartSink(dst)
				var sink AssetSink = k
				if find {
					sink = findingPartSink{k}
				}
				r := newPartReader(data)
				_, err := Import(context.Background(), r, int64(len(data)), sink, tc.opts)
				parts.Add(k.parts.Load() + k.check.Load())
				var pe *PackageError
				if !errors.As(err, &pe) || pe.Problem != tc.want {
					t.Fatalf("finder %v: error %v; want a *PackageError with Problem %v", find, err, tc.want)
				}
				if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
					t.Errorf("finder %v: store changed:\nbefore %v\nafter  %v", find, before, after)
				}
			}
		})
	}
	if parts.Load() == 0 {
		t.Error("no case reached the part path")
	}
}

// storedDataAt returns where the content of the entry name starts in a
// zip archive.
func storedDataAt(t testing.TB, data []byte, name string) int {
	t.Helper()
	var off uint32
	patchCentral(t, data, name, func(rec []byte) { off = localOffset(rec) })
	h := data[off:]
	return int(off) + localLen + int(binary.LittleEndian.Uint16(h[26:])) + int(binary.LittleEndian.Uint16(h[28:]))
}

// TestImportPartsCorruptByte: one byte of a stored asset changed in the
// archive fails both ways with ErrCorruptZip (its CRC-32 is checked first,
// as other zip readers do), and a sink that has the asset already is not
// fooled either.
func TestImportPartsCorruptByte(t *testing.T) {
	f := newFixture(t)
	valid, exp := f.export(t, nil)
	png := exp.Manifest.Assets[0]
	bad := bytes.Clone(valid)
	bad[storedDataAt(t, bad, png.File)+1000] ^= 0x20
	for _, tc := range []struct {
		name string
		r    io.ReaderAt
		find bool
	}{
		{"io.Reader", bytes.NewReader(bad), false},
		{"part", newPartReader(bad), false},
		{"part, sink has it", newPartReader(bad), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := memstore.NewKind(assetref.KindIDB)
			if tc.find {
				dst = destination(t, f)
			}
			before := listStore(t, dst)
			k := newPartSink(dst)
			var sink AssetSink = k
			if tc.find {
				sink = findingPartSink{k}
			}
			_, err := Import(context.Background(), tc.r, int64(len(bad)), sink, nil)
			var pe *PackageError
			if !errors.As(err, &pe) || pe.Problem != ErrCorruptZip || pe.Entry != png.File || !errors.Is(err, ErrInvalidPackage) {
				t.Fatalf("error %v; want ErrCorruptZip for %s", err, png.File)
			}
			if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
				t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestImportPartsCRCFieldOnly: content that matches the manifest's SHA-256
// but not the CRC-32 field of its stored entry is refused the io.Reader
// way and accepted the part way, which verifies the stronger hash only
// (see Part).
func TestImportPartsCRCFieldOnly(t *testing.T) {
	f := newFixture(t)
	valid, exp := f.export(t, nil)
	png := exp.Manifest.Assets[0]
	bad := patchCentral(t, valid, png.File, func(rec []byte) { binary.LittleEndian.PutUint32(rec[16:], 1234) })
	if _, err := importBytes(t, bad, FromStore(memstore.New()), nil); !errors.Is(err, ErrCorruptZip) {
		t.Fatalf("io.Reader way: %v; want ErrCorruptZip", err)
	}
	dst := memstore.NewKind(assetref.KindIDB)
	res, err := Import(context.Background(), newPartReader(bad), int64(len(bad)), newPartSink(dst), nil)
	if err != nil {
		t.Fatalf("part way: %v", err)
	}
	checkRoundTrip(t, f, &f.g, res, dst)
}

// TestImportPartsRollBack: a sink that fails part way, or stores content
// of another hash, leaves nothing behind; a sink or reader that declines
// gets the io.Reader way.
func TestImportPartsRollBack(t *testing.T) {
	f := newFixture(t)
	extra := f.put(t, noise(3000, 3), "image/webp")
	f.g.Nodes[0].Result = &graph.Result{Asset: &extra}
	data, _ := f.export(t, nil)

	t.Run("sink fails", func(t *testing.T) {
		dst := destination(t, f)
		before := listStore(t, dst)
		k := newPartSink(dst)
		k.fail = func(n int32, _ assetref.Hint) error {
			if n == 2 {
				return errSinkFull
			}
			return nil
		}
		_, err := Import(context.Background(), newPartReader(data), int64(len(data)), k, nil)
		if !errors.Is(err, errSinkFull) || errors.Is(err, ErrInvalidPackage) {
			t.Fatalf("error %v; want the sink's", err)
		}
		if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
			t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		dst := destination(t, f)
		before := listStore(t, dst)
		ctx, cancel := context.WithCancel(context.Background())
		k := newPartSink(dst)
		k.fail = func(n int32, _ assetref.Hint) error {
			if n == 2 {
				cancel()
				return context.Canceled
			}
			return nil
		}
		if _, err := Import(ctx, newPartReader(data), int64(len(data)), k, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v; want context.Canceled", err)
		}
		if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
			t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
		}
	})

	t.Run("sink stores other content", func(t *testing.T) {
		// The manifest names other content for the first asset, stored:
		// the sink that does not check stores it anyway.
		u := unpack(t, data)
		other := assetref.HashBytes([]byte("other"))
		id := firstEmbedded(u.manifest(t))["id"]
		u.editManifest(t, func(m map[string]any) { firstEmbedded(m)["hash"] = other })
		u.editWorkflow(t, func(g map[string]any) {
			for i := range nodesOf(g) {
				if r, ok := nodesOf(g)[i].(map[string]any)["result"].(map[string]any); ok && r["asset"] != nil {
					if a := nodeAsset(g, i); a["id"] == id {
						a["hash"] = other
					}
				}
			}
		})
		bad := u.zip(t)
		dst := memstore.NewKind(assetref.KindIDB)
		k := newPartSink(dst)
		k.lie = true
		_, err := Import(context.Background(), newPartReader(bad), int64(len(bad)), k, nil)
		if !errors.Is(err, ErrHashMismatch) {
			t.Fatalf("error %v; want ErrHashMismatch", err)
		}
		if k.parts.Load() == 0 {
			t.Fatal("the part path was not taken")
		}
		if n := len(listStore(t, dst)); n != 0 {
			t.Errorf("%d assets left behind", n)
		}
	})

	t.Run("declined", func(t *testing.T) {
		dst := memstore.NewKind(assetref.KindIDB)
		k := newPartSink(dst)
		k.decline = true
		res, err := Import(context.Background(), newPartReader(data), int64(len(data)), k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if k.puts.Load() != 3 {
			t.Errorf("%d Puts after the sink declined; want 3", k.puts.Load())
		}
		checkRoundTrip(t, f, &f.g, res, dst)
	})
}

// TestImportPartsTwoAtATime: assets that go as parts are stored two at a
// time; when both fail, the error is the first asset's in manifest order,
// even if the second failed first; Result.Assets keeps manifest order; and
// progress, reported from both, stays consistent.
func TestImportPartsTwoAtATime(t *testing.T) {
	f := newFixture(t)
	extra := f.put(t, noise(3000, 3), "image/webp")
	f.g.Nodes[0].Result = &graph.Result{Asset: &extra}
	data, exp := f.export(t, nil)

	errFirst, errSecond := errors.New("first"), errors.New("second")
	dst := memstore.NewKind(assetref.KindIDB)
	k := newPartSink(dst)
	secondFailed := make(chan struct{})
	k.fail = func(_ int32, hint assetref.Hint) error {
		switch hint.MIME {
		case "image/webp": // the first asset
			select {
			case <-secondFailed:
			case <-time.After(10 * time.Second):
				return errors.New("the second part was not stored while the first was")
			}
			return errFirst
		case "image/png":
			close(secondFailed)
			return errSecond
		}
		return nil
	}
	if _, err := Import(context.Background(), newPartReader(data), int64(len(data)), k, nil); !errors.Is(err, errFirst) {
		t.Fatalf("error %v; want the first asset's", err)
	}
	if n := len(listStore(t, dst)); n != 0 {
		t.Errorf("%d assets left behind", n)
	}

	var total int64
	for _, a := range exp.Manifest.Assets {
		if a.Origin == OriginEmbedded {
			total += a.Bytes
		}
	}
	var last Progress
	opts := &ImportOptions{Progress: func(p Progress) {
		if p.Total != total || p.Done <= last.Done || p.Done > p.Total {
			t.Errorf("progress %+v after %+v; total %d", p, last, total)
		}
		last = p
	}}
	k = newPartSink(dst)
	res, err := Import(context.Background(), newPartReader(data), int64(len(data)), k, opts)
	if err != nil {
		t.Fatal(err)
	}
	if k.parts.Load() != 2 || last.Done != total {
		t.Errorf("%d parts, progress ends at %+v", k.parts.Load(), last)
	}
	for i, a := range res.Assets {
		if a.ID != exp.Manifest.Assets[i].ID {
			t.Fatalf("Result.Assets[%d] is %s, want %s", i, a.ID, exp.Manifest.Assets[i].ID)
		}
	}
	checkRoundTrip(t, f, &f.g, res, dst)
}

// TestExportPartsLookAhead: the next stored asset's part is opened and
// checksummed while the current one is, and its failure is its own.
func TestExportPartsLookAhead(t *testing.T) {
	f := newFixture(t)
	extra := f.put(t, noise(3000, 3), "image/webp")
	f.g.Nodes[0].Result = &graph.Result{Asset: &extra}
	errGone := fmt.Errorf("file removed: %w", errs.ErrNotFound)
	for _, secondFails := range []bool{false, true} {
		var calls atomic.Int32
		pngOpened := make(chan struct{})
		src := &partSource{Store: f.src}
		src.lie = func(p *memPart, h string) (*memPart, string) {
			calls.Add(1)
			switch h {
			case extra.Hash: // the first asset: its checksum waits for the PNG, the next one, to be opened
				return &memPart{data: p.data, wait: pngOpened}, h
			case assetref.HashBytes(pngOf(f)):
				close(pngOpened)
				if secondFails {
					return &memPart{data: p.data, crcErr: errGone}, h
				}
			}
			return p, h
		}
		var out partBuffer
		res, err := Export(context.Background(), &out, &f.g, src, nil)
		if !secondFails {
			if err != nil {
				t.Fatal(err)
			}
			if out.parts != 2 || calls.Load() != 2 {
				t.Errorf("%d parts written, %d opened", out.parts, calls.Load())
			}
			for _, which := range []string{"archive/zip", "pack"} {
				contents(t, out.Bytes(), which)
			}
			if got := contentByHash(t, out.Bytes(), res); !bytes.Equal(got[extra.Hash], f.assets[extra.Hash]) || !bytes.Equal(got[assetref.HashBytes(pngOf(f))], pngOf(f)) {
				t.Error("content differs")
			}
			continue
		}
		var ae *AssetError
		if !errors.As(err, &ae) || len(ae.Failures) != 1 || ae.Failures[0].Ref.Hash != assetref.HashBytes(pngOf(f)) || !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("error %v; want the PNG's failure alone", err)
		}
	}
}
