// Package msgp writes the msgpack subset the library's stored values use
// (assetref.Ref's form, the record bodies of internal/recbody), on byte
// slices, with no interfaces and no reflection, and names the msgpack type
// codes their decoders read. It writes exactly the bytes
// github.com/vmihailenco/msgpack/v5 writes for the same values (recbody's
// and assetref's tests check it against that package), so that stored
// bytes compare equal across builds. Reading stays with each format: the
// record bodies cut strings from one shared string, a Ref validates as it
// reads.
package msgp

import (
	"encoding/binary"
	"math"
)

// The msgpack type codes (the specification's names).
const (
	PosFixIntMax = 0x7f
	FixMap       = 0x80 // to 0x8f
	FixArray     = 0x90 // to 0x9f
	FixStr       = 0xa0 // to 0xbf
	Nil          = 0xc0
	False        = 0xc2
	True         = 0xc3
	Bin8         = 0xc4
	Bin16        = 0xc5
	Bin32        = 0xc6
	Ext8         = 0xc7
	Ext16        = 0xc8
	Ext32        = 0xc9
	Float32      = 0xca
	Float64      = 0xcb
	Uint8        = 0xcc
	Uint16       = 0xcd
	Uint32       = 0xce
	Uint64       = 0xcf
	Int8         = 0xd0
	Int16        = 0xd1
	Int32        = 0xd2
	Int64        = 0xd3
	FixExt1      = 0xd4 // to 0xd8: fixext 1, 2, 4, 8, 16
	FixExt16     = 0xd8
	Str8         = 0xd9
	Str16        = 0xda
	Str32        = 0xdb
	Array16      = 0xdc
	Array32      = 0xdd
	Map16        = 0xde
	Map32        = 0xdf
	NegFixIntMin = 0xe0
)

// AppendMapLen writes a map header of n entries.
func AppendMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, FixMap|byte(n))
	case n <= math.MaxUint16:
		return append(b, Map16, byte(n>>8), byte(n))
	}
	return append(b, Map32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendString writes s as str in its shortest form.
func AppendString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, FixStr|byte(n))
	case n <= math.MaxUint8:
		b = append(b, Str8, byte(n))
	case n <= math.MaxUint16:
		b = append(b, Str16, byte(n>>8), byte(n))
	default:
		b = append(b, Str32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

// AppendBytes writes v as bin; nil as nil, as the package does.
func AppendBytes(b []byte, v []byte) []byte {
	switch n := len(v); {
	case v == nil:
		return append(b, Nil)
	case n <= math.MaxUint8:
		b = append(b, Bin8, byte(n))
	case n <= math.MaxUint16:
		b = append(b, Bin16, byte(n>>8), byte(n))
	default:
		b = append(b, Bin32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, v...)
}

// AppendUint writes n in its shortest unsigned form.
func AppendUint(b []byte, n uint64) []byte {
	switch {
	case n <= PosFixIntMax:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, Uint8, byte(n))
	case n <= math.MaxUint16:
		return append(b, Uint16, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, Uint32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, Uint64), n)
}

// AppendInt writes n in its shortest form: unsigned when it is not
// negative, as the package does.
func AppendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return AppendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, Int8, byte(n))
	case n >= math.MinInt16:
		return append(b, Int16, byte(n>>8), byte(n))
	case n >= math.MinInt32:
		return append(b, Int32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, Int64), uint64(n))
}

// AppendFloat32 writes f as float 32.
func AppendFloat32(b []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(b, Float32), math.Float32bits(f))
}

// AppendFloat64 writes f as float 64.
func AppendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, Float64), math.Float64bits(f))
}
