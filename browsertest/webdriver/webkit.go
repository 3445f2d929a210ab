package webdriver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// webkit is MiniBrowser driven by WebKitWebDriver under xvfb-run: W3C
// WebDriver over HTTP, one command at a time, the current window switched
// as each call needs. The automation session is ephemeral: nothing
// persists after Close, and IndexedDB refuses Blob values in it.
type webkit struct {
	name    string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:PORT/session/ID
	current string // the window commands go to

	mu sync.Mutex // one command at a time: the current window is shared
}

func startWebKit(ctx context.Context, _ Options) (Browser, error) {
	driver, err := lookPath("BROWSERTEST_WEBKITDRIVER", "WebKitWebDriver")
	if err != nil {
		return nil, fmt.Errorf("%w: WebKitGTK: %v (Debian/Ubuntu: sudo apt-get install webkit2gtk-driver xvfb)", ErrNotInstalled, err)
	}
	xvfb, err := exec.LookPath("xvfb-run")
	if err != nil {
		return nil, fmt.Errorf("%w: WebKitGTK needs a display: xvfb-run not found (Debian/Ubuntu: sudo apt-get install xvfb)", ErrNotInstalled)
	}
	mini, err := miniBrowser()
	if err != nil {
		return nil, fmt.Errorf("%w: WebKitGTK: %v (Debian/Ubuntu: sudo apt-get install webkit2gtk-driver)", ErrNotInstalled, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	w := &webkit{}
	w.cmd = exec.Command(xvfb, "-a", driver, "--port="+strconv.Itoa(port))
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	w.cmd.Stdout, w.cmd.Stderr = &out, &out
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("webdriver: starting %s: %w", driver, err)
	}
	root := "http://127.0.0.1:" + strconv.Itoa(port)
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"webkitgtk:browserOptions": map[string]any{"binary": mini, "args": []string{"--automation"}},
	}}}
	var sess struct {
		SessionID    string `json:"sessionId"`
		Capabilities struct {
			BrowserName    string `json:"browserName"`
			BrowserVersion string `json:"browserVersion"`
		} `json:"capabilities"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err = do(ctx, http.MethodPost, root+"/session", caps, &sess)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond) // the driver is still starting
	}
	if err != nil {
		w.kill()
		return nil, fmt.Errorf("webdriver: no WebKit session: %w\n%s", err, out.String())
	}
	w.base = root + "/session/" + sess.SessionID
	w.name = "WebKitGTK " + sess.Capabilities.BrowserVersion
	if err := do(ctx, http.MethodPost, w.base+"/timeouts", map[string]any{"script": 30 * 60 * 1000, "pageLoad": 120 * 1000}, nil); err != nil {
		w.Close()
		return nil, err
	}
	if err := do(ctx, http.MethodGet, w.base+"/window", nil, &w.current); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *webkit) Name() string { return w.name }

// do sends one WebDriver command and decodes its value into out.
func do(ctx context.Context, method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("webdriver: %s %s: %s: %w", method, url, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(r.Value, &e)
		return fmt.Errorf("webdriver: %s %s: %s: %s", method, strings.TrimPrefix(url, "http://"), e.Error, e.Message)
	}
	if out != nil {
		return json.Unmarshal(r.Value, out)
	}
	return nil
}

// use makes handle the current window; w.mu is held.
func (w *webkit) use(ctx context.Context, handle string) error {
	if w.current == handle {
		return nil
	}
	if err := do(ctx, http.MethodPost, w.base+"/window", map[string]any{"handle": handle}, nil); err != nil {
		return err
	}
	w.current = handle
	return nil
}

func (w *webkit) NewWindow(ctx context.Context) (Window, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var r struct {
		Handle string `json:"handle"`
	}
	// A "tab" would be hidden behind the others, and throttled.
	if err := do(ctx, http.MethodPost, w.base+"/window/new", map[string]any{"type": "window"}, &r); err != nil {
		return nil, err
	}
	return &webkitWindow{w: w, handle: r.Handle}, nil
}

func (w *webkit) Close() error {
	if w.base != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = do(ctx, http.MethodDelete, w.base, nil, nil)
		cancel()
	}
	w.kill()
	return nil
}

// kill stops xvfb-run, the driver and what they started: the process
// group Start made.
func (w *webkit) kill() {
	if w.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { _ = w.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

type webkitWindow struct {
	w      *webkit
	handle string
}

func (ww *webkitWindow) Navigate(ctx context.Context, url string) error {
	ww.w.mu.Lock()
	defer ww.w.mu.Unlock()
	if err := ww.w.use(ctx, ww.handle); err != nil {
		return err
	}
	return do(ctx, http.MethodPost, ww.w.base+"/url", map[string]any{"url": url}, nil)
}

func (ww *webkitWindow) Reload(ctx context.Context) error {
	ww.w.mu.Lock()
	defer ww.w.mu.Unlock()
	if err := ww.w.use(ctx, ww.handle); err != nil {
		return err
	}
	return do(ctx, http.MethodPost, ww.w.base+"/refresh", map[string]any{}, nil)
}

// Eval runs expr as an asynchronous script. The driver holds the window
// while it runs, so long evaluations of two windows do not overlap.
func (ww *webkitWindow) Eval(ctx context.Context, expr string) (string, error) {
	ww.w.mu.Lock()
	defer ww.w.mu.Unlock()
	if err := ww.w.use(ctx, ww.handle); err != nil {
		return "", err
	}
	script := `const done = arguments[arguments.length - 1];
Promise.resolve().then(() => (` + expr + `)).then(
	(v) => done({ ok: true, v: v }),
	(e) => done({ ok: false, v: String(e) + (e && e.stack ? "\n" + e.stack : "") }));`
	var r struct {
		OK bool            `json:"ok"`
		V  json.RawMessage `json:"v"`
	}
	if err := do(ctx, http.MethodPost, ww.w.base+"/execute/async", map[string]any{"script": script, "args": []any{}}, &r); err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(r.V, &s); err != nil {
		return "", fmt.Errorf("webdriver: script returned %s, not a string", r.V)
	}
	if !r.OK {
		return "", fmt.Errorf("webdriver: script threw: %s", s)
	}
	return s, nil
}

func (ww *webkitWindow) Close(ctx context.Context) error {
	ww.w.mu.Lock()
	defer ww.w.mu.Unlock()
	if err := ww.w.use(ctx, ww.handle); err != nil {
		return err
	}
	var left []string
	err := do(ctx, http.MethodDelete, ww.w.base+"/window", nil, &left)
	if err == nil && len(left) > 0 {
		err = ww.w.use(ctx, left[0]) // the driver needs a current window
	}
	return err
}
