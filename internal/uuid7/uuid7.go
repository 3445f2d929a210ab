// Package uuid7 makes the UUIDv7 ids of the store and reads back their
// time: the two things the library did with github.com/google/uuid, whose
// other versions brought crypto/md5 and crypto/sha1 into the browser's
// module (33 KB of code, 12 KB brotli-compressed) for nothing. Pure Go.
package uuid7

import (
	"crypto/rand"
	"sync"
	"time"
)

var (
	mu   sync.Mutex
	last int64 // milliseconds << 12 | sequence of the last id made
)

// New returns a new UUIDv7 in canonical form (lower-case hex and hyphens).
// As github.com/google/uuid's NewV7 does, it fills the 12 bits after the
// millisecond timestamp with the time's sub-millisecond part (in units of
// 256 ns), and keeps every id of the process greater than the one before,
// so that ids made in order sort in that order.
func New() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand panics rather than fail
	ms, seq := next(time.Now().UnixNano())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | byte(seq>>8)&0x0f
	u[7] = byte(seq)
	u[8] = u[8]&0x3f | 0x80 // the RFC 9562 variant
	return format(u)
}

// next returns the timestamp and sequence of the next id at nano.
func next(nano int64) (ms, seq int64) {
	ms = nano / int64(time.Millisecond)
	seq = (nano - ms*int64(time.Millisecond)) >> 8 // 0 to 3906
	now := ms<<12 + seq
	mu.Lock()
	if now <= last {
		now = last + 1
	}
	last = now
	mu.Unlock()
	return now >> 12, now & 0xfff
}

const hexDigits = "0123456789abcdef"

func format(u [16]byte) string {
	var b [36]byte
	j := 0
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[x>>4], hexDigits[x&0x0f]
		j += 2
	}
	return string(b[:])
}

// Time returns the time a UUIDv7 was made, to the millisecond. s may be
// spelled any way github.com/google/uuid's Parse accepts: canonical in
// either case, in braces, after "urn:uuid:", or 32 hex digits. ok is false
// for anything else and for UUIDs of other versions.
func Time(s string) (t time.Time, ok bool) {
	u, ok := parse(s)
	if !ok || u[6]>>4 != 7 {
		return time.Time{}, false
	}
	var ms int64
	for _, x := range u[:6] {
		ms = ms<<8 | int64(x)
	}
	return time.UnixMilli(ms), true
}

func parse(s string) (u [16]byte, ok bool) {
	switch len(s) {
	case 36:
	case 36 + 9:
		if !equalFoldASCII(s[:9], "urn:uuid:") {
			return u, false
		}
		s = s[9:]
	case 36 + 2: // {...}; like google/uuid, the braces themselves are not checked
		s = s[1:]
	case 32:
		for i := range u {
			if u[i], ok = hexByte(s[2*i], s[2*i+1]); !ok {
				return u, false
			}
		}
		return u, true
	default:
		return u, false
	}
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	for i, x := range [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34} {
		if u[i], ok = hexByte(s[x], s[x+1]); !ok {
			return u, false
		}
	}
	return u, true
}

func hexByte(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
