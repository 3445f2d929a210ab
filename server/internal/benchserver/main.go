// Command benchserver measures the sync server under many concurrent
// clients: it builds atelier-sync, starts it over SQLite and over
// PostgreSQL (when ATELIER_TEST_POSTGRES names one), and runs N clients
// that each push a batch of ops, then pull a page of changes, again and
// again. It prints pushes/s and ops/s, push and pull latencies, and the
// servers' RSS.
//
//	go run ./internal/benchserver                       # make bench-server
//	go run ./internal/benchserver -clients 50,200 -duration 10s -runs 3
//	go run ./internal/benchserver -stores postgres -processes 1,2
//
// Each client has its own keep-alive connection and workspace i mod
// -workspaces; a batch holds -batch ops, half of them new nodes and half
// updates of nodes the client made before. With -processes 2, two
// atelier-sync processes share the PostgreSQL database (and the secret
// and data directory) and client i talks to process i mod 2, so the
// clients of one workspace push through both.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/syncproto"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	clients := flag.String("clients", "50,200", "comma-separated numbers of concurrent clients")
	duration := flag.Duration("duration", 8*time.Second, "how long each measurement runs, after a second of warm-up")
	workspaces := flag.Int("workspaces", 10, "workspaces the clients spread over")
	batch := flag.Int("batch", 20, "ops per push")
	runs := flag.Int("runs", 1, "measurements of each configuration")
	stores := flag.String("stores", "sqlite,postgres", "stores to measure")
	processes := flag.String("processes", "1", "comma-separated numbers of server processes sharing the database (more than 1: postgres only)")
	bin := flag.String("bin", "", "atelier-sync binary to measure (default: build ./cmd/atelier-sync), such as an older one for comparison")
	flag.Parse()
	if err := run(*bin, *clients, *stores, *processes, *duration, *workspaces, *batch, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}

func run(bin, clientList, storeList, procList string, duration time.Duration, workspaces, batch, runs int) error {
	tmp, err := os.MkdirTemp("", "atelier-bench-server")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "atelier-sync")
		build := exec.Command("go", "build", "-o", bin, "./cmd/atelier-sync")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build atelier-sync: %w", err)
		}
	}
	pg := os.Getenv("ATELIER_TEST_POSTGRES")

	fmt.Printf("Each client in turn pushes %d ops (half new nodes, half updates) and pulls a page of up to 200 changes;\n"+
		"clients spread over %d workspaces (and over the procs server processes sharing the database, in turn);\n"+
		"%v per run after 1 s of warm-up. pushes/s and ops/s count acked pushes and ops. watch: from the start of a push\n"+
		"through the first process to the answer of a watch held on the last, every 200 ms or so amid the load.\n\n", batch, workspaces, duration)
	fmt.Printf("%-9s %5s %7s %4s %9s %9s %9s %9s %9s %9s %9s %9s %9s %8s %8s\n", "store", "procs", "clients", "run", "pushes/s", "ops/s",
		"push p50", "push p99", "pull p50", "pull p95", "pull p99", "watch p50", "watch p95", "errors", "RSS MiB")
	procs, err := numbers("-processes", procList)
	if err != nil {
		return err
	}
	clients, err := numbers("-clients", clientList)
	if err != nil {
		return err
	}
	// Each run measures every configuration, so that a machine whose
	// load drifts skews the runs rather than the configurations.
	for r := 1; r <= runs; r++ {
		for _, store := range strings.Split(storeList, ",") {
			if store == "postgres" && pg == "" {
				if r == 1 {
					fmt.Printf("%-9s (skipped: ATELIER_TEST_POSTGRES is not set; make bench-server starts a PostgreSQL)\n", store)
				}
				continue
			}
			for _, p := range procs {
				if p > 1 && store != "postgres" {
					continue // one process per SQLite file
				}
				for _, n := range clients {
					dir := filepath.Join(tmp, fmt.Sprintf("%s-%d-%d-%d", store, p, n, r))
					res, err := measure(bin, dir, store, pg, p, n, workspaces, batch, duration)
					if err != nil {
						return fmt.Errorf("%s, %d processes, %d clients: %w", store, p, n, err)
					}
					fmt.Printf("%-9s %5d %7d %4d %9.0f %9.0f %9s %9s %9s %9s %9s %9s %9s %8d %8.0f\n", store, p, n, r, res.pushesPerSec, res.opsPerSec,
						ms(res.push, 50), ms(res.push, 99), ms(res.pull, 50), ms(res.pull, 95), ms(res.pull, 99), ms(res.heard, 50), ms(res.heard, 95),
						res.errors, float64(res.rssPeak)/(1<<20))
				}
			}
		}
	}
	return nil
}

// numbers reads a comma-separated list of positive integers.
func numbers(flagName, list string) ([]int, error) {
	var out []int
	for _, v := range strings.Split(list, ",") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q", flagName, v)
		}
		out = append(out, n)
	}
	return out, nil
}

