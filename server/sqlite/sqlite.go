package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// migrations bring the schema from version i to i+1; the schema version
// is SQLite's user_version.
var migrations = []string{
	`CREATE TABLE workspaces (
		ws  TEXT PRIMARY KEY,
		seq INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE entities (
		ws          TEXT NOT NULL,
		id          TEXT NOT NULL,
		entity      TEXT NOT NULL,
		workflow_id TEXT NOT NULL,
		seq         INTEGER NOT NULL,
		version     INTEGER NOT NULL,
		proposed    INTEGER NOT NULL,
		updated_at  INTEGER NOT NULL,
		op_id       TEXT NOT NULL,
		deleted     INTEGER NOT NULL,
		data        BLOB,
		PRIMARY KEY (ws, id)
	);
	CREATE UNIQUE INDEX entities_seq ON entities (ws, seq);
	CREATE TABLE ops (
		ws  TEXT NOT NULL,
		id  TEXT NOT NULL,
		ack BLOB NOT NULL,
		PRIMARY KEY (ws, id)
	);
	CREATE TABLE blobs (
		ws      TEXT NOT NULL,
		hash    TEXT NOT NULL,
		size    INTEGER NOT NULL,
		mime    TEXT NOT NULL,
		created INTEGER NOT NULL,
		PRIMARY KEY (ws, hash)
	) WITHOUT ROWID;`,
	// Finding a workflow's nodes and edges, to delete them with it.
	`CREATE INDEX entities_workflow ON entities (ws, workflow_id);`,
	// The ops a concurrent write overwrote (syncproto.Change.Overwrote),
	// comma-separated.
	`ALTER TABLE entities ADD COLUMN overwrote TEXT NOT NULL DEFAULT '';`,
	// Listing a workspace's workflows (server.View.Workflows).
	`CREATE INDEX entities_workflows ON entities (ws) WHERE entity = 'workflow';`,
	// The stamps of an entity's fields (syncproto.Change.Clocks), as
	// server.EncodeClocks writes them.
	`ALTER TABLE entities ADD COLUMN clocks TEXT NOT NULL DEFAULT '';`,
	// Garbage collection (server.GC): when each ack was stored (those of
	// older versions count from the upgrade), the ack horizon of each
	// workspace, since when a blob is unreferenced, and the holds on
	// blobs' bytes.
	`ALTER TABLE ops ADD COLUMN stored INTEGER NOT NULL DEFAULT 0;
	UPDATE ops SET stored = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
	CREATE INDEX ops_stored ON ops (ws, stored);
	ALTER TABLE workspaces ADD COLUMN horizon INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE blobs ADD COLUMN unreferenced INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX blobs_hash ON blobs (hash);
	CREATE TABLE blob_holds (
		hash  TEXT PRIMARY KEY,
		hold_until INTEGER NOT NULL
	) WITHOUT ROWID;`,
}

// Store is a server.Store in one SQLite file. Create it with Open.
type Store struct {
	db     *sql.DB
	wmu    sync.Mutex // one writer in this process
	closed atomic.Bool
}

var _ server.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating it if needed, and
// migrates its schema. The path must not contain '?'. It fails when the
// file cannot be opened or was migrated by a newer version of this
// package.
func Open(path string) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, &errs.ValidationError{Entity: "sqlite", Field: "path", Reason: "must be non-empty and contain no '?'"})
	}
	// IMMEDIATE transactions take the write lock when they begin, so two
	// writers never deadlock upgrading read locks; the busy timeout makes
	// a writer of another process wait for the lock rather than fail.
	dsn := "file:" + path + "?_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s := &Store{db: db}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) migrate() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this server's %d", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) check() error {
	if s.closed.Load() {
		return fmt.Errorf("sqlite: %w", errs.ErrClosed)
	}
	return nil
}

// Close closes the database. Requests under way may fail.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}

// Update implements server.Store.
func (s *Store) Update(ctx context.Context, ws string, fn func(server.Tx) error) (err error) {
	if err := s.check(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	stx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			stx.Rollback()
		}
	}()
	t := &tx{ctx: ctx, tx: stx, ws: ws}
	err = stx.QueryRowContext(ctx, "SELECT seq, horizon FROM workspaces WHERE ws = ?", ws).Scan(&t.seq, &t.horizon)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: read seq of %s: %w", ws, err)
	}
	if err := fn(t); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	committed = true
	return nil
}

