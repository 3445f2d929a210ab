package opfs

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

// The layout of a store below its root directory. The names are part of
// the stored format and never change.
const (
	assetsDir = "assets"  // assets/<type>/<id>: the content, exactly as Put received it
	metaDir   = "meta"    // meta/<id>: the asset's record
	hashDir   = "by-hash" // by-hash/<hex digest>: the same record, found by content
	tmpDir    = "tmp"     // tmp/<name>: content being written
)

// DefaultRoot is the directory that holds a store when Options.Root is
// empty: "atelier", so OPFS refs read "atelier/assets/image/<id>".
const DefaultRoot = "atelier"

// MaxRootLen is the longest Options.Root, in bytes. It keeps every ref
// within the limits of assetref (a 255-byte id, a 127-byte media type).
const MaxRootLen = 256

// MaxHandleKeyLen is the longest folder key of a HandleID, in bytes.
const MaxHandleKeyLen = 128

// checkRoot validates Options.Root: a relative, slash-separated path of
// non-empty segments other than "." and "..", printable and valid UTF-8.
func checkRoot(root string) error {
	bad := func(reason string) error {
		return &errs.ValidationError{Entity: "opfs options", Field: "root", Reason: reason}
	}
	if len(root) > MaxRootLen {
		return bad("too long")
	}
	if !utf8.ValidString(root) {
		return bad("must be valid UTF-8")
	}
	if strings.ContainsFunc(root, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return bad("must not contain control characters or backslashes")
	}
	for seg := range strings.SplitSeq(root, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad(`must be relative, without empty, "." or ".." segments`)
		}
	}
	return nil
}

// mediaType returns the directory an asset of the given (valid) MIME type
// is stored in: its top-level type, lower-cased ("image" for "image/PNG").
// RFC 6838 restricts the top-level type to letters, digits and a few
// punctuation characters that cannot start it, so it is always a safe
// directory name.
func mediaType(mime string) string {
	typ, _, _ := strings.Cut(mime, "/")
	return strings.ToLower(typ)
}

// validType reports whether s can be a mediaType result.
func validType(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && strings.IndexByte("!#$&-^_.+", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validID reports whether s can be an asset id, as assetref.Hint accepts
// it: one path segment, UTF-8, no control characters.
func validID(s string) bool {
	if s == "" || len(s) > assetref.MaxIDLen || s == "." || s == ".." || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '/' || r == '\\' })
}

// assetPath returns the path of an asset relative to the directory the
// store's root is in: "<root>/assets/<type>/<id>".
func assetPath(root, typ, id string) string {
	return root + "/" + assetsDir + "/" + typ + "/" + id
}

// parseAssetPath is the inverse of assetPath. It fails with a
// *assetref.RefError naming field for any path this store does not hand
// out, including ones with "." or ".." segments.
func parseAssetPath(field, root, p string) (typ, id string, err error) {
	rest, ok := strings.CutPrefix(p, root+"/"+assetsDir+"/")
	if !ok {
		return "", "", &assetref.RefError{Field: field, Reason: fmt.Sprintf("not below %s/%s of this store", root, assetsDir)}
	}
	typ, id, ok = strings.Cut(rest, "/")
	if !ok || !validType(typ) || !validID(id) {
		return "", "", &assetref.RefError{Field: field, Reason: "not " + root + "/" + assetsDir + "/<type>/<id>"}
	}
	return typ, id, nil
}

// FormatHandleID returns the Ref.HandleID of the file at path (relative to
// the folder, slash-separated) in the folder whose handle the application
// persisted under key: key + "/" + path. It fails with an error matching
// errs.ErrInvalidRef if key is not a valid folder key (see
// ParseHandleID) or path is empty.
func FormatHandleID(key, path string) (string, error) {
	if err := checkHandleKey(key); err != nil {
		return "", err
	}
	if path == "" {
		return "", &assetref.RefError{Field: "handleId", Reason: "empty path"}
	}
	return key + "/" + path, nil
}

// ParseHandleID splits a Ref.HandleID into the key of the folder handle
// and the path of the file inside the folder, cutting at the first slash.
// The key is 1 to MaxHandleKeyLen bytes of ASCII letters, digits, '-', '_',
// '.' and '~' (a UUID qualifies), and not "." or "..". The path is
// checked like an OPFS path: relative, with no empty, "." or ".." segments
// and no backslashes or control characters. ParseHandleID fails with a
// *assetref.RefError (matching errs.ErrInvalidRef) otherwise.
func ParseHandleID(handleID string) (key, path string, err error) {
	key, path, ok := strings.Cut(handleID, "/")
	if !ok {
		return "", "", &assetref.RefError{Field: "handleId", Reason: "want <folder key>/<path>"}
	}
	if err := checkHandleKey(key); err != nil {
		return "", "", err
	}
	// The path must pass as an OPFS path: reuse the ref's own check.
	if err := (assetref.Ref{Kind: assetref.KindOPFS, Path: path}).Validate(); err != nil {
		return "", "", &assetref.RefError{Field: "handleId", Reason: "path: " + refReason(err)}
	}
	return key, path, nil
}

