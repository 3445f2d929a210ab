package recbody

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file writes and reads the msgpack subset record bodies use, on byte
// slices, with no interfaces, no reflection and no allocation per key. It
// writes exactly the bytes github.com/vmihailenco/msgpack/v5 writes for
// the same calls, so bodies stored by earlier builds compare equal byte for
// byte, and reads everything that package's decoder accepts for these
// fields (codec_test.go checks both against the package, with fixed stored
// bodies and by fuzzing).
//
// It is kept, instead of encoding bodies through the package, because it is
// measurably faster in the browser, where the store runs. BenchmarkCodec
// and BenchmarkCodec10k (codec_bench_test.go: the same body format through
// the package's reused Encoder and Decoder, keys read without allocating)
// in headless Chromium, GOOS=js GOARCH=wasm, ns/op, this file / package:
//
//	typical node  encode    440 / 1,460   decode  1,460 / 3,360 (2 / 7 allocs)
//	edge          encode    490 / 1,100   decode    800 / 2,460 (0 / 6 allocs)
//	workflow      encode    560 / 1,120   decode  1,240 / 2,160 (1 / 3 allocs)
//	10,000 nodes  encode 3.7 ms / 15.3 ms decode 10.3 ms / 30.5 ms
//
// Loading a workflow of 10,000 nodes spends 20 ms less in decoding, and
// writing one 11 ms less in encoding. A node whose result holds an asset
// reference decodes at the same speed either way (7 µs): the reference is
// read by assetref's own decoder in both.

// msgpack type codes.
const (
	mpPosFixIntMax = 0x7f
	mpFixMap       = 0x80
	mpFixArray     = 0x90
	mpFixStr       = 0xa0
	mpNil          = 0xc0
	mpFalse        = 0xc2
	mpTrue         = 0xc3
	mpBin8         = 0xc4
	mpBin16        = 0xc5
	mpBin32        = 0xc6
	mpExt8         = 0xc7
	mpExt16        = 0xc8
	mpExt32        = 0xc9
	mpFloat32      = 0xca
	mpFloat64      = 0xcb
	mpUint8        = 0xcc
	mpUint16       = 0xcd
	mpUint32       = 0xce
	mpUint64       = 0xcf
	mpInt8         = 0xd0
	mpInt16        = 0xd1
	mpInt32        = 0xd2
	mpInt64        = 0xd3
	mpFixExt1      = 0xd4
	mpFixExt16     = 0xd8
	mpStr8         = 0xd9
	mpStr16        = 0xda
	mpStr32        = 0xdb
	mpArray16      = 0xdc
	mpArray32      = 0xdd
	mpMap16        = 0xde
	mpMap32        = 0xdf
	mpNegFixIntMin = 0xe0
)

// ---- writing

func mpAppendMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, mpFixMap|byte(n))
	case n <= math.MaxUint16:
		return append(b, mpMap16, byte(n>>8), byte(n))
	}
	return append(b, mpMap32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func mpAppendString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, mpFixStr|byte(n))
	case n <= math.MaxUint8:
		b = append(b, mpStr8, byte(n))
	case n <= math.MaxUint16:
		b = append(b, mpStr16, byte(n>>8), byte(n))
	default:
		b = append(b, mpStr32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

// mpAppendBytes writes v as bin; nil as nil, as the package does.
func mpAppendBytes(b []byte, v []byte) []byte {
	switch n := len(v); {
	case v == nil:
		return append(b, mpNil)
	case n <= math.MaxUint8:
		b = append(b, mpBin8, byte(n))
	case n <= math.MaxUint16:
		b = append(b, mpBin16, byte(n>>8), byte(n))
	default:
		b = append(b, mpBin32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, v...)
}

func mpAppendUint(b []byte, n uint64) []byte {
	switch {
	case n <= mpPosFixIntMax:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, mpUint8, byte(n))
	case n <= math.MaxUint16:
		return append(b, mpUint16, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, mpUint32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, mpUint64), n)
}

func mpAppendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return mpAppendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, mpInt8, byte(n))
	case n >= math.MinInt16:
		return append(b, mpInt16, byte(n>>8), byte(n))
	case n >= math.MinInt32:
		return append(b, mpInt32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, mpInt64), uint64(n))
}

