package opfs

import (
	"errors"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

func TestCheckRoot(t *testing.T) {
	for _, tc := range []struct {
		root string
		ok   bool
	}{
		{"atelier", true},
		{"opfs-test/TestX/atelier", true},
		{"Données/été", true},
		{strings.Repeat("a", MaxRootLen), true},
		{strings.Repeat("a", MaxRootLen+1), false},
		{"", false},
		{"/abs", false},
		{"a//b", false},
		{"a/", false},
		{".", false},
		{"a/../b", false},
		{"..", false},
		{`a\b`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"\xff", false},
	} {
		err := checkRoot(tc.root)
		if (err == nil) != tc.ok {
			t.Errorf("checkRoot(%q) = %v, want ok=%v", tc.root, err, tc.ok)
		}
		if err != nil && !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("checkRoot(%q) = %v, which does not match ErrInvalid", tc.root, err)
		}
	}
}

func TestMediaType(t *testing.T) {
	for mime, want := range map[string]string{
		"image/png":                "image",
		"Image/PNG":                "image",
		"video/mp4; codecs=avc1":   "video",
		"application/octet-stream": "application",
		"x-custom.type+1/y":        "x-custom.type+1",
	} {
		if got := mediaType(mime); got != want || !validType(got) {
			t.Errorf("mediaType(%q) = %q (valid %v), want %q", mime, got, validType(got), want)
		}
	}
	for _, bad := range []string{"", ".", "..", ".a", "Image", "a/b", "a b", strings.Repeat("a", 128)} {
		if validType(bad) {
			t.Errorf("validType(%q) = true", bad)
		}
	}
}

func TestAssetPath(t *testing.T) {
	root := "opfs-test/T/atelier"
	p := assetPath(root, "image", "0190-abc")
	if p != "opfs-test/T/atelier/assets/image/0190-abc" {
		t.Fatalf("assetPath = %q", p)
	}
	typ, id, err := parseAssetPath("path", root, p)
	if err != nil || typ != "image" || id != "0190-abc" {
		t.Fatalf("parseAssetPath(%q) = %q, %q, %v", p, typ, id, err)
	}
	for _, bad := range []string{
		"",
		"atelier/assets/image/x", // another root
		root + "/assets/image",
		root + "/assets/image/",
		root + "/assets//x",
		root + "/assets/image/a/b",
		root + "/assets/image/..",
		root + "/assets/image/.",
		root + "/assets/../meta/x",
		root + "/assets/Image/x",
		root + "/meta/image/x",
		root + "/tmp/x",
		root + `/assets/image/a\b`,
		root + "/assets/image/" + strings.Repeat("x", assetref.MaxIDLen+1),
		"../" + root + "/assets/image/x",
	} {
		_, _, err := parseAssetPath("path", root, bad)
		if !errors.Is(err, errs.ErrInvalidRef) {
			t.Errorf("parseAssetPath(%q) = %v, want ErrInvalidRef", bad, err)
		}
	}
}

func TestHandleID(t *testing.T) {
	id, err := FormatHandleID("018f3c2a-7b1e-7c3d-9e4f-5a6b7c8d9e0f", "atelier/assets/image/hero")
	if err != nil || id != "018f3c2a-7b1e-7c3d-9e4f-5a6b7c8d9e0f/atelier/assets/image/hero" {
		t.Fatalf("FormatHandleID = %q, %v", id, err)
	}
	key, path, err := ParseHandleID(id)
	if err != nil || key != "018f3c2a-7b1e-7c3d-9e4f-5a6b7c8d9e0f" || path != "atelier/assets/image/hero" {
		t.Fatalf("ParseHandleID(%q) = %q, %q, %v", id, key, path, err)
	}
	if ref := (assetref.Ref{Kind: assetref.KindFSHandle, HandleID: id}); ref.Validate() != nil {
		t.Fatalf("a HandleID FormatHandleID made does not validate: %v", ref.Validate())
	}
	for _, bad := range []string{
		"",
		"key",
		"/atelier/x",
		"key/",
		"key//x",
		"key/../x",
		"key/a/../b",
		"key/a/./b",
		"key/a/",
		"key//",
		"../a/b",
		"./a/b",
		"ke y/a",
		"ke:y/a",
		"ké/a",
		strings.Repeat("k", MaxHandleKeyLen+1) + "/a",
		"key/a\\b",
		"key/a\x01",
	} {
		if _, _, err := ParseHandleID(bad); !errors.Is(err, errs.ErrInvalidRef) {
			t.Errorf("ParseHandleID(%q) = %v, want ErrInvalidRef", bad, err)
		}
	}
	for _, bad := range [][2]string{{"", "a"}, {"a/b", "c"}, {"..", "c"}, {"key", ""}} {
		if _, err := FormatHandleID(bad[0], bad[1]); !errors.Is(err, errs.ErrInvalidRef) {
			t.Errorf("FormatHandleID(%q, %q) = %v, want ErrInvalidRef", bad[0], bad[1], err)
		}
	}
}

