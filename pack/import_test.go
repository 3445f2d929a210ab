package pack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

func importBytes(t testing.TB, data []byte, dst AssetSink, opts *ImportOptions) (*Result, error) {
	t.Helper()
	return Import(context.Background(), bytes.NewReader(data), int64(len(data)), dst, opts)
}

// checkRoundTrip checks that got, an imported graph, is want with ids
// mapped through ids and local asset refs replaced by refs of dst with the
// same content.
func checkRoundTrip(t *testing.T, f *fixture, want *graph.Graph, res *Result, dst assetref.Store) {
	t.Helper()
	got := res.Graph
	if err := got.Validate(); err != nil {
		t.Fatalf("imported graph does not validate: %v", err)
	}
	mapped := func(id string) string {
		n, ok := res.IDs[id]
		if !ok {
			t.Fatalf("IDs lacks %s", id)
		}
		return n
	}
	if got.Workflow.ID != mapped(want.Workflow.ID) {
		t.Errorf("workflow id %s, want %s", got.Workflow.ID, mapped(want.Workflow.ID))
	}
	wf := want.Workflow
	wf.ID = got.Workflow.ID
	if !reflect.DeepEqual(got.Workflow, wf) {
		t.Errorf("workflow\n got %+v\nwant %+v", got.Workflow, wf)
	}
	if len(got.Nodes) != len(want.Nodes) || len(got.Edges) != len(want.Edges) {
		t.Fatalf("%d nodes, %d edges; want %d, %d", len(got.Nodes), len(got.Edges), len(want.Nodes), len(want.Edges))
	}
	for i, wn := range want.Nodes {
		gn := got.Nodes[i]
		wn.ID, wn.WorkflowID = mapped(wn.ID), got.Workflow.ID
		var gotAsset, wantAsset *assetref.Ref
		if gn.Result != nil {
			gn.Result = gn.Result.Clone()
			gotAsset, gn.Result.Asset = gn.Result.Asset, nil
		}
		if wn.Result != nil {
			wn.Result = wn.Result.Clone()
			wantAsset, wn.Result.Asset = wn.Result.Asset, nil
		}
		if !reflect.DeepEqual(gn, wn) {
			t.Errorf("node %d\n got %+v\nwant %+v", i, gn, wn)
		}
		switch {
		case wantAsset == nil:
			if gotAsset != nil {
				t.Errorf("node %d has asset %+v, want none", i, gotAsset)
			}
		case wantAsset.Kind == assetref.KindURL:
			if *gotAsset != *wantAsset {
				t.Errorf("node %d: url ref %+v, want %+v", i, gotAsset, wantAsset)
			}
		default:
			if gotAsset == nil || gotAsset.Hash != wantAsset.Hash || gotAsset.Bytes != wantAsset.Bytes {
				t.Fatalf("node %d: asset %+v, want the content of %+v", i, gotAsset, wantAsset)
			}
			if b := readAsset(t, dst, *gotAsset); !bytes.Equal(b, f.assets[wantAsset.Hash]) {
				t.Errorf("node %d: imported asset differs from the original", i)
			}
		}
	}
	for i, we := range want.Edges {
		we.ID, we.WorkflowID, we.Source, we.Target = mapped(we.ID), got.Workflow.ID, mapped(we.Source), mapped(we.Target)
		if !reflect.DeepEqual(got.Edges[i], we) {
			t.Errorf("edge %d\n got %+v\nwant %+v", i, got.Edges[i], we)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	data, exp := f.export(t, nil)
	for _, tc := range []struct {
		name     string
		opts     *ImportOptions
		newIDs   bool
		replaces bool
	}{
		{"unknown whether it exists", nil, true, false},
		{"exists", &ImportOptions{WorkflowExists: func(context.Context, string) (bool, error) { return true, nil }}, true, false},
		{"does not exist", &ImportOptions{WorkflowExists: func(context.Context, string) (bool, error) { return false, nil }}, false, false},
		{"exists, replace", &ImportOptions{Replace: true, WorkflowExists: func(context.Context, string) (bool, error) { return true, nil }}, false, true},
		{"unknown, replace", &ImportOptions{Replace: true}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := memstore.NewKind(assetref.KindIDB)
			res, err := importBytes(t, data, FromStore(dst), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.NewIDs != tc.newIDs || res.Replaces != tc.replaces {
				t.Errorf("NewIDs %v, Replaces %v; want %v, %v", res.NewIDs, res.Replaces, tc.newIDs, tc.replaces)
			}
			for old, id := range res.IDs {
				if !graph.ValidID(id) || (old == id) == tc.newIDs {
					t.Errorf("id %s mapped to %s; new ids: %v", old, id, tc.newIDs)
				}
			}
			if len(res.IDs) != 1+len(f.g.Nodes)+len(f.g.Edges) {
				t.Errorf("IDs has %d entries", len(res.IDs))
			}
			if !reflect.DeepEqual(res.Manifest, exp.Manifest) {
				t.Errorf("manifest\n got %+v\nwant %+v", res.Manifest, exp.Manifest)
			}
			checkRoundTrip(t, f, &f.g, res, dst)
			// The PNG shown by two nodes is stored once.
			if n := len(listStore(t, dst)); n != 2 {
				t.Errorf("store holds %d assets, want 2", n)
			}
		})
	}
}

// TestImportReusesExistingAssets: content the store already has is
// reused, reported as not created, and survives Discard.
func TestImportReusesExistingAssets(t *testing.T) {
	f := newFixture(t)
	data, _ := f.export(t, nil)
	dst := destination(t, f) // already holds the PNG
	before := listStore(t, dst)
	res, err := importBytes(t, data, FromStore(dst), nil)
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, a := range res.Assets {
		if a.Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d assets created, want 1 (the text; the PNG existed)", created)
	}
	if n := len(listStore(t, dst)); n != len(before)+1 {
		t.Errorf("store holds %d assets, want %d", n, len(before)+1)
	}
	if err := res.Discard(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
		t.Errorf("after Discard the store is\n%v\nwant\n%v", after, before)
	}
	// A second Discard has nothing left to do.
	if err := res.Discard(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// finderSink is a memstore sink that can also look assets up by hash, and
// counts Puts.
type finderSink struct {
	AssetSink
	s    *memstore.Store
	puts atomic.Int32
}

func (k *finderSink) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, bool, error) {
	k.puts.Add(1)
	return k.AssetSink.Put(ctx, r, hint)
}

func (k *finderSink) FindHash(ctx context.Context, hash string) (assetref.Ref, bool, error) {
	infos, err := k.s.List(ctx)
	if err != nil {
		return assetref.Ref{}, false, err
	}
	for _, i := range infos {
		if i.Hash == hash {
			return i.Ref, true, nil
		}
	}
	return assetref.Ref{}, false, nil
}

func TestImportAssetFinder(t *testing.T) {
	f := newFixture(t)
	data, _ := f.export(t, nil)
	dst := destination(t, f)
	k := &finderSink{AssetSink: FromStore(dst), s: dst}
	res, err := importBytes(t, data, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := k.puts.Load(); n != 1 {
		t.Errorf("%d Puts, want 1: the PNG should be found, not put", n)
	}
	checkRoundTrip(t, f, &f.g, res, dst)

	// The package's copy is still verified when the sink has the asset.
	u := unpack(t, data)
	file := embeddedFile(t, u) // the PNG, which the sink has
	u.files[file] = noise(len(u.files[file]), 5)
	bad := u.zip(t)
	if _, err := importBytes(t, bad, k, nil); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("found asset with corrupt package copy: %v; want ErrHashMismatch", err)
	}
}

// failingSink fails the nth Put (counting from 1) after reading part of
// the content.
type failingSink struct {
	AssetSink
	n     int32
	calls atomic.Int32
}

var errSinkFull = errors.New("sink full")

func (k *failingSink) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, bool, error) {
	if k.calls.Add(1) == k.n {
		io.CopyN(io.Discard, r, 10)
		return assetref.Ref{}, false, errSinkFull
	}
	return k.AssetSink.Put(ctx, r, hint)
}

// TestImportRollsBack: a failing sink, a cancelled context and a failing
// WorkflowExists leave the store as it was, deleting what the import had
// created and nothing that was there before.
func TestImportRollsBack(t *testing.T) {
	f := newFixture(t)
	// A third asset, so that the failure comes after one created and one
	// reused asset.
	extra := f.put(t, noise(3000, 3), "image/webp")
	f.g.Nodes[0].Result = &graph.Result{Asset: &extra}
	data, _ := f.export(t, nil)

	for _, tc := range []struct {
		name string
		run  func(t *testing.T, dst *memstore.Store) error
		want error
	}{
		{"sink fails", func(t *testing.T, dst *memstore.Store) error {
			_, err := importBytes(t, data, &failingSink{AssetSink: FromStore(dst), n: 3}, nil)
			return err
		}, errSinkFull},
		{"context cancelled", func(t *testing.T, dst *memstore.Store) error {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := &ImportOptions{Progress: func(p Progress) {
				if p.Done > 20000 { // within the second asset
					cancel()
				}
			}}
			_, err := Import(ctx, bytes.NewReader(data), int64(len(data)), FromStore(dst), opts)
			return err
		}, context.Canceled},
		{"context cancelled before", func(t *testing.T, dst *memstore.Store) error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := Import(ctx, bytes.NewReader(data), int64(len(data)), FromStore(dst), nil)
			return err
		}, context.Canceled},
		{"WorkflowExists fails", func(t *testing.T, dst *memstore.Store) error {
			_, err := importBytes(t, data, FromStore(dst), &ImportOptions{
				WorkflowExists: func(context.Context, string) (bool, error) { return false, errSinkFull }})
			return err
		}, errSinkFull},
		{"commit fails", func(t *testing.T, dst *memstore.Store) error {
			_, err := ImportAndCommit(context.Background(), bytes.NewReader(data), int64(len(data)), FromStore(dst), nil,
				func(context.Context, *Result) error { return errSinkFull })
			return err
		}, errSinkFull},
		{"commit panics", func(t *testing.T, dst *memstore.Store) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = p.(error)
				}
			}()
			ImportAndCommit(context.Background(), bytes.NewReader(data), int64(len(data)), FromStore(dst), nil,
				func(context.Context, *Result) error { panic(errSinkFull) })
			return nil
		}, errSinkFull},
		{"commit's context cancelled", func(t *testing.T, dst *memstore.Store) error {
			ctx, cancel := context.WithCancel(context.Background())
			_, err := ImportAndCommit(ctx, bytes.NewReader(data), int64(len(data)), FromStore(dst), nil,
				func(ctx context.Context, _ *Result) error { cancel(); return ctx.Err() })
			return err
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := destination(t, f)
			before := listStore(t, dst)
			err := tc.run(t, dst)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v; want %v", err, tc.want)
			}
			if errors.Is(err, ErrInvalidPackage) {
				t.Errorf("error %v matches ErrInvalidPackage", err)
			}
			if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
				t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func TestImportAndCommitCommits(t *testing.T) {
	f := newFixture(t)
	data, _ := f.export(t, nil)
	dst := memstore.NewKind(assetref.KindIDB)
	var stored *graph.Graph
	res, err := ImportAndCommit(context.Background(), bytes.NewReader(data), int64(len(data)), FromStore(dst), nil,
		func(_ context.Context, res *Result) error { stored = &res.Graph; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if stored != &res.Graph {
		t.Error("commit was not given the result")
	}
	checkRoundTrip(t, f, &f.g, res, dst)
}

func TestImportProgress(t *testing.T) {
	f := newFixture(t)
	data, exp := f.export(t, nil)
	var total int64
	for _, a := range exp.Manifest.Assets {
		if a.Origin == OriginEmbedded {
			total += a.Bytes
		}
	}
	var last Progress
	calls := 0
	opts := &ImportOptions{ChunkSize: 4096, Progress: func(p Progress) {
		calls++
		if p.Total != total || p.Done < last.Done || p.Done > p.Total {
			t.Errorf("progress %+v after %+v; total %d", p, last, total)
		}
		last = p
	}}
	if _, err := importBytes(t, data, FromStore(memstore.New()), opts); err != nil {
		t.Fatal(err)
	}
	if last.Done != total || calls < 2 {
		t.Errorf("last progress %+v after %d calls; want done %d", last, calls, total)
	}
}

func TestReadManifest(t *testing.T) {
	f := newFixture(t)
	data, exp := f.export(t, nil)
	m, err := ReadManifest(context.Background(), bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*m, exp.Manifest) {
		t.Errorf("manifest\n got %+v\nwant %+v", *m, exp.Manifest)
	}
	_, err = ReadManifest(context.Background(), bytes.NewReader(data[:50]), 50, nil)
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated: %v", err)
	}
}

// errReaderAt fails its nth ReadAt and every one after it (counting from
// 1; 0 never fails) and counts calls.
type errReaderAt struct {
	data  []byte
	fail  int32
	calls atomic.Int32
}

var errDisk = errors.New("file is no longer readable")

func (r *errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if n := r.calls.Add(1); r.fail > 0 && n >= r.fail {
		return 0, errDisk
	}
	return bytes.NewReader(r.data).ReadAt(p, off)
}

// TestImportReaderFails: an error of the io.ReaderAt is reported as it is,
// not as an invalid package, wherever it happens, and the store is left
// as it was.
func TestImportReaderFails(t *testing.T) {
	f := newFixture(t)
	data, _ := f.export(t, nil)
	count := &errReaderAt{data: data}
	if _, err := Import(context.Background(), count, int64(len(data)), FromStore(memstore.New()), nil); err != nil {
		t.Fatal(err)
	}
	for fail := int32(1); fail <= count.calls.Load(); fail++ {
		dst := destination(t, f)
		before := listStore(t, dst)
		_, err := Import(context.Background(), &errReaderAt{data: data, fail: fail}, int64(len(data)), FromStore(dst), nil)
		if !errors.Is(err, errDisk) || errors.Is(err, ErrInvalidPackage) {
			t.Fatalf("read %d fails: error %v; want errDisk, not ErrInvalidPackage", fail, err)
		}
		if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
			t.Errorf("read %d fails: store changed", fail)
		}
	}
}

func TestPackageErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *PackageError
		want string
	}{
		{bad(ErrNotZip, "", ""), "invalid package: not a zip archive"},
		{bad(ErrHashMismatch, "assets/a.png", ""), `invalid package: "assets/a.png": hash does not match the manifest`},
		{&PackageError{Problem: ErrInvalidGraph, Entry: WorkflowFile, Err: &errs.ValidationError{Entity: "edge", ID: "e", Field: "target", Reason: "no such node in the workflow"}},
			`invalid package: "workflow.json": invalid workflow graph: invalid edge e: target: no such node in the workflow`},
		{bad(ErrUnsafeName, "../"+string(bytes.Repeat([]byte("a"), 200)), "dot segment"),
			`invalid package: "../` + string(bytes.Repeat([]byte("a"), 93)) + `"…: unsafe entry name: dot segment`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %s\nwant       %s", got, tc.want)
		}
	}
}
