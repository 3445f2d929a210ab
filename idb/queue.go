package idb

import (
	"context"
	"sync"
)

// maxBatch bounds how many mutations share one transaction, so a flood of
// writes still reports results in bounded steps.
const maxBatch = 1024

// job is one queued mutation.
type job[T any] struct {
	ctx  context.Context
	solo bool // runs in a transaction of its own
	task T
	done chan error // buffered: the writer never blocks on a caller
}

func (j *job[T]) finish(err error) { j.done <- err }

// queue is the single-writer queue. Callers submit jobs and wait; one
// writer takes them in batches: everything queued while the previous
// transaction was committing goes into the next one (group commit), with no
// timer involved. Jobs come out in submission order.
type queue[T any] struct {
	mu      sync.Mutex
	pending []*job[T]
	wake    chan struct{}
	closed  error // set by close: submit fails with it
}

func newQueue[T any]() *queue[T] {
	return &queue[T]{wake: make(chan struct{}, 1)}
}

// submit queues task and waits for its outcome.
//
// If ctx ends while the job is still queued, the job is withdrawn (it will
// never run) and ctx.Err() is returned. Once the writer has taken the job,
// its transaction decides: submit waits for it and returns the true
// outcome, so that nil always means committed and an error always means
// not applied.
func (q *queue[T]) submit(ctx context.Context, task T, solo bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job[T]{ctx: ctx, solo: solo, task: task, done: make(chan error, 1)}
	q.mu.Lock()
	if q.closed != nil {
		q.mu.Unlock()
		return q.closed
	}
	q.pending = append(q.pending, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		if q.withdraw(j) {
			return ctx.Err()
		}
		return <-j.done
	}
}

func (q *queue[T]) withdraw(j *job[T]) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, p := range q.pending {
		if p == j {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			return true
		}
	}
	return false
}

// next waits for work and returns the next batch: one solo job, or the
// run of ordinary jobs at the head of the queue (up to maxBatch, stopping
// before a solo job). It returns nil once the queue is closed and empty.
func (q *queue[T]) next() []*job[T] {
	for {
		q.mu.Lock()
		if len(q.pending) > 0 {
			n := 1
			if !q.pending[0].solo {
				for n < len(q.pending) && n < maxBatch && !q.pending[n].solo {
					n++
				}
			}
			batch := make([]*job[T], n)
			copy(batch, q.pending)
			q.pending = append(q.pending[:0], q.pending[n:]...)
			q.mu.Unlock()
			return batch
		}
		closed := q.closed != nil
		q.mu.Unlock()
		if closed {
			return nil
		}
		<-q.wake
	}
}

// close stops new submissions, which fail with err. Jobs already queued
// still run when drain is true; otherwise they fail with err too.
func (q *queue[T]) close(err error, drain bool) {
	q.mu.Lock()
	if q.closed == nil {
		q.closed = err
	}
	var failed []*job[T]
	if !drain {
		failed = q.pending
		q.pending = nil
	}
	q.mu.Unlock()
	for _, j := range failed {
		j.finish(err)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
