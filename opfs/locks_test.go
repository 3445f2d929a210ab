package opfs

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemLocksExclusive(t *testing.T) {
	t.Parallel()
	var m memLocks
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := m.lock(context.Background(), "x", false)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				old := maxInside.Load()
				if n <= old || maxInside.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			release()
			release() // twice is harmless
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Fatalf("%d holders of an exclusive lock at once", maxInside.Load())
	}
	if len(m.locks) != 0 {
		t.Fatalf("%d lock states left after every release", len(m.locks))
	}
}

func TestMemLocksShared(t *testing.T) {
	t.Parallel()
	var m memLocks
	ctx := context.Background()
	r1, _ := m.lock(ctx, "x", true)
	r2, err := m.lock(ctx, "x", true)
	if err != nil {
		t.Fatal(err)
	}
	// An exclusive request waits for both shared holders.
	got := make(chan func())
	go func() {
		r, err := m.lock(ctx, "x", false)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	r1()
	m.mu.Lock()
	st := *m.locks["x"]
	m.mu.Unlock()
	if st.writer || st.readers != 1 {
		t.Fatalf("after one of two shared holders released: %+v", st)
	}
	r2()
	r := <-got
	// Other names are independent.
	other, err := m.lock(ctx, "y", false)
	if err != nil {
		t.Fatal(err)
	}
	other()
	r()
}

func TestMemLocksCancel(t *testing.T) {
	t.Parallel()
	var m memLocks
	release, _ := m.lock(context.Background(), "x", false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := m.lock(ctx, "x", true)
		done <- err
	}()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("cancelled lock = %v", err)
	}
	release()
	if _, err := m.lock(ctx, "x", false); err != context.Canceled {
		t.Fatalf("lock with a done context = %v", err)
	}
	r, err := m.lock(context.Background(), "x", false)
	if err != nil {
		t.Fatal(err)
	}
	r()
}
