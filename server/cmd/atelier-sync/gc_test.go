package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
	"github.com/atelierstore/atelier/server/sqlite"
)

// TestGC runs atelier-sync gc over a data directory holding an
// unreferenced blob and an old ack: the dry runs print what would go and
// change nothing, -apply deletes it.
func TestGC(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	content := []byte("an image nobody refers to")
	sum := sha256.Sum256(content)
	hash := assetref.FormatHash(sum)
	store, err := sqlite.Open(filepath.Join(dir, "sync.db"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := dirblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(ctx, sum, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if err := store.PutBlob(ctx, "dev", server.BlobInfo{Hash: hash, Size: int64(len(content)), MIME: "image/png", Created: t0.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	err = store.Update(ctx, "dev", func(tx server.Tx) error {
		return tx.Put(nil, []server.StoredAck{{OpID: graph.NewID(), JSON: []byte(`{"status":"applied"}`), Stored: t0.UnixMilli()}})
	})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()

	gc := func(at time.Time, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := runGC(ctx, append([]string{"-data", dir}, args...), &out, func() time.Time { return at }); err != nil {
			t.Fatalf("gc %q: %v\n%s", args, err, &out)
		}
		return out.String()
	}
	want := func(out string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(out, l+"\n") {
				t.Fatalf("output lacks %q:\n%s", l, out)
			}
		}
	}
	stillThere := func() {
		t.Helper()
		if f, err := blobs.Open(ctx, sum); err != nil {
			t.Fatalf("the bytes are gone: %v", err)
		} else {
			f.Close()
		}
	}

	want(gc(t0), "dry run: nothing is deleted (give -apply to delete)", "blob records would delete: 0 (0 bytes)",
		"blob records found unreferenced, to be deleted after the grace: 1")
	want(gc(t0, "-apply"), "blob records deleted: 0 (0 bytes)", "blob records found unreferenced (marked): 1")
	later := t0.Add(server.DefaultAckRetention + time.Second)
	for range 2 {
		want(gc(later), "workspaces: 1", "blob records would delete: 1 (25 bytes)",
			"blob bytes would delete: 1 blobs (25 bytes)", "acks would delete: 1 (20 bytes)")
		stillThere()
	}
	// A shorter retention than the default, from the flags.
	want(gc(t0.Add(2*time.Hour), "-ack-retention", "1h"), "acks would delete: 1 (20 bytes)")
	want(gc(later, "-apply", "-v"), "blob records deleted: 1 (25 bytes)", "blob bytes deleted: 1 blobs (25 bytes)",
		"acks deleted: 1 (20 bytes)", "dev "+hash)
	if _, err := blobs.Open(ctx, sum); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the bytes after gc -apply: %v", err)
	}
	want(gc(later, "-apply"), "blob records deleted: 0 (0 bytes)", "acks deleted: 0 (0 bytes)")
}