// View implements server.Store.
func (s *Store) View(ctx context.Context, ws string, fn func(server.View) error) error {
	if err := s.check(); err != nil {
		return err
	}
	stx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer stx.Rollback()
	t := &tx{ctx: ctx, tx: stx, ws: ws}
	err = stx.QueryRowContext(ctx, "SELECT seq, horizon FROM workspaces WHERE ws = ?", ws).Scan(&t.seq, &t.horizon)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: read seq of %s: %w", ws, err)
	}
	return fn(t)
}

type tx struct {
	ctx     context.Context
	tx      *sql.Tx
	ws      string
	seq     int64
	horizon int64
}

func (t *tx) Seq() int64 { return t.seq }

func (t *tx) Horizon() int64 { return t.horizon }

// chunk is how many ids go into one IN list: below SQLite's limit of
// bound parameters with room to spare.
const chunk = 500

// in runs query, which ends in "IN (", for the ids in chunks and calls
// scan for every row.
func (t *tx) in(query string, ids []string, scan func(*sql.Rows) error) error {
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, 0, n+1)
		args = append(args, t.ws)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		rows, err := t.tx.QueryContext(t.ctx, query+strings.TrimSuffix(strings.Repeat("?,", n), ",")+")", args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (t *tx) Acks(opIDs []string) (map[string][]byte, error) {
	m := map[string][]byte{}
	err := t.in("SELECT id, ack FROM ops WHERE ws = ? AND id IN (", opIDs, func(r *sql.Rows) error {
		var id string
		var ack []byte
		if err := r.Scan(&id, &ack); err != nil {
			return err
		}
		m[id] = ack
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read acks: %w", err)
	}
	return m, nil
}

// changeColumns are those of a change as pulled, stateColumns those of
// the state the server merges ops into: the change and its clocks.
const (
	changeColumns = "id, entity, workflow_id, seq, version, proposed, updated_at, op_id, deleted, data, overwrote"
	stateColumns  = changeColumns + ", clocks"
)

func scanChange(r *sql.Rows) (*syncproto.Change, error) { return scan(r, false) }

func scanState(r *sql.Rows) (*syncproto.Change, error) { return scan(r, true) }

func scan(r *sql.Rows, withClocks bool) (*syncproto.Change, error) {
	var c syncproto.Change
	var data []byte
	var overwrote, clocks string
	dest := []any{&c.EntityID, &c.Entity, &c.WorkflowID, &c.Seq, &c.Version, &c.Proposed, &c.UpdatedAt, &c.OpID, &c.Deleted, &data, &overwrote}
	if withClocks {
		dest = append(dest, &clocks)
	}
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	if overwrote != "" {
		c.Overwrote = strings.Split(overwrote, ",")
	}
	if withClocks {
		var err error
		if c.Clocks, err = server.DecodeClocks(clocks); err != nil {
			return nil, fmt.Errorf("clocks of %s: %w", c.EntityID, err)
		}
	}
	if len(data) > 0 {
		c.Data = data
	}
	return &c, nil
}

func (t *tx) Entities(entityIDs []string) (map[string]*syncproto.Change, error) {
	m := map[string]*syncproto.Change{}
	err := t.in("SELECT "+stateColumns+" FROM entities WHERE ws = ? AND id IN (", entityIDs, func(r *sql.Rows) error {
		c, err := scanState(r)
		if err == nil {
			m[c.EntityID] = c
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: read entities: %w", err)
	}
	return m, nil
}

func (t *tx) Contents(workflowID string) ([]*syncproto.Change, error) {
	out, err := t.changes("SELECT "+stateColumns+
		" FROM entities WHERE ws = ? AND workflow_id = ? AND deleted = 0 AND entity <> 'workflow'", t.ws, workflowID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read contents of %s: %w", workflowID, err)
	}
	return out, nil
}

func (t *tx) Workflows() ([]*syncproto.Change, error) {
	out, err := t.changes("SELECT "+stateColumns+
		" FROM entities WHERE ws = ? AND entity = 'workflow' AND deleted = 0", t.ws)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read workflows: %w", err)
	}
	return out, nil
}

// changes runs a query of stateColumns and scans every row.
func (t *tx) changes(query string, args ...any) ([]*syncproto.Change, error) {
	rows, err := t.tx.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*syncproto.Change
	for rows.Next() {
		c, err := scanState(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *tx) Put(changes []syncproto.Change, acks []server.StoredAck) error {
	seq := t.seq
	if len(changes) > 0 {
		put, err := t.tx.PrepareContext(t.ctx, `INSERT INTO entities (ws, `+stateColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (ws, id) DO UPDATE SET entity = excluded.entity, workflow_id = excluded.workflow_id,
				seq = excluded.seq, version = excluded.version, proposed = excluded.proposed, updated_at = excluded.updated_at,
				op_id = excluded.op_id, deleted = excluded.deleted, data = excluded.data, overwrote = excluded.overwrote,
				clocks = excluded.clocks`)
		if err != nil {
			return fmt.Errorf("sqlite: put changes: %w", err)
		}
		defer put.Close()
		for i := range changes {
			c := &changes[i]
			if c.Seq <= seq {
				return fmt.Errorf("sqlite: put change of %s: seq %d is not above %d", c.EntityID, c.Seq, seq)
			}
			seq = c.Seq
			var data []byte
			if !c.Deleted {
				data = c.Data
			}
			if _, err := put.ExecContext(t.ctx, t.ws, c.EntityID, c.Entity, c.WorkflowID, c.Seq, c.Version,
				c.Proposed, c.UpdatedAt, c.OpID, c.Deleted, data, strings.Join(c.Overwrote, ","), server.EncodeClocks(c.Clocks)); err != nil {
				return fmt.Errorf("sqlite: put change of %s: %w", c.EntityID, err)
			}
		}
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO workspaces (ws, seq) VALUES (?, ?)
			ON CONFLICT (ws) DO UPDATE SET seq = excluded.seq`, t.ws, seq); err != nil {
			return fmt.Errorf("sqlite: put seq: %w", err)
		}
	}
	if len(acks) > 0 {
		put, err := t.tx.PrepareContext(t.ctx, "INSERT INTO ops (ws, id, ack, stored) VALUES (?, ?, ?, ?)")
		if err != nil {
			return fmt.Errorf("sqlite: put acks: %w", err)
		}
		defer put.Close()
		for _, a := range acks {
			if _, err := put.ExecContext(t.ctx, t.ws, a.OpID, a.JSON, a.Stored); err != nil {
				return fmt.Errorf("sqlite: put ack of %s: %w", a.OpID, err)
			}
		}
	}
	t.seq = seq
	return nil
}

func (t *tx) Live(after int64, fn func(*syncproto.Change) error) error {
	rows, err := t.tx.QueryContext(t.ctx, "SELECT "+changeColumns+" FROM entities WHERE ws = ? AND seq > ? AND deleted = 0", t.ws, after)
	if err != nil {
		return fmt.Errorf("sqlite: read live entities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return fmt.Errorf("sqlite: read live entities: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: read live entities: %w", err)
	}
	return nil
}

func (t *tx) Blobs() ([]server.BlobInfo, error) {
	rows, err := t.tx.QueryContext(t.ctx, "SELECT hash, size, mime, created, unreferenced FROM blobs WHERE ws = ?", t.ws)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read blobs: %w", err)
	}
	defer rows.Close()
	var out []server.BlobInfo
	for rows.Next() {
		var b server.BlobInfo
		if err := rows.Scan(&b.Hash, &b.Size, &b.MIME, &b.Created, &b.Unreferenced); err != nil {
			return nil, fmt.Errorf("sqlite: read blobs: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read blobs: %w", err)
	}
	return out, nil
}

func (t *tx) OldAcks(before int64) (n, size int64, err error) {
	err = t.tx.QueryRowContext(t.ctx, "SELECT count(*), coalesce(sum(length(ack)), 0) FROM ops WHERE ws = ? AND stored < ?", t.ws, before).Scan(&n, &size)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: count old acks: %w", err)
	}
	return n, size, nil
}

// exec runs query, which ends in "IN (", for the ids in chunks, with
// args before the workspace and the ids.
func (t *tx) exec(query string, ids []string, args ...any) error {
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		a := append(append([]any{}, args...), t.ws)
		for _, id := range ids[:n] {
			a = append(a, id)
		}
		if _, err := t.tx.ExecContext(t.ctx, query+strings.TrimSuffix(strings.Repeat("?,", n), ",")+")", a...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

func (t *tx) TouchBlobs(hashes []string) error {
	if err := t.exec("UPDATE blobs SET unreferenced = 0 WHERE unreferenced <> 0 AND ws = ? AND hash IN (", hashes); err != nil {
		return fmt.Errorf("sqlite: touch blobs: %w", err)
	}
	return nil
}

func (t *tx) MarkBlobs(hashes []string, at int64) error {
	if err := t.exec("UPDATE blobs SET unreferenced = ? WHERE ws = ? AND hash IN (", hashes, at); err != nil {
		return fmt.Errorf("sqlite: mark blobs: %w", err)
	}
	return nil
}

func (t *tx) DeleteBlobs(hashes []string) error {
	if err := t.exec("DELETE FROM blobs WHERE ws = ? AND hash IN (", hashes); err != nil {
		return fmt.Errorf("sqlite: delete blobs: %w", err)
	}
	for _, h := range hashes {
		if _, err := t.tx.ExecContext(t.ctx, "INSERT INTO blob_holds (hash, hold_until) VALUES (?, 0) ON CONFLICT DO NOTHING", h); err != nil {
			return fmt.Errorf("sqlite: delete blobs: %w", err)
		}
	}
	return nil
}

func (t *tx) CompactAcks(before int64) (int64, error) {
	var n, last int64
	err := t.tx.QueryRowContext(t.ctx, "SELECT count(*), coalesce(max(stored), 0) FROM ops WHERE ws = ? AND stored < ?", t.ws, before).Scan(&n, &last)
	if err != nil || n == 0 {
		if err != nil {
			return 0, fmt.Errorf("sqlite: compact acks: %w", err)
		}
		return 0, nil
	}
	if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM ops WHERE ws = ? AND stored < ?", t.ws, before); err != nil {
		return 0, fmt.Errorf("sqlite: compact acks: %w", err)
	}
	// Every ack stored up to last is gone: the horizon is just after it.
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO workspaces (ws, seq, horizon) VALUES (?, 0, ?)
		ON CONFLICT (ws) DO UPDATE SET horizon = max(horizon, excluded.horizon)`, t.ws, last+1); err != nil {
		return 0, fmt.Errorf("sqlite: compact acks: %w", err)
	}
	t.horizon = max(t.horizon, last+1)
	return n, nil
}

// Workspaces implements server.Store.
func (s *Store) Workspaces(ctx context.Context) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT ws FROM workspaces UNION SELECT ws FROM blobs UNION SELECT ws FROM ops")
	if err != nil {
		return nil, fmt.Errorf("sqlite: list workspaces: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ws string
		if err := rows.Scan(&ws); err != nil {
			return nil, fmt.Errorf("sqlite: list workspaces: %w", err)
		}
		out = append(out, ws)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list workspaces: %w", err)
	}
	return out, nil
}

// HoldBlob implements server.Store.
func (s *Store) HoldBlob(ctx context.Context, hash string, until int64) error {
	if err := s.check(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO blob_holds (hash, hold_until) VALUES (?, ?)
		ON CONFLICT (hash) DO UPDATE SET hold_until = max(hold_until, excluded.hold_until)`, hash, until)
	if err != nil {
		return fmt.Errorf("sqlite: hold blob %s: %w", hash, err)
	}
	return nil
}

// Holds implements server.Store.
func (s *Store) Holds(ctx context.Context, before int64) ([]server.BlobHold, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT hash, hold_until FROM blob_holds WHERE hold_until < ?", before)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read holds: %w", err)
	}
	defer rows.Close()
	var out []server.BlobHold
	for rows.Next() {
		var h server.BlobHold
		if err := rows.Scan(&h.Hash, &h.Until); err != nil {
			return nil, fmt.Errorf("sqlite: read holds: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read holds: %w", err)
	}
	return out, nil
}

// DropBytes implements server.Store. The write transaction it runs in
// (this process's writer lock and SQLite's) holds off HoldBlob, and so
// new uploads of hash, until drop has returned.
func (s *Store) DropBytes(ctx context.Context, hash string, before int64, drop func(context.Context) error) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	stx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: drop bytes of %s: %w", hash, err)
	}
	defer stx.Rollback()
	var until int64
	switch err := stx.QueryRowContext(ctx, "SELECT hold_until FROM blob_holds WHERE hash = ?", hash).Scan(&until); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sqlite: drop bytes of %s: %w", hash, err)
	case until >= before:
		return false, nil
	}
	var recorded bool
	if err := stx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = ?)", hash).Scan(&recorded); err != nil {
		return false, fmt.Errorf("sqlite: drop bytes of %s: %w", hash, err)
	}
	if !recorded {
		if err := drop(ctx); err != nil {
			return false, err
		}
	}
	if _, err := stx.ExecContext(ctx, "DELETE FROM blob_holds WHERE hash = ?", hash); err != nil {
		return false, fmt.Errorf("sqlite: drop bytes of %s: %w", hash, err)
	}
	if err := stx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: drop bytes of %s: %w", hash, err)
	}
	return !recorded, nil
}

