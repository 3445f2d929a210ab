//go:build js && wasm

package opfs

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// testBase is the OPFS directory below which every test makes its own.
const testBase = "opfs-test"

// testFolder returns an empty OPFS directory named after the test, removed
// in cleanup. It stands in for a folder the user picked: both are
// FileSystemDirectoryHandles.
func testFolder(t testing.TB) *fsx.Dir {
	t.Helper()
	ctx := context.Background()
	root, err := fsx.StorageRoot(ctx)
	if errors.Is(err, errs.ErrUnsupported) {
		t.Skipf("this browser has no OPFS (%v): the OPFS store cannot be tested here", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	base, err := root.Dir(ctx, testBase, true)
	if err != nil {
		t.Fatal(err)
	}
	name := testName(t)
	_ = base.Remove(ctx, name, true)
	d, err := base.Dir(ctx, name, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := base.Remove(context.Background(), name, true); err != nil {
			t.Errorf("cleanup: remove %s/%s: %v", testBase, name, err)
		}
	})
	return d
}

var testNames = map[string]int{}

// testName returns the name of the test with slashes replaced, and a
// number appended for the second and later directory of one test.
func testName(t testing.TB) string {
	name := strings.ReplaceAll(t.Name(), "/", "-")
	testNames[name]++
	if n := testNames[name]; n > 1 {
		name += "-" + strconv.Itoa(n)
	}
	return name
}

// openOPFS opens an OPFS store whose root is in the test's own directory.
func openOPFS(t testing.TB, o Options) *Store {
	t.Helper()
	o.Root = testBase + "/" + testFolder(t).Name() + "/atelier"
	s, err := Open(context.Background(), &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testKey is the folder key the folder stores of the tests use.
const testKey = "folder-7f3c"

// openFolder opens a folder store on the test's own directory.
func openFolder(t testing.TB, o Options) (*Store, *fsx.Dir) {
	t.Helper()
	dir := testFolder(t)
	s, err := OpenFolder(context.Background(), testKey, dir, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// layout lists every file below the store's root, as "dir/name", sorted.
func layout(t testing.TB, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	var walk func(d *fsx.Dir, prefix string)
	walk = func(d *fsx.Dir, prefix string) {
		es, err := d.Entries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if sub, ok := e.Dir(); ok {
				walk(sub, prefix+e.Name+"/")
			} else {
				out = append(out, prefix+e.Name)
			}
		}
	}
	for _, d := range []*fsx.Dir{s.assets, s.meta, s.byHash, s.tmp} {
		walk(d, d.Name()+"/")
	}
	slices.Sort(out)
	return out
}

func wantLayout(t testing.TB, s *Store, want ...string) {
	t.Helper()
	got := layout(t, s)
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("files below the store root:\n got %q\nwant %q", got, want)
	}
}

// stream is a reader of n bytes of deterministic noise, produced as it is
// read, so that tests can put assets larger than they want to hold. The
// content depends only on the seed, not on how it is read.
type stream struct {
	n, off int64
	seed   uint64
	failAt int64 // return errStreamFailed once off reaches it, if > 0
}

var errStreamFailed = errors.New("test stream failed")

func newStream(n int64, seed uint64) *stream { return &stream{n: n, seed: seed} }

// word returns the 8 bytes at offset 8*i (splitmix64 of the position).
func (s *stream) word(i int64) uint64 {
	z := s.seed*0x9e3779b97f4a7c15 + uint64(i)*0xbf58476d1ce4e5b9
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (s *stream) Read(p []byte) (int, error) {
	if s.failAt > 0 && s.off >= s.failAt {
		return 0, errStreamFailed
	}
	if s.off >= s.n {
		return 0, io.EOF
	}
	end := s.n
	if s.failAt > 0 {
		end = min(end, s.failAt)
	}
	p = p[:min(int64(len(p)), end-s.off)]
	i := 0
	for i < len(p) {
		o := s.off + int64(i)
		if o%8 == 0 && i+8 <= len(p) {
			binary.LittleEndian.PutUint64(p[i:], s.word(o/8))
			i += 8
			continue
		}
		p[i] = byte(s.word(o/8) >> (8 * (o % 8)))
		i++
	}
	s.off += int64(len(p))
	return len(p), nil
}

// streamHash returns the hash string of newStream(n, seed)'s content.
func streamHash(n int64, seed uint64) string {
	h := sha256.New()
	io.CopyBuffer(h, newStream(n, seed), make([]byte, 1<<20))
	var sum [32]byte
	h.Sum(sum[:0])
	return assetref.FormatHash(sum)
}

// eval runs JavaScript source as a function body, for tests only.
func eval(src string, args ...any) js.Value {
	return js.Global().Get("Function").New(src).Invoke(args...)
}

func await(t testing.TB, p js.Value) js.Value {
	t.Helper()
	v, err := jsutil.Await(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// patch replaces prototype[method] of a global constructor for the rest of
// the test (undefined removes it).
func patch(t testing.TB, ctor, method string, fn js.Value) {
	t.Helper()
	proto := js.Global().Get(ctor).Get("prototype")
	old := proto.Get(method)
	if fn.IsUndefined() {
		js.Global().Get("Reflect").Call("deleteProperty", proto, method)
	} else {
		proto.Set(method, fn)
	}
	t.Cleanup(func() { proto.Set(method, old) })
}
