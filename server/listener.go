package server

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// LimitListener returns a Listener that keeps at most maxConns of ln's
// connections open at once, waiting in Accept while that many are (as
// golang.org/x/net/netutil.LimitListener does), and at most perIP from
// one client address: IPv4 addresses count one by one, IPv6 ones by /64,
// the block a single host usually holds. A connection beyond perIP is
// answered 503 ("Unavailable") and closed without being served. 0 means
// no limit. Behind a reverse proxy every connection comes from the
// proxy's address: give perIP 0 there and let the proxy limit clients.
func LimitListener(ln net.Listener, maxConns, perIP int) net.Listener {
	l := &limitListener{Listener: ln, perIP: perIP, byIP: map[netip.Prefix]int{},
		refusing: make(chan struct{}, 64), closed: make(chan struct{})}
	if maxConns > 0 {
		l.slots = make(chan struct{}, maxConns)
	}
	return l
}

// refusal is the whole answer to a connection over the per-address limit.
var refusal = func() []byte {
	body := `{"error":"too many connections from this address","code":"Unavailable"}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n" +
		"Cache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

type limitListener struct {
	net.Listener
	slots    chan struct{} // one per open connection; nil: no bound
	perIP    int
	refusing chan struct{} // bounds the goroutines answering refused connections

	mu   sync.Mutex
	byIP map[netip.Prefix]int

	closeOnce sync.Once
	closed    chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		if l.slots != nil {
			select {
			case l.slots <- struct{}{}:
			case <-l.closed:
				return nil, net.ErrClosed
			}
		}
		c, err := l.Listener.Accept()
		if err != nil {
			l.free()
			return nil, err
		}
		key, ok := clientKey(c.RemoteAddr())
		if ok && !l.take(key) {
			l.free()
			l.refuse(c)
			continue
		}
		return &limitConn{Conn: c, l: l, key: key, counted: ok}, nil
	}
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func (l *limitListener) free() {
	if l.slots != nil {
		<-l.slots
	}
}

// take counts one more connection from key, unless it has perIP.
func (l *limitListener) take(key netip.Prefix) bool {
	if l.perIP <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[key] >= l.perIP {
		return false
	}
	l.byIP[key]++
	return true
}

func (l *limitListener) drop(key netip.Prefix) {
	if l.perIP <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[key]--; l.byIP[key] <= 0 {
		delete(l.byIP, key)
	}
}

// refuse answers c 503 and closes it, in the background and within a
// second; when many are being refused already, it just closes c.
func (l *limitListener) refuse(c net.Conn) {
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(refusal); err != nil {
			return
		}
		// Closing with the request unread would reset the connection,
		// and the client might not see the answer: let it close first.
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// clientKey is what connections from addr are counted under.
func clientKey(addr net.Addr) (netip.Prefix, bool) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Prefix{}, false
	}
	ip := ap.Addr().Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

type limitConn struct {
	net.Conn
	l       *limitListener
	key     netip.Prefix
	counted bool
	once    sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if c.counted {
			c.l.drop(c.key)
		}
		c.l.free()
	})
	return err
}
