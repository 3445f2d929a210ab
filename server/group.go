package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// Bounds of a group commit.
const (
	maxGroupPushes = 64
	maxGroupOps    = 10 * syncproto.MaxOpsPerPush
	groupTimeout   = 2 * time.Minute
)

// pushJob is one push waiting to be applied.
type pushJob struct {
	ops  []syncproto.Op
	acks [][]byte
	err  error
	done chan struct{}
}

// groups commits the pushes to one workspace that arrive while another
// is being stored together, in one transaction. Pushes to a workspace
// are serialized anyway (Store.Update), so without this each waits for
// the one before it to commit: one lock, a few round trips and one flush
// to disk per push. With it a workspace has one transaction in flight
// from this process at a time, and one flush serves every push that
// queued meanwhile.
type groups struct {
	mu     sync.Mutex
	queues map[string][]*pushJob // workspace: pushes waiting; present while a committer runs
}

// apply applies ops to workspace ws, with whatever other pushes to ws
// wait, and returns their acks as JSON in the order of ops. It fails with
// a *errs.ValidationError when the ops cannot apply (see applyOps), with
// ctx's error when ctx ends first (the push may still be applied), or
// with the store's.
func (s *Server) apply(ctx context.Context, ws string, ops []syncproto.Op) ([][]byte, error) {
	j := &pushJob{ops: ops, done: make(chan struct{})}
	g := &s.groups
	g.mu.Lock()
	if g.queues == nil {
		g.queues = map[string][]*pushJob{}
	}
	q, running := g.queues[ws]
	g.queues[ws] = append(q, j)
	g.mu.Unlock()
	if !running {
		go s.commitLoop(ws)
	}
	select {
	case <-j.done:
		return j.acks, j.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// commitLoop commits the pushes queued for ws, a group at a time, until
// none are left.
func (s *Server) commitLoop(ws string) {
	g := &s.groups
	for {
		g.mu.Lock()
		q := g.queues[ws]
		if len(q) == 0 {
			delete(g.queues, ws)
			g.mu.Unlock()
			return
		}
		n, ops := 0, 0
		for n < len(q) && n < maxGroupPushes && (n == 0 || ops+len(q[n].ops) <= maxGroupOps) {
			ops += len(q[n].ops)
			n++
		}
		group := q[:n:n]
		g.queues[ws] = q[n:]
		g.mu.Unlock()

		err := s.commit(ws, group)
		committed := err == nil
		if err != nil && len(group) > 1 {
			// One push may be what the store refuses: give each its own
			// transaction, so that the others do not fail with it.
			for _, j := range group {
				if err := s.commit(ws, []*pushJob{j}); err != nil {
					j.err = err
				} else {
					committed = true
				}
			}
		} else {
			for _, j := range group {
				if j.err == nil {
					j.err = err
				}
			}
		}
		if committed {
			// Its watchers read the store again. Told here rather than by
			// each push's handler, so that a push whose client has gone
			// is announced all the same.
			s.hub.publish(ws)
		}
		for _, j := range group {
			close(j.done)
		}
	}
}

// commit applies the pushes of group in one transaction, as one batch of
// all their ops: one read of the acks and entities they need, one write.
// When that batch cannot apply (a *errs.ValidationError), the pushes are
// applied one after the other in the same transaction instead, and the
// one that cannot gets the error and stores nothing (applyOps writes only
// once it has decided every op). The error returned is the store's.
func (s *Server) commit(ws string, group []*pushJob) error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	var all []syncproto.Op
	if len(group) > 1 {
		for _, j := range group {
			all = append(all, j.ops...)
		}
	}
	return s.store.Update(ctx, ws, func(tx Tx) error {
		for _, j := range group { // Update may run fn again
			j.acks, j.err = nil, nil
		}
		var invalid *errs.ValidationError
		var resync *ResyncError
		now := s.now().UnixMilli()
		if len(group) > 1 {
			acks, err := applyOps(tx, all, now)
			switch {
			case err == nil:
				for _, j := range group {
					j.acks, acks = acks[:len(j.ops):len(j.ops)], acks[len(j.ops):]
				}
				return nil
			case !errors.As(err, &invalid) && !errors.As(err, &resync):
				return err
			}
		}
		for _, j := range group {
			acks, err := applyOps(tx, j.ops, now)
			switch {
			case errors.As(err, &invalid) || errors.As(err, &resync):
				j.err = err
			case err != nil:
				return err
			default:
				j.acks = acks
			}
		}
		return nil
	})
}
