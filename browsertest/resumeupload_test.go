package browsertest_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// cutProxy forwards to a server (the sync server, or the S3 gateway) and
// cuts the connection of the part PUT during which the bytes of part PUTs
// it forwarded pass cutAt. From then on it refuses part uploads at once,
// as a network that is down, until a request that resume matches (the
// client asking for its upload again) comes: then it forwards everything.
// It counts the part PUTs it forwarded, by part number.
type cutProxy struct {
	srv   *httptest.Server
	rules cutRules
	cutAt int64
	cutCh chan struct{} // closed at the cut

	mu        sync.Mutex
	bytes     int64 // body bytes of part PUTs forwarded
	cut, up   bool  // the connection was cut; the outage ended
	sent      map[int]int
	refused   int
	first     time.Time // the first part PUT
	cutTime   time.Time
	upTime    time.Time
	lastPart  time.Time // the end of the last part PUT
	afterCut  int64     // bytes of part PUTs forwarded after the outage
	errResume error
}

// cutRules tell a cutProxy's requests apart.
type cutRules struct {
	partOf func(r *http.Request) int  // the number of a part PUT; 0 for other requests
	isPart func(r *http.Request) bool // requests refused while down
	resume func(r *http.Request) bool // the request that ends the outage
}

var errCut = errors.New("connection cut by the test")

