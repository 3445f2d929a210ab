package postgres

import "time"

// SetListenIdle sets how long a quiet listener waits before it pings its
// connection, and returns a func that restores it.
func SetListenIdle(d time.Duration) (restore func()) {
	old := listenIdle
	listenIdle = d
	return func() { listenIdle = old }
}
