package uuid7

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNew(t *testing.T) {
	t.Parallel()
	before := time.Now().Add(-time.Millisecond)
	prev := ""
	for range 10000 {
		s := New()
		u, err := uuid.Parse(s)
		if err != nil || u.String() != s || u.Version() != 7 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("New() = %q: parse %v, version %d, variant %v", s, err, u.Version(), u.Variant())
		}
		if s <= prev {
			t.Fatalf("New() = %q after %q: not increasing", s, prev)
		}
		prev = s
		got, ok := Time(s)
		if !ok || got.Before(before) || got.After(time.Now()) {
			t.Fatalf("Time(%q) = %v, %v; made between %v and now", s, got, ok, before)
		}
	}
}

func TestNextIncreases(t *testing.T) {
	// The same nanosecond, and a clock going back: ids still increase.
	ms1, seq1 := next(5e12)
	ms2, seq2 := next(5e12)
	ms3, seq3 := next(4e12)
	if !(ms1<<12+seq1 < ms2<<12+seq2 && ms2<<12+seq2 < ms3<<12+seq3) {
		t.Fatalf("next: %d.%d, %d.%d, %d.%d: not increasing", ms1, seq1, ms2, seq2, ms3, seq3)
	}
}

var timeCases = []string{
	"0190a3b2-1c4d-7abc-8def-0123456789ab",
	"0190A3B2-1C4D-7ABC-8DEF-0123456789AB",
	"{0190a3b2-1c4d-7abc-8def-0123456789ab}",
	"x0190a3b2-1c4d-7abc-8def-0123456789abx",
	"urn:uuid:0190a3b2-1c4d-7abc-8def-0123456789ab",
	"URN:UUID:0190a3b2-1c4d-7abc-8def-0123456789ab",
	"0190a3b21c4d7abc8def0123456789ab",
	"0190a3b2-1c4d-4abc-8def-0123456789ab", // version 4
	"0190a3b2-1c4d-7abc-8def-0123456789a",
	"0190a3b2x1c4d-7abc-8def-0123456789ab",
	"0190a3b2-1c4d-7abc-8def-0123456789ag",
	"", "not a uuid",
}

// FuzzTime checks Time against github.com/google/uuid: the same strings
// parse, and a version 7 one gives the same time.
func FuzzTime(f *testing.F) {
	for _, s := range timeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Time(s)
		u, err := uuid.Parse(s)
		want := err == nil && u.Version() == 7
		if ok != want {
			t.Fatalf("Time(%q) ok = %v, google/uuid: %v, version %d", s, ok, err, u.Version())
		}
		if ok {
			sec, nsec := u.Time().UnixTime()
			if w := time.Unix(sec, nsec); !got.Equal(w) {
				t.Fatalf("Time(%q) = %v, google/uuid: %v", s, got, w)
			}
		}
	})
}