func startCutProxy(t *testing.T, upstream string, cutAt int64, rules cutRules) *cutProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{rules: rules, cutAt: cutAt, sent: map[int]int{}, cutCh: make(chan struct{})}
	// The Host header passes unchanged: signed URLs name the proxy, and
	// S3 signatures cover the host.
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, errCut) || errors.Is(r.Context().Err(), errCut) {
			reset(w)
			return
		}
		badGateway(w, r)
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := p.rules.partOf(r)
		p.mu.Lock()
		if p.cut && !p.up {
			if p.rules.resume(r) {
				p.up, p.upTime = true, time.Now()
			} else if p.rules.isPart(r) {
				p.refused++
				p.mu.Unlock()
				reset(w)
				return
			}
		}
		if n > 0 {
			p.sent[n]++
			if p.first.IsZero() {
				p.first = time.Now()
			}
		}
		p.mu.Unlock()
		if n > 0 {
			r.Body = &cutReader{p: p, r: r.Body}
		}
		rp.ServeHTTP(w, r)
		if n > 0 {
			p.mu.Lock()
			p.lastPart = time.Now()
			p.mu.Unlock()
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// cutReader counts the bytes of a part PUT and fails once they pass
// cutAt, the first time.
type cutReader struct {
	p *cutProxy
	r io.ReadCloser
}

func (c *cutReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	c.p.bytes += int64(n)
	if c.p.up {
		c.p.afterCut += int64(n)
	}
	if !c.p.cut && c.p.bytes >= c.p.cutAt {
		c.p.cut, c.p.cutTime = true, time.Now()
		close(c.p.cutCh)
		return n, errCut
	}
	return n, err
}

func (c *cutReader) Close() error { return c.r.Close() }

func (p *cutProxy) URL() string { return p.srv.URL }

// report checks that every part went up, at most one twice and none more,
// and logs the figures.
func (p *cutProxy) report(t *testing.T, size int64, parts int, done time.Time) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cut || !p.up {
		t.Fatalf("the connection was never cut (cut %v, resumed %v) after %d bytes", p.cut, p.up, p.bytes)
	}
	var nums []int
	for n := range p.sent {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	twice := 0
	var counts []string
	for _, n := range nums {
		counts = append(counts, fmt.Sprintf("%d:%d", n, p.sent[n]))
		switch c := p.sent[n]; {
		case c == 2:
			twice++
		case c > 2:
			t.Errorf("part %d sent %d times", n, c)
		}
	}
	if len(nums) != parts || nums[0] != 1 || nums[len(nums)-1] != parts {
		t.Errorf("parts sent %v, want 1 to %d", nums, parts)
	}
	if twice > 1 {
		t.Errorf("%d parts sent twice, want at most 1", twice)
	}
	mib := float64(size) / (1 << 20)
	before, after := p.cutTime.Sub(p.first), p.lastPart.Sub(p.upTime)
	t.Logf("%.0f MiB in %d parts; PUTs per part %s; %d part requests refused while down; %.1f MiB resent",
		mib, parts, strings.Join(counts, " "), p.refused, float64(p.bytes-size)/(1<<20))
	t.Logf("upload throughput: %.1f MiB/s of part bytes while connected (%.0f MiB in %.1f s before the cut, %.0f MiB in %.1f s after); commit and record %.1f s; %.1f s from the first part to uploaded",
		float64(p.bytes)/(1<<20)/(before+after).Seconds(), float64(p.bytes-p.afterCut)/(1<<20), before.Seconds(),
		float64(p.afterCut)/(1<<20), after.Seconds(), done.Sub(p.lastPart).Seconds(), done.Sub(p.first).Seconds())
}

// putBigAsset makes a Blob of mib MiB of pseudo-random bytes in the page
// and stores it as an asset.
func putBigAsset(t *testing.T, tab *browsertest.Tab, mib int) syncedRef {
	t.Helper()
	return browsertest.Eval[syncedRef](t, tab, `async (mib) => {
		const parts = [];
		let x = 2463534242;
		for (let i = 0; i < mib; i++) {
			const a = new Uint32Array(1 << 18);
			for (let j = 0; j < a.length; j++) {
				x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
				a[j] = x;
			}
			parts.push(a);
		}
		return call("put", new Blob(parts, { type: "application/octet-stream" }));
	}`, mib)
}

// The resumable upload of issue #20: a 256 MiB asset in 16 MiB parts,
// the connection cut at 53% of the bytes.
const bigMiB, bigPartMiB = 256, 16

// cutAt is where the proxies cut: half-way through the part after the
// first half of the bytes.
const cutAt = (bigMiB/2 + bigPartMiB/2) << 20

// TestAssetSyncResumeUpload: the parts go through the sync server (dirblob
// behind it) and a proxy in front of it that cuts the connection at 53%
// of the bytes, then refuses part uploads until the client asks for its
// upload again; the page is reloaded right after the cut. The upload
// resumes from the parts the server has: no part goes up more than twice,
// at most one twice, and the blob the server serves has the hash
// declared.
func TestAssetSyncResumeUpload(t *testing.T) {
	srv := startSyncServerWith(t, "sqlite", nil)
	proxy := startCutProxy(t, srv.URL(), cutAt, cutRules{
		partOf: func(r *http.Request) int {
			if r.Method != "PUT" || !strings.HasPrefix(r.URL.Path, "/v1/blobparts/") {
				return 0
			}
			n, _ := strconv.Atoi(r.URL.Query().Get("part"))
			return n
		},
		isPart: func(r *http.Request) bool {
			return r.Method != "OPTIONS" && strings.HasPrefix(r.URL.Path, "/v1/blobparts/")
		},
		resume: func(r *http.Request) bool {
			return r.Method == "POST" && r.URL.Path == strings.Replace(blobUpload, "ws", srv.ws, 1)
		},
	})
	resumeUpload(t, srv, proxy.URL(), proxy, true)
}

// TestAssetSyncResumeUploadPresigned: the parts go from the page straight
// to presigned UploadPart URLs of an S3 bucket (SeaweedFS), through a
// proxy in front of the gateway that the server knows as the bucket's
// endpoint (so the signatures name the proxy's host); it cuts the
// connection at 53% of the bytes and refuses part uploads until the
// server looks for the upload again (ListMultipartUploads). The page stays:
// its uploader fails, and its next attempt resumes.
func TestAssetSyncResumeUploadPresigned(t *testing.T) {
	bucket := startS3(t)
	partOf := func(r *http.Request) int {
		if r.Method != "PUT" || !r.URL.Query().Has("uploadId") {
			return 0
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("partNumber"))
		return n
	}
	proxy := startCutProxy(t, bucket.Endpoint, cutAt, cutRules{
		partOf: partOf,
		isPart: func(r *http.Request) bool { return partOf(r) > 0 },
		resume: func(r *http.Request) bool { return r.Method == "GET" && r.URL.Query().Has("uploads") },
	})
	viaProxy := *bucket
	viaProxy.Endpoint = proxy.URL()
	srv := startSyncServerWith(t, "sqlite", &viaProxy)
	resumeUpload(t, srv, srv.URL(), proxy, false)
	if n := srv.requests("PUT", `/v1/blobparts/ws/[0-9a-f]{64}`); n != 0 {
		t.Fatalf("%d part PUTs reached the server", n)
	}
}

// resumeUpload stores a 256 MiB asset in a page that syncs with the server
// at url and waits until it is uploaded, reloading the page at the cut if
// reload; then it checks what proxy saw and that the server serves the
// declared bytes.
func resumeUpload(t *testing.T, srv *syncServer, url string, proxy *cutProxy, reload bool) {
	f := newAssetFixtureOn(t, srv)
	a := f.b.NewTab(t, "A")
	o := f.opts("assets-a")
	o.URL = url
	openPage(t, a, o)
	ref := putBigAsset(t, a, bigMiB)
	if ref.Bytes != bigMiB<<20 {
		t.Fatalf("stored %d bytes", ref.Bytes)
	}
	call[map[string]string](t, a, "createNode", refJSON(ref))
	if reload {
		select {
		case <-proxy.cutCh:
		case <-time.After(5 * time.Minute):
			t.Fatal("no cut after 5 minutes")
		}
		openPage(t, a, o)
	}
	waitUploaded(t, a, ref.Hash, 5*time.Minute)
	proxy.report(t, bigMiB<<20, bigMiB/bigPartMiB, time.Now())
	if got := serverBlob(t, srv, ref.Hash); got != ref.Hash {
		t.Fatalf("the server holds %q for %s", got, ref.Hash)
	}
}
