package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strconv"
)

// Signed blob URLs are
//
//	/v1/blobs/{ws}/{hex digest}?expires=S&signature=B               (GET)
//	/v1/blobs/{ws}/{hex digest}?size=N&type=T&expires=S&signature=B (PUT)
//	/v1/blobs/{ws}/{hex digest}?size=N&type=T&expires=S&signature=B (POST: commit)
//
// where S is the expiry in seconds since the Unix epoch and B the
// unpadded URL-safe base64 of an HMAC-SHA256, under the server's secret,
// of the method, workspace, digest, size, media type and expiry. A URL
// differing in any of them, or used after S, is refused with 403.
const blobPath = "/v1/blobs/"

// signer computes and checks the signatures of blob URLs.
type signer struct{ key []byte }

// blobGrant is what a signed URL allows: one method on one blob of one
// workspace, until an expiry; uploads also fix the size and media type.
type blobGrant struct {
	method  string // "GET", "PUT" or "POST" (the commit of a presigned upload)
	ws      string
	sum     [32]byte
	size    int64  // PUT and POST only
	mime    string // PUT and POST only
	expires int64  // seconds since the Unix epoch
}

func (s signer) mac(g *blobGrant) []byte {
	m := hmac.New(sha256.New, s.key)
	// Every field is either fixed-length, a number, or free of newlines
	// (workspaces and media types are validated), so joining them with
	// newlines cannot make two grants sign alike.
	for _, f := range []string{"atelier-blob-url-v1", g.method, g.ws, hex.EncodeToString(g.sum[:]),
		strconv.FormatInt(g.size, 10), g.mime, strconv.FormatInt(g.expires, 10)} {
		m.Write([]byte(f))
		m.Write([]byte{'\n'})
	}
	return m.Sum(nil)
}

// url returns the path and query of the signed URL for g.
func (s signer) url(g *blobGrant) string {
	q := url.Values{}
	if g.method != "GET" {
		q.Set("size", strconv.FormatInt(g.size, 10))
		q.Set("type", g.mime)
	}
	q.Set("expires", strconv.FormatInt(g.expires, 10))
	q.Set("signature", base64.RawURLEncoding.EncodeToString(s.mac(g)))
	return blobPath + g.ws + "/" + hex.EncodeToString(g.sum[:]) + "?" + q.Encode()
}

// parse reads the grant of a signed URL for method (HEAD counts as GET)
// and reports whether its signature holds; the caller checks the expiry.
// The signature is compared in constant time.
func (s signer) parse(method, ws, digest string, q url.Values) (*blobGrant, bool) {
	g := &blobGrant{method: method, ws: ws}
	if method == "HEAD" {
		g.method = "GET"
	}
	if len(digest) != 2*len(g.sum) {
		return nil, false
	}
	if _, err := hex.Decode(g.sum[:], []byte(digest)); err != nil || hex.EncodeToString(g.sum[:]) != digest {
		return nil, false
	}
	var err error
	if g.expires, err = strconv.ParseInt(q.Get("expires"), 10, 64); err != nil {
		return nil, false
	}
	if g.method != "GET" {
		if g.size, err = strconv.ParseInt(q.Get("size"), 10, 64); err != nil || g.size < 0 {
			return nil, false
		}
		g.mime = q.Get("type")
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get("signature"))
	if err != nil {
		return nil, false
	}
	return g, hmac.Equal(sig, s.mac(g))
}
