package syncengine

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// loop is what the Engine and the Uploader share: a job run again and
// again until its context ends — at once when woken, a short delay after
// a nudge unless it is backing off, every interval when idle, and after a
// failure when the backoff delay has passed — and paused while offline.
type loop struct {
	wake, nudge chan struct{}
	mu          sync.Mutex
	online      bool
}

func newLoop() *loop {
	return &loop{wake: make(chan struct{}, 1), nudge: make(chan struct{}, 1), online: true}
}

// signal sends on c unless a signal is pending already.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (l *loop) setOnline(online bool) {
	l.mu.Lock()
	l.online = online
	l.mu.Unlock()
	if online {
		signal(l.wake)
	}
}

func (l *loop) isOnline() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.online
}

// pacing says when a loop runs its job.
type pacing struct {
	base, cap time.Duration // backoff after failures
	interval  time.Duration // between runs when idle
	delay     time.Duration // from a nudge to the run
	sleep     func(ctx context.Context, d time.Duration) error
	now       func() time.Time
	seed      uint64 // of the jitter
}

// outcome is what one run of the job did, for the status.
type outcome struct {
	err      error     // nil: it succeeded
	offline  bool      // the browser went offline during the run (and it failed for that, if it did)
	failures int       // consecutive failures, this one included
	retryAt  time.Time // when failing: when the next run starts
}

// run runs job until ctx ends, and reports each run's outcome. It returns
// ctx.Err().
func (l *loop) run(ctx context.Context, p pacing, job func(context.Context) error, report func(outcome)) error {
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), p.seed))
	failures := 0
	for {
		wait := p.interval
		if l.isOnline() {
			err := job(ctx)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			o := outcome{err: err}
			switch {
			case err != nil && !l.isOnline():
				// The browser went offline during the run: that is why it
				// failed. Wait for it to come back, not for a backoff.
				o.offline = true
			case err != nil:
				failures++
				wait = Backoff(p.base, p.cap, failures, r)
				o.retryAt = p.now().Add(wait)
			default:
				failures = 0
				// It may have gone offline as the last answer arrived: the
				// loop is paused, and says so rather than "synced".
				o.offline = !l.isOnline()
			}
			o.failures = failures
			report(o)
		}
		if err := l.pause(ctx, p, wait, failures > 0); err != nil {
			return err
		}
	}
}

// pause sleeps until wait has passed or someone asks for a run: at once
// (wake), or p.delay after a nudge unless backing off.
func (l *loop) pause(ctx context.Context, p pacing, wait time.Duration, backingOff bool) error {
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-l.wake:
				cancel()
				return
			case <-l.nudge:
				if backingOff {
					continue
				}
				select {
				case <-time.After(p.delay):
				case <-l.wake:
				case <-done:
					return
				}
				cancel()
				return
			case <-done:
				return
			}
		}
	}()
	_ = p.sleep(sctx, wait) // woken early: run now
	close(done)
	cancel()
	return ctx.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// statusCell holds a status that changes under a lock and is reported to
// a callback after each change (outside the lock).
type statusCell[T any] struct {
	mu sync.Mutex
	v  T
}

func (c *statusCell[T]) get() T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v
}

func (c *statusCell[T]) update(f func(*T), report func(T)) {
	c.mu.Lock()
	f(&c.v)
	v := c.v
	c.mu.Unlock()
	if report != nil {
		report(v)
	}
}
