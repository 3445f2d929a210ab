package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/postgres"
	"github.com/atelierstore/atelier/server/storetest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The tests need a PostgreSQL server: ATELIER_TEST_POSTGRES names it, as
// testdata/with-postgres.sh sets it after starting a throwaway one.
const envVar = "ATELIER_TEST_POSTGRES"

var (
	adminOnce sync.Once
	admin     *pgxpool.Pool
	adminErr  error
)

// dsn returns the server's DSN, skipping the test when there is none.
func dsn(tb testing.TB) string {
	tb.Helper()
	d := os.Getenv(envVar)
	if d == "" {
		tb.Skipf("%s is not set: run through testdata/with-postgres.sh (make test-host does) to test against PostgreSQL", envVar)
	}
	return d
}

// newDB gives each test its own schema, dropped when it ends; the store
// reaches it through search_path.
func newDB(tb testing.TB) storetest.Opener {
	tb.Helper()
	d := schemaDSN(tb)
	return func(tb testing.TB) server.Store {
		tb.Helper()
		s, err := postgres.Open(context.Background(), d)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
}

// schemaDSN creates a schema for tb and returns a DSN that uses it.
func schemaDSN(tb testing.TB) string {
	tb.Helper()
	base := dsn(tb)
	adminOnce.Do(func() { admin, adminErr = pgxpool.New(context.Background(), base) })
	if adminErr != nil {
		tb.Fatalf("connect to %s: %v", envVar, adminErr)
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	name := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, tb.Name())
	schema := "t_" + name[:min(len(name), 40)] + "_" + hex.EncodeToString(rnd[:])
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", envVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("pool_max_conns", "8")
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	dsn(t)
	storetest.Run(t, newDB)
}

func BenchmarkPostgres(b *testing.B) {
	dsn(b)
	storetest.Bench(b, newDB)
}

// TestConcurrentOpen opens one schema from several goroutines at once, as
// server processes starting together would: the migration runs once.
func TestConcurrentOpen(t *testing.T) {
	d := schemaDSN(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), d)
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
}

func TestOpenFailsWithoutServer(t *testing.T) {
	dsn(t)
	if _, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
}
