package assetref

import (
	"errors"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/internal/errs"
)

const (
	testID   = "0190a5c8-7b3e-7d2a-9f1e-3c4b5a6d7e8f"
	testPath = "atelier/assets/image/" + testID
)

var testHash = HashBytes([]byte("hello"))

// typicalRef is what a graph node mostly holds: an OPFS image.
var typicalRef = Ref{Kind: KindOPFS, Path: testPath, MIME: "image/png", Bytes: 1834521, Hash: testHash}

// nonCanonicalHash spells the digest of testHash with nonzero unused bits in
// its last base64 character, which a lenient decoder would accept.
func nonCanonicalHash() string {
	last := testHash[len(testHash)-2]
	return testHash[:len(testHash)-2] + string(b64Alphabet[b64[last]|1]) + "="
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// refCases is the one table of valid and invalid refs. Validation, the
// codecs and the fuzz targets' seed corpora all draw on it.
var refCases = []struct {
	name  string
	ref   Ref
	field string // the field Validate must name; "" if the ref is valid
}{
	// Valid, one per kind and then the optional fields.
	{"url https", Ref{Kind: KindURL, URL: "https://cdn.example.com/a/b.png?x=1#frag"}, ""},
	{"url http port", Ref{Kind: KindURL, URL: "http://127.0.0.1:8080/a.png"}, ""},
	{"url upper-case scheme", Ref{Kind: KindURL, URL: "HTTPS://example.com/"}, ""},
	{"url non-ASCII path", Ref{Kind: KindURL, URL: "https://example.com/bild-ü.png"}, ""},
	{"url blob", Ref{Kind: KindURL, URL: "blob:https://app.example.com/550e8400-e29b-41d4-a716-446655440000"}, ""},
	{"url blob null origin", Ref{Kind: KindURL, URL: "blob:null/550e8400-e29b-41d4-a716-446655440000"}, ""},
	{"opfs typical", typicalRef, ""},
	{"opfs one segment", Ref{Kind: KindOPFS, Path: "a"}, ""},
	{"opfs dots inside names", Ref{Kind: KindOPFS, Path: "a/.hidden/b..c/..."}, ""},
	{"opfs unicode", Ref{Kind: KindOPFS, Path: "atelier/Ünïcode ✓/ファイル"}, ""},
	{"fs-handle", Ref{Kind: KindFSHandle, HandleID: "dir-7/photos/cat.jpg"}, ""},
	{"idb", Ref{Kind: KindIDB, BlobKey: testID}, ""},
	{"embedded", Ref{Kind: KindEmbedded, ID: testID, MIME: "video/mp4", Bytes: 1, Hash: testHash}, ""},
	{"embedded unicode id", Ref{Kind: KindEmbedded, ID: "bild ü.png"}, ""},
	{"mime svg", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image/svg+xml"}, ""},
	{"mime octet-stream", Ref{Kind: KindIDB, BlobKey: "k", MIME: "application/octet-stream"}, ""},
	{"mime vendor", Ref{Kind: KindIDB, BlobKey: "k", MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}, ""},
	{"mime params", Ref{Kind: KindIDB, BlobKey: "k", MIME: `video/mp4; codecs="avc1.42E01E, mp4a.40.2"`}, ""},
	{"mime upper case", Ref{Kind: KindIDB, BlobKey: "k", MIME: "Image/PNG"}, ""},
	{"bytes max", Ref{Kind: KindIDB, BlobKey: "k", Bytes: MaxBytes}, ""},
	{"url max length", Ref{Kind: KindURL, URL: "https://example.com/" + strings.Repeat("a", MaxURLLen-20)}, ""},
	{"path max length", Ref{Kind: KindOPFS, Path: strings.Repeat("a", MaxPathLen)}, ""},
	{"id max length", Ref{Kind: KindEmbedded, ID: strings.Repeat("a", MaxIDLen)}, ""},
	{"json escapes needed", Ref{Kind: KindURL, URL: "https://example.com/\"q\"\\\u2028<>&", MIME: "text/plain; a=\"x\ty\""}, ""},

	// Kind and the one-field rule.
	{"zero", Ref{}, "kind"},
	{"kind unknown", Ref{Kind: "ftp", URL: "ftp://example.com/a"}, "kind"},
	{"kind unknown alone", Ref{Kind: "ftp"}, "kind"},
	{"kind wrong case", Ref{Kind: "URL"}, "kind"},
	{"url missing", Ref{Kind: KindURL, MIME: "image/png"}, "url"},
	{"path missing", Ref{Kind: KindOPFS}, "path"},
	{"handleId missing", Ref{Kind: KindFSHandle}, "handleId"},
	{"blobKey missing", Ref{Kind: KindIDB}, "blobKey"},
	{"id missing", Ref{Kind: KindEmbedded}, "id"},
	{"url with path", Ref{Kind: KindURL, URL: "https://example.com/", Path: "a"}, "path"},
	{"opfs with url", Ref{Kind: KindOPFS, URL: "https://example.com/", Path: "a"}, "url"},
	{"embedded with blobKey", Ref{Kind: KindEmbedded, ID: "a", BlobKey: "b"}, "blobKey"},
	{"idb with id", Ref{Kind: KindIDB, BlobKey: "b", ID: "a"}, "id"},
	{"fs-handle with path", Ref{Kind: KindFSHandle, HandleID: "h", Path: "a"}, "path"},

	// URLs.
	{"url ftp", Ref{Kind: KindURL, URL: "ftp://example.com/a.png"}, "url"},
	{"url data", Ref{Kind: KindURL, URL: "data:image/png;base64,iVBORw0KGgo="}, "url"},
	{"url javascript", Ref{Kind: KindURL, URL: "javascript:alert(1)"}, "url"},
	{"url file", Ref{Kind: KindURL, URL: "file:///etc/passwd"}, "url"},
	{"url relative", Ref{Kind: KindURL, URL: "/assets/a.png"}, "url"},
	{"url scheme-relative", Ref{Kind: KindURL, URL: "//example.com/a.png"}, "url"},
	{"url no host", Ref{Kind: KindURL, URL: "http:///a.png"}, "url"},
	{"url opaque http", Ref{Kind: KindURL, URL: "http:example.com"}, "url"},
	{"url credentials", Ref{Kind: KindURL, URL: "https://user:pw@example.com/a.png"}, "url"},
	{"url blob empty", Ref{Kind: KindURL, URL: "blob:"}, "url"},
	{"url blob with slashes", Ref{Kind: KindURL, URL: "blob://example.com/x"}, "url"},
	{"url unparsable", Ref{Kind: KindURL, URL: "https://exa mple.com/"}, "url"},
	{"url control", Ref{Kind: KindURL, URL: "https://example.com/\x00"}, "url"},
	{"url bad UTF-8", Ref{Kind: KindURL, URL: "https://example.com/\xff"}, "url"},
	{"url too long", Ref{Kind: KindURL, URL: "https://example.com/" + strings.Repeat("a", MaxURLLen)}, "url"},

	// OPFS paths.
	{"path absolute", Ref{Kind: KindOPFS, Path: "/atelier/a"}, "path"},
	{"path empty segment", Ref{Kind: KindOPFS, Path: "atelier//a"}, "path"},
	{"path trailing slash", Ref{Kind: KindOPFS, Path: "atelier/a/"}, "path"},
	{"path dot", Ref{Kind: KindOPFS, Path: "atelier/./a"}, "path"},
	{"path dotdot", Ref{Kind: KindOPFS, Path: "atelier/../a"}, "path"},
	{"path only dotdot", Ref{Kind: KindOPFS, Path: ".."}, "path"},
	{"path backslash", Ref{Kind: KindOPFS, Path: `atelier\a`}, "path"},
	{"path NUL", Ref{Kind: KindOPFS, Path: "atelier/a\x00b"}, "path"},
	{"path newline", Ref{Kind: KindOPFS, Path: "atelier/a\nb"}, "path"},
	{"path bad UTF-8", Ref{Kind: KindOPFS, Path: "atelier/\xc3("}, "path"},
	{"path too long", Ref{Kind: KindOPFS, Path: strings.Repeat("a", MaxPathLen+1)}, "path"},

	// Opaque keys and ids.
	{"handleId control", Ref{Kind: KindFSHandle, HandleID: "h\x1b"}, "handleId"},
	{"blobKey too long", Ref{Kind: KindIDB, BlobKey: strings.Repeat("k", MaxKeyLen+1)}, "blobKey"},
	{"blobKey DEL", Ref{Kind: KindIDB, BlobKey: "k\x7f"}, "blobKey"},
	{"id slash", Ref{Kind: KindEmbedded, ID: "assets/a"}, "id"},
	{"id backslash", Ref{Kind: KindEmbedded, ID: `..\a`}, "id"},
	{"id dot", Ref{Kind: KindEmbedded, ID: "."}, "id"},
	{"id dotdot", Ref{Kind: KindEmbedded, ID: ".."}, "id"},
	{"id too long", Ref{Kind: KindEmbedded, ID: strings.Repeat("a", MaxIDLen+1)}, "id"},

	// MIME types.
	{"mime no subtype", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image"}, "mime"},
	{"mime empty subtype", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image/"}, "mime"},
	{"mime empty type", Ref{Kind: KindIDB, BlobKey: "k", MIME: "/png"}, "mime"},
	{"mime wildcard", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image/*"}, "mime"},
	{"mime two slashes", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image/png/x"}, "mime"},
	{"mime space", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image png"}, "mime"},
	{"mime non-ASCII", Ref{Kind: KindIDB, BlobKey: "k", MIME: "imäge/png"}, "mime"},
	{"mime newline", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image/png\n"}, "mime"},
	{"mime bad params", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image/png; =x"}, "mime"},
	{"mime too long", Ref{Kind: KindIDB, BlobKey: "k", MIME: "image/" + strings.Repeat("a", MaxMIMELen)}, "mime"},

	// Sizes and hashes.
	{"bytes negative", Ref{Kind: KindIDB, BlobKey: "k", Bytes: -1}, "bytes"},
	{"bytes too large", Ref{Kind: KindIDB, BlobKey: "k", Bytes: MaxBytes + 1}, "bytes"},
	{"hash prefix only", Ref{Kind: KindIDB, BlobKey: "k", Hash: "sha256-"}, "hash"},
	{"hash sha384", Ref{Kind: KindIDB, BlobKey: "k", Hash: "sha384-" + testHash[7:]}, "hash"},
	{"hash hex", Ref{Kind: KindIDB, BlobKey: "k", Hash: "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}, "hash"},
	{"hash no padding", Ref{Kind: KindIDB, BlobKey: "k", Hash: strings.TrimSuffix(testHash, "=")}, "hash"},
	{"hash url alphabet", Ref{Kind: KindIDB, BlobKey: "k", Hash: "sha256-" + strings.Repeat("_", 43) + "="}, "hash"},
	{"hash non-canonical", Ref{Kind: KindIDB, BlobKey: "k", Hash: nonCanonicalHash()}, "hash"},
	{"hash newline", Ref{Kind: KindIDB, BlobKey: "k", Hash: testHash[:20] + "\n" + testHash[21:]}, "hash"},
	{"hash short digest", Ref{Kind: KindIDB, BlobKey: "k", Hash: "sha256-" + strings.Repeat("A", 40) + "AA=="}, "hash"},
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, c := range refCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.ref.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", c.ref, err)
				}
				return
			}
			checkRefError(t, err, c.field)
		})
	}
}

// checkRefError fails t unless err is a *RefError naming field that matches
// errs.ErrInvalidRef.
func checkRefError(t testing.TB, err error, field string) {
	t.Helper()
	if !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("err = %v, want one matching ErrInvalidRef", err)
	}
	var re *RefError
	if !errors.As(err, &re) {
		t.Fatalf("err = %T %v, want *RefError", err, err)
	}
	if re.Field != field {
		t.Fatalf("err = %v, names field %q, want %q", err, re.Field, field)
	}
	if !strings.HasPrefix(err.Error(), "invalid asset reference: ") {
		t.Errorf("Error() = %q, want the ErrInvalidRef text first", err)
	}
}

func TestRefErrorIsOnlyInvalidRef(t *testing.T) {
	t.Parallel()
	err := Ref{}.Validate()
	for _, other := range []error{errs.ErrInvalid, errs.ErrNotFound} {
		if errors.Is(err, other) {
			t.Errorf("errors.Is(%v, %v) = true", err, other)
		}
	}
}

func TestRefComparable(t *testing.T) {
	t.Parallel()
	// Stores and callers key maps by Ref and compare refs with ==;
	// adding a slice or map field to Ref would break them.
	seen := map[Ref]int{typicalRef: 1}
	cp := typicalRef
	if seen[cp] != 1 {
		t.Fatal("a copy of a Ref is not the same map key")
	}
	cp.MIME = "image/jpeg"
	if cp == typicalRef {
		t.Fatal("refs differing in MIME compare equal")
	}
}
