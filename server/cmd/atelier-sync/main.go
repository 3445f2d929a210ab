package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
	"github.com/atelierstore/atelier/server/postgres"
	"github.com/atelierstore/atelier/server/s3blob"
	"github.com/atelierstore/atelier/server/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], log, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "atelier-sync:", err)
		}
		os.Exit(2)
	}
}

// tokenFlags collects -token TOKEN=WORKSPACE.
type tokenFlags map[string]string

func (t tokenFlags) String() string { return "" }

func (t tokenFlags) Set(v string) error {
	tok, ws, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want TOKEN=WORKSPACE")
	}
	t[tok] = ws
	return nil
}

// run serves until ctx is done. ready, if not nil, is told the address
// once the server listens.
func run(ctx context.Context, args []string, log *slog.Logger, ready func(addr string)) error {
	if len(args) > 0 && args[0] == "gc" {
		return runGC(ctx, args[1:], os.Stdout, time.Now)
	}
	fl := flag.NewFlagSet("atelier-sync", flag.ContinueOnError)
	addr := fl.String("addr", "127.0.0.1:8787", "address to listen on")
	data := fl.String("data", "atelier-sync-data", "data directory: sync.db, blobs/ and the URL signing secret")
	pg := fl.String("postgres", "", "PostgreSQL DSN to use instead of the embedded SQLite database")
	tokensFile := fl.String("tokens", "", "JSON file of bearer token to workspace")
	tokens := tokenFlags{}
	fl.Var(tokens, "token", "TOKEN=WORKSPACE, a bearer token for development (repeatable)")
	secretFile := fl.String("secret", "", "file holding the hex URL signing secret (default DATA/secret, created if absent)")
	origins := fl.String("origins", "*", "comma-separated origins allowed to call the server (* for any)")
	ttl := fl.Duration("url-ttl", server.DefaultURLTTL, "how long signed blob URLs work")
	baseURL := fl.String("base-url", "", "public base URL put in signed URLs (default: from each request)")
	maxBlob := fl.Int64("max-blob-bytes", server.DefaultMaxBlobBytes, "largest blob accepted")
	partThreshold := fl.Int64("part-threshold", server.DefaultPartThreshold, "blobs larger than this go up in parts, resumable (negative: never)")
	partSize := fl.Int64("part-size", server.DefaultPartSize, "size of the parts of large uploads (at least 5 MiB)")
	maxConns := fl.Int("max-conns", 1024, "most connections open at once; more wait to be accepted (0: no limit)")
	perIP := fl.Int("max-conns-per-ip", 128, "most connections open at once from one IPv4 address or IPv6 /64; more are answered 503 (0: no limit, for use behind a reverse proxy)")
	stall := fl.Duration("stall-timeout", server.DefaultStallTimeout, "longest a request's header or body may stall, or a response write take beyond what -min-rate allows")
	minRate := fl.Int64("min-rate", server.DefaultMinRate, "slowest average rate in bytes/s of a request body (after the first -stall-timeout) and of a response (negative: none)")
	watchPoll := fl.Duration("watch-poll", server.DefaultWatchPoll, "how often a held watch reads the store again, to see changes of other processes that went unannounced")
	grace := fl.Duration("shutdown-timeout", 10*time.Second, "on SIGTERM or SIGINT, how long requests in progress get to finish (bodies still arriving are cut off at once)")
	s3 := addS3Flags(fl)
	gcf := addGCFlags(fl)
	gcEvery := fl.Duration("gc-every", 0, "collect garbage (see atelier-sync gc) this often, with -gc-grace and -ack-retention (0: never)")
	dump := fl.String("dump", "", "print what WORKSPACE holds in DATA/sync.db (entities, tombstones, acks) as JSON and exit")
	if err := fl.Parse(args); err != nil {
		return err
	}

	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	s3cfg, useS3, err := s3.config(os.Getenv)
	if err != nil {
		return err
	}
	if *dump != "" {
		return dumpWorkspace(ctx, filepath.Join(*data, "sync.db"), *dump, os.Stdout)
	}

	if *tokensFile != "" {
		m, err := readTokens(*tokensFile)
		if err != nil {
			return err
		}
		for tok, ws := range m {
			tokens[tok] = ws
		}
	}
	if len(tokens) == 0 {
		return errors.New("no tokens: give -tokens FILE or -token TOKEN=WORKSPACE")
	}
	tok, err := server.NewTokens(tokens)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	if *secretFile == "" {
		*secretFile = filepath.Join(*data, "secret")
	}
	secret, err := loadSecret(*secretFile)
	if err != nil {
		return err
	}

	if *gcEvery < 0 {
		return errors.New("-gc-every must not be negative")
	}
	if err := gcf.check(); err != nil {
		return err
	}
	store, blobs, blobsAt, err := openStores(ctx, *data, *pg, s3cfg, useS3)
	if err != nil {
		return err
	}
	defer store.Close()
	h, err := server.New(store, blobs, &server.Options{
		Tokens: tok, Secret: secret, AllowedOrigins: strings.Split(*origins, ","),
		URLTTL: *ttl, BaseURL: *baseURL, MaxBlobBytes: *maxBlob, Logger: log,
		PartThreshold: *partThreshold, PartSize: *partSize,
		StallTimeout: *stall, MinRate: *minRate, WatchPoll: *watchPoll, PresignBlobs: s3.presigned(),
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *maxConns < 0 || *perIP < 0 {
		ln.Close()
		return errors.New("-max-conns and -max-conns-per-ip must not be negative")
	}
	ln = server.LimitListener(ln, *maxConns, *perIP)
	backend := "sqlite " + filepath.Join(*data, "sync.db")
	if *pg != "" {
		backend = "postgres"
	}
	log.Info("listening", "url", "http://"+ln.Addr().String(), "store", backend, "blobs", blobsAt, "workspaces", len(tokens))
	if ready != nil {
		ready(ln.Addr().String())
	}
	if *gcEvery > 0 {
		gctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			collectEvery(gctx, *gcEvery, store, blobs, gcf.options(false, time.Now), log)
		}()
		defer func() { cancel(); <-done }() // before the store closes
	}
	return serve(ctx, ln, h, *stall, *grace, log)
}

// openStores opens the database (PostgreSQL at pg, else DATA/sync.db) and
// the blob store (the bucket of s3cfg when useS3, else DATA/blobs), and
// says where the blobs are.
func openStores(ctx context.Context, data, pg string, s3cfg s3blob.Config, useS3 bool) (server.Store, server.BlobStore, string, error) {
	var store server.Store
	var err error
	if pg != "" {
		store, err = postgres.Open(ctx, pg)
	} else {
		store, err = sqlite.Open(filepath.Join(data, "sync.db"))
	}
	if err != nil {
		return nil, nil, "", err
	}
	var blobs server.BlobStore
	blobsAt := filepath.Join(data, "blobs")
	if useS3 {
		blobs, err = s3blob.Open(ctx, s3cfg)
		blobsAt = s3cfg.Endpoint + " bucket " + s3cfg.Bucket
		if s3cfg.Prefix != "" {
			blobsAt += " prefix " + s3cfg.Prefix
		}
	} else {
		blobs, err = dirblob.Open(blobsAt)
	}
	if err != nil {
		store.Close()
		return nil, nil, "", err
	}
	return store, blobs, blobsAt, nil
}

// maxHeaderBytes bounds a request's header; the protocol's need a few
// hundred bytes.
const maxHeaderBytes = 64 << 10

// serve serves h on ln until ctx is done, then shuts down: it stops
// accepting, cuts off request bodies still arriving (h.Drain) and
// connections that have not sent a whole request header, and gives the
// requests in progress up to grace to finish before it closes their
// connections and cancels their contexts. It returns nil after a
// shutdown, however it went.
func serve(ctx context.Context, ln net.Listener, h *server.Server, stall, grace time.Duration, log *slog.Logger) error {
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	var running atomic.Int64
	conns := newConnStates()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			running.Add(1)
			defer running.Add(-1)
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: stall,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ConnState:         conns.track,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(h.Drain)
	srv.RegisterOnShutdown(h.EndWatches) // held watches must not delay shutdown
	srv.RegisterOnShutdown(conns.closeNew)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err == nil {
		return nil
	}
	log.Warn("requests still running at the shutdown timeout: closing their connections", "requests", running.Load())
	cancelBase()
	srv.Close()
	// Handlers whose contexts were canceled return promptly; wait for
	// them, as the caller closes the store next.
	for end := time.Now().Add(5 * time.Second); running.Load() > 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// connStates keeps the connections that have not yet sent a whole
// request: http.Server.Shutdown counts them as busy for their first
// five seconds, and a client dribbling its header would hold it up.
type connStates struct {
	mu    sync.Mutex
	fresh map[net.Conn]bool
}

func newConnStates() *connStates { return &connStates{fresh: map[net.Conn]bool{}} }

func (c *connStates) track(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st == http.StateNew {
		c.fresh[conn] = true
	} else {
		delete(c.fresh, conn)
	}
}

func (c *connStates) closeNew() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.fresh {
		conn.Close()
	}
}

// dumpWorkspace writes what workspace ws holds in the SQLite database at
// path as JSON to w. The server may be running on the same database.
func dumpWorkspace(ctx context.Context, path, ws string, w io.Writer) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	store, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	defer store.Close()
	d, err := store.Dump(ctx, ws)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// readTokens reads a tokens file into a map, to merge with -token.
func readTokens(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("tokens file %s: want a JSON object of token to workspace: %w", path, err)
	}
	return m, nil
}

// loadSecret reads the hex secret at path, or creates one there.
func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("create secret: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("secret %s: want at least 64 hex digits", path)
	}
	return key, nil
}
