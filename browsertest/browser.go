package browsertest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Options configure Start. A nil *Options, and every zero field, means the
// documented default.
type Options struct {
	// Root is the atelier checkout to build and serve. Default: the first
	// directory, from the working directory up, whose go.mod declares
	// github.com/atelierstore/atelier.
	Root string

	// ExecPath is the Chromium or Chrome binary. Default: $BROWSERTEST_CHROME,
	// else the first of chromium, chromium-browser, google-chrome and
	// google-chrome-stable found on PATH, else the usual macOS locations.
	ExecPath string

	// Timeout bounds each action of the harness: a navigation, an
	// evaluation, a click. Default: 30s.
	Timeout time.Duration

	// Width and Height are the size of every tab's window in CSS pixels.
	// Default: 1280x800. The viewport is what the window's own bars leave
	// (1280x713 for the default in headless Chromium 156).
	Width, Height int
}

// Browser is one headless Chromium, with a server for the checkout, started
// by Start and stopped when the test that started it ends.
//
// The browser has a default profile (Browser.NewTab opens tabs in it) and can
// make more (NewProfile).
type Browser struct {
	url     string          // of the test server
	mux     *http.ServeMux  // of the test server
	root    context.Context // the browser's first tab; lives as long as the browser
	timeout time.Duration
	def     *Profile

	tabs     atomic.Int64
	profiles atomic.Int64

	logbook
}

// Start builds the wasm module (once per test process), serves the checkout
// on a random port of 127.0.0.1 and launches a headless Chromium with a fresh
// user data directory. Everything is stopped and removed in tb's cleanup.
//
// When tb has failed by then, the console output and page errors of every
// tab, and the harness's own actions, are written to the test log in the
// order they happened, each line prefixed with its tab's name.
//
// Start fails the test (it does not skip it) when no Chromium is found, with
// a message saying how to install one, or when the module does not build.
func Start(tb testing.TB, opts *Options) *Browser {
	tb.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1280, 800
	}
	exe, err := findChrome(o.ExecPath)
	if err != nil {
		tb.Fatal(err)
	}
	if o.Root == "" {
		if o.Root, err = findRoot(); err != nil {
			tb.Fatalf("browsertest: %v", err)
		}
	}
	a := build(o.Root)
	if a.err != nil {
		tb.Fatalf("browsertest: %v", a.err)
	}

	b := &Browser{timeout: o.Timeout, logbook: logbook{start: time.Now()}}
	srv, mux := newServer(o.Root, a)
	tb.Cleanup(srv.Close)
	b.url, b.mux = srv.URL, mux
	b.logf("", "wasm module: %d bytes, built once per test process in %v; serving %s on %s",
		len(a.wasm), a.took.Round(time.Millisecond), o.Root, srv.URL)

	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these, Chromium on a machine with no network access
		// spends seconds on update and sync requests.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		// Tabs that are not in front must keep running timers and
		// rendering frames, as the test drives them at the same time.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(o.Width, o.Height),
	)
	root, rootCancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(root, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			tb.Logf("browsertest: closing the browser: %v", err)
		}
		rootCancel()
		allocCancel()
	})
	// Registered after the browser's cleanup, so it runs before it.
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Log(b.dump())
		}
	})
	if err := chromedp.Do(root); err != nil {
		tb.Fatalf("browsertest: starting %s: %v", exe, err)
	}
	b.root = root
	b.def = &Profile{b: b, name: ""}
	b.logf("", "started %s", exe)
	return b
}

// findChrome returns the browser binary to run, or an error that says how to
// install one.
func findChrome(path string) (string, error) {
	if path == "" {
		path = os.Getenv("BROWSERTEST_CHROME")
	}
	if path != "" {
		if p, err := exec.LookPath(path); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("browsertest: browser %q not found", path)
	}
	for _, name := range []string{
		"chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
		"/Applications/Chromium.app/Contents/MacOS/Chromium",
		"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
	} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browsertest: no Chromium or Chrome found on PATH; these tests drive a real browser.\n" +
		"  Debian/Ubuntu: sudo apt-get install chromium\n" +
		"  macOS:         brew install --cask chromium   (or install Google Chrome)\n" +
		"  elsewhere:     set BROWSERTEST_CHROME to the browser's path")
}