func TestHashName(t *testing.T) {
	name, err := hashName(assetref.HashBytes(nil))
	if err != nil || name != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("hashName(empty) = %q, %v", name, err)
	}
	if _, err := hashName("sha256-nope"); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("hashName of a bad hash = %v", err)
	}
}

func TestTmpName(t *testing.T) {
	a, b := tmpName(), tmpName()
	if a == b || !strings.HasPrefix(a, "put-") || len(a) != 28 || !validID(a) {
		t.Fatalf("tmpName = %q, %q", a, b)
	}
}

var goodRecord = record{ID: "0190-abc", Type: "video", MIME: `video/mp4; codecs="avc1.42E01E, mp4a.40.2"`, Hash: assetref.HashBytes([]byte("x")), Bytes: 1}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []record{
		goodRecord,
		{ID: "a", Type: "application", MIME: "application/octet-stream", Hash: assetref.HashBytes(nil), Bytes: 0},
		{ID: "id=with=equals é", Type: "image", MIME: "Image/PNG", Hash: assetref.HashBytes([]byte("y")), Bytes: assetref.MaxBytes},
		{ID: "c", Type: "image", MIME: "image/png", Hash: assetref.HashBytes([]byte("z")), Bytes: 1, CRC32: 0x0a1b2c3d, HasCRC: true},
		{ID: "d", Type: "image", MIME: "image/png", Hash: assetref.HashBytes(nil), Bytes: 0, HasCRC: true},
	} {
		got, err := decodeRecord(r.encode())
		if err != nil || got != r {
			t.Errorf("decodeRecord(encode(%+v)) = %+v, %v", r, got, err)
		}
	}
	// Unknown keys are skipped: a later version may add some.
	b := append(goodRecord.encode(), "created=2025-01-01\n"...)
	if got, err := decodeRecord(b); err != nil || got != goodRecord {
		t.Errorf("record with an extra key = %+v, %v", got, err)
	}
}

