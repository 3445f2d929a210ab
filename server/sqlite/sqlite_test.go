package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/sqlite"
	"github.com/atelierstore/atelier/server/storetest"
)

// newDB gives each test its own file in its temporary directory.
func newDB(tb testing.TB) storetest.Opener {
	path := filepath.Join(tb.TempDir(), "sync.db")
	return func(tb testing.TB) server.Store {
		tb.Helper()
		s, err := sqlite.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, newDB) }

func BenchmarkSQLite(b *testing.B) { storetest.Bench(b, newDB) }

func TestOpenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", "a?b"} {
		if _, err := sqlite.Open(p); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Reopening an up-to-date file migrates nothing.
	if s, err = sqlite.Open(path); err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) < 64 {
		t.Fatalf("read %s: %v", path, err)
	}
	// user_version is the big-endian uint32 at offset 60 of the header.
	raw[63] = 99
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	if _, err := sqlite.Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}
