//go:build js && wasm

package idb

import (
	"context"
	"sync"

	"github.com/atelierstore/atelier/internal/tabs"
)

// One tab leads: the one holding the Web Lock "atelier:<name>:leader".
// Background jobs (sync, asset collection) register with RunOnLeader and
// run only there; when the leading tab closes or crashes, the browser
// grants the lock to another tab, whose jobs start.

type leadership struct {
	mu      sync.Mutex
	l       *tabs.Leader
	alone   bool // no Web Locks: every tab leads
	leading bool
	ctx     context.Context
	cancel  context.CancelFunc
	jobs    map[*leaderJob]struct{}
	notify  func(bool)
}

type leaderJob struct {
	name   string
	run    func(ctx context.Context)
	cancel context.CancelFunc
}

func (d *DB) campaign() {
	ls := &leadership{jobs: map[*leaderJob]struct{}{}, notify: d.opts.OnLeaderChange}
	d.lead = ls
	l, ok := tabs.Campaign("atelier:"+d.name+":leader", ls.changed)
	if !ok {
		d.log.Warn("Web Locks unavailable: every tab runs leader jobs")
		ls.alone = true
		ls.changed(true)
		return
	}
	ls.mu.Lock()
	ls.l = l
	ls.mu.Unlock()
}

// changed starts or stops the jobs when leadership changes.
func (ls *leadership) changed(leading bool) {
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
func (ls *leadership) start(j *leaderJob) {
	ctx, cancel := context.WithCancel(ls.ctx)
	j.cancel = cancel
	go j.run(ctx)
}

func (ls *leadership) close() {
	ls.mu.Lock()
	l := ls.l
	ls.l = nil
	ls.mu.Unlock()
	if l != nil {
		l.Close() // calls changed(false) if leading
	} else {
		ls.changed(false)
	}
}

// Leading reports whether this tab is the leader.
func (d *DB) Leading() bool {
	d.lead.mu.Lock()
	defer d.lead.mu.Unlock()
	return d.lead.leading
}

// RunOnLeader registers a background job that runs only in the leading
// tab: it starts in a goroutine of its own when this tab becomes the
// leader (at once if it leads already), and its context ends when the tab
// stops leading or the store closes. A job that returns is not restarted
// until leadership is lost and regained. The returned function unregisters
// the job and cancels it if it is running.
func (d *DB) RunOnLeader(name string, job func(ctx context.Context)) (unregister func()) {
	ls := d.lead
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
