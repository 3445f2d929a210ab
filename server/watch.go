package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/atelierstore/atelier/syncproto"
)

// DefaultWatchPoll is how often a waiting watch request reads the store
// again by default, to hear of changes that another server process wrote.
// Changes written through this Server wake it at once, and so do those of
// other processes when the store is an Announcer and its listener is
// connected: the poll is then only the fallback.
const DefaultWatchPoll = 5 * time.Second

// hub tells the watch requests waiting on a workspace that it changed.
// A workspace's channel is closed, and forgotten, at its next change;
// waiters ask for the current one before they read the store, so no change
// falls between their read and their wait.
type hub struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// changed returns a channel closed at the next change of ws.
func (h *hub) changed(ws string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ch == nil {
		h.ch = map[string]chan struct{}{}
	}
	c := h.ch[ws]
	if c == nil {
		c = make(chan struct{})
		h.ch[ws] = c
	}
	return c
}

// publish wakes the waiters of ws.
func (h *hub) publish(ws string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.ch[ws]; c != nil {
		close(c)
		delete(h.ch, ws)
	}
}

// publishAll wakes the waiters of every workspace.
func (h *hub) publishAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ws, c := range h.ch {
		close(c)
		delete(h.ch, ws)
	}
}

// listen hears, until ctx is done or the store closed, the changes that
// other processes sharing the store commit, and wakes their watchers.
func (s *Server) listen(ctx context.Context, a Announcer) {
	err := a.Listen(ctx, &announced{s: s})
	s.log.LogAttrs(ctx, slog.LevelDebug, "no longer listening for changes of other processes", slog.Any("err", err))
}

// announced is the AnnounceHandler of a Server.
type announced struct {
	s    *Server
	lost bool // the connection was lost: say when it is back
}

func (a *announced) Changed(ws string) { a.s.hub.publish(ws) }

// Connected wakes every watch: each reads the store again, so a change
// that went unannounced before the connection is not waited for until
// the next poll.
func (a *announced) Connected() {
	if a.lost {
		a.s.log.LogAttrs(context.Background(), slog.LevelInfo, "listening for changes of other processes again")
		a.lost = false
	}
	a.s.hub.publishAll()
}

func (a *announced) Lost(err error, retry time.Duration) {
	a.lost = true
	a.s.log.LogAttrs(context.Background(), slog.LevelWarn,
		"not listening for changes of other processes: watches poll the store until it is back",
		slog.Any("err", err), slog.Duration("retry", retry))
}

// EndWatches answers the watch requests waiting now, and every later one
// at once, with their own cursor (clients ask again, after a backoff when
// the server is gone). Call it when shutting down, before
// http.Server.Shutdown waits for requests to end (RegisterOnShutdown), so
// that held watches do not delay it.
//
// It also stops listening for changes of other processes (Announcer).
func (s *Server) EndWatches() {
	s.ending.Do(func() {
		close(s.ended)
		s.unlisten()
	})
}

// watch answers syncproto.RouteWatch: at once when ws has a change after
// the cursor, else when one is written (through this Server, or through
// another process sharing the store: as it is announced, or seen at the
// next poll), else with the cursor itself when the wait is over.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, ws string) {
	after, wait, msg := watchQuery(r)
	if msg != "" {
		writeError(w, http.StatusBadRequest, "Invalid", msg)
		return
	}
	ctx := r.Context()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTicker(s.watchPoll)
	defer poll.Stop()
	for {
		woken := s.hub.changed(ws)
		changes, _, err := s.store.Changes(ctx, ws, ChangesQuery{After: after, Limit: 1, MaxBytes: 1})
		if err != nil {
			if ctx.Err() != nil {
				return // the client went away
			}
			s.internal(w, r, fmt.Errorf("watch %s: %w", ws, err))
			return
		}
		if len(changes) > 0 {
			writeJSON(w, http.StatusOK, syncproto.WatchResponse{Seq: changes[0].Seq})
			return
		}
		select {
		case <-woken:
		case <-poll.C:
		case <-deadline.C:
			writeJSON(w, http.StatusOK, syncproto.WatchResponse{Seq: after})
			return
		case <-s.ended:
			writeJSON(w, http.StatusOK, syncproto.WatchResponse{Seq: after})
			return
		case <-ctx.Done():
			return
		}
	}
}

// watchQuery reads after= (required) and wait= (ms, optional) of a watch.
func watchQuery(r *http.Request) (after int64, wait time.Duration, msg string) {
	q := r.URL.Query()
	after, err := strconv.ParseInt(q.Get("after"), 10, 64)
	if err != nil || after < 0 {
		return 0, 0, "after must be a non-negative integer"
	}
	ms := int64(syncproto.DefaultWatchWait)
	if v := q.Get("wait"); v != "" || q.Has("wait") {
		ms, err = strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 || ms > syncproto.MaxWatchWait {
			return 0, 0, "wait must be an integer from 0 to " + strconv.Itoa(syncproto.MaxWatchWait) + " (ms)"
		}
	}
	return after, time.Duration(ms) * time.Millisecond, ""
}
