//go:build js && wasm

package idb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbx"
)

// The browser may close the connection under the store: Safari's
// "Connection to Indexed Database server lost" (its storage process
// restarted), a close event after storage was cleared or the disk failed.
// Every later transaction would fail, so the store opens a new connection
// instead, at the next transaction, and the writer runs a batch that
// failed with the connection once more on the new one. Writes are puts of
// whole records (and deletes), so a batch whose transaction committed
// before the connection went is written again, not twice. Another tab's
// upgrade or deletion is not this: the store closes for good then
// (onVersionChange).

// reopenWait bounds a reopen: another tab's upgrade in progress could
// hold it up.
const reopenWait = 10 * time.Second

var reopenMu sync.Mutex // one reopen at a time, across stores: rare

// connection returns the current connection.
func (d *DB) connection() *idbx.DB {
	d.connMu.Lock()
	defer d.connMu.Unlock()
	return d.conn
}

// begin starts a transaction, on a new connection when the browser
// closed the current one under the store.
func (d *DB) begin(mode idbx.Mode, stores ...string) (*idbx.Tx, error) {
	c := d.connection()
	itx, err := c.Begin(mode, stores...)
	if err == nil || !errors.Is(err, errs.ErrClosed) || d.closed() != nil {
		return itx, err
	}
	if c, err = d.reopen(c, err); err != nil {
		return nil, err
	}
	return c.Begin(mode, stores...)
}

// reopen replaces old, which the browser closed (why), by a new
// connection, unless another caller did already. It fails with an error
// matching errs.ErrClosed when the store was closed meanwhile or the
// database cannot be opened again.
func (d *DB) reopen(old *idbx.DB, why error) (*idbx.DB, error) {
	reopenMu.Lock()
	defer reopenMu.Unlock()
	if c := d.connection(); c != old {
		return c, nil
	}
	if err := d.closed(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), reopenWait)
	defer cancel()
	c, err := idbx.Open(ctx, d.name, d.target, d.connFor)
	if err != nil {
		d.log.Error("reopening the database failed", "err", err, "why", why)
		return nil, fmt.Errorf("%w: the browser closed the database connection (%v), and reopening it failed: %v", errs.ErrClosed, why, err)
	}
	c.SetStrictDurability(d.opts.StrictDurability)
	// Not while connMu is held: shutdown, which runs in browser events,
	// must not wait for an open.
	d.connMu.Lock()
	if err := d.closed(); err != nil {
		d.connMu.Unlock()
		c.Close()
		return nil, err
	}
	d.conn = c
	d.connMu.Unlock()
	old.Close()
	d.reopens.Add(1)
	d.log.Warn("reopened the database: the browser had closed the connection", "why", why)
	return c, nil
}

// retryLost reports whether the writer should run a batch whose
// transaction failed with err once more: the connection it ran on was
// lost, a new one is open, and this is not already the second attempt.
func (d *DB) retryLost(conn *idbx.DB, err error) bool {
	if d.lostRetry || d.closed() != nil || !connectionLost(conn, err) {
		return false
	}
	if _, rerr := d.reopen(conn, err); rerr != nil {
		return false
	}
	d.lostRetry = true
	return true
}

// connectionLost reports whether err, a transaction's failure on conn,
// comes from the connection going away.
func connectionLost(conn *idbx.DB, err error) bool {
	return conn.Lost() || errors.Is(err, errs.ErrClosed) ||
		strings.Contains(err.Error(), "Connection to Indexed Database server lost")
}
