package opfs

import (
	"context"
	"sync"
)

// memLocks is the stand-in for Web Locks where the browser lacks them: a
// reader/writer lock per name, shared by every store of this Go program
// but not by other tabs or workers. Waiting respects ctx. A steady stream
// of shared holders can starve an exclusive one; the stores take shared
// locks only for Puts, which end.
type memLocks struct {
	mu    sync.Mutex
	locks map[string]*rwState
}

type rwState struct {
	readers int
	writer  bool
	changed chan struct{} // closed and replaced whenever the lock is released
}

var processLocks memLocks

// lock acquires name, shared or exclusive, and returns its release
// function (safe to call more than once). It returns ctx.Err() if ctx ends
// first.
func (m *memLocks) lock(ctx context.Context, name string, shared bool) (func(), error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m.mu.Lock()
		if m.locks == nil {
			m.locks = map[string]*rwState{}
		}
		s := m.locks[name]
		if s == nil {
			s = &rwState{changed: make(chan struct{})}
			m.locks[name] = s
		}
		if !s.writer && (shared || s.readers == 0) {
			if shared {
				s.readers++
			} else {
				s.writer = true
			}
			m.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { m.unlock(name, s, shared) }) }, nil
		}
		wait := s.changed
		m.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (m *memLocks) unlock(name string, s *rwState, shared bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if shared {
		s.readers--
	} else {
		s.writer = false
	}
	close(s.changed)
	s.changed = make(chan struct{})
	if s.readers == 0 && !s.writer {
		delete(m.locks, name)
	}
}
