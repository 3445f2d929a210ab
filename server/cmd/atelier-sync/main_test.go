package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/syncproto"
)

// TestRun starts the command on a free port, checks that it serves and
// keeps its secret across restarts, and stops it as SIGTERM would.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	os.WriteFile(tokens, []byte(`{"file-token": "team"}`), 0o600)
	start := func() (string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		addr := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", dir, "-tokens", tokens, "-token", "dev-token=dev", "-gc-every", "1h"},
				slog.New(slog.DiscardHandler), func(a string) { addr <- a })
		}()
		var a string
		select {
		case a = <-addr:
		case err := <-done:
			t.Fatalf("run: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("the server did not start")
		}
		return "http://" + a, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run after shutdown: %v", err)
			}
		}
	}
	get := func(url, token string) int {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	base, stop := start()
	if code := get(base+"/healthz", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if code := get(base+"/v1/workspaces/dev/pull", "dev-token"); code != 200 {
		t.Fatalf("pull with the -token token: %d", code)
	}
	if code := get(base+"/v1/workspaces/team/pull", "file-token"); code != 200 {
		t.Fatalf("pull with the file's token: %d", code)
	}
	stop()
	secret, err := os.ReadFile(filepath.Join(dir, "secret"))
	if err != nil || len(strings.TrimSpace(string(secret))) != 64 {
		t.Fatalf("secret: %q, %v", secret, err)
	}
	_, stop = start()
	stop()
	if again, _ := os.ReadFile(filepath.Join(dir, "secret")); string(again) != string(secret) {
		t.Fatal("the secret changed on restart")
	}
	for _, db := range []string{"sync.db", "blobs"} {
		if _, err := os.Stat(filepath.Join(dir, db)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunRefusesBadSetups(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad-secret")
	os.WriteFile(bad, []byte("abc"), 0o600)
	for name, args := range map[string][]string{
		"no tokens":         {"-data", dir},
		"bad token flag":    {"-data", dir, "-token", "nows"},
		"bad workspace":     {"-data", dir, "-token", "t=no/slash"},
		"missing tokens":    {"-data", dir, "-tokens", filepath.Join(dir, "none.json")},
		"short secret":      {"-data", dir, "-token", "t=w", "-secret", bad},
		"stray argument":    {"-data", dir, "-token", "t=w", "extra"},
		"bad base URL":      {"-data", dir, "-token", "t=w", "-base-url", "ftp://x", "-addr", "127.0.0.1:0"},
		"address in use?":   {"-data", dir, "-token", "t=w", "-addr", "256.0.0.1:1"},
		"unknown flag":      {"-nope"},
		"bad postgres DSN":  {"-data", dir, "-token", "t=w", "-postgres", "postgres://x@127.0.0.1:1/db?connect_timeout=1"},
		"negative gc-every": {"-data", dir, "-token", "t=w", "-gc-every", "-1h"},
		"zero gc grace":     {"-data", dir, "-token", "t=w", "-gc-grace", "0"},
		"gc: zero grace":    {"gc", "-data", dir, "-gc-grace", "0"},
		"gc: no data":       {"gc", "-data", filepath.Join(dir, "none")},
		"gc: stray arg":     {"gc", "-data", dir, "extra"},
	} {
		if err := run(context.Background(), args, slog.New(slog.DiscardHandler), nil); err == nil {
			t.Errorf("%s: run succeeded", name)
		}
	}
}

// TestShutdownWithSlowClients stops the server while clients dribble
// request bodies and headers: run returns nil promptly, long before the
// shutdown timeout or any stall timeout.
func TestShutdownWithSlowClients(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-token", "dev-token=dev",
			"-stall-timeout", "1m", "-shutdown-timeout", "30s"},
			slog.New(slog.DiscardHandler), func(a string) { addr <- a })
	}()
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	for i := range 9 {
		c, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		switch i % 3 {
		case 0: // a body, slowly
			io.WriteString(c, "POST /v1/workspaces/dev/push HTTP/1.1\r\nHost: x\r\nAtelier-Sync: 2\r\nAuthorization: Bearer dev-token\r\nContent-Length: 1000\r\n\r\n{")
		case 1: // a header, slowly
			io.WriteString(c, "POST /v1/workspaces/dev/push HTTP/1.1\r\nHost: x\r\n")
		case 2: // a blob upload, slowly (the URL is not valid: 403 at once)
			io.WriteString(c, "PUT /v1/blobs/dev/00?expires=1&signature=x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
		}
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := c.Write([]byte{' '}); err != nil {
					return
				}
			}
		}()
	}
	resp, err := http.Get("http://" + a + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz with slow clients: %v %v", resp, err)
	}
	resp.Body.Close()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown waits for slow clients")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("shutdown took %v with slow clients open", took)
	}
}
