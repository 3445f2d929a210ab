package idb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// writer runs batches the way the browser writer does, recording them.
type recordingWriter struct {
	mu      sync.Mutex
	batches [][]int
	gate    chan struct{} // when set, each batch waits for a token
	took    chan int      // when set, receives the size of each batch taken
}

func (w *recordingWriter) run(q *queue[int], apply func(int) error) {
	for {
		b := q.next()
		if b == nil {
			return
		}
		if w.took != nil {
			w.took <- len(b)
		}
		if w.gate != nil {
			<-w.gate
		}
		ids := make([]int, 0, len(b))
		for _, j := range b {
			if err := j.ctx.Err(); err != nil {
				j.finish(err)
				continue
			}
			ids = append(ids, j.task)
			var err error
			if apply != nil {
				err = apply(j.task)
			}
			j.finish(err)
		}
		w.mu.Lock()
		w.batches = append(w.batches, ids)
		w.mu.Unlock()
	}
}

func TestQueueOrderAndCoalescing(t *testing.T) {
	q := newQueue[int]()
	w := &recordingWriter{gate: make(chan struct{}), took: make(chan int, 2)}
	go w.run(q, nil)

	// The first job is taken alone; the rest pile up behind the closed gate
	// and must come out as one batch, in submission order.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = q.submit(context.Background(), 0, false) }()
	if n := <-w.took; n != 1 {
		t.Fatalf("first batch has %d jobs", n)
	}
	for i := 1; i <= 100; i++ {
		i := i
		wg.Add(1)
		go func() { defer wg.Done(); _ = q.submit(context.Background(), i, false) }()
		waitPending(t, q, i) // serialise submission so the order is known
	}
	w.gate <- struct{}{}
	w.gate <- struct{}{}
	wg.Wait()
	q.close(errors.New("closed"), true)

	if len(w.batches) != 2 {
		t.Fatalf("got %d batches, want 2: %v", len(w.batches), w.batches)
	}
	if got := w.batches[1]; len(got) != 100 {
		t.Fatalf("second batch has %d jobs, want 100", len(got))
	}
	for i, id := range w.batches[1] {
		if id != i+1 {
			t.Fatalf("batch order: position %d holds job %d", i, id)
		}
	}
}

// waitPending waits until n jobs are queued (not yet taken).
func waitPending(t *testing.T, q *queue[int], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		q.mu.Lock()
		l := len(q.pending)
		q.mu.Unlock()
		if l == n {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatalf("queue never reached %d pending jobs", n)
}

func TestQueueSoloRunsAlone(t *testing.T) {
	q := newQueue[int]()
	// Queue before the writer starts so the whole sequence is pending.
	var wg sync.WaitGroup
	kinds := []bool{false, false, true, false, true, true, false}
	for i, solo := range kinds {
		i, solo := i, solo
		wg.Add(1)
		go func() { defer wg.Done(); _ = q.submit(context.Background(), i, solo) }()
		waitPending(t, q, i+1)
	}
	w := &recordingWriter{}
	go w.run(q, nil)
	wg.Wait()
	q.close(errors.New("closed"), true)
	want := [][]int{{0, 1}, {2}, {3}, {4}, {5}, {6}}
	if len(w.batches) != len(want) {
		t.Fatalf("batches %v, want %v", w.batches, want)
	}
	for i := range want {
		if len(w.batches[i]) != len(want[i]) || w.batches[i][0] != want[i][0] {
			t.Fatalf("batches %v, want %v", w.batches, want)
		}
	}
}

func TestQueueBatchLimit(t *testing.T) {
	q := newQueue[int]()
	var wg sync.WaitGroup
	for i := 0; i < maxBatch+10; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _ = q.submit(context.Background(), i, false) }()
	}
	waitPending(t, q, maxBatch+10)
	w := &recordingWriter{}
	go w.run(q, nil)
	wg.Wait()
	q.close(errors.New("closed"), true)
	if len(w.batches) != 2 || len(w.batches[0]) != maxBatch || len(w.batches[1]) != 10 {
		t.Fatalf("batch sizes: %d batches, first %d", len(w.batches), len(w.batches[0]))
	}
}