// Changes implements server.Store.
func (s *Store) Changes(ctx context.Context, ws string, q server.ChangesQuery) ([]syncproto.Change, bool, error) {
	if err := s.check(); err != nil {
		return nil, false, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+changeColumns+" FROM entities WHERE ws = ? AND seq > ? ORDER BY seq LIMIT ?",
		ws, q.After, max(q.Limit, 1)+1)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: read changes: %w", err)
	}
	defer rows.Close()
	var out []syncproto.Change
	size, more := 0, false
	for rows.Next() {
		c, err := scanChange(rows)
		if err != nil {
			return nil, false, fmt.Errorf("sqlite: read changes: %w", err)
		}
		if len(out) >= max(q.Limit, 1) || (q.MaxBytes > 0 && len(out) > 0 && size+len(c.Data) > q.MaxBytes) {
			more = true
			break
		}
		size += len(c.Data)
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: read changes: %w", err)
	}
	return out, more, nil
}

// MissingBlobs implements server.Store.
func (s *Store) MissingBlobs(ctx context.Context, ws string, hashes []string) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for rest := hashes; len(rest) > 0; {
		n := min(len(rest), chunk)
		args := []any{ws}
		for _, h := range rest[:n] {
			args = append(args, h)
		}
		rows, err := s.db.QueryContext(ctx, "SELECT hash FROM blobs WHERE ws = ? AND hash IN ("+
			strings.TrimSuffix(strings.Repeat("?,", n), ",")+")", args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: check blobs: %w", err)
		}
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: check blobs: %w", err)
			}
			have[h] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("sqlite: check blobs: %w", err)
		}
		rest = rest[n:]
	}
	var missing []string
	for _, h := range hashes {
		if !have[h] {
			missing = append(missing, h)
		}
	}
	return missing, nil
}

