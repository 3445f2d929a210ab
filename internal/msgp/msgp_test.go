package msgp

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestShortestForms: each value is written in the shortest form the
// msgpack specification has for it, at both sides of every boundary.
func TestShortestForms(t *testing.T) {
	for _, c := range []struct {
		name string
		got  []byte
		want []byte // the header (the whole value for numbers)
	}{
		{"uint 127", AppendUint(nil, 127), []byte{0x7f}},
		{"uint 128", AppendUint(nil, 128), []byte{Uint8, 0x80}},
		{"uint 256", AppendUint(nil, 256), []byte{Uint16, 1, 0}},
		{"uint 65536", AppendUint(nil, 65536), []byte{Uint32, 0, 1, 0, 0}},
		{"uint 2^32", AppendUint(nil, 1<<32), []byte{Uint64, 0, 0, 0, 1, 0, 0, 0, 0}},
		{"int -1", AppendInt(nil, -1), []byte{0xff}},
		{"int -32", AppendInt(nil, -32), []byte{0xe0}},
		{"int -33", AppendInt(nil, -33), []byte{Int8, 0xdf}},
		{"int -129", AppendInt(nil, -129), []byte{Int16, 0xff, 0x7f}},
		{"int -32769", AppendInt(nil, -32769), []byte{Int32, 0xff, 0xff, 0x7f, 0xff}},
		{"int min", AppendInt(nil, math.MinInt64), []byte{Int64, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"int 5", AppendInt(nil, 5), []byte{5}},
		{"map 15", AppendMapLen(nil, 15), []byte{0x8f}},
		{"map 16", AppendMapLen(nil, 16), []byte{Map16, 0, 16}},
		{"map 65536", AppendMapLen(nil, 65536), []byte{Map32, 0, 1, 0, 0}},
		{"str 31", AppendString(nil, strings.Repeat("a", 31))[:1], []byte{0xbf}},
		{"str 32", AppendString(nil, strings.Repeat("a", 32))[:2], []byte{Str8, 32}},
		{"str 256", AppendString(nil, strings.Repeat("a", 256))[:3], []byte{Str16, 1, 0}},
		{"str 65536", AppendString(nil, strings.Repeat("a", 65536))[:5], []byte{Str32, 0, 1, 0, 0}},
		{"bin nil", AppendBytes(nil, nil), []byte{Nil}},
		{"bin empty", AppendBytes(nil, []byte{}), []byte{Bin8, 0}},
		{"bin 256", AppendBytes(nil, make([]byte, 256))[:3], []byte{Bin16, 1, 0}},
		{"bin 65536", AppendBytes(nil, make([]byte, 65536))[:5], []byte{Bin32, 0, 1, 0, 0}},
		{"float32", AppendFloat32(nil, 1), []byte{Float32, 0x3f, 0x80, 0, 0}},
		{"float64", AppendFloat64(nil, 1), []byte{Float64, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: % x, want % x", c.name, c.got, c.want)
		}
	}
	if got := AppendString([]byte{1}, "hi"); !bytes.Equal(got, []byte{1, 0xa2, 'h', 'i'}) {
		t.Errorf("AppendString appends: % x", got)
	}
}
