package storetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

// blobURL asks ws's route (upload or download) for a signed URL.
func (e *env) blobURL(r, ws string, req syncproto.BlobURLRequest) (*response, syncproto.BlobURLResponse) {
	e.tb.Helper()
	res := e.do("POST", route(r, ws), tokenOf(ws), req)
	var u syncproto.BlobURLResponse
	if res.status == http.StatusOK {
		if err := json.Unmarshal(res.body, &u); err != nil || u.URL == "" {
			e.tb.Fatalf("blob URL response %s: %v", res.body, err)
		}
	}
	return res, u
}

func (e *env) missing(ws string, hashes ...string) []string {
	e.tb.Helper()
	res := e.do("POST", route(syncproto.RouteBlobCheck, ws), tokenOf(ws), syncproto.BlobCheckRequest{Hashes: hashes})
	if res.status != http.StatusOK {
		e.tb.Fatalf("blob check: %d %s", res.status, res.body)
	}
	var c syncproto.BlobCheckResponse
	if err := json.Unmarshal(res.body, &c); err != nil || c.Missing == nil {
		e.tb.Fatalf("blob check response %s: %v", res.body, err)
	}
	return c.Missing
}

// upload asks for an upload URL and puts content there, without a token.
func (e *env) upload(t *testing.T, ws string, content []byte, mime string) {
	t.Helper()
	res, u := e.blobURL(syncproto.RouteBlobUpload, ws, syncproto.BlobURLRequest{Hash: assetref.HashBytes(content), Bytes: int64(len(content)), MIME: mime})
	wantStatus(t, "upload URL", res, http.StatusOK, "")
	wantStatus(t, "upload", e.do("PUT", u.URL, "", content), http.StatusNoContent, "")
}

// download asks for a download URL and gets the bytes there.
func (e *env) download(t *testing.T, ws, hash string) *response {
	t.Helper()
	res, u := e.blobURL(syncproto.RouteBlobDownload, ws, syncproto.BlobURLRequest{Hash: hash})
	wantStatus(t, "download URL", res, http.StatusOK, "")
	return e.do("GET", u.URL, "", nil)
}

