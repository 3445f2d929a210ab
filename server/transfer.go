package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Defaults of the transfer bounds in Options.
const (
	// DefaultStallTimeout is how long, by default, a request body may take
	// to start arriving or stall between two reads, and how long a write
	// of a response may take beyond what the minimum rate allows.
	DefaultStallTimeout = 15 * time.Second
	// DefaultMinRate is the default slowest average rate, in bytes per
	// second, at which a request body must arrive and a response be
	// taken: 16 KiB/s, 128 kbit/s.
	DefaultMinRate = 16 << 10
)

// errDraining is the error of a request body cut off by Drain.
var errDraining = errors.New("the server is shutting down")

// pacer holds one request to the transfer bounds: its body must keep
// arriving at the minimum rate and never stall for longer than the stall
// timeout, and so must the response be taken. It does so with read and
// write deadlines on the connection, set through an
// http.ResponseController and moved on as bytes pass; a read or write
// that misses one fails with a timeout.
//
// Deadlines on the connection outlive the request, so a pacer never sets
// a read deadline once its body has reached its end: net/http then reads
// the connection itself, to notice a client going away, and a read
// deadline expiring there would cancel the next request's context.
type pacer struct {
	s     *Server
	rc    *http.ResponseController
	req   *http.Request
	body  io.ReadCloser // nil: the request has none
	start time.Time
	read  int64

	ended   atomic.Bool // the body was read to its end or failed
	drained atomic.Bool // Drain cut the body off
}

// pace sets the first deadlines of r and, when it has a body, replaces
// r.Body with one that keeps them moving. Call done when the handler
// returns.
func (s *Server) pace(w http.ResponseWriter, r *http.Request, start time.Time) *pacer {
	p := &pacer{s: s, rc: http.NewResponseController(w), start: start}
	// Errors are http.ErrNotSupported, from writers that are not a
	// connection's (like httptest.ResponseRecorder): nothing to bound.
	p.rc.SetWriteDeadline(start.Add(s.stall))
	if r.Body == nil || r.Body == http.NoBody {
		return p
	}
	p.body, p.req = r.Body, r
	r.Body = p
	s.reading.Store(p, nil)
	if s.draining.Load() {
		p.cut()
	} else {
		p.rc.SetReadDeadline(start.Add(s.stall))
	}
	return p
}

// Read reads the body, then moves the read deadline to what the bytes
// read so far allow: the minimum rate from the start, but never more than
// the stall timeout from now.
func (p *pacer) Read(b []byte) (int, error) {
	n, err := p.body.Read(b)
	p.read += int64(n)
	if err != nil {
		p.end()
		if p.drained.Load() {
			return n, errDraining
		}
		return n, err
	}
	if n > 0 {
		now := time.Now()
		d := now.Add(p.s.stall)
		if p.s.minRate > 0 {
			// Past already when the body has fallen behind the rate:
			// the next read fails.
			if r := p.start.Add(p.s.stall + perRate(p.read, p.s.minRate)); r.Before(d) {
				d = r
			}
		}
		p.rc.SetReadDeadline(d)
		// Drain sets its flag before it cuts: either it cuts after the
		// deadline above, or this sees the flag.
		if p.s.draining.Load() {
			p.cut()
		}
	}
	return n, err
}

// Close closes the body.
func (p *pacer) Close() error { return p.body.Close() }

// end marks the body as read to its end or broken off: no read deadline
// may be set on the connection from now on.
func (p *pacer) end() {
	if !p.ended.Swap(true) {
		p.s.reading.Delete(p)
	}
}

// cut makes the pending and every later read of the body fail at once.
func (p *pacer) cut() {
	if p.ended.Load() {
		return
	}
	p.drained.Store(true)
	p.rc.SetReadDeadline(time.Now())
}

// beforeHeader runs as the handler writes the response's header. A body
// not read to its end is not read any further: the connection closes
// after the response instead of net/http reading up to 256 KiB of what
// may be a very slow body, before or after an error the handler answers
// without reading it.
func (p *pacer) beforeHeader(h http.Header) {
	if (p.body != nil && !p.ended.Load()) || p.s.draining.Load() {
		h.Set("Connection", "close")
	}
	p.rc.SetWriteDeadline(time.Now().Add(p.s.stall))
}

// beforeWrite gives a write of n bytes the stall timeout plus the time
// the minimum rate allows for them.
func (p *pacer) beforeWrite(n int) {
	d := p.s.stall
	if p.s.minRate > 0 {
		d += perRate(int64(n), p.s.minRate)
	}
	p.rc.SetWriteDeadline(time.Now().Add(d))
}

// done runs when the handler has returned and the response's header is
// written. net/http then flushes the response and, even on a connection
// it is about to close, reads up to 256 KiB of a body the handler left
// unread, so that a client still sending it gets to read the answer
// rather than a reset. A slow client would make that read take minutes:
// it gets at most a second (a body the kernel's buffers hold has arrived
// by then), and Drain cuts it off too.
func (p *pacer) done() {
	now := time.Now()
	p.rc.SetWriteDeadline(now.Add(p.s.stall))
	if p.body == nil {
		return
	}
	// net/http looks at the body's own type to tell whether it closed it
	// early, and if so lets the client read the answer before it closes.
	p.req.Body = p.body
	if p.ended.Load() || p.drained.Load() {
		p.s.reading.Delete(p)
		return
	}
	window := min(time.Second, p.s.stall)
	p.rc.SetReadDeadline(now.Add(window))
	// The connection closes after this response (see beforeHeader), so a
	// read deadline set by Drain meanwhile cannot reach another request.
	time.AfterFunc(window, func() { p.s.reading.Delete(p) })
	if p.s.draining.Load() {
		p.cut()
	}
}

// Drain cuts off every request body still arriving, and every one that
// starts arriving later, so that a graceful shutdown need not wait for
// slow clients: register it with http.Server.RegisterOnShutdown. Those
// requests are answered 503 ("Unavailable"); requests whose bodies have
// arrived, and requests without one, carry on. Drain cannot be undone.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.reading.Range(func(k, _ any) bool {
		k.(*pacer).cut()
		return true
	})
}

// bodyError answers the error of reading a request body and reports
// whether it was one of the transfer bounds: 503 when Drain cut the body
// off, 408 when it arrived too slowly. Other errors are left to the
// caller.
func bodyError(w http.ResponseWriter, err error) bool {
	switch {
	case errors.Is(err, errDraining):
		writeError(w, http.StatusServiceUnavailable, "Unavailable", "the server is shutting down; try again")
		return true
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, "Timeout", "the request body arrived too slowly")
		return true
	}
	return false
}

// perRate is how long n bytes take at rate bytes per second.
func perRate(n, rate int64) time.Duration {
	return time.Duration(float64(n) / float64(rate) * float64(time.Second))
}
