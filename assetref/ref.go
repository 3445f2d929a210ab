package assetref

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/atelierstore/atelier/internal/errs"
)

// Kind says where the bytes of an asset live and therefore which field of a
// Ref locates them.
type Kind string

// The kinds of asset reference. The string values are part of the stored
// format and never change.
const (
	// KindURL: the asset is fetched from Ref.URL, an http, https or blob URL.
	KindURL Kind = "url"
	// KindOPFS: the asset is a file in the origin private file system at
	// Ref.Path.
	KindOPFS Kind = "opfs"
	// KindFSHandle: the asset is a file in a folder the user granted access
	// to, named by Ref.HandleID.
	KindFSHandle Kind = "fs-handle"
	// KindIDB: the asset is a blob in the IndexedDB blob store under
	// Ref.BlobKey.
	KindIDB Kind = "idb"
	// KindEmbedded: the asset travels inside an exported package under
	// Ref.ID.
	KindEmbedded Kind = "embedded"
)

// Limits on the fields of a Ref. They keep a hostile or corrupt record from
// bloating memory or storage; real references stay far below them.
const (
	MaxURLLen  = 8 << 10 // bytes in Ref.URL
	MaxPathLen = 1 << 10 // bytes in Ref.Path
	MaxKeyLen  = 1 << 10 // bytes in Ref.HandleID and Ref.BlobKey
	MaxIDLen   = 255     // bytes in Ref.ID and Hint.ID: one file name
	MaxMIMELen = 255     // bytes in Ref.MIME

	// MaxBytes is the largest Ref.Bytes: 2^53-1, the largest integer a
	// JavaScript number holds exactly, so a size survives a trip through JS.
	MaxBytes = 1<<53 - 1
)

// Ref points at one binary asset. Graph nodes hold a Ref instead of the
// bytes themselves.
//
// Exactly one of URL, Path, HandleID, BlobKey and ID is set: the one that
// belongs to Kind. MIME, Bytes and Hash are optional descriptions of the
// content. Ref is comparable: two refs are the same reference when they are
// ==.
type Ref struct {
	Kind     Kind   // where the asset lives; selects the field below
	URL      string // KindURL: absolute http, https or blob: URL
	Path     string // KindOPFS: slash-separated path relative to the OPFS root, e.g. "atelier/assets/image/<id>"
	HandleID string // KindFSHandle: opaque id of a persisted directory handle plus file
	BlobKey  string // KindIDB: opaque key in the IndexedDB blob store
	ID       string // KindEmbedded: asset id inside an exported package; one path segment
	MIME     string // optional media type, e.g. "image/png"
	Bytes    int64  // optional size in bytes; 0 means unknown (or empty, if Hash is HashBytes(nil))
	Hash     string // optional "sha256-<base64 digest>", the Subresource Integrity form
}

// IsZero reports whether r is the zero Ref, which is what an absent
// optional ref looks like. The zero Ref is not valid, so encoding it fails;
// IsZero lets a record leave it out instead, with the JSON tag option
// omitzero or the msgpack tag option omitempty.
func (r Ref) IsZero() bool { return r == Ref{} }

// RefError describes why a Ref is invalid. It matches errs.ErrInvalidRef
// with errors.Is.
type RefError struct {
	Field  string // JSON name of the offending field, e.g. "path"; "" for the whole value
	Reason string // what is wrong, e.g. "must not contain .. segments"
}

// Error returns "invalid asset reference: <field>: <reason>".
func (e *RefError) Error() string {
	if e.Field == "" {
		return errs.ErrInvalidRef.Error() + ": " + e.Reason
	}
	return errs.ErrInvalidRef.Error() + ": " + e.Field + ": " + e.Reason
}

// Is reports whether target is errs.ErrInvalidRef.
func (e *RefError) Is(target error) bool { return target == errs.ErrInvalidRef }

func refErr(field, reason string) error { return &RefError{Field: field, Reason: reason} }

// locatorKinds maps each locator field, fURL through fID, to its kind.
var locatorKinds = [...]Kind{fURL: KindURL, fPath: KindOPFS, fHandleID: KindFSHandle, fBlobKey: KindIDB, fID: KindEmbedded}

