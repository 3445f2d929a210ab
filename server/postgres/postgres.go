package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/syncproto"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations bring the schema from version i to i+1.
var migrations = []string{
	`CREATE TABLE workspaces (
		ws  text PRIMARY KEY,
		seq bigint NOT NULL
	);
	CREATE TABLE entities (
		ws          text NOT NULL,
		id          text NOT NULL,
		entity      text NOT NULL,
		workflow_id text NOT NULL,
		seq         bigint NOT NULL,
		version     bigint NOT NULL,
		proposed    bigint NOT NULL,
		updated_at  bigint NOT NULL,
		op_id       text NOT NULL,
		deleted     boolean NOT NULL,
		data        bytea,
		PRIMARY KEY (ws, id)
	);
	CREATE UNIQUE INDEX entities_seq ON entities (ws, seq);
	CREATE TABLE ops (
		ws  text NOT NULL,
		id  text NOT NULL,
		ack bytea NOT NULL,
		PRIMARY KEY (ws, id)
	);
	CREATE TABLE blobs (
		ws      text NOT NULL,
		hash    text NOT NULL,
		size    bigint NOT NULL,
		mime    text NOT NULL,
		created bigint NOT NULL,
		PRIMARY KEY (ws, hash)
	);`,
	// Finding a workflow's nodes and edges, to delete them with it.
	`CREATE INDEX entities_workflow ON entities (ws, workflow_id);`,
	// The ops a concurrent write overwrote (syncproto.Change.Overwrote),
	// comma-separated.
	`ALTER TABLE entities ADD COLUMN overwrote text NOT NULL DEFAULT '';`,
	// Listing a workspace's workflows (server.View.Workflows).
	`CREATE INDEX entities_workflows ON entities (ws) WHERE entity = 'workflow';`,
	// The stamps of an entity's fields (syncproto.Change.Clocks), as
	// server.EncodeClocks writes them.
	`ALTER TABLE entities ADD COLUMN clocks text NOT NULL DEFAULT '';`,
	// Garbage collection (server.GC): when each ack was stored (those of
	// older versions count from the upgrade), the ack horizon of each
	// workspace, since when a blob is unreferenced, and the holds on
	// blobs' bytes.
	`ALTER TABLE ops ADD COLUMN stored bigint NOT NULL DEFAULT 0;
	UPDATE ops SET stored = (extract(epoch FROM now()) * 1000)::bigint;
	CREATE INDEX ops_stored ON ops (ws, stored);
	ALTER TABLE workspaces ADD COLUMN horizon bigint NOT NULL DEFAULT 0;
	ALTER TABLE blobs ADD COLUMN unreferenced bigint NOT NULL DEFAULT 0;
	CREATE INDEX blobs_hash ON blobs (hash);
	CREATE TABLE blob_holds (
		hash       text PRIMARY KEY,
		hold_until bigint NOT NULL
	);`,
}

// Store is a server.Store in PostgreSQL, and a server.Announcer. Create it
// with Open.
type Store struct {
	pool   *pgxpool.Pool
	reads  chan struct{} // a slot per connection that reads may hold
	closed atomic.Bool

	// Announcements (see listen.go): what Listen connects with, the
	// channel of the schema, and this Store's tag in the payloads.
	listenConfig *pgx.ConnConfig
	channel      string
	origin       string
	mu           sync.Mutex     // guards listening against Close
	listening    sync.WaitGroup // the Listen calls running
	done         chan struct{}  // closed by Close: Listen returns
}

var (
	_ server.Store     = (*Store)(nil)
	_ server.Announcer = (*Store)(nil)
)