func testBlobs(t *testing.T, open Opener) {
	e := newEnv(t, open)
	img := bytes.Repeat([]byte("png!"), 50_000) // 200 kB: several reads
	txt := []byte("hello")
	hi, ht := assetref.HashBytes(img), assetref.HashBytes(txt)
	if got := e.missing("alpha", hi, ht, hi); !equal(got, []string{hi, ht}) {
		t.Fatalf("missing %v, want both once", got)
	}
	e.upload(t, "alpha", img, "image/png")
	if got := e.missing("alpha", hi, ht); !equal(got, []string{ht}) {
		t.Fatalf("missing %v after upload", got)
	}
	if got := e.missing("alpha"); len(got) != 0 {
		t.Fatalf("missing %v of nothing", got)
	}
	r := e.download(t, "alpha", hi)
	if r.status != http.StatusOK || !bytes.Equal(r.body, img) || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("download: %d, %d bytes, %s", r.status, len(r.body), r.header.Get("Content-Type"))
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download headers: %v", r.header)
	}
	// Ranges work, as media elements ask for them.
	_, u := e.blobURL(syncproto.RouteBlobDownload, "alpha", syncproto.BlobURLRequest{Hash: hi})
	req, _ := http.NewRequest("GET", u.URL, nil)
	req.Header.Set("Range", "bytes=4-11")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(part) != "png!png!" {
		t.Fatalf("range: %d %q", resp.StatusCode, part)
	}

	// Asking to upload what the workspace has: 409, nothing to send.
	res, _ := e.blobURL(syncproto.RouteBlobUpload, "alpha", syncproto.BlobURLRequest{Hash: hi, Bytes: int64(len(img))})
	wantStatus(t, "upload URL of a blob the workspace has", res, http.StatusConflict, "Exists")

	// Blobs are per workspace, though the bytes are shared.
	if got := e.missing("beta", hi); !equal(got, []string{hi}) {
		t.Fatalf("beta sees alpha's blob: missing %v", got)
	}
	res, _ = e.blobURL(syncproto.RouteBlobDownload, "beta", syncproto.BlobURLRequest{Hash: hi})
	wantStatus(t, "download URL of another workspace's blob", res, http.StatusNotFound, "NotFound")
	_, u = e.blobURL(syncproto.RouteBlobDownload, "alpha", syncproto.BlobURLRequest{Hash: hi})
	wantStatus(t, "alpha's URL moved to beta", e.do("GET", strings.Replace(u.URL, "/alpha/", "/beta/", 1), "", nil), http.StatusForbidden, "Forbidden")
	e.upload(t, "beta", img, "application/octet-stream")
	if r := e.download(t, "beta", hi); !bytes.Equal(r.body, img) || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("beta's download: %d bytes, %s", len(r.body), r.header.Get("Content-Type"))
	}

	// The empty blob needs no size; any other does.
	e.upload(t, "alpha", nil, "")
	if r := e.download(t, "alpha", assetref.HashBytes(nil)); r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("empty blob: %d, %d bytes", r.status, len(r.body))
	}
	res, _ = e.blobURL(syncproto.RouteBlobUpload, "alpha", syncproto.BlobURLRequest{Hash: ht})
	wantStatus(t, "upload URL without a size", res, http.StatusBadRequest, "Invalid")

	for name, req := range map[string]any{
		"check: not a hash":         syncproto.BlobCheckRequest{Hashes: []string{"sha256-nope"}},
		"check: hex digest":         syncproto.BlobCheckRequest{Hashes: []string{strings.Repeat("ab", 32)}},
		"check: not JSON":           []byte("{"),
		"check: too many":           syncproto.BlobCheckRequest{Hashes: repeat(ht, 1001)},
		"upload: not a hash":        syncproto.BlobURLRequest{Hash: "md5-x", Bytes: 3},
		"upload: negative size":     syncproto.BlobURLRequest{Hash: ht, Bytes: -1},
		"upload: not a media type":  syncproto.BlobURLRequest{Hash: ht, Bytes: 5, MIME: "image/png; x"},
		"upload: non-ASCII type":    []byte(`{"hash":"` + ht + `","bytes":5,"mime":"text/plain; charset=\"é\""}`),
		"download: not a hash":      syncproto.BlobURLRequest{Hash: ""},
		"download: a SRI of sha512": syncproto.BlobURLRequest{Hash: "sha512-" + strings.Repeat("A", 86) + "=="},
	} {
		r := strings.SplitN(name, ":", 2)[0]
		rt := map[string]string{"check": syncproto.RouteBlobCheck, "upload": syncproto.RouteBlobUpload, "download": syncproto.RouteBlobDownload}[r]
		wantStatus(t, name, e.do("POST", route(rt, "alpha"), tokenOf("alpha"), req), http.StatusBadRequest, "Invalid")
	}
	res, _ = e.blobURL(syncproto.RouteBlobUpload, "alpha", syncproto.BlobURLRequest{Hash: ht, Bytes: 3 << 30})
	wantStatus(t, "upload URL of a blob over the limit", res, http.StatusRequestEntityTooLarge, "TooLarge")
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testBlobURLs(t *testing.T, open Opener) {
	e := newEnv(t, open, func(o *server.Options) {
		o.URLTTL = 10 * time.Minute
		o.AllowedOrigins = []string{"http://localhost:8080"}
	})
	content := []byte("some bytes")
	hash := assetref.HashBytes(content)
	res, up := e.blobURL(syncproto.RouteBlobUpload, "alpha", syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content)), MIME: "text/plain"})
	wantStatus(t, "upload URL", res, http.StatusOK, "")
	if want := e.clock.now().Add(10 * time.Minute).UnixMilli(); up.ExpiresAt != want {
		t.Fatalf("ExpiresAt %d, want %d", up.ExpiresAt, want)
	}
	u, _ := url.Parse(up.URL)
	tamper := func(key, val string) string {
		v := u.Query()
		v.Set(key, val)
		c := *u
		c.RawQuery = v.Encode()
		return c.String()
	}
	sig := u.Query().Get("signature")
	flipped := []byte(sig)
	flipped[3] ^= 1
	for name, target := range map[string]string{
		"size changed":        tamper("size", "11"),
		"type changed":        tamper("type", "text/html"),
		"expiry moved":        tamper("expires", "99999999999"),
		"signature changed":   tamper("signature", string(flipped)),
		"signature removed":   tamper("signature", ""),
		"another workspace":   strings.Replace(up.URL, "/alpha/", "/beta/", 1),
		"another blob":        strings.Replace(up.URL, hex(hash)[:8], "00000000", 1),
		"upper-case digest":   strings.Replace(up.URL, hex(hash), strings.ToUpper(hex(hash)), 1),
		"signed with another": strings.Replace(up.URL, "signature="+sig, "signature="+strings.Repeat("A", len(sig)), 1),
	} {
		wantStatus(t, name, e.do("PUT", target, "", content), http.StatusForbidden, "Forbidden")
	}
	// A PUT URL does not allow GET, nor the other way round.
	wantStatus(t, "GET at a PUT URL", e.do("GET", up.URL, "", nil), http.StatusForbidden, "Forbidden")

	// CORS headers on signed URLs too.
	req, _ := http.NewRequest("PUT", up.URL, bytes.NewReader(content))
	req.Header.Set("Origin", "http://localhost:8080")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:8080" {
		t.Fatalf("upload from the page: %d, %v", resp.StatusCode, resp.Header)
	}
	_, down := e.blobURL(syncproto.RouteBlobDownload, "alpha", syncproto.BlobURLRequest{Hash: hash})
	wantStatus(t, "PUT at a GET URL", e.do("PUT", down.URL, "", content), http.StatusForbidden, "Forbidden")
	if r := e.do("GET", down.URL, "", nil); r.status != http.StatusOK || string(r.body) != string(content) || r.header.Get("Content-Type") != "text/plain" {
		t.Fatalf("download: %d %q %s", r.status, r.body, r.header.Get("Content-Type"))
	}
	if r := e.do("HEAD", down.URL, "", nil); r.status != http.StatusOK || r.header.Get("Content-Length") != "10" {
		t.Fatalf("HEAD: %d %v", r.status, r.header)
	}
	// Putting it again at the old URL is harmless.
	wantStatus(t, "second upload", e.do("PUT", up.URL, "", content), http.StatusNoContent, "")

	// Expiry: the URL works until ExpiresAt, not after.
	e.clock.ms.Store(down.ExpiresAt - 1001)
	wantStatus(t, "just before expiry", e.do("GET", down.URL, "", nil), http.StatusOK, "")
	e.clock.ms.Store(down.ExpiresAt)
	wantStatus(t, "at expiry", e.do("GET", down.URL, "", nil), http.StatusForbidden, "Forbidden")
	wantStatus(t, "upload at expiry", e.do("PUT", up.URL, "", content), http.StatusForbidden, "Forbidden")
}

