package browsertest_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// rssSampler reads a process's resident set size every 20 ms until
// stopped, keeping the largest.
type rssSampler struct {
	pid  int
	stop chan struct{}
	done sync.WaitGroup
	peak int64 // bytes
}

// rss returns the resident set size of process pid in bytes, read from
// /proc (Linux), or -1.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) == 3 && string(f[0]) == "VmRSS:" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return -1
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), peak: rss(pid)}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.peak = max(s.peak, rss(s.pid))
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peak.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	s.done.Wait()
	return s.peak
}

// pid is the server process's id.
func (s *syncServer) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// TestAssetSyncLargeUploadMemory uploads a 256 MiB asset from a page, once
// through the server (its own blob directory) and once to presigned URLs
// of an S3 bucket, and logs the upload's throughput and the server's
// resident memory. The server streams what passes through it, so its
// memory must not grow with the asset: the test fails if it grows by more
// than half the asset.
func TestAssetSyncLargeUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 256 MiB twice")
	}
	const mib = 256
	for _, tc := range []struct {
		name string
		s3   bool
	}{{"through the server", false}, {"presigned S3", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var bucket *s3Bucket
			if tc.s3 {
				bucket = startS3(t)
			}
			f := newAssetFixtureOn(t, startSyncServerWith(t, "sqlite", bucket))
			a := f.b.NewTab(t, "A")
			oa := f.opts("assets-big")
			oa.NoUploader = true
			openPage(t, a, oa)
			ref := putBigAsset(t, a, mib)
			if ref.Bytes != mib<<20 {
				t.Fatalf("stored %+v", ref)
			}
			call[map[string]string](t, a, "createNode", refJSON(ref))

			before := rss(f.srv.pid())
			sampler := sampleRSS(f.srv.pid())
			start := time.Now()
			oa.NoUploader = false
			openPage(t, a, oa)
			waitUploaded(t, a, ref.Hash, 5*time.Minute)
			took := time.Since(start)
			peak := sampler.Stop()
			if got := serverBlob(t, f.srv, ref.Hash); got != ref.Hash {
				t.Fatalf("the server holds %q for %s", got, ref.Hash)
			}
			t.Logf("%s: %d MiB uploaded in %v (%.0f MiB/s, including reopening the page); server RSS %.0f MiB before, %.0f MiB at most during the upload",
				tc.name, mib, took.Round(time.Millisecond), float64(mib)/took.Seconds(), float64(before)/(1<<20), float64(peak)/(1<<20))
			if before > 0 && peak-before > int64(mib<<20)/2 {
				t.Fatalf("the server's memory grew by %d MiB during a %d MiB upload", (peak-before)>>20, mib)
			}
		})
	}
}
