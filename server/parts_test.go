package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
)

// TestPartGrants checks that the signed URLs of an upload in parts work
// only as what they were signed for, and that part requests out of the
// blob's range or with other bytes are refused.
func TestPartGrants(t *testing.T) {
	f := newServer(t, &server.Options{PartThreshold: 1 << 20, PartSize: server.MinPartSize})
	size := server.MinPartSize + 100
	content := bytes.Repeat([]byte("p"), size)
	send := func(method, u string, header map[string]string, body []byte) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	body, _ := json.Marshal(syncproto.BlobURLRequest{Hash: assetref.HashBytes(content), Bytes: int64(size)})
	code, answer := send("POST", f.srv.URL+strings.Replace(syncproto.RouteBlobUpload, "{ws}", "alpha", 1),
		map[string]string{"Authorization": "Bearer token-alpha"}, body)
	var g syncproto.BlobURLResponse
	if err := json.Unmarshal(answer, &g); err != nil || code != 200 || g.Parts == nil || g.Parts.Count != 2 {
		t.Fatalf("grant: %d %s", code, answer)
	}
	partURL := func(n int, hash string) string {
		req, _ := json.Marshal(syncproto.BlobPartRequest{Part: n, Hash: hash})
		code, answer := send("POST", g.URL, nil, req)
		var p syncproto.BlobPartResponse
		if code != 200 || json.Unmarshal(answer, &p) != nil {
			t.Fatalf("part %d URL: %d %s", n, code, answer)
		}
		return p.URL
	}
	p1 := content[:server.MinPartSize]
	put1 := partURL(1, assetref.HashBytes(p1))
	// Each URL at another method or path is refused.
	other := func(u, path string) string {
		pu, _ := url.Parse(u)
		pu.Path = path + strings.TrimPrefix(strings.TrimPrefix(pu.Path, "/v1/blobparts/"), "/v1/blobs/")
		return pu.String()
	}
	for _, c := range []struct{ method, url string }{
		{"PUT", g.URL},                      // the part URL endpoint as a part PUT
		{"POST", put1},                      // a part PUT as the part URL endpoint
		{"PUT", other(put1, "/v1/blobs/")},  // a part PUT as a whole blob's
		{"POST", other(put1, "/v1/blobs/")}, // a part PUT as a commit
		{"POST", other(g.URL, "/v1/blobs/")},
		{"POST", other(g.Commit, "/v1/blobparts/")},
	} {
		if code, answer := send(c.method, c.url, nil, p1); code != http.StatusForbidden {
			t.Errorf("%s %s: %d %s, want 403", c.method, c.url, code, answer)
		}
	}
	// Part numbers out of range, and malformed hashes.
	for _, req := range []string{`{"part":0,"hash":"` + assetref.HashBytes(p1) + `"}`, `{"part":3,"hash":"` + assetref.HashBytes(p1) + `"}`, `{"part":1,"hash":"x"}`, `{`} {
		if code, answer := send("POST", g.URL, nil, []byte(req)); code != http.StatusBadRequest {
			t.Errorf("part URL request %s: %d %s, want 400", req, code, answer)
		}
	}
	// A part with a byte too many, or with the last byte changed.
	if code, _ := send("PUT", put1, nil, append(bytes.Clone(p1), 'p')); code != http.StatusRequestEntityTooLarge {
		t.Errorf("part with a byte too many: %d, want 413", code)
	}
	changed := bytes.Clone(p1)
	changed[len(changed)-1] = 'q'
	if code, _ := send("PUT", put1, nil, changed); code != http.StatusBadRequest {
		t.Errorf("part with another byte: %d, want 400", code)
	}
	if code, _ := send("PUT", put1, nil, p1); code != http.StatusNoContent {
		t.Errorf("part 1: %d", code)
	}
	if code, answer := send("POST", g.Commit, nil, nil); code != http.StatusConflict || !strings.Contains(string(answer), "Incomplete") {
		t.Errorf("commit without part 2: %d %s", code, answer)
	}
	if code, _ := send("PUT", partURL(2, assetref.HashBytes(content[server.MinPartSize:])), nil, content[server.MinPartSize:]); code != http.StatusNoContent {
		t.Errorf("part 2: %d", code)
	}
	if code, answer := send("POST", g.Commit, nil, nil); code != http.StatusNoContent {
		t.Errorf("commit: %d %s", code, answer)
	}
}
