package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	kzip "github.com/klauspost/compress/zip"
)

// seedPackages returns a valid package and every bad case's package that
// is small enough to be a useful fuzz seed. The fixture's assets are kept
// small: the fuzzer's time goes into structure, not into hashing noise.
func seedPackages(tb testing.TB) [][]byte {
	fx := newFixtureSized(tb, 300, 10)
	valid, _ := fx.export(tb, nil)
	base := unpack(tb, valid)
	seeds := [][]byte{valid}
	for _, tc := range badCases() {
		if data := tc.pkg(tb, base.clone(), valid); len(data) <= 64<<10 {
			seeds = append(seeds, data)
		}
	}
	return seeds
}

func FuzzParseManifest(f *testing.F) {
	for _, pkg := range seedPackages(f) {
		zr, err := kzip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
		if err != nil {
			continue
		}
		for _, zf := range zr.File {
			if zf.Name != ManifestFile {
				continue
			}
			if rc, err := zf.Open(); err == nil {
				var buf bytes.Buffer
				buf.ReadFrom(rc)
				rc.Close()
				f.Add(buf.Bytes())
			}
		}
	}
	for _, s := range []string{``, `{}`, `[]`, `null`, `{"packageVersion":1}`, `{"packageVersion":2}`,
		`{"packageVersion":1e0}`, `{"packageVersion":1,"app":{"name":"a"},"createdAt":"2024-01-01T00:00:00Z",` +
			`"workflow":{"id":"0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a10","file":"workflow.json","name":"w"},"assets":[]}`} {
		f.Add([]byte(s))
	}
	problems := []error{ErrTooLarge, ErrMalformedJSON, ErrUnsupportedVersion, ErrInvalidManifest, ErrUnsupportedURL}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			var pe *PackageError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPackage) {
				t.Fatalf("error %v is not a *PackageError", err)
			}
			for _, p := range problems {
				if pe.Problem == p {
					return
				}
			}
			t.Fatalf("unexpected problem %v", pe.Problem)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed manifest does not validate: %v", err)
		}
		// What parses encodes and parses back to the same.
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(b)
		if err != nil {
			t.Fatalf("re-encoded manifest %s: %v", b, err)
		}
		b2, _ := json.Marshal(m2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed the manifest:\n%s\n%s", b, b2)
		}
	})
}

func FuzzImport(f *testing.F) {
	for _, pkg := range seedPackages(f) {
		f.Add(pkg)
	}
	fx := newFixtureSized(f, 300, 10)
	opts := &ImportOptions{MaxTotalBytes: 64 << 20, MaxWorkflowBytes: 4 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The fuzzer has no time limit per input: a hang would pass
		// unnoticed. Crashing the worker makes it record the input.
		watchdog := time.AfterFunc(30*time.Second, func() { panic("Import took more than 30s") })
		defer watchdog.Stop()
		dst := destination(t, fx)
		before := listStore(t, dst)
		res, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), FromStore(dst), opts)
		samePartWay(t, fx, data, opts, err)
		if err != nil {
			if !errors.Is(err, ErrInvalidPackage) {
				t.Fatalf("error %v does not match ErrInvalidPackage", err)
			}
			if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
				t.Fatalf("failed import changed the store:\nbefore %v\nafter  %v", before, after)
			}
			return
		}
		if err := res.Graph.Validate(); err != nil {
			t.Fatalf("imported graph does not validate: %v", err)
		}
		for _, n := range res.Graph.Nodes {
			if n.Result == nil || n.Result.Asset == nil {
				continue
			}
			ref := *n.Result.Asset
			switch ref.Kind {
			case "url":
				if !httpURL(ref.URL) {
					t.Fatalf("imported url ref %q", ref.URL)
				}
			case dst.Kind():
				if got := readAsset(t, dst, ref); int64(len(got)) != ref.Bytes {
					t.Fatalf("asset %+v has %d bytes", ref, len(got))
				}
			default:
				t.Fatalf("imported ref of kind %s", ref.Kind)
			}
		}
		if err := res.Discard(context.Background()); err != nil {
			t.Fatal(err)
		}
		if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
			t.Fatalf("Discard did not restore the store:\nbefore %v\nafter  %v", before, after)
		}
	})
}

// samePartWay imports data again through the part path and checks that it
// fails, or succeeds, as the io.Reader path did (ioErr): with the same
// Problem, and leaving the store as it was when it fails. The one allowed
// difference is content that matches its hash under a wrong CRC-32 field,
// which only the io.Reader path refuses (see Part).
func samePartWay(t *testing.T, fx *fixture, data []byte, opts *ImportOptions, ioErr error) {
	t.Helper()
	dst := destination(t, fx)
	before := listStore(t, dst)
	res, err := Import(context.Background(), newPartReader(data), int64(len(data)), findingPartSink{newPartSink(dst)}, opts)
	var ioPE, pe *PackageError
	switch {
	case ioErr == nil && err == nil:
		if err := res.Discard(context.Background()); err != nil {
			t.Fatal(err)
		}
	case ioErr != nil && err == nil:
		if !errors.As(ioErr, &ioPE) || ioPE.Problem != ErrCorruptZip || ioPE.Detail != "CRC-32 mismatch" {
			t.Fatalf("the io.Reader way failed with %v, the part way succeeded", ioErr)
		}
		if err := res.Discard(context.Background()); err != nil {
			t.Fatal(err)
		}
	case ioErr == nil:
		t.Fatalf("the io.Reader way succeeded, the part way failed with %v", err)
	case !errors.As(err, &pe) || !errors.As(ioErr, &ioPE) || pe.Problem != ioPE.Problem:
		t.Fatalf("the part way failed with %v, the io.Reader way with %v", err, ioErr)
	}
	if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
		t.Fatalf("the part way changed the store:\nbefore %v\nafter  %v", before, after)
	}
}