// Open connects to the database named by dsn (a URL or key=value string,
// as pgx takes; parameters it does not know, like search_path, are sent
// as run-time settings) and migrates the schema. It fails when the
// database cannot be reached or its schema is newer than this package's.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgxpool's default, the number of CPUs but at least 4, is too
		// few: a push transaction holds a connection while it waits for
		// its workspace's lock and for its commit to reach the disk, and
		// pulls should not queue behind those.
		cfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	// Pulls and blob lookups leave a quarter of the connections (at least
	// two) to push transactions, which hold the workspace locks: a push
	// waiting for a connection behind a crowd of pulls delays every push
	// to its workspace after it.
	reads := int(cfg.MaxConns) - max(2, int(cfg.MaxConns)/4)
	s := &Store{pool: pool, reads: make(chan struct{}, max(1, reads)), done: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := s.prepareAnnouncements(ctx, cfg.ConnConfig); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two servers starting at once would both create the tables.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('atelier-sync ' || coalesce(current_schema(), '')))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS atelier_schema (version integer NOT NULL)`); err != nil {
			return err
		}
		v := 0
		if err := tx.QueryRow(ctx, `SELECT version FROM atelier_schema`).Scan(&v); errors.Is(err, pgx.ErrNoRows) {
			if _, err := tx.Exec(ctx, `INSERT INTO atelier_schema (version) VALUES (0)`); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this server's %d", v, len(migrations))
		}
		for ; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE atelier_schema SET version = $1`, v)
		return err
	})
}

// read waits for a read slot and returns its release.
func (s *Store) read(ctx context.Context) (func(), error) {
	select {
	case s.reads <- struct{}{}:
		return func() { <-s.reads }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Store) check() error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: %w", errs.ErrClosed)
	}
	return nil
}

// Close closes the connections, waiting for those in use, and ends the
// Listen calls running.
func (s *Store) Close() error {
	s.mu.Lock()
	first := !s.closed.Swap(true)
	if first {
		close(s.done)
	}
	s.mu.Unlock()
	if first {
		s.listening.Wait()
		s.pool.Close()
	}
	return nil
}

// retryable reports whether err is a deadlock or serialization failure,
// after which the transaction may be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Update implements server.Store.
func (s *Store) Update(ctx context.Context, ws string, fn func(server.Tx) error) error {
	if err := s.check(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.update(ctx, ws, fn)
		if attempt < 5 && retryable(err) {
			continue
		}
		return err
	}
}

// The statements of a push transaction go in as few round trips as
// possible, as the workspace stays locked across them: BEGIN with the
// lock, each read, and the writes of Put with COMMIT (or with the next
// read, when one follows).
const lockWorkspace = `INSERT INTO workspaces (ws, seq) VALUES ($1, 0)
	ON CONFLICT (ws) DO UPDATE SET seq = workspaces.seq RETURNING seq, horizon`

func (s *Store) update(ctx context.Context, ws string, fn func(server.Tx) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	// A connection left inside a transaction (after an error) is closed
	// by Release rather than reused.
	defer conn.Release()
	t := &tx{ctx: ctx, conn: conn, ws: ws}
	// Lock the workspace's row until commit: see the package doc.
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue(lockWorkspace, ws).QueryRow(func(r pgx.Row) error { return r.Scan(&t.seq, &t.horizon) })
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: begin and lock workspace %s: %w", ws, err)
	}
	before := t.seq
	if err := fn(t); err != nil {
		conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	b, t.pending = t.pending, nil
	if b == nil {
		b = &pgx.Batch{}
	}
	if t.seq > before {
		// Delivered to the other processes' listeners at commit, and only
		// if it commits.
		b.Queue(`SELECT pg_notify($1, $2)`, s.channel, s.origin+":"+ws)
	}
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("postgres: put and commit: %w", err)
	}
	return nil
}

// View implements server.Store: a read-only REPEATABLE READ transaction,
// one snapshot for all that fn reads, which takes no lock.
func (s *Store) View(ctx context.Context, ws string, fn func(server.View) error) error {
	if err := s.check(); err != nil {
		return err
	}
	done, err := s.read(ctx)
	if err != nil {
		return err
	}
	defer done()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer conn.Release() // closed rather than reused if left in the transaction
	t := &tx{ctx: ctx, conn: conn, ws: ws}
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	b.Queue(`SELECT coalesce(max(seq), 0), coalesce(max(horizon), 0) FROM workspaces WHERE ws = $1`, ws).
		QueryRow(func(r pgx.Row) error { return r.Scan(&t.seq, &t.horizon) })
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: read seq of %s: %w", ws, err)
	}
	err = fn(t)
	conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	return err
}

type tx struct {
	ctx     context.Context
	conn    *pgxpool.Conn
	ws      string
	seq     int64
	horizon int64
	pending *pgx.Batch // the writes of Put, sent with the next statement
}

