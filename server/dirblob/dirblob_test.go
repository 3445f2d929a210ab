package dirblob_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
	"github.com/atelierstore/atelier/server/sqlite"
	"github.com/atelierstore/atelier/server/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunBlobStore(t, func(tb testing.TB) server.BlobStore {
		s, err := dirblob.Open(tb.TempDir())
		if err != nil {
			tb.Fatal(err)
		}
		return s
	})
}

// TestOpenRemovesLeftovers checks that temporary files of uploads cut
// short by a crash go away on the next Open, and blobs stay.
func TestOpenRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	s, err := dirblob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte // dirblob trusts the digest it is given
	if err := s.Put(context.Background(), sum, strings.NewReader("kept")); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "tmp", "upload-123")
	if err := os.WriteFile(leftover, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dirblob.Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("leftover still there: %v", err)
	}
	f, err := s.Open(context.Background(), sum)
	if err != nil {
		t.Fatalf("the blob did not survive: %v", err)
	}
	f.Close()
}

func TestParts(t *testing.T) {
	storetest.RunParts(t, func(tb testing.TB) (server.Store, server.BlobStore) {
		db, err := sqlite.Open(filepath.Join(tb.TempDir(), "sync.db"))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		s, err := dirblob.Open(tb.TempDir())
		if err != nil {
			tb.Fatal(err)
		}
		return db, s
	}, false)
}

// TestStaleUploads checks that Open removes the parts of uploads untouched
// for StaleUploadAge, and keeps younger ones.
func TestStaleUploads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := dirblob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var old, young [32]byte
	old[0], young[0] = 1, 2
	for _, sum := range [][32]byte{old, young} {
		id, _, err := s.StartParts(ctx, "ws", sum, 10<<20, 5<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PutPart(ctx, "ws", sum, id, 1, strings.NewReader("part")); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "uploads"))
	if len(ents) != 2 {
		t.Fatalf("%d upload dirs", len(ents))
	}
	past := time.Now().Add(-dirblob.StaleUploadAge - time.Hour)
	stale := filepath.Join(dir, "uploads", ents[0].Name())
	if err := os.Chtimes(stale, past, past); err != nil {
		t.Fatal(err)
	}
	if _, err := dirblob.Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale upload kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "uploads", ents[1].Name())); err != nil {
		t.Fatalf("young upload removed: %v", err)
	}
}
