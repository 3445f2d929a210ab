package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/server"
)

// TestMigrationStampsOldAcks opens a database of the schema before
// garbage collection, with an ack: the upgrade counts the ack as stored
// at the upgrade, so that the first collection does not take it for an
// ancient one, and the workspace has no horizon yet.
func TestMigrationStampsOldAcks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sync.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	const gcSchema = 5 // the version before garbage collection
	_, err = db.ExecContext(ctx, strings.Join(migrations[:gcSchema], "\n")+
		fmt.Sprintf("\nPRAGMA user_version = %d;", gcSchema)+
		`INSERT INTO workspaces (ws, seq) VALUES ('dev', 0);
		INSERT INTO ops (ws, id, ack) VALUES ('dev', 'op1', '{"opId":"op1"}');
		INSERT INTO blobs (ws, hash, size, mime, created) VALUES ('dev', 'h', 1, 'image/png', 1);`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second).UnixMilli()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(ctx, "dev", func(tx server.Tx) error {
		if h := tx.Horizon(); h != 0 {
			t.Errorf("horizon %d after the upgrade", h)
		}
		if n, _, err := tx.OldAcks(before); err != nil || n != 0 {
			t.Errorf("acks stored before the upgrade: %d, %v", n, err)
		}
		if n, _, err := tx.OldAcks(time.Now().Add(time.Second).UnixMilli()); err != nil || n != 1 {
			t.Errorf("acks stored by now: %d, %v", n, err)
		}
		acks, err := tx.Acks([]string{"op1"})
		if err != nil || string(acks["op1"]) != `{"opId":"op1"}` {
			t.Errorf("ack after the upgrade: %q, %v", acks["op1"], err)
		}
		blobs, err := tx.Blobs()
		if err != nil || len(blobs) != 1 || blobs[0].Unreferenced != 0 {
			t.Errorf("blobs after the upgrade: %+v, %v", blobs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