// Blob implements server.Store.
func (s *Store) Blob(ctx context.Context, ws, hash string) (server.BlobInfo, error) {
	b := server.BlobInfo{Hash: hash}
	if err := s.check(); err != nil {
		return b, err
	}
	err := s.db.QueryRowContext(ctx, "SELECT size, mime, created, unreferenced FROM blobs WHERE ws = ? AND hash = ?", ws, hash).
		Scan(&b.Size, &b.MIME, &b.Created, &b.Unreferenced)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("sqlite: blob %s: %w", hash, errs.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("sqlite: blob %s: %w", hash, err)
	}
	return b, nil
}

// PutBlob implements server.Store.
func (s *Store) PutBlob(ctx context.Context, ws string, b server.BlobInfo) error {
	if err := s.check(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.db.ExecContext(ctx, "INSERT INTO blobs (ws, hash, size, mime, created) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		ws, b.Hash, b.Size, b.MIME, b.Created)
	if err != nil {
		return fmt.Errorf("sqlite: put blob %s: %w", b.Hash, err)
	}
	return nil
}

// Dump is everything a workspace holds about operations and entities: for
// checks and diagnostics, not for serving.
type Dump struct {
	Seq      int64              `json:"seq"`      // the workspace's last sequence number
	Entities []syncproto.Change `json:"entities"` // every entity, tombstones too, in seq order
	Acks     []DumpedAck        `json:"acks"`     // every op seen, in op id order
}

// DumpedAck is the stored ack of one op.
type DumpedAck struct {
	OpID string          `json:"opId"`
	Ack  json.RawMessage `json:"ack"`
}

// Dump reads all that workspace ws holds, in one read transaction.
func (s *Store) Dump(ctx context.Context, ws string) (*Dump, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: dump: %w", err)
	}
	defer tx.Rollback()
	d := &Dump{Entities: []syncproto.Change{}, Acks: []DumpedAck{}}
	err = tx.QueryRowContext(ctx, "SELECT seq FROM workspaces WHERE ws = ?", ws).Scan(&d.Seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: dump seq: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+stateColumns+" FROM entities WHERE ws = ? ORDER BY seq", ws)
	if err != nil {
		return nil, fmt.Errorf("sqlite: dump entities: %w", err)
	}
	for rows.Next() {
		c, err := scanState(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: dump entities: %w", err)
		}
		d.Entities = append(d.Entities, *c)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: dump entities: %w", err)
	}
	rows, err = tx.QueryContext(ctx, "SELECT id, ack FROM ops WHERE ws = ? ORDER BY id", ws)
	if err != nil {
		return nil, fmt.Errorf("sqlite: dump acks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a DumpedAck
		var b []byte
		if err := rows.Scan(&a.OpID, &b); err != nil {
			return nil, fmt.Errorf("sqlite: dump acks: %w", err)
		}
		a.Ack = b
		d.Acks = append(d.Acks, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: dump acks: %w", err)
	}
	return d, nil
}