// Validate reports whether r is a well-formed reference. It returns a
// *RefError (matching errs.ErrInvalidRef) for the first problem found:
// an unknown kind; the field of the kind missing or another kind's field
// set; a URL that is not an absolute http(s) URL with a host and without
// credentials, or a blob: URL; an OPFS path that is absolute or has empty,
// "." or ".." segments, backslashes or control characters; an id or key that
// is empty, too long, not UTF-8 or has control characters (an embedded ID
// also may not contain slashes or be "." or ".."); a MIME type that is not
// type/subtype with optional parameters; a negative or over-large Bytes; a
// Hash that is not "sha256-" and the standard padded base64 of 32 bytes.
//
// Validate does not check that the asset exists.
func (r Ref) Validate() error {
	switch r.Kind {
	case KindURL, KindOPFS, KindFSHandle, KindIDB, KindEmbedded:
	case "":
		return refErr("kind", "required")
	default:
		return refErr("kind", "unknown kind")
	}
	for f := fURL; f <= fID; f++ {
		v := r.stringField(f)
		if locatorKinds[f] == r.Kind {
			if v == "" {
				return refErr(fieldNames[f], "required for kind "+string(r.Kind))
			}
		} else if v != "" {
			return refErr(fieldNames[f], "not allowed for kind "+string(r.Kind))
		}
	}
	var err error
	switch r.Kind {
	case KindURL:
		err = checkURL(r.URL)
	case KindOPFS:
		err = checkPath(r.Path)
	case KindFSHandle:
		err = checkKey("handleId", r.HandleID, MaxKeyLen)
	case KindIDB:
		err = checkKey("blobKey", r.BlobKey, MaxKeyLen)
	case KindEmbedded:
		err = checkID("id", r.ID)
	}
	if err != nil {
		return err
	}
	if r.MIME != "" {
		if err := checkMIME("mime", r.MIME); err != nil {
			return err
		}
	}
	if r.Bytes < 0 {
		return refErr("bytes", "must not be negative")
	}
	if r.Bytes > MaxBytes {
		return refErr("bytes", "larger than 2^53-1")
	}
	if r.Hash != "" {
		if _, ok := parseHash(r.Hash); !ok {
			return refErr("hash", `must be "sha256-" and the padded standard base64 of a 32-byte digest`)
		}
	}
	return nil
}

// checkText checks what every string field shares: a length limit, valid
// UTF-8 (anything else cannot cross into JavaScript or JSON unchanged) and
// no ASCII control characters.
func checkText(field, s string, limit int) error {
	if len(s) > limit {
		return refErr(field, "too long")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return refErr(field, "must not contain control characters")
		}
		if c >= utf8.RuneSelf {
			if !utf8.ValidString(s[i:]) {
				return refErr(field, "must be valid UTF-8")
			}
			break
		}
	}
	return nil
}

func checkURL(s string) error {
	if err := checkText("url", s, MaxURLLen); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil {
		return refErr("url", "not a URL")
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" || u.Opaque != "" {
			return refErr("url", "must be absolute with a host")
		}
		// fetch() rejects URLs with credentials, and they do not belong
		// in a stored graph.
		if u.User != nil {
			return refErr("url", "must not contain credentials")
		}
	case "blob":
		if u.Opaque == "" {
			return refErr("url", "blob URL without an origin")
		}
	default:
		return refErr("url", "scheme must be http, https or blob")
	}
	return nil
}

func checkPath(s string) error {
	if err := checkText("path", s, MaxPathLen); err != nil {
		return err
	}
	if strings.IndexByte(s, '\\') >= 0 {
		return refErr("path", "must not contain backslashes")
	}
	if s[0] == '/' {
		return refErr("path", "must be relative to the OPFS root")
	}
	for seg := range strings.SplitSeq(s, "/") {
		switch seg {
		case "":
			return refErr("path", "must not contain empty segments")
		case ".", "..":
			return refErr("path", "must not contain . or .. segments")
		}
	}
	return nil
}

func checkKey(field, s string, limit int) error {
	if s == "" {
		return refErr(field, "required")
	}
	return checkText(field, s, limit)
}