func hex(sriHash string) string {
	sum, _ := assetref.ParseHash(sriHash)
	const digits = "0123456789abcdef"
	var b strings.Builder
	for _, c := range sum {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

func testBlobLies(t *testing.T, open Opener) {
	e := newEnv(t, open)
	content := bytes.Repeat([]byte{7}, 100_000)
	hash := assetref.HashBytes(content)
	urlFor := func() string {
		res, u := e.blobURL(syncproto.RouteBlobUpload, "alpha", syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content))})
		wantStatus(t, "upload URL", res, http.StatusOK, "")
		return u.URL
	}
	other := append([]byte(nil), content...)
	other[50_000] = 8
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"more bytes", append(append([]byte(nil), content...), 1), http.StatusRequestEntityTooLarge, "TooLarge"},
		{"more bytes, chunked", io.MultiReader(bytes.NewReader(content), bytes.NewReader([]byte{1})), http.StatusRequestEntityTooLarge, "TooLarge"},
		{"fewer bytes", content[:len(content)-1], http.StatusBadRequest, "Invalid"},
		{"fewer bytes, chunked", io.MultiReader(bytes.NewReader(content[:10])), http.StatusBadRequest, "Invalid"},
		{"no bytes", []byte{}, http.StatusBadRequest, "Invalid"},
		{"other bytes", other, http.StatusBadRequest, "Invalid"},
		{"other bytes, chunked", io.MultiReader(bytes.NewReader(other)), http.StatusBadRequest, "Invalid"},
	} {
		wantStatus(t, tc.name, e.do("PUT", urlFor(), "", tc.body), tc.status, tc.code)
		if got := e.missing("alpha", hash); len(got) != 1 {
			t.Fatalf("%s: the blob was recorded", tc.name)
		}
		res, _ := e.blobURL(syncproto.RouteBlobDownload, "alpha", syncproto.BlobURLRequest{Hash: hash})
		wantStatus(t, tc.name+": download URL", res, http.StatusNotFound, "NotFound")
	}
	// No bytes were kept either: a BlobStore read finds nothing.
	sum, _ := assetref.ParseHash(hash)
	if f, err := e.blobs.Open(t.Context(), sum); err == nil {
		f.Close()
		t.Fatal("the bytes of a refused upload were stored")
	}
	wantStatus(t, "the truth", e.do("PUT", urlFor(), "", content), http.StatusNoContent, "")
	if r := e.download(t, "alpha", hash); !bytes.Equal(r.body, content) {
		t.Fatal("download differs")
	}
}
