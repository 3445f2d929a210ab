// Package s3test gives tests a real S3 server: SeaweedFS's S3 gateway
// ("weed server -s3"), started once per test binary on free local ports
// in a temporary directory, with one new bucket per test.
//
// A package whose tests use it stops the server at the end:
//
//	func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }
//
// When weed is not on PATH the tests that ask for a bucket skip, saying
// how to install it (scripts/deps.sh seaweedfs), unless RequireEnv is
// set to 1: then they fail, as on CI, so that a missing install cannot
// pass for a green run.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/atelierstore/atelier/server/s3blob"
)

// RequireEnv names the environment variable that, set to 1, makes the
// tests fail rather than skip when weed is missing or does not start.
const RequireEnv = "ATELIER_REQUIRE_S3"

// The credentials of the server's one identity, an admin.
const (
	AccessKey = "atelier-test"
	SecretKey = "atelier-test-secret-key"
)

// startTimeout bounds how long weed gets to answer S3 requests.
const startTimeout = 90 * time.Second

var (
	mu      sync.Mutex
	running *weed
	failed  error // why weed could not be started; not tried again
	buckets atomic.Int64
)

// weed is the running SeaweedFS server.
type weed struct {
	cmd      *exec.Cmd
	dir      string
	endpoint string
	ports    []int
	exited   chan struct{}
}

// Main runs the tests of m and then stops the server, if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the server and removes its directory. Main calls it.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if running == nil {
		return
	}
	w := running
	running = nil
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(15 * time.Second):
		w.cmd.Process.Kill()
		<-w.exited
	}
	os.RemoveAll(w.dir)
	w.removeSockets()
}

// removeSockets removes the Unix sockets weed puts in /tmp for its gRPC
// ports, whatever -dir is, and leaves there.
func (w *weed) removeSockets() {
	for _, p := range w.ports {
		matches, _ := filepath.Glob(fmt.Sprintf("/tmp/seaweedfs-*-%d.sock", p))
		for _, m := range matches {
			os.Remove(m)
		}
	}
}

// Endpoint returns the URL of the S3 gateway, starting the server if
// needed; it skips or fails tb as the package doc says when it cannot.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if running == nil && failed == nil {
		running, failed = start()
	}
	if failed != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("S3 tests must run (%s=1): %v", RequireEnv, failed)
		}
		tb.Skipf("skipping S3 tests: %v", failed)
	}
	return running.endpoint
}

// Config returns the s3blob.Config of a new, empty bucket of its own for
// tb, on the server Endpoint starts.
func Config(tb testing.TB) s3blob.Config {
	tb.Helper()
	cfg, err := NewBucket(Endpoint(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// NewBucket creates a new, empty bucket on the server at endpoint and
// returns its s3blob.Config.
func NewBucket(endpoint string) (s3blob.Config, error) {
	var rnd [4]byte
	rand.Read(rnd[:])
	bucket := fmt.Sprintf("t%d-%s", buckets.Add(1), hex.EncodeToString(rnd[:]))
	c, err := Client(endpoint)
	if err != nil {
		return s3blob.Config{}, err
	}
	if err := c.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
		return s3blob.Config{}, fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return s3blob.Config{Endpoint: endpoint, Bucket: bucket, Region: "us-east-1", AccessKey: AccessKey, SecretKey: SecretKey, PathStyle: true}, nil
}

// Launch starts a server as Endpoint does, for a program rather than a
// test (see internal/cmd/s3dev), and returns its endpoint; Stop stops it.
func Launch() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if running == nil && failed == nil {
		running, failed = start()
	}
	if failed != nil {
		return "", failed
	}
	return running.endpoint, nil
}

// Client returns a client of the server at endpoint with the admin's
// credentials, for tests to look behind a store's back.
func Client(endpoint string) (*minio.Client, error) {
	return minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath,
	})
}

// start runs weed server with S3 on free ports and waits until S3
// answers.
func start() (*weed, error) {
	bin, err := exec.LookPath("weed")
	if err != nil {
		return nil, errors.New("SeaweedFS's weed is not on PATH (install it with scripts/deps.sh seaweedfs)")
	}
	ports, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "atelier-weed-")
	if err != nil {
		return nil, err
	}
	p := func(i int) string { return strconv.Itoa(ports[i]) }
	args := []string{"server",
		"-dir=" + dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + p(0), "-master.port.grpc=" + p(1),
		"-master.telemetry=false", "-master.volumeSizeLimitMB=64",
		"-volume.port=" + p(2), "-volume.port.grpc=" + p(3), "-volume.preStopSeconds=0", "-volume.max=500",
		"-filer", "-filer.port=" + p(4), "-filer.port.grpc=" + p(5), "-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
		"-s3", "-s3.port=" + p(6), "-s3.port.grpc=" + p(7), "-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
		"-s3.port.iceberg=0", "-s3.port.lance=0",
	}
	logf, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Every bucket is a collection of volumes of its own: grow one volume
	// at a time rather than 7, as tests make many small buckets.
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+AccessKey, "AWS_SECRET_ACCESS_KEY="+SecretKey,
		"WEED_MASTER_VOLUME_GROWTH_COPY_1=1")
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start weed: %w", err)
	}
	w := &weed{cmd: cmd, dir: dir, endpoint: "http://127.0.0.1:" + p(6), ports: ports, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		logf.Close()
		close(w.exited)
	}()
	c, err := Client(w.endpoint)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// A bucket round trip: S3 answers once the filer and a volume
		// server are up behind it.
		probe := fmt.Sprintf("probe-%d", time.Now().UnixNano())
		err = c.MakeBucket(ctx, probe, minio.MakeBucketOptions{})
		if err == nil {
			_, err = c.PutObject(ctx, probe, "x", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
		}
		cancel()
		if err == nil {
			fmt.Fprintf(os.Stderr, "s3test: SeaweedFS S3 on %s, ready in %s\n", w.endpoint, time.Since(t0).Round(time.Millisecond))
			return w, nil
		}
		select {
		case <-w.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			os.RemoveAll(dir)
			w.removeSockets()
			return nil, fmt.Errorf("weed exited at start: %s", tail(log))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(t0) > startTimeout {
			cmd.Process.Kill()
			<-w.exited
			log, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			os.RemoveAll(dir)
			w.removeSockets()
			return nil, fmt.Errorf("weed's S3 did not answer within %s (%v): %s", startTimeout, err, tail(log))
		}
	}
}

// freePorts returns n ports free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail returns the last lines of a log.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