// URL returns the absolute URL of path (which starts with "/") on the test
// server, e.g. b.URL(EditorPath).
func (b *Browser) URL(path string) string { return b.url + path }

// Origin returns the origin of the test server, "http://127.0.0.1:PORT", for
// OverrideQuota and for pages that check where they run.
func (b *Browser) Origin() string { return b.url }

// Handle serves h for pattern (as http.ServeMux patterns) on the test server,
// for test pages and endpoints. It fails the test when pattern is already
// registered, e.g. "/" or AppPath.
func (b *Browser) Handle(tb testing.TB, pattern string, h http.Handler) {
	tb.Helper()
	defer func() {
		if r := recover(); r != nil {
			tb.Fatalf("browsertest: Handle(%q): %v", pattern, r)
		}
	}()
	b.mux.Handle(pattern, h)
}

// AddFile serves body at path on the test server, with the Content-Type of
// its extension: a test page, a script, a fixture to fetch.
func (b *Browser) AddFile(tb testing.TB, path string, body []byte) {
	tb.Helper()
	typ := contentType(path)
	if typ == "" {
		typ = "application/octet-stream"
	}
	b.Handle(tb, path, bytesHandler(typ, body))
}

// Context returns the chromedp context of the browser (its first tab, which
// the harness keeps blank), for DevTools commands the harness does not wrap:
// chromedp.CallBrowser(b.Context(), ...).
func (b *Browser) Context() context.Context { return b.root }

// NewTab opens a tab in the default profile; see Profile.NewTab.
func (b *Browser) NewTab(tb testing.TB, name string) *Tab {
	tb.Helper()
	return b.def.NewTab(tb, name)
}

// OverrideQuota sets the storage quota of origin in the default profile; see
// Profile.OverrideQuota.
func (b *Browser) OverrideQuota(tb testing.TB, origin string, bytes int64) {
	tb.Helper()
	b.def.OverrideQuota(tb, origin, bytes)
}

// ClearQuota removes the quota override of origin in the default profile.
func (b *Browser) ClearQuota(tb testing.TB, origin string) {
	tb.Helper()
	b.def.ClearQuota(tb, origin)
}

// Profile is a set of tabs that share storage (IndexedDB, OPFS, cookies,
// BroadcastChannel, Web Locks) like the tabs of one user's browser. Two
// profiles share nothing: a second profile stands for another machine.
type Profile struct {
	b    *Browser
	name string               // "" for the default profile
	id   cdp.BrowserContextID // "" for the default profile

	ctlMu     sync.Mutex
	ctl       context.Context // a blank tab of the profile for Storage commands
	ctlCancel context.CancelFunc
}

// NewProfile creates an isolated profile (a DevTools browser context, like an
// incognito window) that is disposed of, with its tabs and storage, in tb's
// cleanup.
func (b *Browser) NewProfile(tb testing.TB) *Profile {
	tb.Helper()
	ctx, cancel := b.bound(b.root, tb.Context())
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, target.CreateBrowserContext, target.CreateBrowserContextParams{})
	if err != nil {
		tb.Fatalf("browsertest: creating a profile: %v", err)
	}
	p := &Profile{b: b, name: fmt.Sprintf("profile%d", b.profiles.Add(1)), id: res.BrowserContextID}
	b.logf(p.name, "created")
	tb.Cleanup(func() {
		p.ctlMu.Lock()
		if p.ctlCancel != nil {
			p.ctlCancel()
		}
		p.ctlMu.Unlock()
		ctx, cancel := context.WithTimeout(b.root, 10*time.Second)
		defer cancel()
		_, err := chromedp.CallBrowser(ctx, target.DisposeBrowserContext, target.DisposeBrowserContextParams{BrowserContextID: p.id})
		if err != nil && b.root.Err() == nil {
			tb.Logf("browsertest: disposing of %s: %v", p.name, err)
		}
	})
	return p
}

// Name returns the profile's name: "" for the default profile, else
// "profile1", "profile2", ... It prefixes the names of its tabs in the log.
func (p *Profile) Name() string { return p.name }

