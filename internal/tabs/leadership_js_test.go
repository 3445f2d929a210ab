//go:build js && wasm

package tabs

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestOneLeader: of the tabs campaigning for one lock, one leads and runs
// the jobs; when it goes away another takes over; unregistering a job
// cancels it.
func TestOneLeader(t *testing.T) {
	name := fmt.Sprintf("atelier-test-%s-%d:leader", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	changes := make(chan bool, 4)
	a, alone := Lead(name, func(l bool) { changes <- l })
	if alone {
		t.Skip("no Web Locks in this browser: every tab leads")
	}
	defer a.Close()
	select {
	case l := <-changes:
		if !l {
			t.Fatal("first tab told it stopped leading")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first tab never became leader")
	}
	b, _ := Lead(name, nil)
	defer b.Close()
	started := make(chan string, 4)
	stopped := make(chan string, 4)
	job := func(tab string) func(context.Context) {
		return func(ctx context.Context) {
			started <- tab
			<-ctx.Done()
			stopped <- tab
		}
	}
	a.RunOnLeader("gc", job("a"))
	b.RunOnLeader("gc", job("b"))
	if got := <-started; got != "a" {
		t.Fatalf("job started in %s", got)
	}
	select {
	case got := <-started:
		t.Fatalf("job also started in %s", got)
	case <-time.After(200 * time.Millisecond):
	}
	if !a.Leading() || b.Leading() {
		t.Fatalf("leading: a %v, b %v", a.Leading(), b.Leading())
	}
	// The leader goes away: the other tab takes over.
	a.Close()
	if got := <-stopped; got != "a" {
		t.Fatalf("stopped %s", got)
	}
	select {
	case l := <-changes:
		if l {
			t.Fatal("the closed tab was told it leads")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the closed tab was not told it stopped leading")
	}
	select {
	case got := <-started:
		if got != "b" {
			t.Fatalf("started %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no tab took over")
	}
	if !b.Leading() {
		t.Fatal("b does not report leading")
	}
	// Unregistering cancels the running job.
	unreg := b.RunOnLeader("sync", job("b2"))
	if got := <-started; got != "b2" {
		t.Fatalf("started %s", got)
	}
	unreg()
	if got := <-stopped; got != "b2" {
		t.Fatalf("stopped %s", got)
	}
}

// TestCloseWaitsForJobs: Close returns only once the cancelled jobs have
// returned, so that the store they use can close right after it with no
// work still running on it.
func TestCloseWaitsForJobs(t *testing.T) {
	name := fmt.Sprintf("atelier-test-%s-%d:leader", t.Name(), time.Now().UnixNano())
	ls, _ := Lead(name, nil)
	started := make(chan struct{})
	var returned atomic.Bool
	ls.RunOnLeader("slow", func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		time.Sleep(300 * time.Millisecond) // the last request of a round
		returned.Store(true)
	})
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the job never started")
	}
	ls.Close()
	if !returned.Load() {
		t.Fatal("Close returned before the job did")
	}
}
