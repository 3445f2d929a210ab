package browsertest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
	"github.com/atelierstore/atelier/browsertest/webdriver"
)

// persistResult is what testdata/persist/persist.mjs posts.
type persistResult struct {
	Phase    string `json:"phase"`
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Backend  string `json:"backend"`
	Workflow string `json:"workflow"`
	Kind     string `json:"kind"`
	Hash     string `json:"hash"` // the ref's, "sha256-" and base64

	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// TestWebKitKeepsDataAcrossRestart stores a workflow and a 5 MiB asset in
// WebKitGTK's MiniBrowser with a persistent profile (a home directory of
// its own; WebDriver's automation session is ephemeral, so the browser is
// started without it), stops the browser, starts it again on the same
// profile and checks the workflow, the node and every byte of the asset.
// This is where WebKit lost asset bytes silently: a write it refuses must
// fail, and one it accepts must still be there after a restart.
func TestWebKitKeepsDataAcrossRestart(t *testing.T) {
	xvfb, err := exec.LookPath("xvfb-run")
	if err != nil {
		t.Skip("skipping WebKit: xvfb-run not found (Debian/Ubuntu: sudo apt-get install xvfb)")
	}
	mini, err := webdriver.MiniBrowser()
	if err != nil {
		t.Skipf("skipping WebKit: %v (Debian/Ubuntu: sudo apt-get install webkit2gtk-driver)", err)
	}
	srv := browsertest.Serve(t, nil)
	results := make(chan persistResult, 1)
	srv.Handle(t, "/browsertest/testdata/persist/result", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res persistResult
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &res); err != nil {
			res = persistResult{Error: "undecodable result: " + string(body)}
		}
		select {
		case results <- res:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	home := t.TempDir()
	run := func(phase string) persistResult {
		t.Helper()
		cmd := exec.Command(xvfb, "-a", mini, srv.URL("/browsertest/testdata/persist/?phase="+phase))
		cmd.Env = append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"),
			"XDG_CACHE_HOME="+filepath.Join(home, "cache"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting MiniBrowser: %v", err)
		}
		stopped := make(chan struct{})
		go func() { _ = cmd.Wait(); close(stopped) }()
		stop := func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-stopped
			}
		}
		defer stop()
		select {
		case res := <-results:
			t.Logf("%s: %+v", phase, res)
			return res
		case <-stopped:
			t.Fatalf("MiniBrowser ended before the %s phase posted its result:\n%s", phase, out.String())
		case <-time.After(2 * time.Minute):
			t.Fatalf("the %s phase posted no result in 2 minutes; MiniBrowser said:\n%s", phase, out.String())
		}
		return persistResult{}
	}

	w := run("write")
	if !w.OK {
		t.Fatalf("write phase: %s", w.Error)
	}
	r := run("read")
	if !r.OK {
		t.Fatalf("read phase, after the restart: %s", r.Error)
	}
	if w.Hash == "" || r.Workflow != w.Workflow || r.Hash != w.Hash || r.Digest != w.Hash || r.Size != w.Size || r.Kind != w.Kind {
		t.Errorf("after the restart: %+v; before: %+v", r, w)
	}
	t.Logf("WebKit with a persistent profile: the asset went to %s (backend %s) and survived the restart", w.Kind, w.Backend)
}
