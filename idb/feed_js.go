//go:build js && wasm

package idb

import (
	"context"
	"sync"

	"github.com/atelierstore/atelier/internal/tabs"
)

// Changes of committed transactions, this tab's and the other tabs'.
//
// Every committed writer transaction yields its changes (kind, id,
// workflow, new version). They go to this tab's subscribers at once and
// to the other tabs on a Bus; another tab's changes arrive the same way.

// ChangeSet is what one committed transaction changed.
type ChangeSet struct {
	Changes []Change
	// Workflows lists workflows another tab changed in ways not listed
	// (a large transaction): subscribers re-read them whole.
	Workflows []string
	// Remote is set for another tab's changes.
	Remote bool
}

// feed hands change sets to subscribers and to the other tabs.
type feed struct {
	d      *DB
	bus    *tabs.Bus
	mu     sync.Mutex
	subs   map[int]*subscriber
	n      int
	closed error
}

type subscriber struct {
	f      func(ChangeSet)
	closed func(error)
}

// Subscribe calls f with every change set committed from now on: this
// tab's before the writing call returns, from the writer, and other tabs'
// from a browser event. f must not block or call the store. closed (when
// not nil) is called once when the store closes, with the reason. The
// returned function unsubscribes. On a closed store, closed is called at
// once.
func (d *DB) Subscribe(f func(ChangeSet), closed func(error)) (stop func()) {
	fd := d.feed
	fd.mu.Lock()
	if err := fd.closed; err != nil {
		fd.mu.Unlock()
		if closed != nil {
			go closed(err)
		}
		return func() {}
	}
	fd.n++
	id := fd.n
	fd.subs[id] = &subscriber{f: f, closed: closed}
	fd.mu.Unlock()
	return func() {
		fd.mu.Lock()
		delete(fd.subs, id)
		fd.mu.Unlock()
	}
}

func (fd *feed) subscribers() []*subscriber {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	out := make([]*subscriber, 0, len(fd.subs))
	for _, s := range fd.subs {
		out = append(out, s)
	}
	return out
}

// publish hands a committed transaction's changes to this tab's
// subscribers and to the other tabs.
func (fd *feed) publish(changes []Change) {
	if len(changes) == 0 {
		return
	}
	cs := ChangeSet{Changes: changes}
	for _, s := range fd.subscribers() {
		s.f(cs)
	}
	if fd.bus != nil {
		if err := fd.bus.Post(encodeMessage(fd.d.tab, changes)); err != nil {
			fd.d.log.Warn("announcing changes to other tabs failed", "err", err)
		}
	}
}

// receive handles a message from another tab.
func (fd *feed) receive(msg string) {
	tab, changes, workflows, err := decodeMessage(msg)
	if err != nil {
		fd.d.log.Warn("ignoring a malformed message from another tab", "err", err)
		return
	}
	if tab == fd.d.tab {
		return // an echo of our own change
	}
	fd.d.forgetChanges(changes)
	cs := ChangeSet{Changes: changes, Workflows: workflows, Remote: true}
	for _, s := range fd.subscribers() {
		s.f(cs)
	}
}

// close tells every subscriber why the store closed.
func (fd *feed) close(err error) {
	fd.mu.Lock()
	fd.closed = err
	subs := fd.subs
	fd.subs = map[int]*subscriber{}
	fd.mu.Unlock()
	for _, s := range subs {
		if s.closed != nil {
			s.closed(err)
		}
	}
	if fd.bus != nil {
		fd.bus.Close()
	}
}

// TabID identifies this store instance (one per tab) in the changes it
// announces and the operations it records.
func (d *DB) TabID() string { return d.tab }

// AddHook installs h: from the next writer transaction on, h follows
// every entity write (see Hook). The returned function removes it.
func (d *DB) AddHook(h Hook) (remove func()) {
	d.hooksMu.Lock()
	d.hooks = append(d.hooks[:len(d.hooks):len(d.hooks)], h)
	d.hooksMu.Unlock()
	return func() {
		d.hooksMu.Lock()
		defer d.hooksMu.Unlock()
		for i, x := range d.hooks {
			if x == h {
				d.hooks = append(d.hooks[:i:i], d.hooks[i+1:]...)
				return
			}
		}
	}
}

// wrote tells the transaction's hooks of a write, beginning them first.
func (t *Tx) wrote(w *Write) error {
	if !t.hooksBegun {
		t.hooksBegun = true
		t.db.hooksMu.Lock()
		hs := t.db.hooks
		t.db.hooksMu.Unlock()
		for _, h := range hs {
			t.hooks = append(t.hooks, h.Begin(t))
		}
	}
	for _, h := range t.hooks {
		if err := h.Wrote(w); err != nil {
			return err
		}
	}
	return nil
}

// flushHooks lets the hooks write what they gathered, before the commit.
func (t *Tx) flushHooks() error {
	for _, h := range t.hooks {
		if err := h.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// Committer is a TxHook that wants to know that its transaction committed.
type Committer interface {
	// Committed is called after the commit, from the writer; it must not
	// block.
	Committed()
}

func (t *Tx) committed() {
	for _, h := range t.hooks {
		if c, ok := h.(Committer); ok {
			c.Committed()
		}
	}
}

// Now is the clock reading of this transaction's writes (ms since the
// Unix epoch): the UpdatedAt of what it writes, unless a stored entity
// is newer.
func (t *Tx) Now() int64 { return t.now }

// Context is the context of the call the transaction runs for.
func (t *Tx) Context() context.Context { return t.ctx }
