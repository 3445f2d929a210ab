package postgres

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/jackc/pgx/v5"
)

// Bounds of the listener's retries and of its checks of an idle
// connection.
const (
	minListenBackoff = 100 * time.Millisecond
	maxListenBackoff = 10 * time.Second
	listenConnect    = 30 * time.Second // longest a connection attempt takes
	listenPing       = 10 * time.Second // a ping must answer within this
)

// listenIdle is how long a quiet listener waits before it pings its
// connection; a variable for the tests.
var listenIdle = 30 * time.Second

// ListenApplicationName is the application_name of the connections
// Listen holds, as pg_stat_activity shows them.
const ListenApplicationName = "atelier-sync listener"

// prepareAnnouncements derives the notification channel from the schema
// the tables are in, so that stores in different schemas of one database
// do not hear each other, and draws this Store's origin tag.
func (s *Store) prepareAnnouncements(ctx context.Context, cfg *pgx.ConnConfig) error {
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("read the schema: %w", err)
	}
	s.channel = channelOf(schema)
	var tag [8]byte
	crand.Read(tag[:])
	s.origin = hex.EncodeToString(tag[:])
	s.listenConfig = cfg.Copy()
	s.listenConfig.RuntimeParams["application_name"] = ListenApplicationName
	return nil
}

// channelOf is the notification channel of the tables in schema:
// "atelier_" and 16 hex digits of the schema's SHA-256, as channel names
// are bounded to 63 bytes and schema names may be as long.
func channelOf(schema string) string {
	sum := sha256.Sum256([]byte(schema))
	return "atelier_" + hex.EncodeToString(sum[:8])
}

// Channel returns the channel the store's writes are announced on (see
// the package doc), the same for every Store on the same schema.
func (s *Store) Channel() string { return s.channel }

// Listen implements server.Announcer with LISTEN on a connection of its
// own, outside the pool. The connection is pinged when it has been quiet
// for 30 s, so that a dead one is noticed within a minute.
func (s *Store) Listen(ctx context.Context, h server.AnnounceHandler) error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return fmt.Errorf("postgres: listen: %w", errs.ErrClosed)
	}
	s.listening.Add(1)
	s.mu.Unlock()
	defer s.listening.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	backoff := minListenBackoff
	for {
		conn, err := s.listenConn(ctx)
		if err == nil {
			h.Connected()
			since := time.Now()
			err = s.hear(ctx, conn, h)
			closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Second)
			conn.Close(closeCtx)
			cancelClose()
			if time.Since(since) >= maxListenBackoff {
				backoff = minListenBackoff // it was up a while: not a crash loop
			}
		}
		if ctx.Err() != nil {
			if s.closed.Load() {
				return fmt.Errorf("postgres: listen: %w", errs.ErrClosed)
			}
			return ctx.Err()
		}
		// Half to all of the backoff, so that servers that lost the
		// database together do not come back all at once.
		wait := backoff/2 + rand.N(backoff/2+1)
		h.Lost(err, wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, maxListenBackoff)
	}
}

// listenConn connects and listens on the store's channel.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, listenConnect)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, s.listenConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres: listen: connect: %w", err)
	}
	if _, err := conn.Exec(cctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	return conn, nil
}

// hear reports the notifications conn receives until it fails or ctx is
// done. Those of this Store's own writes are left out.
func (s *Store) hear(ctx context.Context, conn *pgx.Conn, h server.AnnounceHandler) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdle)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			origin, ws, ok := strings.Cut(n.Payload, ":")
			if !ok {
				ws, origin = origin, "" // a bare workspace, from elsewhere
			}
			if origin != s.origin && ws != "" {
				h.Changed(ws)
			}
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("postgres: listen: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, listenPing)
		err = conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("postgres: listen: ping: %w", err)
		}
	}
}
