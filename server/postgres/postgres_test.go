package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
	"github.com/atelierstore/atelier/server/postgres"
	"github.com/atelierstore/atelier/server/storetest"
	"github.com/atelierstore/atelier/syncproto"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The tests need a PostgreSQL server: ATELIER_TEST_POSTGRES names it, as
// testdata/with-postgres.sh sets it after starting a throwaway one.
const envVar = "ATELIER_TEST_POSTGRES"

var (
	adminOnce sync.Once
	admin     *pgxpool.Pool
	adminErr  error
)

// dsn returns the server's DSN, skipping the test when there is none.
func dsn(tb testing.TB) string {
	tb.Helper()
	d := os.Getenv(envVar)
	if d == "" {
		tb.Skipf("%s is not set: run through testdata/with-postgres.sh (make test-host does) to test against PostgreSQL", envVar)
	}
	return d
}

// newDB gives each test its own schema, dropped when it ends; the store
// reaches it through search_path.
func newDB(tb testing.TB) storetest.Opener {
	tb.Helper()
	d := schemaDSN(tb)
	return func(tb testing.TB) server.Store {
		tb.Helper()
		s, err := postgres.Open(context.Background(), d)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
}

// schemaDSN creates a schema for tb and returns a DSN that uses it.
func schemaDSN(tb testing.TB) string {
	tb.Helper()
	base := dsn(tb)
	adminOnce.Do(func() { admin, adminErr = pgxpool.New(context.Background(), base) })
	if adminErr != nil {
		tb.Fatalf("connect to %s: %v", envVar, adminErr)
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	name := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, tb.Name())
	schema := "t_" + name[:min(len(name), 40)] + "_" + hex.EncodeToString(rnd[:])
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", envVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("pool_max_conns", "8")
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	dsn(t)
	storetest.Run(t, newDB)
}

func BenchmarkPostgres(b *testing.B) {
	dsn(b)
	storetest.Bench(b, newDB)
}

// TestConcurrentOpen opens one schema from several goroutines at once, as
// server processes starting together would: the migration runs once.
func TestConcurrentOpen(t *testing.T) {
	d := schemaDSN(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), d)
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
}

func TestOpenFailsWithoutServer(t *testing.T) {
	dsn(t)
	if _, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
}

