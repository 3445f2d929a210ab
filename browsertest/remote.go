package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest/webdriver"
)

// Browsers other than Chromium: Firefox (WebDriver BiDi) and WebKitGTK
// (WebDriver), through package webdriver. They get the same server as
// Start's Chromium and pages that Eval and WaitFor work on; what needs the
// DevTools protocol (quotas, crashes, real mouse events, downloads) is
// Chromium's alone.

// Remote is a running Firefox or WebKitGTK with a server for the checkout,
// started by StartRemote and stopped when the test that started it ends.
type Remote struct {
	kind    string
	drv     webdriver.Browser
	url     string
	mux     *http.ServeMux
	timeout time.Duration
	pages   atomic.Int64
	logbook
}

// RemoteKinds are the browsers StartRemote knows: "firefox", "webkit".
var RemoteKinds = webdriver.Kinds

// StartRemote builds the wasm module (once per test process), serves the
// checkout as Start does and starts the browser of the given kind with a
// fresh profile. It skips the test, saying how to install it, when the
// browser or its driver is missing. Only opts.Root and opts.Timeout are
// used.
func StartRemote(tb testing.TB, kind string, opts *Options) *Remote {
	tb.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	var err error
	if o.Root == "" {
		if o.Root, err = findRoot(); err != nil {
			tb.Fatalf("browsertest: %v", err)
		}
	}
	r := &Remote{kind: kind, timeout: o.Timeout, logbook: logbook{start: time.Now()}}
	ctx, cancel := context.WithTimeout(tb.Context(), 2*time.Minute)
	defer cancel()
	drv, err := webdriver.Start(ctx, kind, &webdriver.Options{Log: func(line string) { r.logf(kind, "%s", line) }})
	if errors.Is(err, webdriver.ErrNotInstalled) {
		tb.Skipf("browsertest: skipping %s: %v", kind, err)
	}
	if err != nil {
		tb.Fatalf("browsertest: starting %s: %v", kind, err)
	}
	r.drv = drv
	tb.Cleanup(func() {
		if err := drv.Close(); err != nil {
			tb.Logf("browsertest: closing %s: %v", kind, err)
		}
	})
	a := build(o.Root)
	if a.err != nil {
		tb.Fatalf("browsertest: %v", a.err)
	}
	srv, mux := newServer(o.Root, a)
	tb.Cleanup(srv.Close)
	r.url, r.mux = srv.URL, mux
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Log(r.dump())
		}
	})
	r.logf("", "started %s; serving %s on %s", drv.Name(), o.Root, srv.URL)
	return r
}

// Name is the browser and its version, e.g. "Firefox 153.8.0".
func (r *Remote) Name() string { return r.drv.Name() }

// Kind is what StartRemote was given: "firefox" or "webkit".
func (r *Remote) Kind() string { return r.kind }

// URL returns the absolute URL of path on the test server.
func (r *Remote) URL(path string) string { return r.url + path }

// Handle serves h for pattern on the test server for the rest of the test.
func (r *Remote) Handle(tb testing.TB, pattern string, h http.Handler) {
	tb.Helper()
	r.mux.Handle(pattern, h)
}

// NewPage opens a blank window, closed in tb's cleanup. name prefixes its
// lines in the log and its errors; "" gives "page1", "page2", ...
func (r *Remote) NewPage(tb testing.TB, name string) *Page {
	tb.Helper()
	n := r.pages.Add(1)
	if name == "" {
		name = fmt.Sprintf("page%d", n)
	}
	ctx, cancel := context.WithTimeout(tb.Context(), r.timeout)
	defer cancel()
	w, err := r.drv.NewWindow(ctx)
	if err != nil {
		tb.Fatalf("browsertest: opening a window in %s: %v", r.Name(), err)
	}
	p := &Page{r: r, name: name, w: w}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
		_ = w.Close(ctx)
	})
	r.logf(name, "opened")
	return p
}

// Page is one window of a Remote browser. Its methods that take a
// testing.TB fail the test on error.
type Page struct {
	r    *Remote
	name string
	w    webdriver.Window
}

// Name returns the page's name as the log shows it.
func (p *Page) Name() string { return p.name }

// Navigate loads path (relative to the test server, or an absolute URL),
// waits for its load event and, when the page defines
// globalThis.browsertestReady, for that promise.
func (p *Page) Navigate(tb testing.TB, path string) {
	tb.Helper()
	u := path
	if pu, err := url.Parse(path); err == nil && !pu.IsAbs() {
		u = p.r.URL(path)
	}
	p.r.logf(p.name, "> navigate %s", path)
	ctx, cancel := context.WithTimeout(tb.Context(), 2*p.r.timeout)
	defer cancel()
	if err := p.w.Navigate(ctx, u); err != nil {
		tb.Fatalf("%s: navigate %s: %v", p.name, path, err)
	}
	if _, err := TryEval[any](tb.Context(), p, `globalThis.browsertestReady`); err != nil {
		tb.Fatalf("%s: the page did not get ready: %v", p.name, err)
	}
}

// Open loads AppPath with the database dbName opened, as Tab.Open does.
func (p *Page) Open(tb testing.TB, dbName string) {
	tb.Helper()
	p.Navigate(tb, AppPath+"?db="+url.QueryEscape(dbName))
}

// Reload reloads the page as the user would and waits as Navigate does.
func (p *Page) Reload(tb testing.TB) {
	tb.Helper()
	p.r.logf(p.name, "> reload")
	ctx, cancel := context.WithTimeout(tb.Context(), 2*p.r.timeout)
	defer cancel()
	if err := p.w.Reload(ctx); err != nil {
		tb.Fatalf("%s: reload: %v", p.name, err)
	}
	if _, err := TryEval[any](tb.Context(), p, `globalThis.browsertestReady`); err != nil {
		tb.Fatalf("%s: the page did not get ready: %v", p.name, err)
	}
}

// WaitFor polls cond as Tab.WaitFor does.
func (p *Page) WaitFor(tb testing.TB, cond string, timeout time.Duration, args ...any) {
	tb.Helper()
	waitFor(tb, p, cond, timeout, args...)
}

func (p *Page) evaluate(ctx context.Context, js string, args []any) (json.RawMessage, error) {
	argv, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the arguments: %w", p.name, err)
	}
	if args == nil {
		argv = []byte("[]")
	}
	cctx, cancel := context.WithTimeout(ctx, p.r.timeout)
	defer cancel()
	s, err := p.w.Eval(cctx, fmt.Sprintf(evalWrapper, js, argv))
	if err != nil {
		return nil, fmt.Errorf("%s: evaluating %s: %w", p.name, abbrev(js), err)
	}
	return unwrap(p.name, js, s)
}