type result struct {
	pushesPerSec float64
	opsPerSec    float64
	push, pull   []time.Duration // sorted
	heard        []time.Duration // sorted: from a push to a watch on another process
	errors       int64
	rssPeak      int64 // bytes, of all the processes together
}

func ms(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "-"
	}
	v := d[min(len(d)-1, len(d)*p/100)]
	return fmt.Sprintf("%.1fms", float64(v)/float64(time.Millisecond))
}

// measure starts procs servers over a fresh store and runs n clients on
// them.
func measure(bin, dir, store, pg string, procs, n, workspaces, batch int, duration time.Duration) (*result, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	args := []string{"-data", dir}
	if help, _ := exec.Command(bin, "-h").CombinedOutput(); bytes.Contains(help, []byte("-max-conns-per-ip")) {
		// All the clients come from one address. (Older servers, measured
		// for comparison, have no such limit.)
		args = append(args, "-max-conns-per-ip", "0", "-max-conns", "4096")
	}
	for w := range workspaces {
		args = append(args, "-token", fmt.Sprintf("bench-%d=w%d", w, w))
	}
	args = append(args, "-token", "bench-probe=probe")
	if store == "postgres" {
		schema := "bench_" + filepath.Base(dir)
		schema = strings.ReplaceAll(schema, "-", "_")
		dsn, err := freshSchema(pg, schema)
		if err != nil {
			return nil, err
		}
		args = append(args, "-postgres", dsn)
	}
	// One after the other: the first creates the secret they share.
	var bases []string
	var pids []int
	for range procs {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard // a line per request
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		defer func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
			}
		}()
		base := "http://" + addr
		if err := waitHealthy(base); err != nil {
			return nil, err
		}
		bases, pids = append(bases, base), append(pids, cmd.Process.Pid)
	}

	var (
		counting  atomic.Bool
		ops, errs atomic.Int64
		pushes    atomic.Int64
		mu        sync.Mutex
		push      []time.Duration
		pull      []time.Duration
	)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second+duration)
	defer cancel()
	go func() {
		time.Sleep(time.Second)
		counting.Store(true)
	}()
	var rssPeak atomic.Int64
	go func() {
		for ctx.Err() == nil {
			rss := int64(0)
			for _, pid := range pids {
				rss += rssOf(pid)
			}
			if rss > rssPeak.Load() {
				rssPeak.Store(rss)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := newClient(bases[i%procs], fmt.Sprintf("w%d", i%workspaces), fmt.Sprintf("bench-%d", i%workspaces), int64(i))
			var myPush, myPull []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				k, err := c.push(ctx, batch)
				t1 := time.Now()
				if err == nil {
					err = c.pull(ctx)
				}
				t2 := time.Now()
				if ctx.Err() != nil {
					break
				}
				if !counting.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				ops.Add(int64(k))
				pushes.Add(1)
				myPush, myPull = append(myPush, t1.Sub(t0)), append(myPull, t2.Sub(t1))
			}
			mu.Lock()
			push, pull = append(push, myPush...), append(pull, myPull...)
			mu.Unlock()
		})
	}
	var heard []time.Duration
	wg.Go(func() { heard = probe(ctx, bases, &counting, &errs) })
	wg.Wait()
	slices.Sort(push)
	slices.Sort(pull)
	slices.Sort(heard)
	return &result{pushesPerSec: float64(pushes.Load()) / duration.Seconds(), opsPerSec: float64(ops.Load()) / duration.Seconds(), push: push, pull: pull,
		heard: heard, errors: errs.Load(), rssPeak: rssPeak.Load()}, nil
}

// probe measures how long a change takes to reach a client of another
// server process, amid the load: it pushes a node to workspace probe
// through the first process every 200 ms or so, while a watch of probe
// is held on the last one, and records from the start of each push to the
// watch's answer. With one process it measures the process's own wake.
func probe(ctx context.Context, bases []string, counting *atomic.Bool, errs *atomic.Int64) []time.Duration {
	pusher := newClient(bases[0], "probe", "bench-probe", -1)
	watcher := newClient(bases[len(bases)-1], "probe", "bench-probe", -2)
	var heard []time.Duration
	for ctx.Err() == nil {
		answered := make(chan error, 1)
		go func() {
			var w syncproto.WatchResponse
			err := watcher.do(ctx, "GET", syncproto.RouteWatch+"?wait=10000&after="+strconv.FormatInt(watcher.cursor, 10), nil, &w)
			if err == nil && w.Seq <= watcher.cursor {
				err = fmt.Errorf("watch answered %d, no change after %d", w.Seq, watcher.cursor)
			}
			answered <- err
		}()
		time.Sleep(100 * time.Millisecond) // held
		t0 := time.Now()
		_, err := pusher.push(ctx, 1)
		if err == nil {
			err = <-answered
		}
		took := time.Since(t0)
		if err == nil {
			err = watcher.pull(ctx) // the cursor after the push, for the next watch
		}
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			errs.Add(1)
		} else if counting.Load() {
			heard = append(heard, took)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return heard
}

// client is one device: its own connection, workspace and nodes.
type client struct {
	base, ws, token string
	http            *http.Client
	rng             *rand.Rand
	wf              string
	nodes           []string
	versions        map[string]int64
	cursor          int64
	started         bool
}

func newClient(base, ws, token string, seed int64) *client {
	return &client{
		base: base, ws: ws, token: token,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}, Timeout: time.Minute},
		rng:  rand.New(rand.NewSource(seed)), wf: graph.NewID(), versions: map[string]int64{},
	}
}