// query runs a read after the writes Put left pending, in one round
// trip, and hands its rows to scan, which must close them.
func (t *tx) query(scan func(pgx.Rows) error, sql string, args ...any) error {
	b := t.pending
	t.pending = nil
	if b == nil {
		b = &pgx.Batch{}
	}
	writes := b.Len()
	b.Queue(sql, args...)
	br := t.conn.SendBatch(t.ctx, b)
	for range writes {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("put: %w", err)
		}
	}
	rows, err := br.Query()
	if err == nil {
		err = scan(rows)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

func (t *tx) Seq() int64 { return t.seq }

func (t *tx) Horizon() int64 { return t.horizon }

func (t *tx) Acks(opIDs []string) (map[string][]byte, error) {
	m := map[string][]byte{}
	err := t.query(func(rows pgx.Rows) error {
		var id string
		var ack []byte
		_, err := pgx.ForEachRow(rows, []any{&id, &ack}, func() error {
			m[id], ack = ack, nil // a fresh slice for the next row
			return nil
		})
		return err
	}, `SELECT o.id, o.ack FROM unnest($2::text[]) AS k(id)
		JOIN ops o ON o.ws = $1 AND o.id = k.id`, t.ws, opIDs)
	if err != nil {
		return nil, fmt.Errorf("postgres: read acks: %w", err)
	}
	return m, nil
}

// changeColumns are those of a change as pulled, stateColumns those of
// the state the server merges ops into: the change and its clocks.
const (
	changeColumns = "id, entity, workflow_id, seq, version, proposed, updated_at, op_id, deleted, data, overwrote"
	stateColumns  = changeColumns + ", clocks"
)

// qualified is stateColumns of the entities table aliased e.
const qualified = "e.id, e.entity, e.workflow_id, e.seq, e.version, e.proposed, e.updated_at, e.op_id, e.deleted, e.data, e.overwrote, e.clocks"

// forEachChange scans rows of changeColumns.
func forEachChange(rows pgx.Rows, fn func(*syncproto.Change) error) error {
	return forEach(rows, false, fn)
}

// forEachState scans rows of stateColumns.
func forEachState(rows pgx.Rows, fn func(*syncproto.Change) error) error {
	return forEach(rows, true, fn)
}

func forEach(rows pgx.Rows, withClocks bool, fn func(*syncproto.Change) error) error {
	var c syncproto.Change
	var data []byte
	var overwrote, clocks string
	dest := []any{&c.EntityID, &c.Entity, &c.WorkflowID, &c.Seq, &c.Version,
		&c.Proposed, &c.UpdatedAt, &c.OpID, &c.Deleted, &data, &overwrote}
	if withClocks {
		dest = append(dest, &clocks)
	}
	_, err := pgx.ForEachRow(rows, dest, func() error {
		cc := c
		if len(data) > 0 {
			cc.Data = data
		}
		if overwrote != "" {
			cc.Overwrote = strings.Split(overwrote, ",")
		}
		if withClocks {
			var err error
			if cc.Clocks, err = server.DecodeClocks(clocks); err != nil {
				return fmt.Errorf("clocks of %s: %w", cc.EntityID, err)
			}
		}
		data = nil
		return fn(&cc)
	})
	return err
}

func (t *tx) Entities(entityIDs []string) (map[string]*syncproto.Change, error) {
	m := map[string]*syncproto.Change{}
	err := t.query(func(rows pgx.Rows) error {
		return forEachState(rows, func(c *syncproto.Change) error { m[c.EntityID] = c; return nil })
	}, `SELECT `+qualified+` FROM unnest($2::text[]) AS k(id)
		JOIN entities e ON e.ws = $1 AND e.id = k.id`, t.ws, entityIDs)
	if err != nil {
		return nil, fmt.Errorf("postgres: read entities: %w", err)
	}
	return m, nil
}

func (t *tx) Contents(workflowID string) ([]*syncproto.Change, error) {
	var out []*syncproto.Change
	err := t.query(func(rows pgx.Rows) error {
		return forEachState(rows, func(c *syncproto.Change) error { out = append(out, c); return nil })
	}, `SELECT `+stateColumns+` FROM entities
		WHERE ws = $1 AND workflow_id = $2 AND NOT deleted AND entity <> 'workflow'`, t.ws, workflowID)
	if err != nil {
		return nil, fmt.Errorf("postgres: read contents of %s: %w", workflowID, err)
	}
	return out, nil
}

func (t *tx) Workflows() ([]*syncproto.Change, error) {
	var out []*syncproto.Change
	err := t.query(func(rows pgx.Rows) error {
		return forEachState(rows, func(c *syncproto.Change) error { out = append(out, c); return nil })
	}, `SELECT `+stateColumns+` FROM entities
		WHERE ws = $1 AND entity = 'workflow' AND NOT deleted`, t.ws)
	if err != nil {
		return nil, fmt.Errorf("postgres: read workflows: %w", err)
	}
	return out, nil
}

func (t *tx) Put(changes []syncproto.Change, acks []server.StoredAck) error {
	seq := t.seq
	for i := range changes {
		c := &changes[i]
		if c.Seq <= seq {
			return fmt.Errorf("postgres: put change of %s: seq %d is not above %d", c.EntityID, c.Seq, seq)
		}
		seq = c.Seq
	}
	// One statement per table, with the rows as arrays. An upsert may not
	// touch a row twice, so only the last change of each entity goes in.
	last := make(map[string]int, len(changes))
	for i := range changes {
		last[changes[i].EntityID] = i
	}
	var (
		ids, kinds, wfs, opIDs, overwrote    []string
		clocks                               []string
		seqs, versions, proposed, updatedAts []int64
		deleted                              []bool
		data                                 [][]byte
	)
	for i := range changes {
		c := &changes[i]
		if last[c.EntityID] != i {
			continue
		}
		ids, kinds, wfs, opIDs = append(ids, c.EntityID), append(kinds, string(c.Entity)), append(wfs, c.WorkflowID), append(opIDs, c.OpID)
		seqs, versions, updatedAts = append(seqs, c.Seq), append(versions, c.Version), append(updatedAts, c.UpdatedAt)
		proposed = append(proposed, c.Proposed)
		deleted = append(deleted, c.Deleted)
		overwrote = append(overwrote, strings.Join(c.Overwrote, ","))
		clocks = append(clocks, server.EncodeClocks(c.Clocks))
		if c.Deleted {
			data = append(data, nil)
		} else {
			data = append(data, c.Data)
		}
	}
	b := t.pending
	if b == nil {
		b = &pgx.Batch{}
	}
	if len(ids) > 0 {
		b.Queue(`INSERT INTO entities (ws, `+stateColumns+`)
			SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
				$8::bigint[], $9::text[], $10::boolean[], $11::bytea[], $12::text[], $13::text[])
			ON CONFLICT (ws, id) DO UPDATE SET entity = excluded.entity, workflow_id = excluded.workflow_id,
				seq = excluded.seq, version = excluded.version, proposed = excluded.proposed, updated_at = excluded.updated_at,
				op_id = excluded.op_id, deleted = excluded.deleted, data = excluded.data, overwrote = excluded.overwrote,
				clocks = excluded.clocks`,
			t.ws, ids, kinds, wfs, seqs, versions, proposed, updatedAts, opIDs, deleted, data, overwrote, clocks)
		b.Queue(`UPDATE workspaces SET seq = $2 WHERE ws = $1`, t.ws, seq)
	}
	if len(acks) > 0 {
		ackIDs, ackJSON, stored := make([]string, len(acks)), make([][]byte, len(acks)), make([]int64, len(acks))
		for i, a := range acks {
			ackIDs[i], ackJSON[i], stored[i] = a.OpID, a.JSON, a.Stored
		}
		b.Queue(`INSERT INTO ops (ws, id, ack, stored) SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::bigint[])`, t.ws, ackIDs, ackJSON, stored)
	}
	// Sent with the next read or with COMMIT: an error surfaces there.
	if b.Len() > 0 {
		t.pending = b
	}
	t.seq = seq
	return nil
}

// queue adds a write to those sent with the next statement.
func (t *tx) queue(sql string, args ...any) {
	if t.pending == nil {
		t.pending = &pgx.Batch{}
	}
	t.pending.Queue(sql, args...)
}

func (t *tx) Live(after int64, fn func(*syncproto.Change) error) error {
	err := t.query(func(rows pgx.Rows) error {
		return forEachChange(rows, fn)
	}, `SELECT `+changeColumns+` FROM entities WHERE ws = $1 AND seq > $2 AND NOT deleted`, t.ws, after)
	if err != nil {
		return fmt.Errorf("postgres: read live entities: %w", err)
	}
	return nil
}

func (t *tx) Blobs() ([]server.BlobInfo, error) {
	var out []server.BlobInfo
	err := t.query(func(rows pgx.Rows) error {
		var b server.BlobInfo
		_, err := pgx.ForEachRow(rows, []any{&b.Hash, &b.Size, &b.MIME, &b.Created, &b.Unreferenced}, func() error {
			out = append(out, b)
			return nil
		})
		return err
	}, `SELECT hash, size, mime, created, unreferenced FROM blobs WHERE ws = $1`, t.ws)
	if err != nil {
		return nil, fmt.Errorf("postgres: read blobs: %w", err)
	}
	return out, nil
}

func (t *tx) OldAcks(before int64) (n, size int64, err error) {
	err = t.query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&n, &size}, func() error { return nil })
		return err
	}, `SELECT count(*), coalesce(sum(length(ack)), 0) FROM ops WHERE ws = $1 AND stored < $2`, t.ws, before)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: count old acks: %w", err)
	}
	return n, size, nil
}

