// Package webdriver drives the browsers other than Chromium that the
// tests run in: Firefox over WebDriver BiDi (its remote agent, no
// geckodriver needed) and WebKitGTK's MiniBrowser over W3C WebDriver
// (WebKitWebDriver, under xvfb-run). It does what the tests need and no
// more: open windows, navigate, evaluate a script that returns a promise
// of a string, read the console (Firefox), close.
//
// Start returns an error matching ErrNotInstalled when the browser or its
// driver is missing, with a message that says how to install it, so that
// callers can skip.
package webdriver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotInstalled is returned by Start when the browser or its driver is
// not installed.
var ErrNotInstalled = errors.New("browser not installed")

// Browser is a running browser.
type Browser interface {
	// Name is what the browser is, with its version ("Firefox 153.8.0esr").
	Name() string
	// NewWindow opens a blank window (never a background tab: those are
	// throttled).
	NewWindow(ctx context.Context) (Window, error)
	// Close stops the browser and its driver, and removes its profile.
	Close() error
}

// Window is one top-level browsing context.
type Window interface {
	// Navigate loads url and waits for its load event.
	Navigate(ctx context.Context, url string) error
	// Reload reloads the page (its current URL, hash and history state
	// included) and waits for its load event.
	Reload(ctx context.Context) error
	// Eval evaluates expr, a JavaScript expression whose value is a
	// string or a promise of one, and returns the string. An exception
	// is returned as an error.
	Eval(ctx context.Context, expr string) (string, error)
	// Close closes the window.
	Close(ctx context.Context) error
}

// Options configure Start. The zero value works.
type Options struct {
	// Log, when set, gets the browser's console output ("console.log:
	// ..."), where the driver reports it (Firefox).
	Log func(line string)
}

// Kinds are the browsers Start knows.
var Kinds = []string{"firefox", "webkit"}

// Start starts the browser of the given kind ("firefox" or "webkit").
func Start(ctx context.Context, kind string, opts *Options) (Browser, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch kind {
	case "firefox":
		return startFirefox(ctx, o)
	case "webkit":
		return startWebKit(ctx, o)
	}
	return nil, fmt.Errorf("webdriver: unknown browser %q (want one of %v)", kind, Kinds)
}

// lookPath finds the first of names on PATH, or the value of the
// environment variable env when it is set.
func lookPath(env string, names ...string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH", strings.Join(names, " or "))
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// MiniBrowser finds WebKitGTK's MiniBrowser as the WebKit driver does, for
// tests that start it themselves (with its persistent profile, outside
// automation).
func MiniBrowser() (string, error) { return miniBrowser() }

// miniBrowser finds WebKitGTK's MiniBrowser: $BROWSERTEST_MINIBROWSER, or
// where Debian's libwebkit2gtk packages put it.
func miniBrowser() (string, error) {
	if p := os.Getenv("BROWSERTEST_MINIBROWSER"); p != "" {
		return p, nil
	}
	for _, pat := range []string{"/usr/lib/*/webkit2gtk-4.*/MiniBrowser", "/usr/lib/webkit2gtk-4.*/MiniBrowser",
		"/usr/libexec/webkit2gtk-4.*/MiniBrowser", "/usr/lib/*/webkitgtk-6.0/MiniBrowser"} {
		if m, _ := filepath.Glob(pat); len(m) > 0 {
			return m[len(m)-1], nil
		}
	}
	return "", errors.New("no MiniBrowser of WebKitGTK found")
}
