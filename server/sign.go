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
//
// An upload in parts (syncproto.BlobParts) adds the upload's id U and its
// part size C to the query, and to what is signed, with the kind of URL:
//
//	/v1/blobparts/{ws}/{hex digest}?size=N&type=T&upload=U&chunk=C&expires=S&signature=B              (POST: part URLs)
//	/v1/blobparts/{ws}/{hex digest}?size=N&type=T&upload=U&chunk=C&part=P&phash=H&expires=S&signature=B (PUT: a part)
//	/v1/blobs/{ws}/{hex digest}?size=N&type=T&upload=U&chunk=C&expires=S&signature=B                  (POST: commit)
//
// where P is the part's number and H the hex SHA-256 of its bytes.
const (
	blobPath = "/v1/blobs/"
	partPath = "/v1/blobparts/"
)

// Kinds of grants of an upload in parts.
const (
	kindParts  = "parts"  // POST for part URLs
	kindPart   = "part"   // PUT of one part
	kindCommit = "commit" // POST joining the parts
)

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

	// Uploads in parts only: the kind of URL (kindParts, ...), the
	// store's upload id, the part size, and for a part PUT its number and
	// digest.
	kind    string
	upload  string
	chunk   int64
	part    int
	partSum [32]byte
}

func (s signer) mac(g *blobGrant) []byte {
	m := hmac.New(sha256.New, s.key)
	// Every field is either fixed-length, a number, or free of newlines
	// (workspaces and media types are validated), so joining them with
	// newlines cannot make two grants sign alike.
	fields := []string{"atelier-blob-url-v1", g.method, g.ws, hex.EncodeToString(g.sum[:]),
		strconv.FormatInt(g.size, 10), g.mime, strconv.FormatInt(g.expires, 10)}
	if g.kind != "" {
		// Upload ids are the store's: checked to be printable ASCII
		// without newlines where they are parsed.
		fields = append(fields, "parts", g.kind, g.upload, strconv.FormatInt(g.chunk, 10),
			strconv.Itoa(g.part), hex.EncodeToString(g.partSum[:]))
	}
	for _, f := range fields {
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
	path := blobPath
	if g.kind != "" {
		q.Set("upload", g.upload)
		q.Set("chunk", strconv.FormatInt(g.chunk, 10))
		if g.kind != kindCommit {
			path = partPath
		}
		if g.kind == kindPart {
			q.Set("part", strconv.Itoa(g.part))
			q.Set("phash", hex.EncodeToString(g.partSum[:]))
		}
	}
	q.Set("expires", strconv.FormatInt(g.expires, 10))
	q.Set("signature", base64.RawURLEncoding.EncodeToString(s.mac(g)))
	return path + g.ws + "/" + hex.EncodeToString(g.sum[:]) + "?" + q.Encode()
}

// parse reads the grant of a signed URL for method (HEAD counts as GET)
// and reports whether its signature holds; the caller checks the expiry.
// The signature is compared in constant time. parts tells a URL under
// partPath.
func (s signer) parse(method, ws, digest string, q url.Values, parts bool) (*blobGrant, bool) {
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
	if q.Has("upload") {
		switch {
		case !parts && method == "POST":
			g.kind = kindCommit
		case parts && method == "POST":
			g.kind = kindParts
		case parts && method == "PUT":
			g.kind = kindPart
		default:
			return nil, false
		}
		g.upload = q.Get("upload")
		if !printableASCII(g.upload) {
			return nil, false
		}
		if g.chunk, err = strconv.ParseInt(q.Get("chunk"), 10, 64); err != nil || g.chunk <= 0 {
			return nil, false
		}
		if g.kind == kindPart {
			if g.part, err = strconv.Atoi(q.Get("part")); err != nil || g.part < 1 {
				return nil, false
			}
			h := q.Get("phash")
			if len(h) != 2*len(g.partSum) {
				return nil, false
			}
			if _, err := hex.Decode(g.partSum[:], []byte(h)); err != nil {
				return nil, false
			}
		}
	} else if parts {
		return nil, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get("signature"))
	if err != nil {
		return nil, false
	}
	return g, hmac.Equal(sig, s.mac(g))
}