func mpAppendFloat32(b []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(b, mpFloat32), math.Float32bits(f))
}

func mpAppendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, mpFloat64), math.Float64bits(f))
}

// ---- reading

// ErrTruncated reports a body that ends inside a value.
var ErrTruncated = errors.New("msgpack: unexpected end of body")

// errTooDeep reports unknown values nested deeper than maxSkipDepth.
var errTooDeep = errors.New("msgpack: values nested too deeply")

// mpReader reads msgpack values from b. If s is not empty it holds the
// same bytes as b, and strings are cut from it instead of allocated: a bulk
// read converts all bodies to one string once.
type mpReader struct {
	b   []byte
	s   string
	off int
}

func (r *mpReader) reset(b []byte, s string) { r.b, r.s, r.off = b, s, 0 }

func (r *mpReader) left() int { return len(r.b) - r.off }

func (r *mpReader) code() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// n reads a big-endian unsigned integer of size bytes.
func (r *mpReader) n(size int) (uint64, error) {
	if r.left() < size {
		return 0, ErrTruncated
	}
	p := r.b[r.off : r.off+size]
	r.off += size
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

func unexpected(c byte, want string) error {
	return fmt.Errorf("msgpack: unexpected code %#x decoding %s", c, want)
}

// mapLen reads a map header; nil gives -1.
func (r *mpReader) mapLen() (int, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == mpFixMap:
		return int(c & 0x0f), nil
	case c == mpNil:
		return -1, nil
	case c == mpMap16:
		n, err = r.n(2)
	case c == mpMap32:
		n, err = r.n(4)
	default:
		return 0, unexpected(c, "map length")
	}
	if err != nil {
		return 0, err
	}
	// Every entry takes at least two bytes: a length beyond that is a lie.
	if n > uint64(r.left()/2) {
		return 0, ErrTruncated
	}
	return int(n), nil
}

// raw returns the next n bytes.
func (r *mpReader) raw(n uint64) (int, int, error) {
	if n > uint64(r.left()) {
		return 0, 0, ErrTruncated
	}
	start := r.off
	r.off += int(n)
	return start, r.off, nil
}

// strSpan reads a string or binary value (or nil, as empty) and returns
// where its bytes are.
func (r *mpReader) strSpan(want string) (start, end int, null bool, err error) {
	c, err := r.code()
	if err != nil {
		return 0, 0, false, err
	}
	var n uint64
	switch {
	case c&0xe0 == mpFixStr:
		n = uint64(c & 0x1f)
	case c == mpNil:
		return r.off, r.off, true, nil
	case c == mpStr8 || c == mpBin8:
		n, err = r.n(1)
	case c == mpStr16 || c == mpBin16:
		n, err = r.n(2)
	case c == mpStr32 || c == mpBin32:
		n, err = r.n(4)
	default:
		return 0, 0, false, unexpected(c, want)
	}
	if err != nil {
		return 0, 0, false, err
	}
	start, end, err = r.raw(n)
	return start, end, false, err
}

func (r *mpReader) str() (string, error) {
	start, end, _, err := r.strSpan("string")
	if err != nil {
		return "", err
	}
	if r.s != "" {
		return r.s[start:end], nil
	}
	return string(r.b[start:end]), nil
}

// key reads a map key without allocating: the bytes stay valid as long as
// b does.
func (r *mpReader) key() ([]byte, error) {
	start, end, _, err := r.strSpan("map key")
	if err != nil {
		return nil, err
	}
	return r.b[start:end], nil
}

// bytes reads a binary (or string) value into a new slice; nil or empty
// gives nil.
func (r *mpReader) bytes() ([]byte, error) {
	start, end, _, err := r.strSpan("bytes")
	if err != nil || start == end {
		return nil, err
	}
	return append([]byte(nil), r.b[start:end]...), nil
}