// checkID checks an asset id, which stores and packages use as a file name.
func checkID(field, s string) error {
	if err := checkKey(field, s, MaxIDLen); err != nil {
		return err
	}
	if s == "." || s == ".." || strings.ContainsAny(s, `/\`) {
		return refErr(field, `must be one path segment: no slashes, not "." or ".."`)
	}
	return nil
}

// checkMIME accepts type "/" subtype as RFC 6838 restricts them, optionally
// followed by parameters in the syntax mime.ParseMediaType accepts
// (validParams).
func checkMIME(field, s string) error {
	if len(s) > MaxMIMELen {
		return refErr(field, "too long")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return refErr(field, "must be printable ASCII")
		}
	}
	essence := s
	rest := ""
	if i := strings.IndexAny(s, "; \t"); i >= 0 {
		essence, rest = s[:i], s[i:]
	}
	typ, sub, ok := strings.Cut(essence, "/")
	if !ok || !restrictedName(typ) || !restrictedName(sub) {
		return refErr(field, "must be type/subtype")
	}
	if rest != "" && !validParams(s) {
		return refErr(field, "malformed parameters")
	}
	return nil
}

// restrictedName reports whether s is a restricted-name of RFC 6838 §4.2.
func restrictedName(s string) bool {
	if len(s) == 0 || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && strings.IndexByte("!#$&-^_.+", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validParams reports whether mime.ParseMediaType accepts s, a string of
// ASCII bytes. It follows that function's grammar step for step (the test
// fuzzes the two against each other) rather than call it: the mime package
// put 100 KB of code (22 KB brotli) into the browser's module, most of it
// for what this check never uses (file extensions, RFC 2047 words).
func validParams(s string) bool {
	base, _, _ := strings.Cut(s, ";")
	typ, rest := consumeToken(strings.ToLower(trimSpace(base)))
	if typ == "" {
		return false
	}
	if rest != "" {
		var ok bool
		if rest, ok = strings.CutPrefix(rest, "/"); !ok {
			return false
		}
		if sub, rest := consumeToken(rest); sub == "" || rest != "" {
			return false
		}
	}
	var seen map[string]string // parameter values by lower-case name
	for v := s[len(base):]; ; {
		if v = trimLeftSpace(v); v == "" {
			return true
		}
		key, value, rest := consumeParam(v)
		if key == "" {
			return trimSpace(rest) == ";" // a trailing semicolon is allowed
		}
		if old, dup := seen[key]; dup && old != value {
			return false // a name twice is allowed with the same value only
		}
		if seen == nil {
			seen = map[string]string{}
		}
		seen[key] = value
		v = rest
	}
}

// consumeParam reads "; name=value" (the name lower-cased) from v, or
// returns an empty name and v.
func consumeParam(v string) (name, value, rest string) {
	rest, ok := strings.CutPrefix(trimLeftSpace(v), ";")
	if !ok {
		return "", "", v
	}
	name, rest = consumeToken(trimLeftSpace(rest))
	if name = strings.ToLower(name); name == "" {
		return "", "", v
	}
	if rest, ok = strings.CutPrefix(trimLeftSpace(rest), "="); !ok {
		return "", "", v
	}
	rest = trimLeftSpace(rest)
	value, after := consumeValue(rest)
	if value == "" && after == rest {
		return "", "", v
	}
	return name, value, after
}

// consumeValue reads a token or a quoted string (where a backslash escapes
// only a tspecial, and CR or LF ends it unread) from v.
func consumeValue(v string) (value, rest string) {
	if v == "" || v[0] != '"' {
		return consumeToken(v)
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			return b.String(), v[i+1:]
		case c == '\\' && i+1 < len(v) && isTSpecial(v[i+1]):
			b.WriteByte(v[i+1])
			i++
		case c == '\r' || c == '\n':
			return "", v
		default:
			b.WriteByte(c)
		}
	}
	return "", v // no closing quote
}

func consumeToken(v string) (token, rest string) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || isTSpecial(c) {
			return v[:i], v[i:]
		}
	}
	return v, ""
}

func isTSpecial(c byte) bool { return strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 }

// isSpace is unicode.IsSpace for ASCII.
func isSpace(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }

func trimLeftSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

func trimSpace(s string) string {
	s = trimLeftSpace(s)
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
