package syncengine

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Watcher is a Transport that can wait for the server to announce changes
// (syncproto.RouteWatch): Watch returns once the workspace has a change
// after the cursor, with the sequence number of one, or with the cursor
// itself when the server's wait ran out first. An Engine whose Transport
// is a Watcher pulls as soon as a change is announced, instead of at its
// next PullInterval.
type Watcher interface {
	Watch(ctx context.Context, after int64) (seq int64, err error)
}

// watch waits for announcements and runs a round after each, until ctx
// ends. It backs off while the server fails and gives up on a server that
// does not know the route (an older one): the engine then pulls every
// PullInterval as before. Status.Live says whether it is listening.
func (e *Engine) watch(ctx context.Context, w Watcher) {
	defer e.setStatus(func(s *Status) { s.Live = false })
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	failures := 0
	for ctx.Err() == nil {
		if !e.loop.isOnline() {
			e.setLive(false)
			if e.opts.sleep(ctx, time.Second) != nil {
				return
			}
			continue
		}
		cursor, err := e.store.SyncCursor(ctx)
		var seq int64
		asked := time.Now()
		if err == nil {
			e.setLive(true)
			seq, err = w.Watch(ctx, cursor)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			e.setLive(false)
			var h *HTTPError
			if errors.As(err, &h) && (h.Status == 404 || h.Status == 405) {
				return // a server without the route (404, 405): polling only
			}
			failures++
			if e.opts.sleep(ctx, Backoff(e.opts.BackoffBase, e.opts.BackoffCap, failures, r)) != nil {
				return
			}
			continue
		}
		if seq <= cursor {
			// The server's wait ran out: ask again, at once unless it
			// answered too soon for a wait (a server that does not hold
			// watches must not make this a busy loop).
			if time.Since(asked) >= minWatchWait {
				failures = 0
				continue
			}
			failures++
			if e.opts.sleep(ctx, Backoff(e.opts.BackoffBase, e.opts.BackoffCap, failures, r)) != nil {
				return
			}
			continue
		}
		// A change follows the cursor: a round pulls it. Wait for a round
		// that starts after now to finish; if it did not move the cursor
		// (the round failed), back off rather than ask again at once.
		done := e.nextRound()
		e.Flush()
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
		if now, err := e.store.SyncCursor(ctx); err == nil && now > cursor {
			failures = 0
			continue
		}
		failures++
		if e.opts.sleep(ctx, Backoff(e.opts.BackoffBase, e.opts.BackoffCap, failures, r)) != nil {
			return
		}
	}
}

// minWatchWait is the shortest a server's empty answer to a watch may take
// before the engine asks again without backing off.
const minWatchWait = time.Second

func (e *Engine) setLive(live bool) {
	if e.Status().Live != live {
		e.setStatus(func(s *Status) { s.Live = live })
	}
}

// nextRound returns a channel closed when a round that has not started
// yet has finished: the round after the one running, if one is.
func (e *Engine) nextRound() <-chan struct{} {
	e.roundsMu.Lock()
	defer e.roundsMu.Unlock()
	if e.running {
		if e.afterNext == nil {
			e.afterNext = make(chan struct{})
		}
		return e.afterNext
	}
	if e.afterThis == nil {
		e.afterThis = make(chan struct{})
	}
	return e.afterThis
}

// roundStarted and roundFinished move the channels of nextRound along.
func (e *Engine) roundStarted() {
	e.roundsMu.Lock()
	e.running = true
	e.roundsMu.Unlock()
}

func (e *Engine) roundFinished() {
	e.roundsMu.Lock()
	defer e.roundsMu.Unlock()
	e.running = false
	if e.afterThis != nil {
		close(e.afterThis)
	}
	e.afterThis, e.afterNext = e.afterNext, nil
}
