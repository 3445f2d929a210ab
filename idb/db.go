//go:build js && wasm

package idb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbx"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/internal/recbody"
	"github.com/atelierstore/atelier/internal/tabs"
)

// DB is an open workflow store. Its methods are safe for concurrent use.
type DB struct {
	name string
	// conn is the connection, replaced when the browser closed it under
	// the store (reopen.go); read it with connection().
	connMu  sync.Mutex
	conn    *idbx.DB
	connFor idbx.Hooks // what reopening passes to idbx.Open
	target  int        // the schema version
	reopens atomic.Uint64
	// lostRetry is set while the writer runs a batch again on a new
	// connection (reopen_js.go); only the writer goroutine uses it.
	lostRetry bool

	opts   Options
	log    *slog.Logger
	stores []string // the metadata stores: every store but the bulk ones

	q          *queue[task]
	writerDone chan struct{}
	codecs     sync.Pool

	closeOnce sync.Once
	closedErr atomic.Pointer[error] // why the store is closed, once it is

	tab  string // this store's id in messages to other tabs
	feed *feed

	hooksMu sync.Mutex
	hooks   []Hook // copied on write: transactions read it unlocked

	transactions, mutations, retries, guardMisses atomic.Uint64

	// mem holds revisions the writer remembers (see remember_js.go).
	memMu sync.Mutex
	mem   map[cacheKey]cacheEntry
	// rememberedReads counts reads answered from mem (for tests).
	rememberedReads atomic.Uint64
}

// task is one queued mutation: a function run inside the writer's
// transaction, and the records it will read (prefetched for the batch).
type task struct {
	fn    func(*Tx) error
	reads []cacheKey
}

// testHookBeforeData, when set, runs after the structural upgrade and
// before the data phase of Open; an error stops Open there, as a crash
// would.
var testHookBeforeData func() error

// Open opens the named workflow store, creating it or migrating it to the
// current schema. It fails with errs.ErrSchemaTooNew when a newer build
// of the library has already upgraded the database (reload the page), and
// with ctx.Err() when ctx ends first (for instance while other tabs block
// an upgrade; see Options.OnBlocked).
func Open(ctx context.Context, name string, opts *Options) (*DB, error) {
	return open(ctx, name, opts, migrations)
}

func open(ctx context.Context, name string, opts *Options, ms []Migration) (*DB, error) {
	if name == "" {
		return nil, &errs.ValidationError{Entity: "database", Field: "name", Reason: "must not be empty"}
	}
	if err := checkMigrations(ms); err != nil {
		return nil, err
	}
	all, err := allStores(ms)
	if err != nil {
		return nil, err
	}
	var stores []string // what metadata transactions span
	for _, s := range all {
		if !bulkStores[s] {
			stores = append(stores, s)
		}
	}
	d := &DB{name: name, stores: stores, q: newQueue[task](), writerDone: make(chan struct{})}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.now == nil {
		d.opts.now = time.Now
	}
	d.log = d.opts.Logger
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.log = d.log.With("db", name)
	d.codecs.New = func() any { return recbody.New() }

	target := len(ms)
	start := time.Now()
	d.target = target
	d.connFor = idbx.Hooks{
		Upgrade: func(u *idbx.Upgrade) error {
			d.log.Info("upgrading schema", "from", u.OldVersion, "to", u.NewVersion)
			s := upgradeSchema{u}
			for _, m := range structural(ms, u.OldVersion, u.NewVersion) {
				if err := m.Structure(s); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
				}
			}
			return nil
		},
		Blocked: func(oldV, newV int) {
			d.log.Warn("open blocked by connections to an older schema", "old", oldV, "new", newV)
			if f := d.opts.OnBlocked; f != nil {
				go f(Blocked{OldVersion: oldV, NewVersion: newV})
			}
		},
		VersionChange: d.onVersionChange,
		Closed: func() {
			// Not the end: the next transaction reopens (reopen.go).
			d.log.Warn("the browser closed the database connection; reopening at the next transaction")
		},
	}
	conn, err := idbx.Open(ctx, name, target, d.connFor)
	if err != nil {
		d.log.Error("open failed", "err", err)
		return nil, err
	}
	d.conn = conn
	conn.SetStrictDurability(d.opts.StrictDurability)
	if testHookBeforeData != nil {
		if err := testHookBeforeData(); err != nil {
			conn.Close()
			return nil, err
		}
	}
	if err := d.migrateData(ctx, ms, target); err != nil {
		conn.Close()
		d.log.Error("data migration failed", "err", err)
		return nil, err
	}
	d.tab = graph.NewID()
	d.feed = &feed{d: d, subs: map[int]*subscriber{}}
	if bus, err := tabs.Open("atelier:"+name, d.feed.receive); err != nil {
		d.log.Warn("no channel to other tabs: changes stay in this tab", "err", err)
	} else {
		d.feed.bus = bus
		d.log.Debug("listening to other tabs", "transport", bus.Transport())
	}
	go d.writer()
	d.log.Info("opened", "version", target, "took", time.Since(start))
	return d, nil
}