func TestRecordRejects(t *testing.T) {
	enc := string(goodRecord.encode())
	for name, b := range map[string]string{
		"empty":          "",
		"no magic":       strings.TrimPrefix(enc, recordMagic),
		"other version":  strings.Replace(enc, "atelier-asset 1", "atelier-asset 2", 1),
		"truncated":      enc[:len(enc)-1],
		"cut mid-line":   enc[:len(enc)-10],
		"missing id":     strings.Replace(enc, "id=0190-abc\n", "", 1),
		"duplicate id":   enc + "id=other\n",
		"duplicate size": enc + "bytes=1\n",
		"empty id":       strings.Replace(enc, "id=0190-abc", "id=", 1),
		"slash in id":    strings.Replace(enc, "id=0190-abc", "id=a/b", 1),
		"dot-dot id":     strings.Replace(enc, "id=0190-abc", "id=..", 1),
		"type mismatch":  strings.Replace(enc, "type=video", "type=image", 1),
		"bad mime":       strings.Replace(enc, "mime=video/mp4", "mime=video", 1),
		"bad hash":       strings.Replace(enc, "hash=sha256-", "hash=sha512-", 1),
		"negative size":  strings.Replace(enc, "bytes=1", "bytes=-1", 1),
		"padded size":    strings.Replace(enc, "bytes=1", "bytes=01", 1),
		"huge size":      strings.Replace(enc, "bytes=1", "bytes=9007199254740992", 1),
		"no equals":      enc + "junk\n",
		"not UTF-8":      strings.Replace(enc, "id=0190-abc", "id=\xff", 1),
		"too long":       enc + "pad=" + strings.Repeat("x", maxRecordLen) + "\n",
		"short crc":      enc + "crc32=1234567\n",
		"upper-case crc": enc + "crc32=0A1B2C3D\n",
		"signed crc":     enc + "crc32=+a1b2c3d\n",
		"long crc":       enc + "crc32=10a1b2c3d\n",
		"duplicate crc":  enc + "crc32=0a1b2c3d\ncrc32=0a1b2c3d\n",
	} {
		if r, err := decodeRecord([]byte(b)); err == nil {
			t.Errorf("%s: decodeRecord accepted %q as %+v", name, b, r)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(goodRecord.encode())
	f.Add([]byte(recordMagic))
	f.Add([]byte(recordMagic + "id=a\ntype=b\nmime=b/c\nhash=x\nbytes=1\n"))
	f.Add(append(goodRecord.encode(), "crc32=0a1b2c3d\n"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		// Whatever decodes is a valid record that survives a round trip.
		again, err := decodeRecord(r.encode())
		if err != nil || again != r {
			t.Fatalf("decodeRecord(%q) = %+v, which does not round-trip: %+v, %v", b, r, again, err)
		}
		if !validID(r.ID) || mediaType(r.MIME) != r.Type {
			t.Fatalf("decodeRecord(%q) = %+v, an invalid record", b, r)
		}
	})
}

func FuzzParseHandleID(f *testing.F) {
	for _, s := range []string{"key/atelier/assets/image/x", "key/../x", "a/b/../c", "/x", "k/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, path, err := ParseHandleID(s)
		if err != nil {
			return
		}
		if key+"/"+path != s {
			t.Fatalf("ParseHandleID(%q) = %q, %q", s, key, path)
		}
		for seg := range strings.SplitSeq(path, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("ParseHandleID(%q) accepted the path %q", s, path)
			}
		}
		if again, err := FormatHandleID(key, path); err != nil || again != s {
			t.Fatalf("FormatHandleID(%q, %q) = %q, %v", key, path, again, err)
		}
	})
}

func FuzzParseAssetPath(f *testing.F) {
	for _, s := range []string{"atelier/assets/image/x", "atelier/assets/../x", "atelier/assets/a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		typ, id, err := parseAssetPath("path", DefaultRoot, p)
		if err != nil {
			return
		}
		if assetPath(DefaultRoot, typ, id) != p || !validType(typ) || !validID(id) {
			t.Fatalf("parseAssetPath(%q) = %q, %q", p, typ, id)
		}
	})
}

func TestOptionsDefaults(t *testing.T) {
	o, err := (*Options)(nil).withDefaults()
	if err != nil || o.Root != DefaultRoot || o.ChunkSize != DefaultChunkSize || o.WriteMode != WriteAuto {
		t.Fatalf("nil options = %+v, %v", o, err)
	}
	for _, bad := range []Options{
		{Root: "/x"},
		{ChunkSize: -1},
		{ChunkSize: MinChunkSize - 1},
		{ChunkSize: MaxChunkSize + 1},
		{WriteMode: -1},
		{WriteMode: WriteSyncHandle + 1},
	} {
		if _, err := bad.withDefaults(); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("withDefaults(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	o, err = (&Options{Root: "a/b", ChunkSize: MinChunkSize, WriteMode: WriteWorker}).withDefaults()
	if err != nil || o.Root != "a/b" || o.ChunkSize != MinChunkSize || o.WriteMode != WriteWorker {
		t.Fatalf("explicit options = %+v, %v", o, err)
	}
}

func TestWriteModeString(t *testing.T) {
	for m, want := range map[WriteMode]string{WriteAuto: "auto", WriteStream: "stream", WriteWorker: "worker", WriteSyncHandle: "sync-handle", 9: "WriteMode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(m), got, want)
		}
	}
}