func (t *tx) TouchBlobs(hashes []string) error {
	t.queue(`UPDATE blobs SET unreferenced = 0 WHERE ws = $1 AND hash = ANY($2::text[]) AND unreferenced <> 0`, t.ws, hashes)
	return nil
}

func (t *tx) MarkBlobs(hashes []string, at int64) error {
	t.queue(`UPDATE blobs SET unreferenced = $3 WHERE ws = $1 AND hash = ANY($2::text[])`, t.ws, hashes, at)
	return nil
}

func (t *tx) DeleteBlobs(hashes []string) error {
	t.queue(`DELETE FROM blobs WHERE ws = $1 AND hash = ANY($2::text[])`, t.ws, hashes)
	t.queue(`INSERT INTO blob_holds (hash, hold_until) SELECT h, 0 FROM unnest($1::text[]) AS k(h)
		ON CONFLICT DO NOTHING`, hashes)
	return nil
}

func (t *tx) CompactAcks(before int64) (int64, error) {
	var n, last int64
	// Every ack stored up to the last one deleted is gone: the horizon
	// is just after it.
	err := t.query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&n, &last}, func() error { return nil })
		return err
	}, `WITH d AS (DELETE FROM ops WHERE ws = $1 AND stored < $2 RETURNING stored),
		s AS (SELECT count(*) AS n, coalesce(max(stored), 0) AS last FROM d),
		u AS (UPDATE workspaces SET horizon = greatest(horizon, s.last + 1) FROM s WHERE ws = $1 AND s.n > 0)
		SELECT n, last FROM s`, t.ws, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: compact acks: %w", err)
	}
	if n > 0 {
		t.horizon = max(t.horizon, last+1)
	}
	return n, nil
}

