package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// runner lets this program use the browsertest harness, whose functions take
// a testing.TB, outside `go test`. It implements testing.TB's methods the
// way a test does: Fatal stops the run (by unwinding to run), Cleanup
// functions run last-in first-out when the run ends, Context ends just
// before them. The embedded interface is nil and only supplies testing.TB's
// unexported method; every exported one is implemented here.
type runner struct {
	testing.TB

	name   string
	out    io.Writer
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	failed   bool
	cleanups []func()
	tempDirs []string
}

// errFatal unwinds a run after Fatal or FailNow.
var errFatal = errors.New("fatal")

func newRunner(name string, out io.Writer) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &runner{name: name, out: out, ctx: ctx, cancel: cancel}
}

// run calls fn, then the cleanups, and reports whether nothing failed.
func (r *runner) run(fn func()) (ok bool) {
	defer func() {
		r.cancel()
		r.mu.Lock()
		cs := r.cleanups
		r.cleanups = nil
		r.mu.Unlock()
		for i := len(cs) - 1; i >= 0; i-- {
			r.safely(cs[i])
		}
		for _, d := range r.tempDirs {
			_ = os.RemoveAll(d)
		}
		ok = !r.Failed()
	}()
	r.safely(fn)
	return
}

func (r *runner) safely(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			if err, isErr := v.(error); isErr && errors.Is(err, errFatal) {
				return
			}
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			r.Errorf("panic: %v\n%s", v, buf)
		}
	}()
	fn()
}

func (r *runner) ArtifactDir() string      { return r.TempDir() }
func (r *runner) Attr(key, value string)   { r.Logf("%s: %s", key, value) }
func (r *runner) Chdir(dir string)         { r.Fatalf("Chdir is not supported here") }
func (r *runner) Context() context.Context { return r.ctx }
func (r *runner) Helper()                  {}
func (r *runner) Name() string             { return r.name }
func (r *runner) Output() io.Writer        { return r.out }
func (r *runner) Skipped() bool            { return false }

func (r *runner) Cleanup(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, fn)
}

func (r *runner) Log(args ...any) { r.print(fmt.Sprintln(args...)) }
func (r *runner) Logf(format string, args ...any) {
	r.print(fmt.Sprintf(format, args...))
}

func (r *runner) print(s string) {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	fmt.Fprint(r.out, s)
}

func (r *runner) Fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
}

func (r *runner) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *runner) FailNow()                          { r.Fail(); panic(errFatal) }
func (r *runner) Error(args ...any)                 { r.Log(args...); r.Fail() }
func (r *runner) Errorf(format string, args ...any) { r.Logf(format, args...); r.Fail() }
func (r *runner) Fatal(args ...any)                 { r.Log(args...); r.FailNow() }
func (r *runner) Fatalf(format string, args ...any) { r.Logf(format, args...); r.FailNow() }

// A benchmark run cannot be skipped: it fails instead.
func (r *runner) Skip(args ...any)                 { r.Fatal(args...) }
func (r *runner) SkipNow()                         { r.FailNow() }
func (r *runner) Skipf(format string, args ...any) { r.Fatalf(format, args...) }

func (r *runner) Setenv(key, value string) {
	old, had := os.LookupEnv(key)
	if err := os.Setenv(key, value); err != nil {
		r.Fatal(err)
	}
	r.Cleanup(func() {
		if had {
			_ = os.Setenv(key, old)
		} else {
			_ = os.Unsetenv(key)
		}
	})
}

func (r *runner) TempDir() string {
	d, err := os.MkdirTemp("", "atelier-bench")
	if err != nil {
		r.Fatal(err)
	}
	r.mu.Lock()
	r.tempDirs = append(r.tempDirs, d)
	r.mu.Unlock()
	return d
}