func (c *client) do(ctx context.Context, method, route string, body []byte, out any) error {
	u := c.base + strings.Replace(route, "{ws}", c.ws, 1)
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set(syncproto.ProtocolHeader, syncproto.Protocol)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, route, resp.StatusCode, b)
	}
	if u, ok := out.(json.Unmarshaler); ok {
		return u.UnmarshalJSON(b) // without encoding/json's check of every byte
	}
	return json.Unmarshal(b, out)
}

// push sends a batch: half new nodes, half updates of the client's own.
func (c *client) push(ctx context.Context, n int) (int, error) {
	var ops []syncproto.Op
	now := time.Now().UnixMilli()
	if !c.started {
		data, _ := json.Marshal(graph.Workflow{ID: c.wf, Name: "bench", Viewport: graph.DefaultViewport})
		ops = append(ops, syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityWorkflow, EntityID: c.wf, WorkflowID: c.wf,
			Kind: syncproto.OpCreate, Data: data, Version: 1, UpdatedAt: now})
	}
	seen := map[string]bool{}
	for len(ops) < n {
		id, kind, base := graph.NewID(), syncproto.OpCreate, int64(0)
		if len(c.nodes) > 0 && len(ops)%2 == 1 {
			if old := c.nodes[c.rng.Intn(len(c.nodes))]; !seen[old] {
				id, kind, base = old, syncproto.OpUpdate, c.versions[old]
			}
		}
		seen[id] = true
		data, _ := json.Marshal(graph.Node{ID: id, WorkflowID: c.wf, Type: "prompt", Title: "node " + id[:8],
			Position: graph.Position{X: float64(c.rng.Intn(2000)), Y: float64(c.rng.Intn(2000))},
			Config:   json.RawMessage(`{"prompt":"a cat in a hat, watercolour, soft light","seed":42}`)})
		ops = append(ops, syncproto.Op{ID: graph.NewID(), Entity: syncproto.EntityNode, EntityID: id, WorkflowID: c.wf,
			Kind: kind, Data: data, BaseVersion: base, Version: base + 1, UpdatedAt: now})
	}
	body, _ := json.Marshal(syncproto.PushRequest{Ops: ops})
	var resp syncproto.PushResponse
	if err := c.do(ctx, "POST", syncproto.RoutePush, body, &resp); err != nil {
		return 0, err
	}
	if len(resp.Acks) != len(ops) {
		return 0, fmt.Errorf("%d acks for %d ops", len(resp.Acks), len(ops))
	}
	c.started = true
	for i, a := range resp.Acks {
		if a.Status != syncproto.Applied {
			return 0, fmt.Errorf("op %s: %s %s", a.OpID, a.Status, a.Error)
		}
		id := ops[i].EntityID
		if _, known := c.versions[id]; !known && ops[i].Entity == syncproto.EntityNode {
			c.nodes = append(c.nodes, id)
		}
		c.versions[id] = a.Version
	}
	return len(ops), nil
}

// pull reads one page after the client's cursor. It reads only the
// cursor from the page, which ends the object, so that the clients'
// decoding of every change does not take the CPU from the server.
func (c *client) pull(ctx context.Context) error {
	var cursor pullCursor
	if err := c.do(ctx, "GET", syncproto.RoutePull+"?limit=200&cursor="+strconv.FormatInt(c.cursor, 10), nil, &cursor); err != nil {
		return err
	}
	c.cursor = int64(cursor)
	return nil
}

// pullCursor decodes the cursor of a PullResponse from the end of it.
type pullCursor int64

func (p *pullCursor) UnmarshalJSON(b []byte) error {
	i := bytes.LastIndex(b, []byte(`"cursor":`))
	if i < 0 {
		return fmt.Errorf("no cursor in %.100q", b)
	}
	b = b[i+len(`"cursor":`):]
	n := 0
	for n < len(b) && '0' <= b[n] && b[n] <= '9' {
		n++
	}
	v, err := strconv.ParseInt(string(b[:n]), 10, 64)
	*p = pullCursor(v)
	return err
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHealthy(base string) error {
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
	}
	return errors.New("the server did not start")
}

// freshSchema creates schema in the database at dsn and returns a DSN
// whose search_path is it.
func freshSchema(dsn, schema string) (string, error) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dsn) // which takes pool_ settings too
	if err != nil {
		return "", err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
		return "", err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// rssOf returns the resident set size of process pid, in bytes.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
