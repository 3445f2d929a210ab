//go:build js && wasm

package main

import (
	"encoding/json"
	"strings"
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/internal/tabs"
	"github.com/atelierstore/atelier/syncengine"
)

// syncStatus shares the sync status and conflicts among the tabs of a
// profile. Only the leading tab runs the engine and the uploader, so only
// its status says anything: it posts every change on a channel of its
// own, and the other tabs report (and pass to onSyncStatus) the last
// status they received. A tab that opens asks, and the leader answers.
// Conflicts go to onConflict in every tab, as the data they concern is
// shown in every tab.
type syncStatus struct {
	d      *idb.DB
	engine *syncengine.Engine
	up     *syncengine.Uploader
	cb     js.Value // onSyncStatus, or undefined
	onConf js.Value // onConflict, or undefined
	bus    *tabs.Bus

	mu   sync.Mutex
	last string // the leader's status as JSON, as received (leader: false)
}

const (
	statusAsk      = "ask"
	statusPrefix   = "status:"
	conflictPrefix = "conflicts:"
)

// openSyncStatus prepares sharing, which start begins; without a channel
// (no BroadcastChannel nor localStorage) every tab reports its own status.
func openSyncStatus(d *idb.DB, onStatus, onConflict js.Value) *syncStatus {
	return &syncStatus{d: d, cb: onStatus, onConf: onConflict}
}

// start begins once the engine and the uploader exist, before either can
// change its status: it opens the channel and asks the leader for its
// status.
func (s *syncStatus) start(engine *syncengine.Engine, up *syncengine.Uploader) {
	s.mu.Lock()
	s.engine, s.up = engine, up
	s.mu.Unlock()
	if bus, err := tabs.Open("atelier:"+s.d.Name()+":sync-status", s.recv); err == nil {
		s.bus = bus
	}
	if s.bus != nil && !s.d.Leading() {
		_ = s.bus.Post(statusAsk)
	}
}

func (s *syncStatus) close() {
	if s.bus != nil {
		s.bus.Close()
	}
}

// local is this tab's own status.
func (s *syncStatus) local() map[string]any {
	s.mu.Lock()
	engine, up := s.engine, s.up
	s.mu.Unlock()
	out := statusJSON(engine.Status())
	out["assets"] = uploadStatusJSON(up.Status())
	out["leader"] = s.d.Leading()
	return out
}

// current is what syncStatus() resolves to: the leader's status, in the
// leader or as last received from it.
func (s *syncStatus) current() map[string]any {
	if s.bus == nil || s.d.Leading() {
		return s.local()
	}
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	var out map[string]any
	if last == "" || json.Unmarshal([]byte(last), &out) != nil {
		return s.local() // nothing heard from a leader yet
	}
	return out
}

// changed is called by the engine and the uploader of the leading tab.
func (s *syncStatus) changed() {
	if !s.d.Leading() {
		return // the engine stopping as this tab steps down
	}
	st := s.local()
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	if s.bus != nil {
		_ = s.bus.Post(statusPrefix + string(b))
	}
	s.notify(string(b))
}

func (s *syncStatus) notify(j string) { call(s.cb, j) }

// call passes the JSON j, parsed, to cb if it is a function.
func call(cb js.Value, j string) {
	if cb.Type() != js.TypeFunction {
		return
	}
	var v js.Value
	if jsutil.Try(func() { v = jsJSON.Call("parse", j) }) != nil {
		return
	}
	invoke(cb, v)
}

// conflicts is the engine's OnConflict, in the leading tab.
func (s *syncStatus) conflicts(cs []idb.Conflict) {
	b, err := json.Marshal(conflictsJSON(cs))
	if err != nil {
		return
	}
	if s.bus != nil {
		_ = s.bus.Post(conflictPrefix + string(b))
	}
	call(s.onConf, string(b))
}

// recv handles the other tabs' messages (from a browser event).
func (s *syncStatus) recv(msg string) {
	switch {
	case msg == statusAsk:
		if s.d.Leading() {
			if b, err := json.Marshal(s.local()); err == nil {
				_ = s.bus.Post(statusPrefix + string(b))
			}
		}
	case strings.HasPrefix(msg, conflictPrefix):
		call(s.onConf, msg[len(conflictPrefix):])
	case strings.HasPrefix(msg, statusPrefix):
		if s.d.Leading() {
			return
		}
		var st map[string]any
		if json.Unmarshal([]byte(msg[len(statusPrefix):]), &st) != nil {
			return
		}
		st["leader"] = false
		b, err := json.Marshal(st)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.last = string(b)
		s.mu.Unlock()
		s.notify(string(b))
	}
}
