//go:build js && wasm

package tabs

import (
	"context"
	"sync"
	"time"
)

// Leadership runs background jobs (sync, asset collection) in one tab of
// the origin: the one holding the Web Lock it campaigns for. When the
// leading tab closes or crashes, the browser grants the lock to another
// tab, whose jobs start.
type Leadership struct {
	mu      sync.Mutex
	l       *Leader
	alone   bool // no Web Locks: every tab leads
	leading bool
	ctx     context.Context
	cancel  context.CancelFunc
	jobs    map[*leaderJob]struct{}
	running sync.WaitGroup // job goroutines that have not returned
	notify  func(bool)
}

type leaderJob struct {
	name   string
	run    func(ctx context.Context)
	cancel context.CancelFunc
}

// Lead campaigns for the Web Lock called name; notify (when not nil) is
// called, from a goroutine of its own, each time this tab becomes or
// stops being the leader. Where the browser has no Web Locks every tab
// leads: alone reports it.
func Lead(name string, notify func(leading bool)) (ls *Leadership, alone bool) {
	ls = &Leadership{jobs: map[*leaderJob]struct{}{}, notify: notify}
	l, ok := Campaign(name, ls.changed)
	if !ok {
		ls.alone = true
		ls.changed(true)
		return ls, true
	}
	ls.mu.Lock()
	ls.l = l
	ls.mu.Unlock()
	return ls, false
}

// changed starts or stops the jobs when leadership changes.
func (ls *Leadership) changed(leading bool) {
	ls.mu.Lock()
	if leading == ls.leading {
		ls.mu.Unlock()
		return
	}
	ls.leading = leading
	if leading {
		ls.ctx, ls.cancel = context.WithCancel(context.Background())
		for j := range ls.jobs {
			ls.start(j)
		}
	} else if ls.cancel != nil {
		ls.cancel()
	}
	notify := ls.notify
	ls.mu.Unlock()
	if notify != nil {
		go notify(leading)
	}
}

// start runs j under the leadership context; ls.mu is held.
func (ls *Leadership) start(j *leaderJob) {
	ctx, cancel := context.WithCancel(ls.ctx)
	j.cancel = cancel
	ls.running.Add(1)
	go func() {
		defer ls.running.Done()
		j.run(ctx)
	}()
}

// Close gives up leadership (or the place in the queue), cancels the jobs
// and waits for them to return (up to jobsWait), so that what they use
// (the store) can close after it without work still running on it. It
// returns once no lock callback can run (see Leader.Close). It must not be
// called from a browser callback.
func (ls *Leadership) Close() {
	ls.mu.Lock()
	l := ls.l
	ls.l = nil
	ls.mu.Unlock()
	if l != nil {
		l.Close() // calls changed(false) if leading
	} else {
		ls.changed(false)
	}
	returned := make(chan struct{})
	go func() {
		ls.running.Wait()
		close(returned)
	}()
	t := time.NewTimer(jobsWait)
	defer t.Stop()
	select {
	case <-returned:
	case <-t.C:
	}
}

// jobsWait bounds how long Close waits for cancelled jobs to return: they
// are expected to within milliseconds (a fetch aborts, a transaction
// ends), but a job stuck on something the browser never settles must not
// keep Close from returning.
const jobsWait = 5 * time.Second

// Leading reports whether this tab is the leader.
func (ls *Leadership) Leading() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.leading
}

// RunOnLeader registers a background job that runs only in the leading
// tab: it starts in a goroutine of its own when this tab becomes the
// leader (at once if it leads already), and its context ends when the tab
// stops leading or the leadership closes. A job that returns is not
// restarted until leadership is lost and regained. The returned function
// unregisters the job and cancels it if it is running.
func (ls *Leadership) RunOnLeader(name string, job func(ctx context.Context)) (unregister func()) {
	j := &leaderJob{name: name, run: job}
	ls.mu.Lock()
	ls.jobs[j] = struct{}{}
	if ls.leading {
		ls.start(j)
	}
	ls.mu.Unlock()
	return func() {
		ls.mu.Lock()
		delete(ls.jobs, j)
		cancel := j.cancel
		ls.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	}
}
