package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/syncproto"
	"github.com/jackc/pgx/v5"
)

// TestTwoProcesses runs two atelier-sync processes on one PostgreSQL
// schema, with one secret file and one data directory (for the blobs), as
// a deployment behind a load balancer would, and with no watch poll to
// fall back on: a push to either is pulled from the other and wakes the
// watches held there, and a blob uploaded through one is served by the
// other, through URLs either signed.
func TestTwoProcesses(t *testing.T) {
	dsn := testSchema(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "atelier-sync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	secret := make([]byte, 32)
	rand.Read(secret)
	os.MkdirAll(data, 0o700)
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte(hex.EncodeToString(secret)+"\n"), 0o600)
	args := []string{"-addr", "127.0.0.1:0", "-data", data, "-secret", secretFile, "-postgres", dsn,
		"-token", "tok=team", "-watch-poll", "1h"}
	one, two := startProcess(t, bin, args), startProcess(t, bin, args)

	wf := graph.NewID()
	cursor := int64(0)
	for round := range 6 {
		from, to := one, two
		if round%2 == 1 {
			from, to = two, one
		}
		watch := make(chan int64, 1)
		go func() {
			var w syncproto.WatchResponse
			if err := call(to, "GET", syncproto.RouteWatch+"?wait=30000&after="+strconv.FormatInt(cursor, 10), nil, &w); err != nil {
				t.Error(err)
			}
			watch <- w.Seq
		}()
		time.Sleep(100 * time.Millisecond) // held
		pushed := time.Now()
		ops := []syncproto.Op{nodeOp(wf, round)}
		if round == 0 {
			ops = append([]syncproto.Op{workflowOp(wf)}, ops...)
		}
		var pr syncproto.PushResponse
		if err := call(from, "POST", syncproto.RoutePush, syncproto.PushRequest{Ops: ops}, &pr); err != nil {
			t.Fatal(err)
		}
		select {
		case seq := <-watch:
			if seq <= cursor {
				t.Fatalf("round %d: the watch on the other process answered %d, want above %d", round, seq, cursor)
			}
			t.Logf("round %d: the other process's watch answered %v after the push", round, time.Since(pushed).Round(time.Millisecond))
		case <-time.After(3 * time.Second):
			t.Fatalf("round %d: a push to one process did not wake the watch held on the other", round)
		}
		var page syncproto.PullResponse
		if err := call(to, "GET", syncproto.RoutePull+"?limit=1000&cursor="+strconv.FormatInt(cursor, 10), nil, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) != len(ops) || page.Changes[len(ops)-1].OpID != ops[len(ops)-1].ID {
			t.Fatalf("round %d: the other process serves %+v after the push", round, page.Changes)
		}
		cursor = page.Cursor
	}

	// A blob: the upload URL one process signs works at the other, which
	// stores the bytes where the first one serves them from.
	content := bytes.Repeat([]byte("shared blob "), 1000)
	hash := assetref.HashBytes(content)
	var up, down syncproto.BlobURLResponse
	if err := call(one, "POST", syncproto.RouteBlobUpload, syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content)), MIME: "text/plain"}, &up); err != nil {
		t.Fatal(err)
	}
	if code, _ := fetch(t, "PUT", at(t, up.URL, two), content); code != http.StatusNoContent {
		t.Fatalf("upload at the other process: %d", code)
	}
	if err := call(two, "POST", syncproto.RouteBlobDownload, syncproto.BlobURLRequest{Hash: hash}, &down); err != nil {
		t.Fatal(err)
	}
	if code, body := fetch(t, "GET", at(t, down.URL, one), nil); code != http.StatusOK || !bytes.Equal(body, content) {
		t.Fatalf("download at the first process: %d, %d bytes", code, len(body))
	}
}

// startProcess starts bin with args, which must listen on port 0, and
// returns its base URL once it listens. It is stopped with SIGINT when
// the test ends.
func startProcess(t *testing.T, bin string, args []string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log strings.Builder
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			log.WriteString(line + "\n")
			mu.Unlock()
			if _, rest, ok := strings.Cut(line, " msg=listening url="); ok {
				u, _, _ := strings.Cut(rest, " ")
				base <- u
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("atelier-sync exited with %v", err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Error("atelier-sync did not stop on SIGINT")
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("atelier-sync %s:\n%s", strings.Join(args, " "), log.String())
			mu.Unlock()
		}
	})
	select {
	case u := <-base:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("atelier-sync did not start")
		return ""
	}
}

// call sends a request of the team workspace to the process at base and
// decodes its JSON answer into out; an answer other than 200 is an error.
func call(base, method, route string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+strings.Replace(route, "{ws}", "team", 1), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &httpError{method: method, route: route, status: resp.StatusCode, body: string(b)}
	}
	return json.Unmarshal(b, out)
}

type httpError struct {
	method, route string
	status        int
	body          string
}

func (e *httpError) Error() string {
	return e.method + " " + e.route + ": " + strconv.Itoa(e.status) + " " + e.body
}

// fetch sends a request without a token and returns the status and body.
func fetch(t *testing.T, method, u string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// at returns the signed URL u pointed at the process at base.
func at(t *testing.T, u, base string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := url.Parse(base)
	p.Scheme, p.Host = b.Scheme, b.Host
	return p.String()
}

func workflowOp(wf string) syncproto.Op {
	data, _ := json.Marshal(graph.Workflow{ID: wf, Name: "shared", Viewport: graph.DefaultViewport, UpdatedAt: 1, Version: 1})
	return syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityWorkflow, EntityID: wf, WorkflowID: wf,
		Kind: syncproto.OpCreate, Data: data, Version: 1, UpdatedAt: 1, Tab: "t", Time: 1}
}

func nodeOp(wf string, n int) syncproto.Op {
	id := graph.NewID()
	at := int64(10 + n)
	data, _ := json.Marshal(graph.Node{ID: id, WorkflowID: wf, Type: "prompt", Title: "node " + strconv.Itoa(n), UpdatedAt: at, Version: 1})
	return syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: wf,
		Kind: syncproto.OpCreate, Data: data, Version: 1, UpdatedAt: at, Tab: "t", Time: at}
}

// testSchema returns a DSN of a fresh schema in the PostgreSQL server
// that ATELIER_TEST_POSTGRES names (testdata/with-postgres.sh sets it),
// dropped when the test ends; the test is skipped without one.
func testSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ATELIER_TEST_POSTGRES")
	if base == "" {
		t.Skip("ATELIER_TEST_POSTGRES is not set: run through testdata/with-postgres.sh to test against PostgreSQL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rnd [4]byte
	rand.Read(rnd[:])
	schema := "t_two_processes_" + hex.EncodeToString(rnd[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	return u.String()
}