func refReason(err error) string {
	if e, ok := err.(*assetref.RefError); ok {
		return e.Reason
	}
	return err.Error()
}

func checkHandleKey(key string) error {
	if key == "" || len(key) > MaxHandleKeyLen || key == "." || key == ".." {
		return &assetref.RefError{Field: "handleId", Reason: "folder key must be 1 to 128 bytes, not . or .."}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-_.~", c) >= 0:
		default:
			return &assetref.RefError{Field: "handleId", Reason: "folder key may hold only letters, digits and -_.~"}
		}
	}
	return nil
}

// hashName returns the file name of a hash string in by-hash/: the hex
// digest (a base64 digest may contain '/').
func hashName(hash string) (string, error) {
	sum, err := assetref.ParseHash(hash)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), nil
}

// tmpName returns a new, unique name for a file in tmp/.
func tmpName() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return "put-" + hex.EncodeToString(b[:])
}

// record is what meta/<id> and by-hash/<hex> hold: everything a ref needs
// besides the root, so that Stat reads one small file. Its text form is
//
//	atelier-asset 1
//	id=<id>
//	type=<type>
//	mime=<mime>
//	hash=<sha256-…>
//	bytes=<decimal size>
//	crc32=<8 lower-case hex digits>   (optional)
//
// Lines with other keys are ignored, so later versions may add some (as
// crc32 was: older builds read such records and ignore it).
type record struct {
	ID    string
	Type  string
	MIME  string
	Hash  string
	Bytes int64
	// CRC32 is the content's CRC-32 (IEEE), when HasCRC: PutBlob computes
	// it while it hashes, so that an export need not read the file to
	// checksum it. Put does not, nor did builds before this field.
	CRC32  uint32
	HasCRC bool
}

const recordMagic = "atelier-asset 1\n"

// maxRecordLen bounds what decodeRecord reads: a record is at most about
// 800 bytes.
const maxRecordLen = 4096

func (r record) encode() []byte {
	var b bytes.Buffer
	b.WriteString(recordMagic)
	for _, kv := range [...][2]string{{"id", r.ID}, {"type", r.Type}, {"mime", r.MIME}, {"hash", r.Hash}, {"bytes", strconv.FormatInt(r.Bytes, 10)}} {
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(kv[1])
		b.WriteByte('\n')
	}
	if r.HasCRC {
		fmt.Fprintf(&b, "crc32=%08x\n", r.CRC32)
	}
	return b.Bytes()
}

// errCorrupt is the error of a marker file that does not hold a record.
var errCorrupt = fmt.Errorf("opfs: record: %w", errs.ErrCorrupt)

// decodeRecord parses and validates a record. It fails with errCorrupt for
// anything encode could not have produced from a valid record.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) > maxRecordLen || !bytes.HasPrefix(b, []byte(recordMagic)) || !utf8.Valid(b) {
		return r, errCorrupt
	}
	seen := 0
	bytesSet := false
	for line := range strings.Lines(string(b[len(recordMagic):])) {
		line, ok := strings.CutSuffix(line, "\n")
		if !ok {
			return r, errCorrupt // a truncated record
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return r, errCorrupt
		}
		var dst *string
		switch k {
		case "id":
			dst = &r.ID
		case "type":
			dst = &r.Type
		case "mime":
			dst = &r.MIME
		case "hash":
			dst = &r.Hash
		case "bytes":
			if bytesSet {
				return r, errCorrupt
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
				return r, errCorrupt
			}
			r.Bytes, bytesSet = n, true
			seen++
			continue
		case "crc32":
			n, err := strconv.ParseUint(v, 16, 32)
			if r.HasCRC || err != nil || fmt.Sprintf("%08x", n) != v {
				return r, errCorrupt
			}
			r.CRC32, r.HasCRC = uint32(n), true
			continue
		default:
			continue
		}
		if *dst != "" || v == "" {
			return r, errCorrupt
		}
		*dst = v
		seen++
	}
	if seen != 5 || !validID(r.ID) || !validType(r.Type) || mediaType(r.MIME) != r.Type {
		return record{}, errCorrupt
	}
	check := assetref.Ref{Kind: assetref.KindEmbedded, ID: r.ID, MIME: r.MIME, Hash: r.Hash, Bytes: r.Bytes}
	if check.Validate() != nil {
		return record{}, errCorrupt
	}
	return r, nil
}