// OverrideQuota sets the storage quota of origin in this profile to bytes
// (DevTools Storage.overrideQuotaForOrigin), so writes past it fail with
// QuotaExceededError (the library rejects with QuotaExceeded). It lasts until
// ClearQuota or the end of the profile. Measured in Chromium 156:
//
//   - OPFS writes ask the quota manager every time: the next write fails.
//   - IndexedDB caches the space it was last granted and lets it decay
//     over 30 seconds, so an origin that wrote to IndexedDB shortly before
//     the override can keep writing for up to 30 s. Set the override before
//     the origin's first IndexedDB write in the profile (a fresh NewProfile,
//     or a fresh browser); then writes past the quota fail at once, and
//     after ClearQuota a write that needs more than the cached grant works
//     at once.
//   - The schema of an atelier database takes about 72 KiB on disk: with a
//     smaller quota, atelier.open itself fails with QuotaExceeded.
//   - navigator.storage.estimate() keeps reporting the old quota.
func (p *Profile) OverrideQuota(tb testing.TB, origin string, bytes int64) {
	tb.Helper()
	q := float64(bytes)
	p.storageQuota(tb, origin, &q)
}

// ClearQuota gives origin back its normal quota in this profile.
func (p *Profile) ClearQuota(tb testing.TB, origin string) {
	tb.Helper()
	p.storageQuota(tb, origin, nil)
}

func (p *Profile) storageQuota(tb testing.TB, origin string, quota *float64) {
	tb.Helper()
	// Chromium withdraws a session's quota overrides when the session goes
	// away, so they are sent through a tab that lives as long as the
	// profile, not through a tab that the test may close.
	ctl, err := p.control()
	if err != nil {
		tb.Fatalf("browsertest: %v", err)
	}
	ctx, cancel := p.b.bound(ctl, tb.Context())
	defer cancel()
	_, err = chromedp.Call(ctx, storage.OverrideQuotaForOrigin, storage.OverrideQuotaForOriginParams{Origin: origin, QuotaSize: quota})
	if err != nil {
		tb.Fatalf("browsertest: Storage.overrideQuotaForOrigin %s: %v", origin, err)
	}
	if quota == nil {
		p.b.logf(p.name, "quota of %s back to normal", origin)
	} else {
		p.b.logf(p.name, "quota of %s set to %.0f bytes", origin, *quota)
	}
}

// control returns the profile's control tab, opening it the first time.
func (p *Profile) control() (context.Context, error) {
	p.ctlMu.Lock()
	defer p.ctlMu.Unlock()
	if p.ctl != nil {
		return p.ctl, nil
	}
	if p.id == "" {
		p.ctl = p.b.root
		return p.ctl, nil
	}
	ctx, cancel := chromedp.NewContext(p.b.root, chromedp.WithExistingBrowserContext(p.id))
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("opening a control tab in %s: %w", p.name, err)
	}
	p.ctl, p.ctlCancel = ctx, cancel
	return ctx, nil
}

// bound returns a context for one action on the chromedp context cdpCtx (a
// tab, or the browser's first tab): it ends after the browser's timeout, or
// when ctx ends.
func (b *Browser) bound(cdpCtx, ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithTimeout(cdpCtx, b.timeout)
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// logbook is the browser log: the harness's actions, console output and
// page errors of every tab, shown when the test fails.
type logbook struct {
	start time.Time
	logMu sync.Mutex
	log   []string
}

// logf adds a line to the browser log.
func (b *logbook) logf(who, format string, args ...any) {
	line := fmt.Sprintf("%8.3fs %-12s %s", time.Since(b.start).Seconds(), bracket(who), fmt.Sprintf(format, args...))
	b.logMu.Lock()
	b.log = append(b.log, line)
	b.logMu.Unlock()
}

func bracket(who string) string {
	if who == "" {
		return "[browser]"
	}
	return "[" + who + "]"
}

func (b *logbook) dump() string {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	return "browser log (harness actions, console output and page errors of every tab):\n\t" +
		strings.Join(b.log, "\n\t")
}