// Workspaces implements server.Store.
func (s *Store) Workspaces(ctx context.Context) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	done, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	// Every workspace with acks has a row in workspaces (Update creates
	// it): the ops table, the largest, need not be scanned.
	rows, err := s.pool.Query(ctx, `SELECT ws FROM workspaces UNION SELECT ws FROM blobs`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list workspaces: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: list workspaces: %w", err)
	}
	return out, nil
}

// HoldBlob implements server.Store.
func (s *Store) HoldBlob(ctx context.Context, hash string, until int64) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO blob_holds (hash, hold_until) VALUES ($1, $2)
		ON CONFLICT (hash) DO UPDATE SET hold_until = greatest(blob_holds.hold_until, excluded.hold_until)`, hash, until)
	if err != nil {
		return fmt.Errorf("postgres: hold blob %s: %w", hash, err)
	}
	return nil
}

// Holds implements server.Store.
func (s *Store) Holds(ctx context.Context, before int64) ([]server.BlobHold, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	done, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.pool.Query(ctx, `SELECT hash, hold_until FROM blob_holds WHERE hold_until < $1`, before)
	if err != nil {
		return nil, fmt.Errorf("postgres: read holds: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (server.BlobHold, error) {
		var h server.BlobHold
		err := r.Scan(&h.Hash, &h.Until)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read holds: %w", err)
	}
	return out, nil
}

// DropBytes implements server.Store. The hold's row stays locked (FOR
// UPDATE) until drop has returned, so a HoldBlob of hash, which every
// upload begins with, waits for it, whichever process it runs in; two
// collections at once drop the bytes once.
func (s *Store) DropBytes(ctx context.Context, hash string, before int64, drop func(context.Context) error) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	dropped := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var until int64
		switch err := tx.QueryRow(ctx, `SELECT hold_until FROM blob_holds WHERE hash = $1 FOR UPDATE`, hash).Scan(&until); {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
		case until >= before:
			return nil
		}
		var recorded bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = $1)`, hash).Scan(&recorded); err != nil {
			return err
		}
		if !recorded {
			if err := drop(ctx); err != nil {
				return &dropError{err}
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM blob_holds WHERE hash = $1`, hash); err != nil {
			return err
		}
		dropped = !recorded
		return nil
	})
	var de *dropError
	if errors.As(err, &de) {
		return false, de.err
	}
	if err != nil {
		return false, fmt.Errorf("postgres: drop bytes of %s: %w", hash, err)
	}
	return dropped, nil
}

// dropError carries the error of DropBytes's drop out of its transaction
// unwrapped.
type dropError struct{ err error }

func (e *dropError) Error() string { return e.err.Error() }

// Changes implements server.Store.
func (s *Store) Changes(ctx context.Context, ws string, q server.ChangesQuery) ([]syncproto.Change, bool, error) {
	if err := s.check(); err != nil {
		return nil, false, err
	}
	done, err := s.read(ctx)
	if err != nil {
		return nil, false, err
	}
	defer done()
	limit := max(q.Limit, 1)
	rows, err := s.pool.Query(ctx, `SELECT `+changeColumns+` FROM entities WHERE ws = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
		ws, q.After, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: read changes: %w", err)
	}
	var out []syncproto.Change
	size, more := 0, false
	stop := errors.New("page full")
	err = forEachChange(rows, func(c *syncproto.Change) error {
		if len(out) >= limit || (q.MaxBytes > 0 && len(out) > 0 && size+len(c.Data) > q.MaxBytes) {
			more = true
			return stop
		}
		size += len(c.Data)
		out = append(out, *c)
		return nil
	})
	if err != nil && err != stop {
		return nil, false, fmt.Errorf("postgres: read changes: %w", err)
	}
	return out, more, nil
}