// upgradeSchema adapts the browser upgrade to the Schema interface.
type upgradeSchema struct{ u *idbx.Upgrade }

func (s upgradeSchema) Stores() []string { return s.u.StoreNames() }
func (s upgradeSchema) CreateStore(name, keyPath string) error {
	return s.u.CreateStore(name, keyPath, false)
}
func (s upgradeSchema) DeleteStore(name string) error { return s.u.DeleteStore(name) }
func (s upgradeSchema) CreateIndex(store, name, keyPath string, o IndexOptions) error {
	return s.u.CreateIndex(store, name, keyPath, o.Unique, o.MultiEntry)
}
func (s upgradeSchema) DeleteIndex(store, name string) error { return s.u.DeleteIndex(store, name) }

// migrateData runs the data steps that have not run yet, in one readwrite
// transaction that also records the new schemaVersion. Another tab may run
// them at the same time: the recorded version is read inside the
// transaction, so whichever commits second finds nothing left to do.
func (d *DB) migrateData(ctx context.Context, ms []Migration, target int) error {
	done, err := d.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if done == target {
		return nil
	}
	if done > target {
		return fmt.Errorf("%w: schemaVersion %d recorded, library knows %d", errs.ErrSchemaTooNew, done, target)
	}
	itx, err := d.begin(idbx.ReadWrite, d.stores...)
	if err != nil {
		return err
	}
	t := d.newTx(ctx, itx, true)
	defer d.putTx(t)
	err = func() (err error) {
		defer jsutil.Recover(&err)
		if done, err = t.kvInt(kvSchemaVersion); err != nil {
			return err
		}
		for _, m := range pendingData(ms, done, target) {
			d.log.Info("running data migration", "version", m.Version, "name", m.Name)
			if err := m.Data(t); err != nil {
				return fmt.Errorf("data migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		if done < target {
			return t.tx.PutKeyValue(storeKV, kvSchemaVersion, target)
		}
		return nil
	}()
	if err != nil {
		itx.Abort()
		return err
	}
	itx.Commit()
	if err := itx.Wait(context.Background()); err != nil {
		return fmt.Errorf("commit data migration: %w", err)
	}
	d.log.Info("schema version recorded", "version", target)
	return nil
}

// schemaVersion reads the recorded schemaVersion (0 when missing).
func (d *DB) schemaVersion(ctx context.Context) (int, error) {
	itx, err := d.begin(idbx.ReadOnly, storeKV)
	if err != nil {
		return 0, err
	}
	t := d.newTx(ctx, itx, false)
	defer d.putTx(t)
	return t.kvInt(kvSchemaVersion)
}

func (t *Tx) kvInt(key string) (int, error) {
	r, err := t.tx.Get(storeKV, key)
	if err != nil {
		return 0, err
	}
	if err := r.Wait(t.ctx); err != nil {
		return 0, err
	}
	n, _, err := r.Number()
	return int(n), err
}

func (d *DB) newTx(ctx context.Context, itx *idbx.Tx, writable bool) *Tx {
	return &Tx{ctx: ctx, db: d, tx: itx, writable: writable, c: d.codecs.Get().(*recbody.Codec),
		now: d.opts.now().UnixMilli(), added: map[string]bool{}}
}

func (d *DB) putTx(t *Tx) {
	d.codecs.Put(t.c)
	t.c = nil
}

// onVersionChange runs inside the browser's versionchange event: closing
// right here is what lets the other tab's upgrade proceed.
func (d *DB) onVersionChange(oldV, newV int) {
	what := fmt.Sprintf("another tab is upgrading the database to schema version %d", newV)
	if newV == 0 {
		what = "another tab is deleting the database"
	}
	d.log.Warn("closing: " + what)
	d.shutdown(fmt.Errorf("%w: %s; reload the page", errs.ErrClosed, what), false)
	if f := d.opts.OnVersionChange; f != nil {
		go f(VersionChange{OldVersion: oldV, NewVersion: newV})
	}
}

// shutdown closes the connection and stops the writer. Queued mutations
// run first when drain is set and fail with reason otherwise.
func (d *DB) shutdown(reason error, drain bool) {
	d.closeOnce.Do(func() {
		d.closedErr.Store(&reason)
		d.q.close(reason, drain)
		if !drain {
			// Transactions in flight still finish; nothing new starts.
			d.connection().Close()
		}
		if d.feed != nil {
			d.feed.close(reason)
		}
	})
}

// closed returns why the store is closed, or nil.
func (d *DB) closed() error {
	if p := d.closedErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Close waits for queued mutations to commit and for transactions in
// flight to finish, then closes the connection. Later calls fail with
// errs.ErrClosed. Close is safe to call more than once.
func (d *DB) Close() error {
	d.shutdown(errs.ErrClosed, true)
	<-d.writerDone
	d.connection().CloseWait()
	return nil
}

// Name returns the database name.
func (d *DB) Name() string { return d.name }

// Stats returns counters of the writer's work since Open.
func (d *DB) Stats() Stats {
	return Stats{Transactions: d.transactions.Load(), Mutations: d.mutations.Load(), Retries: d.retries.Load(),
		StaleGuesses: d.guardMisses.Load()}
}

// Update runs fn in a readwrite transaction of its own, queued behind the
// mutations submitted before it. The transaction commits if fn returns nil
// and is rolled back if fn returns an error or panics (the panic is
// returned as an error). Update returns once the transaction has committed.
//
// fn must only use tx: waiting for anything else inside it makes the
// browser commit the transaction early. fn must not call methods of d,
// which would wait for this very transaction.
func (d *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return d.q.submit(ctx, task{fn: fn}, true)
}

// View runs fn in a read-only transaction, which sees a consistent
// snapshot. Errors and panics in fn are returned.
func (d *DB) View(ctx context.Context, fn func(tx *Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.closed(); err != nil {
		return err
	}
	itx, err := d.begin(idbx.ReadOnly, d.stores...)
	if err != nil {
		return d.mapErr(err)
	}
	t := d.newTx(ctx, itx, false)
	defer d.putTx(t)
	defer func() {
		if r := recover(); r != nil {
			err = jsutil.PanicError(r)
			itx.Abort()
		}
	}()
	if err := fn(t); err != nil {
		itx.Abort()
		return d.mapErr(err)
	}
	return nil
}

// mapErr explains errors of a closed store.
func (d *DB) mapErr(err error) error {
	if errors.Is(err, errs.ErrClosed) {
		if reason := d.closed(); reason != nil {
			return reason
		}
	}
	return err
}

// mutate queues an ordinary (batchable) mutation. fn must check everything
// before its first write: if it fails after writing, the whole shared
// transaction has to be rolled back and replayed.
func (d *DB) mutate(ctx context.Context, fn func(*Tx) error, reads ...cacheKey) error {
	return d.q.submit(ctx, task{fn: fn, reads: reads}, false)
}

// writer is the single goroutine that runs mutations.
func (d *DB) writer() {
	defer close(d.writerDone)
	for {
		batch := d.q.next()
		if batch == nil {
			return
		}
		d.runBatch(batch, false)
	}
}

// runBatch runs jobs in one readwrite transaction. Each job's function runs
// in turn; a job that fails without writing simply reports its error. If
// the transaction itself fails (a job failed after writing, a quota error,
// a constraint), every job that had succeeded is replayed in a transaction
// of its own, so that one bad mutation cannot sink the others.
func (d *DB) runBatch(batch []*job[task], replay bool) {
	d.run(batch, replay, !replay)
}

// run is runBatch; with remember, the batch may run on remembered
// revisions (see remember_js.go), and nothing is reported to a caller
// before the transaction has committed: any failure runs the batch again
// on fresh reads.
func (d *DB) run(batch []*job[task], replay, remember bool) {
	start := time.Now()
	conn := d.connection()
	itx, err := d.begin(idbx.ReadWrite, d.stores...)
	if err != nil {
		err = d.mapErr(err)
		for _, j := range batch {
			j.finish(err)
		}
		return
	}
	t := d.newTx(context.Background(), itx, true)
	defer d.putTx(t)
	t.cache = map[cacheKey]cacheEntry{}
	var reads []cacheKey
	for _, j := range batch {
		if j.ctx.Err() == nil {
			reads = append(reads, j.task.reads...)
		}
	}
	var g *guards
	if remember {
		g = t.useRemembered(reads)
	}
	if err := t.prefetch(reads); err != nil {
		// Each mutation reads for itself and meets the error there.
		d.log.Warn("prefetch failed", "err", err)
		t.cache = map[cacheKey]cacheEntry{}
	}

	var ok []*job[task]
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.finish(err)
			continue
		}
		t.ctx = j.ctx
		before := t.writes
		err := runTask(t, j.task.fn)
		if err == nil {
			ok = append(ok, j)
			continue
		}
		if g != nil {
			// The failure may come from a stale remembered revision.
			itx.Abort()
			_ = itx.Wait(context.Background())
			d.run(append(ok, batch[i:]...), replay, false)
			return
		}
		dead := itx.Failed()
		if !dead && !j.solo && t.writes == before {
			j.finish(d.mapErr(err)) // failed cleanly: nothing to undo
			continue
		}
		itx.Abort()
		_ = itx.Wait(context.Background())
		rest := batch[i+1:]
		if dead && len(batch) > 1 {
			// The transaction died under this job; the cause may be an
			// earlier job's write. Replay them all, this one included.
			d.replay(append(append(ok, j), rest...))
			return
		}
		// This job wrote and then failed (or runs alone): the error is
		// its own, and only a rollback undoes its writes.
		j.finish(d.mapErr(t.explain(err)))
		d.replay(append(ok, rest...))
		return
	}
	if len(ok) == 0 {
		itx.Abort()
		return
	}
	if err := t.flushHooks(); err != nil {
		itx.Abort()
		_ = itx.Wait(context.Background())
		if g != nil {
			d.run(ok, replay, false)
			return
		}
		if len(ok) > 1 {
			d.replay(ok)
			return
		}
		ok[0].finish(err)
		return
	}
	if g != nil {
		g.Commit()
	} else {
		itx.Commit()
	}
	err = itx.Wait(context.Background())
	if err != nil && g != nil && g.Stale() {
		d.forget(g.keys)
		d.guardMisses.Add(1)
		d.log.Debug("remembered revisions were stale; running the batch on fresh reads", "mutations", len(ok))
		d.run(ok, replay, false)
		return
	}
	if err != nil && d.retryLost(conn, err) {
		// The connection went under the transaction: once more on a new
		// one. Its writes are puts of whole records, so a transaction
		// that did commit after all is written again, not twice.
		d.run(ok, replay, false)
		d.lostRetry = false
		return
	}
	if err != nil && len(ok) > 1 {
		d.log.Warn("shared transaction failed; replaying its mutations one by one", "mutations", len(ok), "err", err)
		d.replay(ok)
		return
	}
	if err != nil {
		err = d.mapErr(t.explain(err))
		d.log.Warn("write failed", "err", err)
		for _, j := range ok {
			j.finish(err)
		}
		return
	}
	d.transactions.Add(1)
	d.mutations.Add(uint64(len(ok)))
	d.remember(t.cache)
	// Live queries hear of the change before the callers return.
	t.committed()
	d.feed.publish(t.changes)
	for _, j := range ok {
		j.finish(nil)
	}
	d.log.Debug("flushed", "mutations", len(ok), "writes", t.writes, "took", time.Since(start), "replay", replay)
}

func (d *DB) replay(jobs []*job[task]) {
	for _, j := range jobs {
		d.retries.Add(1)
		d.runBatch([]*job[task]{j}, true)
	}
}

// runTask runs fn, turning a panic into an error.
func runTask(t *Tx, fn func(*Tx) error) (err error) {
	defer jsutil.Recover(&err)
	return fn(t)
}
