package atelier

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncengine"
	"github.com/atelierstore/atelier/syncproto"
)

// statusShare shares the sync status and conflicts among the tabs of a
// profile. Only the leading tab runs the engine and the uploader, so only
// its status says anything: it posts every change on a bus, and the other
// tabs report (and pass to OnSyncStatus) the last status they received. A
// tab that opens asks, and the leader answers. Conflicts go to OnConflict
// in every tab, as the data they concern is shown in every tab.
//
// The logic is plain Go over a bus and three functions, so that it is
// tested on the host; status_js.go connects it to a BroadcastChannel.
type statusShare struct {
	leading    func() bool
	local      func() SyncStatus // this tab's own status
	onStatus   func(SyncStatus)  // may be nil
	onConflict func([]syncproto.Conflict)
	flush      func() // asks the leader's engine for a round; may be nil

	mu      sync.Mutex
	bus     poster        // nil: no channel, every tab reports its own status
	last    *SyncStatus   // the leader's status as received (Leader false)
	changes chan struct{} // closed (and replaced) at every status change
}

// poster is the bus the tabs share: Post reaches every other tab.
type poster interface {
	Post(msg string) error
}

const (
	statusAsk      = "ask"
	statusFlush    = "flush"
	statusPrefix   = "status:"
	conflictPrefix = "conflicts:"
)

// connect sets the bus and, in a tab that does not lead, asks the leader
// for its status.
func (s *statusShare) connect(bus poster) {
	s.mu.Lock()
	s.bus = bus
	s.mu.Unlock()
	if bus != nil && !s.leading() {
		_ = bus.Post(statusAsk)
	}
}

func (s *statusShare) poster() poster {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bus
}

func (s *statusShare) own() SyncStatus {
	st := s.local()
	st.Leader = s.leading()
	return st
}

// current is the leader's status: this tab's own in the leader (or where
// tabs cannot talk), else the last one received.
func (s *statusShare) current() SyncStatus {
	if s.poster() == nil || s.leading() {
		return s.own()
	}
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	if last == nil {
		return s.own() // nothing heard from a leader yet
	}
	return *last
}

// changedCh returns a channel closed at the next status change.
func (s *statusShare) changedCh() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changes == nil {
		s.changes = make(chan struct{})
	}
	return s.changes
}

// tell wakes those waiting for a status change.
func (s *statusShare) tell() {
	s.mu.Lock()
	if s.changes != nil {
		close(s.changes)
		s.changes = nil
	}
	s.mu.Unlock()
}

// askFlush asks the leader's engine for a round: this tab's own engine if
// it leads (or cannot talk to the others), else the leader's by message.
func (s *statusShare) askFlush() {
	if bus := s.poster(); bus != nil && !s.leading() {
		_ = bus.Post(statusFlush)
		return
	}
	if s.flush != nil {
		s.flush()
	}
}

// changed is called by the engine and the uploader of the leading tab.
func (s *statusShare) changed() {
	if !s.leading() {
		return // the engine stopping as this tab steps down
	}
	defer s.tell()
	st := s.own()
	if bus := s.poster(); bus != nil {
		if b, err := json.Marshal(st); err == nil {
			_ = bus.Post(statusPrefix + string(b))
		}
	}
	if s.onStatus != nil {
		s.onStatus(st)
	}
}

// conflicts is the engine's OnConflict, in the leading tab.
func (s *statusShare) conflicts(cs []syncproto.Conflict) {
	if bus := s.poster(); bus != nil {
		if b, err := json.Marshal(cs); err == nil {
			_ = bus.Post(conflictPrefix + string(b))
		}
	}
	if s.onConflict != nil {
		s.onConflict(cs)
	}
}

// recv handles another tab's message. Malformed messages are dropped.
func (s *statusShare) recv(msg string) {
	switch {
	case msg == statusFlush:
		if s.leading() && s.flush != nil {
			s.flush()
		}
	case msg == statusAsk:
		if bus := s.poster(); bus != nil && s.leading() {
			if b, err := json.Marshal(s.own()); err == nil {
				_ = bus.Post(statusPrefix + string(b))
			}
		}
	case strings.HasPrefix(msg, conflictPrefix):
		var cs []syncproto.Conflict
		if json.Unmarshal([]byte(msg[len(conflictPrefix):]), &cs) != nil {
			return
		}
		if s.onConflict != nil {
			s.onConflict(cs)
		}
	case strings.HasPrefix(msg, statusPrefix):
		if s.leading() {
			return
		}
		var st SyncStatus
		if json.Unmarshal([]byte(msg[len(statusPrefix):]), &st) != nil {
			return
		}
		st.Leader = false
		s.mu.Lock()
		s.last = &st
		s.mu.Unlock()
		s.tell()
		if s.onStatus != nil {
			s.onStatus(st)
		}
	}
}

// syncNow asks the leader for a sync round and waits until one has
// finished: nil when it synced, an error matching ErrUnavailable when the
// browser is offline or the round failed (with the server's reason),
// ctx.Err() when ctx ends first.
func (s *statusShare) syncNow(ctx context.Context) error {
	st := s.current()
	if st.State == syncengine.Offline {
		return fmt.Errorf("sync now: %w: the browser is offline", errs.ErrUnavailable)
	}
	before := st.Rounds
	s.askFlush()
	for {
		ch := s.changedCh()
		st := s.current()
		if st.Rounds > before && st.State != syncengine.Syncing {
			switch st.State {
			case syncengine.Synced:
				return nil
			case syncengine.Offline:
				return fmt.Errorf("sync now: %w: the browser is offline", errs.ErrUnavailable)
			default:
				return fmt.Errorf("sync now: %w: %s", errs.ErrUnavailable, st.LastError)
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
