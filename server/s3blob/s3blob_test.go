package s3blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/minio/minio-go/v7"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/internal/s3test"
	"github.com/atelierstore/atelier/server/s3blob"
	"github.com/atelierstore/atelier/server/sqlite"
	"github.com/atelierstore/atelier/server/storetest"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func open(tb testing.TB, cfg s3blob.Config) *s3blob.Store {
	tb.Helper()
	s, err := s3blob.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunBlobStore(t, func(tb testing.TB) server.BlobStore {
		return open(tb, s3test.Config(tb))
	})
}

// TestConformancePrefixed runs the suite on a store under a key prefix.
func TestConformancePrefixed(t *testing.T) {
	storetest.RunBlobStore(t, func(tb testing.TB) server.BlobStore {
		cfg := s3test.Config(tb)
		cfg.Prefix = "team/blobs"
		return open(tb, cfg)
	})
}

// TestGC runs the garbage collection tests with the blobs in S3 (and the
// records in SQLite): what GC deletes is gone from the bucket, what it
// keeps is not.
func TestGC(t *testing.T) {
	newDB := func(tb testing.TB) storetest.Opener {
		path := filepath.Join(tb.TempDir(), "sync.db")
		return func(tb testing.TB) server.Store {
			s, err := sqlite.Open(path)
			if err != nil {
				tb.Fatal(err)
			}
			return s
		}
	}
	storetest.RunGC(t, newDB, func(tb testing.TB) server.BlobStore {
		return open(tb, s3test.Config(tb))
	})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return b
}

// TestMultipart puts blobs of several parts, and checks that one whose
// reader fails at its very end leaves no object and no upload behind.
func TestMultipart(t *testing.T) {
	ctx := context.Background()
	cfg := s3test.Config(t)
	cfg.PartSize = s3blob.MinPartSize
	cfg.Prefix = "p"
	s := open(t, cfg)
	c, err := s3test.Client(cfg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{2 * s3blob.MinPartSize, 2*s3blob.MinPartSize + 12345} {
		content := randomBytes(size)
		sum := sha256.Sum256(content)

		failing := io.MultiReader(bytes.NewReader(content), iotest.ErrReader(server.ErrBlobMismatch))
		if err := s.Put(ctx, sum, iotest.HalfReader(failing)); !errors.Is(err, server.ErrBlobMismatch) {
			t.Fatalf("%d bytes: Put with a failing reader: %v", size, err)
		}
		if _, err := s.Open(ctx, sum); !errors.Is(err, errs.ErrNotFound) {
			t.Fatalf("%d bytes: Open after a failed Put: %v", size, err)
		}
		for u := range c.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
			t.Fatalf("%d bytes: an upload was left behind: %+v", size, u)
		}

		if err := s.Put(ctx, sum, iotest.HalfReader(bytes.NewReader(content))); err != nil {
			t.Fatal(err)
		}
		info, err := c.StatObject(ctx, cfg.Bucket, s.Key(sum), minio.StatObjectOptions{})
		if err != nil || info.Size != int64(size) || s.Key(sum) != "p/sha256/"+hex.EncodeToString(sum[:]) {
			t.Fatalf("%d bytes: stored as %+v, %v", size, info, err)
		}
		f, err := s.Open(ctx, sum)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(int64(size)-10, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		end, err := io.ReadAll(f)
		f.Close()
		if err != nil || !bytes.Equal(end, content[size-10:]) {
			t.Fatalf("%d bytes: the last 10 read back as %x, %v", size, end, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	good := s3blob.Config{Endpoint: "http://127.0.0.1:1", Bucket: "b", AccessKey: "a", SecretKey: "s"}
	for _, tc := range []struct {
		name  string
		edit  func(*s3blob.Config)
		field string
	}{
		{"no endpoint", func(c *s3blob.Config) { c.Endpoint = "" }, "Endpoint"},
		{"no scheme", func(c *s3blob.Config) { c.Endpoint = "s3.example.com" }, "Endpoint"},
		{"ftp", func(c *s3blob.Config) { c.Endpoint = "ftp://s3.example.com" }, "Endpoint"},
		{"bucket in the path", func(c *s3blob.Config) { c.Endpoint = "https://s3.example.com/bucket" }, "Endpoint"},
		{"credentials in the URL", func(c *s3blob.Config) { c.Endpoint = "https://a:b@s3.example.com" }, "Endpoint"},
		{"no bucket", func(c *s3blob.Config) { c.Bucket = "" }, "Bucket"},
		{"access key alone", func(c *s3blob.Config) { c.SecretKey = "" }, "SecretKey"},
		{"secret key alone", func(c *s3blob.Config) { c.AccessKey = "" }, "SecretKey"},
		{"small parts", func(c *s3blob.Config) { c.PartSize = 1 << 20 }, "PartSize"},
		{"huge parts", func(c *s3blob.Config) { c.PartSize = 6 << 30 }, "PartSize"},
		{"prefix from the root", func(c *s3blob.Config) { c.Prefix = "/a" }, "Prefix"},
		{"prefix with ..", func(c *s3blob.Config) { c.Prefix = "a/../b" }, "Prefix"},
		{"prefix with //", func(c *s3blob.Config) { c.Prefix = "a//b" }, "Prefix"},
		{"prefix with a newline", func(c *s3blob.Config) { c.Prefix = "a\nb" }, "Prefix"},
	} {
		cfg := good
		tc.edit(&cfg)
		_, err := s3blob.Open(context.Background(), cfg)
		var ce *s3blob.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%s: %v, want a ConfigError of %s", tc.name, err, tc.field)
		}
	}
}

func TestOpenChecksTheBucket(t *testing.T) {
	cfg := s3test.Config(t)
	cfg.Bucket += "-absent"
	if _, err := s3blob.Open(context.Background(), cfg); !errors.Is(err, s3blob.ErrNoBucket) {
		t.Fatalf("Open of a missing bucket: %v", err)
	}
	cfg = s3test.Config(t)
	cfg.SecretKey = "wrong"
	if _, err := s3blob.Open(context.Background(), cfg); err == nil {
		t.Fatal("Open with a wrong secret key succeeded")
	}
}

func partsEnv(tb testing.TB) (server.Store, server.BlobStore) {
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "sync.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, open(tb, s3test.Config(tb))
}

// TestParts runs the protocol of uploads in parts with the parts going
// through the server.
func TestParts(t *testing.T) { storetest.RunParts(t, partsEnv, false) }

// TestPartsPresigned runs it with the parts going to presigned UploadPart
// URLs of the bucket.
func TestPartsPresigned(t *testing.T) { storetest.RunParts(t, partsEnv, true) }
