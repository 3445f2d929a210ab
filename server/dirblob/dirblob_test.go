package dirblob_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/dirblob"
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