func TestQueueCancelWhileQueued(t *testing.T) {
	q := newQueue[int]()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- q.submit(ctx, 7, false) }()
	waitPending(t, q, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("submit returned %v, want context.Canceled", err)
	}
	// The withdrawn job must never reach the writer.
	w := &recordingWriter{}
	go w.run(q, nil)
	if err := q.submit(context.Background(), 8, false); err != nil {
		t.Fatal(err)
	}
	q.close(errors.New("closed"), true)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.batches {
		for _, id := range b {
			if id == 7 {
				t.Fatal("withdrawn job ran")
			}
		}
	}
}

func TestQueueCancelAfterTakenReportsOutcome(t *testing.T) {
	q := newQueue[int]()
	w := &recordingWriter{gate: make(chan struct{}), took: make(chan int, 1)}
	go w.run(q, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- q.submit(ctx, 1, false) }()
	<-w.took // taken; the writer waits at the gate
	cancel()
	select {
	case err := <-errc:
		t.Fatalf("submit returned %v before its transaction finished", err)
	case <-time.After(20 * time.Millisecond):
	}
	// The writer checks ctx before applying, like the browser writer, so
	// the job is reported as cancelled and was not applied.
	w.gate <- struct{}{}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	q.close(errors.New("closed"), true)
}

func TestQueuePrecancelled(t *testing.T) {
	q := newQueue[int]()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.submit(ctx, 1, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) != 0 {
		t.Fatal("a cancelled submit was queued")
	}
}

func TestQueueCloseFailsPending(t *testing.T) {
	q := newQueue[int]()
	errClosed := errors.New("closed by upgrade")
	errc := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { errc <- q.submit(context.Background(), i, false) }()
	}
	waitPending(t, q, 3)
	q.close(errClosed, false)
	for i := 0; i < 3; i++ {
		if err := <-errc; !errors.Is(err, errClosed) {
			t.Fatalf("pending job got %v", err)
		}
	}
	if err := q.submit(context.Background(), 9, false); !errors.Is(err, errClosed) {
		t.Fatalf("submit after close: %v", err)
	}
	if q.next() != nil {
		t.Fatal("next returned work after close")
	}
}

func TestQueueCloseDrains(t *testing.T) {
	q := newQueue[int]()
	errc := make(chan error, 5)
	for i := 0; i < 5; i++ {
		go func() { errc <- q.submit(context.Background(), i, false) }()
	}
	waitPending(t, q, 5)
	q.close(errors.New("closed"), true)
	w := &recordingWriter{}
	w.run(q, nil) // returns once drained
	for i := 0; i < 5; i++ {
		if err := <-errc; err != nil {
			t.Fatalf("drained job got %v", err)
		}
	}
}

func TestQueueConcurrentStress(t *testing.T) {
	q := newQueue[int]()
	var applied sync.Map
	w := &recordingWriter{}
	done := make(chan struct{})
	go func() { w.run(q, func(i int) error { applied.Store(i, true); return nil }); close(done) }()
	var wg sync.WaitGroup
	for i := 0; i < 2000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			var cancel context.CancelFunc = func() {}
			if i%7 == 0 {
				ctx, cancel = context.WithTimeout(ctx, time.Duration(i%50)*time.Microsecond)
			}
			defer cancel()
			err := q.submit(ctx, i, i%13 == 0)
			_, ran := applied.Load(i)
			if err == nil && !ran {
				t.Errorf("job %d reported success but did not run", i)
			}
			if err != nil && ran {
				t.Errorf("job %d ran but reported %v", i, err)
			}
		}()
	}
	wg.Wait()
	q.close(errors.New("closed"), true)
	<-done
}
