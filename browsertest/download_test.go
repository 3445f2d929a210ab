package browsertest_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// rangeCutProxy forwards to a sync server and breaks off the body of the first
// blob download (a GET of a signed blob URL) after half its bytes, as a
// dropped connection does. It records the Range header of every blob GET
// and how many body bytes it passed on.
type rangeCutProxy struct {
	srv *httptest.Server

	mu     sync.Mutex
	cut    bool     // the first download was cut
	ranges []string // of each blob GET, "" for none
	sent   int64    // blob body bytes passed on
}

func startRangeCutProxy(t *testing.T, upstream string) *rangeCutProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &rangeCutProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{Proxy: nil, DisableKeepAlives: true}
	rp.ErrorLog = log.New(io.Discard, "", 0) // the cut is on purpose
	rp.ModifyResponse = func(resp *http.Response) error {
		r := resp.Request
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/v1/blobs/") {
			return nil
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.ranges = append(p.ranges, r.Header.Get("Range"))
		limit := int64(-1)
		if !p.cut && resp.StatusCode == http.StatusOK {
			p.cut, limit = true, resp.ContentLength/2
		}
		resp.Body = &rangeCutBody{r: resp.Body, p: p, limit: limit}
		return nil
	}
	// The server signs URLs for the Host it is asked at: the proxy's.
	p.srv = httptest.NewServer(rp)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *rangeCutProxy) URL() string { return p.srv.URL }

func (p *rangeCutProxy) stats() (ranges []string, sent int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ranges...), p.sent
}

// rangeCutBody passes on limit bytes of r (all of it when limit < 0), then
// fails, which makes the proxy abort the answer mid-body.
type rangeCutBody struct {
	r     io.ReadCloser
	p     *rangeCutProxy
	limit int64
	n     int64
}

func (c *rangeCutBody) Read(b []byte) (int, error) {
	if c.limit >= 0 && c.n >= c.limit {
		return 0, errors.New("connection cut by the test")
	}
	if c.limit >= 0 && int64(len(b)) > c.limit-c.n {
		b = b[:c.limit-c.n]
	}
	n, err := c.r.Read(b)
	c.n += int64(n)
	c.p.mu.Lock()
	c.p.sent += int64(n)
	c.p.mu.Unlock()
	return n, err
}

func (c *rangeCutBody) Close() error { return c.r.Close() }

// TestAssetSyncDownloadResumes: device B reads a 16 MiB asset whose
// download breaks off at half its bytes. The download goes on from there
// with a Range request instead of starting again: about the asset's size
// crosses the wire in all, and the bytes B stores hash to the asset's
// hash.
func TestAssetSyncDownloadResumes(t *testing.T) {
	f := newAssetFixture(t)
	a := f.b.NewTab(t, "A")
	openPage(t, a, f.opts("assets-big-a"))
	// A 2048×2048 noisy PNG: about 16 MiB, above the size from which
	// downloads resume.
	ref := browsertest.Eval[syncedRef](t, a, `async () => call("put", await image(7, 2048))`)
	if ref.Bytes < 12<<20 {
		t.Fatalf("large image ref %+v", ref)
	}
	ids := call[map[string]string](t, a, "createNode", refJSON(ref))
	waitUploaded(t, a, ref.Hash, 60*time.Second)

	proxy := startRangeCutProxy(t, f.srv.URL())
	b := f.b.NewProfile(t).NewTab(t, "B")
	ob := f.opts("assets-big-b")
	ob.URL = proxy.URL()
	openPage(t, b, ob)
	waitFor(t, 20*time.Second, func() string {
		if _, err := tryCall[any](t, b, "loadWorkflow", ids["workflowId"]); err != nil {
			return "B: " + err.Error()
		}
		return ""
	})
	start := time.Now()
	got := call[readResult](t, b, "read", refJSON(ref))
	took := time.Since(start)
	if got.Hash != ref.Hash || got.Size != ref.Bytes {
		t.Fatalf("B read %+v, want %s (%d bytes)", got, ref.Hash, ref.Bytes)
	}
	ranges, sent := proxy.stats()
	half := ref.Bytes / 2
	if len(ranges) != 2 || ranges[0] != "" || ranges[1] != fmt.Sprintf("bytes=%d-", half) {
		t.Fatalf("blob GETs with Range %q, want none then bytes=%d-", ranges, half)
	}
	if sent != ref.Bytes {
		t.Fatalf("%d body bytes crossed the proxy for a %d-byte asset", sent, ref.Bytes)
	}
	t.Logf("%d bytes read through a download cut at %d bytes and resumed, in %v", got.Size, half, took)
}