// TestListenReconnects kills the listeners' connections, as a restart or
// failover of the database would: each notices, reconnects, and wakes
// every watch, so a change committed meanwhile is not waited for until
// the poll; changes committed later are announced again.
func TestListenReconnects(t *testing.T) {
	d := schemaDSN(t)
	ctx := context.Background()
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	heard := storetest.NewAnnouncements()
	go b.Listen(ctx, heard)
	if heard.Await(0, 10*time.Second, "+") < 0 {
		t.Fatal("Listen did not connect")
	}
	serve := func(s server.Store) string {
		tokens, _ := server.NewTokens(map[string]string{"token-alpha": "alpha"})
		blobs, err := dirblob.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		h, err := server.New(s, blobs, &server.Options{Tokens: tokens, WatchPoll: time.Hour, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	urlA, urlB := serve(a), serve(b)
	wf := graph.NewID()
	seq := push(t, urlA, wf)

	// Those of heard and of each server, once they are all connected.
	const listeners = `FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND query = $2`
	args := []any{postgres.ListenApplicationName, `LISTEN "` + b.Channel() + `"`}
	kill := func() {
		t.Helper()
		n := 0
		for end := time.Now().Add(10 * time.Second); n < 3 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if err := admin.QueryRow(ctx, `SELECT count(*) `+listeners, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) `+listeners, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("terminated %d listeners, want 3", n)
		}
	}

	// A push right after the kill may reach the database before the
	// listener is back: its reconnection wakes the watch.
	watch := watchAfter(urlB, seq)
	time.Sleep(50 * time.Millisecond)
	mark := len(heard.Events())
	kill()
	before := seq
	seq = push(t, urlA, wf)
	wantWoken(t, watch, before, 5*time.Second, "a watch held across the listener's reconnection was not woken")
	lost := heard.Await(mark, 10*time.Second, "-")
	if lost < 0 || heard.Await(lost, 10*time.Second, "+") < 0 {
		t.Fatalf("the listener did not reconnect: heard %q", heard.Events())
	}

	// Once back, changes are announced as before.
	time.Sleep(time.Second) // the servers' listeners are back too
	for range 3 {
		watch = watchAfter(urlB, seq)
		time.Sleep(50 * time.Millisecond)
		mark = len(heard.Events())
		before := seq
		seq = push(t, urlA, wf)
		wantWoken(t, watch, before, 2*time.Second, "a change after the reconnection was not announced")
		if heard.Await(mark, 2*time.Second, "alpha") < 0 {
			t.Fatalf("the store's listener did not hear the push after reconnecting: %q", heard.Events())
		}
	}
}

// push pushes a new node (and its workflow, the first time) to alpha at
// base and returns the workspace's last seq.
func push(t *testing.T, base, wf string) int64 {
	t.Helper()
	at := time.Now().UnixMilli()
	var ops []syncproto.Op
	data, _ := json.Marshal(graph.Workflow{ID: wf, Name: "wf", Viewport: graph.DefaultViewport, UpdatedAt: at, Version: 1})
	ops = append(ops, syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityWorkflow, EntityID: wf, WorkflowID: wf,
		Kind: syncproto.OpCreate, Data: data, Version: 1, UpdatedAt: at, Tab: "t", Time: at})
	id := graph.NewID()
	data, _ = json.Marshal(graph.Node{ID: id, WorkflowID: wf, Type: "prompt", UpdatedAt: at, Version: 1})
	ops = append(ops, syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: wf,
		Kind: syncproto.OpCreate, Data: data, Version: 1, UpdatedAt: at, Tab: "t", Time: at})
	body, _ := json.Marshal(syncproto.PushRequest{Ops: ops})
	req, _ := http.NewRequest("POST", base+strings.Replace(syncproto.RoutePush, "{ws}", "alpha", 1), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer token-alpha")
	req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pr syncproto.PushResponse
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("push: %d, %v", resp.StatusCode, err)
	}
	return call[syncproto.PullResponse](t, "GET", base, syncproto.RoutePull+"?limit=1000&cursor=0").Cursor
}

// watchAfter holds a watch of alpha at base after seq and sends the seq
// it answers (-1 on failure).
func watchAfter(base string, seq int64) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		req, _ := http.NewRequest("GET", base+strings.Replace(syncproto.RouteWatch, "{ws}", "alpha", 1)+
			"?wait=30000&after="+strconv.FormatInt(seq, 10), nil)
		req.Header.Set("Authorization", "Bearer token-alpha")
		req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
		var w syncproto.WatchResponse
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&w)
			resp.Body.Close()
		}
		if err != nil {
			w.Seq = -1
		}
		out <- w.Seq
	}()
	return out
}

// call sends a request of the sync protocol for alpha and decodes its
// answer, which must be 200.
func call[T any](t *testing.T, method, base, route string) T {
	t.Helper()
	req, _ := http.NewRequest(method, base+strings.Replace(route, "{ws}", "alpha", 1), nil)
	req.Header.Set("Authorization", "Bearer token-alpha")
	req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v T
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d, %v", method, route, resp.StatusCode, err)
	}
	return v
}

// TestListenPings lets a listener's connection go quiet many times over:
// each time it pings it, and goes on listening on it, without
// reconnecting (which would wake every watch each time).
func TestListenPings(t *testing.T) {
	defer postgres.SetListenIdle(20 * time.Millisecond)()
	d := schemaDSN(t)
	ctx := context.Background()
	a, err := postgres.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	heard := storetest.NewAnnouncements()
	go b.Listen(ctx, heard)
	if heard.Await(0, 10*time.Second, "+") < 0 {
		t.Fatal("Listen did not connect")
	}
	for round := range 3 {
		time.Sleep(300 * time.Millisecond) // pings
		mark := len(heard.Events())
		if err := a.Update(ctx, "alpha", func(tx server.Tx) error {
			wf := graph.NewID()
			return tx.Put([]syncproto.Change{{EntityID: wf, Entity: syncproto.EntityWorkflow, WorkflowID: wf,
				Seq: tx.Seq() + 1, Version: 1, OpID: graph.NewID(), Data: []byte(`{}`)}}, nil)
		}); err != nil {
			t.Fatal(err)
		}
		if heard.Await(mark, 2*time.Second, "alpha") < 0 {
			t.Fatalf("round %d: the write was not heard: %q", round, heard.Events())
		}
	}
	if ev := heard.Events(); !slices.Equal(ev, []string{"+", "alpha", "alpha", "alpha"}) {
		t.Fatalf("heard %q, want one connection and the three writes", ev)
	}
}

// wantWoken waits up to d for watch to answer a cursor above before, and
// fails with msg if it does not answer.
func wantWoken(t *testing.T, watch <-chan int64, before int64, d time.Duration, msg string) {
	t.Helper()
	select {
	case got := <-watch:
		if got <= before {
			t.Fatalf("watch answered %d, want above %d", got, before)
		}
	case <-time.After(d):
		t.Fatal(msg)
	}
}