func (r *mpReader) int64() (int64, error) {
	c, err := r.code()
	if err != nil {
		return 0, err
	}
	if c <= mpPosFixIntMax || c >= mpNegFixIntMin {
		return int64(int8(c)), nil
	}
	var u uint64
	switch c {
	case mpNil:
		return 0, nil
	case mpUint8:
		u, err = r.n(1)
	case mpUint16:
		u, err = r.n(2)
	case mpUint32:
		u, err = r.n(4)
	case mpUint64:
		u, err = r.n(8)
	case mpInt8:
		u, err = r.n(1)
		return int64(int8(u)), err
	case mpInt16:
		u, err = r.n(2)
		return int64(int16(u)), err
	case mpInt32:
		u, err = r.n(4)
		return int64(int32(u)), err
	case mpInt64:
		u, err = r.n(8)
		return int64(u), err
	case mpFloat32:
		u, err = r.n(4)
		return int64(math.Float32frombits(uint32(u))), err
	case mpFloat64:
		u, err = r.n(8)
		return int64(math.Float64frombits(u)), err
	default:
		return 0, unexpected(c, "integer")
	}
	return int64(u), err
}

func (r *mpReader) float64() (float64, error) {
	if r.off < len(r.b) {
		switch r.b[r.off] {
		case mpFloat32:
			r.off++
			u, err := r.n(4)
			return float64(math.Float32frombits(uint32(u))), err
		case mpFloat64:
			r.off++
			u, err := r.n(8)
			return math.Float64frombits(u), err
		case mpUint64:
			r.off++
			u, err := r.n(8)
			return float64(u), err
		}
	}
	n, err := r.int64()
	if err != nil {
		return 0, fmt.Errorf("msgpack: decoding number: %w", err)
	}
	return float64(n), nil
}

// maxSkipDepth bounds the nesting of unknown values skip follows, so that
// a hostile body cannot recurse without limit.
const maxSkipDepth = 64

// skip steps over one value of any type.
func (r *mpReader) skip(depth int) error {
	if depth > maxSkipDepth {
		return errTooDeep
	}
	c, err := r.code()
	if err != nil {
		return err
	}
	var n uint64
	var items uint64 // values that follow (2 per map entry)
	switch {
	case c <= mpPosFixIntMax || c >= mpNegFixIntMin, c == mpNil, c == mpFalse, c == mpTrue:
		return nil
	case c&0xf0 == mpFixMap:
		items = 2 * uint64(c&0x0f)
	case c&0xf0 == mpFixArray:
		items = uint64(c & 0x0f)
	case c&0xe0 == mpFixStr:
		_, _, err = r.raw(uint64(c & 0x1f))
		return err
	}
	switch c {
	case mpBin8, mpStr8, mpBin16, mpStr16, mpBin32, mpStr32:
		r.off--
		_, _, _, err = r.strSpan("")
		return err
	case mpUint8, mpInt8:
		_, _, err = r.raw(1)
		return err
	case mpUint16, mpInt16:
		_, _, err = r.raw(2)
		return err
	case mpUint32, mpInt32, mpFloat32:
		_, _, err = r.raw(4)
		return err
	case mpUint64, mpInt64, mpFloat64:
		_, _, err = r.raw(8)
		return err
	case 0xd4, 0xd5, 0xd6, 0xd7, mpFixExt16: // fixext: type + 1, 2, 4, 8, 16 bytes
		_, _, err = r.raw(1 + 1<<(c-mpFixExt1))
		return err
	case mpExt8, mpExt16, mpExt32:
		if n, err = r.n(1 << (c - mpExt8)); err == nil {
			_, _, err = r.raw(n + 1)
		}
		return err
	case mpArray16, mpArray32:
		items, err = r.n(2 << (c - mpArray16))
	case mpMap16, mpMap32:
		items, err = r.n(2 << (c - mpMap16))
		items *= 2
	case 0xc1:
		return unexpected(c, "a value")
	}
	if err != nil {
		return err
	}
	if items > uint64(r.left()) { // every value takes at least a byte
		return ErrTruncated
	}
	for ; items > 0; items-- {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}
