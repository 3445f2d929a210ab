package webdriver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// firefoxPrefs go in the fresh profile's user.js. The remote agent sets
// the usual automation preferences itself; these are the ones it does not:
// navigator.storage.persist() waits for a permission prompt forever
// otherwise (it is answered "no", as a user who ignores it would).
var firefoxPrefs = map[string]any{
	"dom.storageManager.prompt.testing":          true,
	"dom.storageManager.prompt.testing.allow":    false,
	"browser.shell.checkDefaultBrowser":          false,
	"datareporting.policy.dataSubmissionEnabled": false,
	"toolkit.telemetry.reportingpolicy.firstRun": false,
	"browser.startup.homepage_override.mstone":   "ignore",
	"browser.sessionstore.resume_from_crash":     false,
}

type firefox struct {
	name    string
	cmd     *exec.Cmd
	profile string
	conn    net.Conn
	log     func(string)

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan bidiReply
	readErr error
	done    chan struct{} // closed when the reader stops
}

type bidiReply struct {
	Type    string          `json:"type"` // "success", "error", "event"
	ID      int             `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

func startFirefox(ctx context.Context, o Options) (Browser, error) {
	exe, err := lookPath("BROWSERTEST_FIREFOX", "firefox-esr", "firefox")
	if err != nil {
		return nil, fmt.Errorf("%w: Firefox: %v (Debian/Ubuntu: sudo apt-get install firefox-esr)", ErrNotInstalled, err)
	}
	profile, err := os.MkdirTemp("", "atelier-firefox-")
	if err != nil {
		return nil, err
	}
	var prefs strings.Builder
	for k, v := range firefoxPrefs {
		b, _ := json.Marshal(v)
		fmt.Fprintf(&prefs, "user_pref(%q, %s);\n", k, b)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs.String()), 0o644); err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	f := &firefox{profile: profile, log: o.Log, waiting: map[int]chan bidiReply{}, done: make(chan struct{})}
	f.cmd = exec.Command(exe, "--headless", "--no-remote", "--profile", profile, "--remote-debugging-port=0", "about:blank")
	f.cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1")
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := f.cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	if err := f.cmd.Start(); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("webdriver: starting %s: %w", exe, err)
	}
	urlCh := make(chan string, 1)
	var tail []string
	var tailMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if m := bidiListening.FindStringSubmatch(line); m != nil && !sent {
				urlCh <- m[1]
				sent = true
			}
			tailMu.Lock()
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
			tailMu.Unlock()
		}
	}()
	var wsURL string
	select {
	case wsURL = <-urlCh:
	case <-ctx.Done():
		f.Close()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		f.Close()
		tailMu.Lock()
		defer tailMu.Unlock()
		return nil, fmt.Errorf("webdriver: %s did not start its remote agent within 60s:\n%s", exe, strings.Join(tail, "\n"))
	}
	conn, _, _, err := ws.Dial(ctx, wsURL+"/session")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("webdriver: connecting to Firefox at %s: %w", wsURL, err)
	}
	f.conn = conn
	go f.read()
	var sess struct {
		Capabilities struct {
			BrowserName    string `json:"browserName"`
			BrowserVersion string `json:"browserVersion"`
		} `json:"capabilities"`
	}
	if err := f.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, &sess); err != nil {
		f.Close()
		return nil, err
	}
	f.name = "Firefox " + sess.Capabilities.BrowserVersion
	if f.log != nil {
		if err := f.call(ctx, "session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}, nil); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func (f *firefox) Name() string { return f.name }

// read dispatches replies to their callers and log events to f.log.
func (f *firefox) read() {
	defer close(f.done)
	for {
		data, err := wsutil.ReadServerText(f.conn)
		if err != nil {
			f.mu.Lock()
			f.readErr = err
			for id, ch := range f.waiting {
				close(ch)
				delete(f.waiting, id)
			}
			f.mu.Unlock()
			return
		}
		var r bidiReply
		if json.Unmarshal(data, &r) != nil {
			continue
		}
		if r.Type == "event" {
			if r.Method == "log.entryAdded" && f.log != nil {
				var e struct {
					Level  string `json:"level"`
					Text   string `json:"text"`
					Method string `json:"method"`
				}
				if json.Unmarshal(r.Params, &e) == nil {
					what := e.Method
					if what == "" {
						what = e.Level
					}
					f.log("console." + what + ": " + e.Text)
				}
			}
			continue
		}
		f.mu.Lock()
		ch := f.waiting[r.ID]
		delete(f.waiting, r.ID)
		f.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// call sends a command and decodes its result into out (when not nil).
func (f *firefox) call(ctx context.Context, method string, params any, out any) error {
	f.mu.Lock()
	if f.readErr != nil {
		err := f.readErr
		f.mu.Unlock()
		return fmt.Errorf("webdriver: Firefox connection: %w", err)
	}
	f.nextID++
	id := f.nextID
	ch := make(chan bidiReply, 1)
	f.waiting[id] = ch
	f.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	f.writeMu.Lock()
	err = wsutil.WriteClientText(f.conn, msg)
	f.writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("webdriver: %s: %w", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("webdriver: %s: the connection to Firefox closed", method)
		}
		if r.Type == "error" {
			return fmt.Errorf("webdriver: %s: %s: %s", method, r.Error, r.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		delete(f.waiting, id)
		f.mu.Unlock()
		return fmt.Errorf("webdriver: %s: %w", method, ctx.Err())
	}
}

func (f *firefox) NewWindow(ctx context.Context) (Window, error) {
	var r struct {
		Context string `json:"context"`
	}
	if err := f.call(ctx, "browsingContext.create", map[string]any{"type": "window"}, &r); err != nil {
		return nil, err
	}
	return &firefoxWindow{f: f, id: r.Context}, nil
}

func (f *firefox) Close() error {
	if f.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = f.call(ctx, "browser.close", map[string]any{}, nil)
		cancel()
		f.conn.Close()
	}
	if f.cmd.Process != nil {
		exited := make(chan struct{})
		go func() { _ = f.cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL) // the process group Start made
			<-exited
		}
	}
	return os.RemoveAll(f.profile)
}

type firefoxWindow struct {
	f  *firefox
	id string
}

func (w *firefoxWindow) Navigate(ctx context.Context, url string) error {
	return w.f.call(ctx, "browsingContext.navigate", map[string]any{"context": w.id, "url": url, "wait": "complete"}, nil)
}

func (w *firefoxWindow) Reload(ctx context.Context) error {
	return w.f.call(ctx, "browsingContext.reload", map[string]any{"context": w.id, "wait": "complete"}, nil)
}

func (w *firefoxWindow) Eval(ctx context.Context, expr string) (string, error) {
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := w.f.call(ctx, "script.evaluate", map[string]any{
		"expression": expr, "target": map[string]any{"context": w.id},
		"awaitPromise": true, "resultOwnership": "none",
	}, &r)
	if err != nil {
		return "", err
	}
	if r.Type == "exception" {
		return "", fmt.Errorf("webdriver: script threw: %s", r.ExceptionDetails.Text)
	}
	var s string
	if r.Result.Type != "string" || json.Unmarshal(r.Result.Value, &s) != nil {
		return "", fmt.Errorf("webdriver: script returned a %s, not a string", r.Result.Type)
	}
	return s, nil
}

func (w *firefoxWindow) Close(ctx context.Context) error {
	err := w.f.call(ctx, "browsingContext.close", map[string]any{"context": w.id}, nil)
	if err != nil && strings.Contains(err.Error(), "no such frame") {
		return nil
	}
	return err
}
