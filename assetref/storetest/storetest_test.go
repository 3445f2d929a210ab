//go:build !js

// The suite is checked by running it, in a child process, against stores
// broken on purpose: each must fail the subtests that guard what it breaks.
// Host only, since it starts processes.

package storetest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/assetref/storetest"
	"github.com/atelierstore/atelier/internal/errs"
)

// hooked is a memstore whose methods can be replaced one by one.
type hooked struct {
	*memstore.Store
	put  func(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error)
	open func(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error)
	stat func(ctx context.Context, ref assetref.Ref) (assetref.Info, error)
	del  func(ctx context.Context, ref assetref.Ref) error
}

func (h *hooked) Put(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
	if h.put != nil {
		return h.put(ctx, r, hint)
	}
	return h.Store.Put(ctx, r, hint)
}

func (h *hooked) Open(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
	if h.open != nil {
		return h.open(ctx, ref)
	}
	return h.Store.Open(ctx, ref)
}

func (h *hooked) Stat(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
	if h.stat != nil {
		return h.stat(ctx, ref)
	}
	return h.Store.Stat(ctx, ref)
}

func (h *hooked) Delete(ctx context.Context, ref assetref.Ref) error {
	if h.del != nil {
		return h.del(ctx, ref)
	}
	return h.Store.Delete(ctx, ref)
}

// withRef changes every ref before the real method sees it.
func withRef(h *hooked, f func(assetref.Ref) assetref.Ref) {
	s := h.Store
	h.open = func(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) { return s.Open(ctx, f(ref)) }
	h.stat = func(ctx context.Context, ref assetref.Ref) (assetref.Info, error) { return s.Stat(ctx, f(ref)) }
	h.del = func(ctx context.Context, ref assetref.Ref) error { return s.Delete(ctx, f(ref)) }
}

type mutant struct {
	breakIt  func(h *hooked)
	fails    []string // subtests that must fail
	unlisted bool     // hide memstore's List, to check what the suite sees without it
}

func keepPartialPut(h *hooked) {
	h.put = func(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
		data, err := io.ReadAll(r)
		if err != nil {
			h.Store.Put(ctx, bytes.NewReader(data), hint)
			return assetref.Ref{}, err
		}
		return h.Store.Put(ctx, bytes.NewReader(data), hint)
	}
}

var mutants = map[string]mutant{
	"keeps-partial-put":          {keepPartialPut, []string{"FailingReader"}, false},
	"keeps-partial-put-unlisted": {keepPartialPut, []string{"FailingReader"}, true},

	"ignores-context": {func(h *hooked) {
		s := h.Store
		h.put = func(_ context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
			return s.Put(context.Background(), r, hint)
		}
		h.stat = func(_ context.Context, ref assetref.Ref) (assetref.Info, error) {
			return s.Stat(context.Background(), ref)
		}
	}, []string{"CancelBeforePut", "CancelDuringPut", "CancelOtherMethods"}, false},

	"wrong-size": {func(h *hooked) {
		h.put = func(ctx context.Context, r io.Reader, hint assetref.Hint) (assetref.Ref, error) {
			ref, err := h.Store.Put(ctx, r, hint)
			ref.Bytes++
			return ref, err
		}
	}, []string{"RoundTrip", "Empty", "Large", "Dedup"}, false},

	"plain-not-found": {func(h *hooked) {
		h.stat = func(ctx context.Context, ref assetref.Ref) (assetref.Info, error) {
			info, err := h.Store.Stat(ctx, ref)
			if errors.Is(err, errs.ErrNotFound) {
				err = errors.New("no such asset")
			}
			return info, err
		}
	}, []string{"RoundTrip", "NotFound", "StaleHash", "Dedup"}, false},

	"accepts-other-kinds": {func(h *hooked) {
		withRef(h, func(r assetref.Ref) assetref.Ref {
			if loc := r.URL + r.Path + r.HandleID + r.BlobKey; loc != "" {
				return assetref.Ref{Kind: assetref.KindEmbedded, ID: loc, Hash: r.Hash}
			}
			return r
		})
	}, []string{"WrongKind"}, false},

	"ignores-stale-hash": {func(h *hooked) {
		withRef(h, func(r assetref.Ref) assetref.Ref { r.Hash = ""; return r })
	}, []string{"StaleHash"}, false},

	"truncates": {func(h *hooked) {
		h.open = func(ctx context.Context, ref assetref.Ref) (io.ReadCloser, error) {
			rc, err := h.Store.Open(ctx, ref)
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(rc, max(ref.Bytes-1, 0)), rc}, nil
		}
	}, []string{"RoundTrip", "Large"}, false},
}

const mutantEnv = "STORETEST_MUTANT"

func TestSuiteCatchesBrokenStores(t *testing.T) {
	t.Parallel()
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.v")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store that is broken on purpose:\n%s", out)
			}
			for _, sub := range m.fails {
				if !bytes.Contains(out, []byte("--- FAIL: TestMutant/"+sub+" ")) {
					t.Errorf("subtest %s did not fail; output:\n%s", sub, tail(out))
				}
			}
		})
	}
}

func tail(out []byte) string {
	lines := strings.Split(string(out), "\n")
	return strings.Join(lines[max(len(lines)-60, 0):], "\n")
}

// TestMutant runs the suite against the mutant named in the environment;
// TestSuiteCatchesBrokenStores starts it.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	m, ok := mutants[name]
	if !ok {
		t.Fatalf("no mutant %q", name)
	}
	storetest.Run(t, func(t *testing.T) assetref.Store {
		h := &hooked{Store: memstore.New()}
		m.breakIt(h)
		if m.unlisted {
			return struct{ assetref.Store }{h}
		}
		return h
	})
}

// TestMemstore runs the suite against the correct store, so that a suite
// which fails everything does not pass TestSuiteCatchesBrokenStores.
func TestMemstore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) assetref.Store { return &hooked{Store: memstore.New()} })
}