// MissingBlobs implements server.Store.
func (s *Store) MissingBlobs(ctx context.Context, ws string, hashes []string) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	done, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := s.pool.Query(ctx, `SELECT b.hash FROM unnest($2::text[]) AS k(hash)
		JOIN blobs b ON b.ws = $1 AND b.hash = k.hash`, ws, hashes)
	if err != nil {
		return nil, fmt.Errorf("postgres: check blobs: %w", err)
	}
	have := map[string]bool{}
	var h string
	if _, err := pgx.ForEachRow(rows, []any{&h}, func() error { have[h] = true; return nil }); err != nil {
		return nil, fmt.Errorf("postgres: check blobs: %w", err)
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
	done, err := s.read(ctx)
	if err != nil {
		return b, err
	}
	defer done()
	err = s.pool.QueryRow(ctx, `SELECT size, mime, created, unreferenced FROM blobs WHERE ws = $1 AND hash = $2`, ws, hash).
		Scan(&b.Size, &b.MIME, &b.Created, &b.Unreferenced)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("postgres: blob %s: %w", hash, errs.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("postgres: blob %s: %w", hash, err)
	}
	return b, nil
}

// PutBlob implements server.Store.
func (s *Store) PutBlob(ctx context.Context, ws string, b server.BlobInfo) error {
	if err := s.check(); err != nil {
		return err
	}
	done, err := s.read(ctx)
	if err != nil {
		return err
	}
	defer done()
	_, err = s.pool.Exec(ctx, `INSERT INTO blobs (ws, hash, size, mime, created) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, ws, b.Hash, b.Size, b.MIME, b.Created)
	if err != nil {
		return fmt.Errorf("postgres: put blob %s: %w", b.Hash, err)
	}
	return nil
}
