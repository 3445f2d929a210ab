package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
			done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", dir, "-tokens", tokens, "-token", "dev-token=dev"},
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
		"no tokens":        {"-data", dir},
		"bad token flag":   {"-data", dir, "-token", "nows"},
		"bad workspace":    {"-data", dir, "-token", "t=no/slash"},
		"missing tokens":   {"-data", dir, "-tokens", filepath.Join(dir, "none.json")},
		"short secret":     {"-data", dir, "-token", "t=w", "-secret", bad},
		"stray argument":   {"-data", dir, "-token", "t=w", "extra"},
		"bad base URL":     {"-data", dir, "-token", "t=w", "-base-url", "ftp://x", "-addr", "127.0.0.1:0"},
		"address in use?":  {"-data", dir, "-token", "t=w", "-addr", "256.0.0.1:1"},
		"unknown flag":     {"-nope"},
		"bad postgres DSN": {"-data", dir, "-token", "t=w", "-postgres", "postgres://x@127.0.0.1:1/db?connect_timeout=1"},
	} {
		if err := run(context.Background(), args, slog.New(slog.DiscardHandler), nil); err == nil {
			t.Errorf("%s: run succeeded", name)
		}
	}
}
