package recbody

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/atelierstore/atelier/internal/msgp"
)

// This file reads the msgpack subset record bodies use, on byte slices,
// with no interfaces, no reflection and no allocation per key; internal/msgp
// writes it. Bodies are written with exactly the bytes
// github.com/vmihailenco/msgpack/v5 writes for the same calls, so bodies
// stored by earlier builds compare equal byte for byte, and read with
// everything that package's decoder accepts for these fields (codec_test.go
// checks both against the package, with fixed stored bodies and by
// fuzzing).
//
// This code is kept, instead of encoding bodies through the package, because it is
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
	case c&0xf0 == msgp.FixMap:
		return int(c & 0x0f), nil
	case c == msgp.Nil:
		return -1, nil
	case c == msgp.Map16:
		n, err = r.n(2)
	case c == msgp.Map32:
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
	case c&0xe0 == msgp.FixStr:
		n = uint64(c & 0x1f)
	case c == msgp.Nil:
		return r.off, r.off, true, nil
	case c == msgp.Str8 || c == msgp.Bin8:
		n, err = r.n(1)
	case c == msgp.Str16 || c == msgp.Bin16:
		n, err = r.n(2)
	case c == msgp.Str32 || c == msgp.Bin32:
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
	if c <= msgp.PosFixIntMax || c >= msgp.NegFixIntMin {
		return int64(int8(c)), nil
	}
	var u uint64
	switch c {
	case msgp.Nil:
		return 0, nil
	case msgp.Uint8:
		u, err = r.n(1)
	case msgp.Uint16:
		u, err = r.n(2)
	case msgp.Uint32:
		u, err = r.n(4)
	case msgp.Uint64:
		u, err = r.n(8)
	case msgp.Int8:
		u, err = r.n(1)
		return int64(int8(u)), err
	case msgp.Int16:
		u, err = r.n(2)
		return int64(int16(u)), err
	case msgp.Int32:
		u, err = r.n(4)
		return int64(int32(u)), err
	case msgp.Int64:
		u, err = r.n(8)
		return int64(u), err
	case msgp.Float32:
		u, err = r.n(4)
		return int64(math.Float32frombits(uint32(u))), err
	case msgp.Float64:
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
		case msgp.Float32:
			r.off++
			u, err := r.n(4)
			return float64(math.Float32frombits(uint32(u))), err
		case msgp.Float64:
			r.off++
			u, err := r.n(8)
			return math.Float64frombits(u), err
		case msgp.Uint64:
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
	case c <= msgp.PosFixIntMax || c >= msgp.NegFixIntMin, c == msgp.Nil, c == msgp.False, c == msgp.True:
		return nil
	case c&0xf0 == msgp.FixMap:
		items = 2 * uint64(c&0x0f)
	case c&0xf0 == msgp.FixArray:
		items = uint64(c & 0x0f)
	case c&0xe0 == msgp.FixStr:
		_, _, err = r.raw(uint64(c & 0x1f))
		return err
	}
	switch c {
	case msgp.Bin8, msgp.Str8, msgp.Bin16, msgp.Str16, msgp.Bin32, msgp.Str32:
		r.off--
		_, _, _, err = r.strSpan("")
		return err
	case msgp.Uint8, msgp.Int8:
		_, _, err = r.raw(1)
		return err
	case msgp.Uint16, msgp.Int16:
		_, _, err = r.raw(2)
		return err
	case msgp.Uint32, msgp.Int32, msgp.Float32:
		_, _, err = r.raw(4)
		return err
	case msgp.Uint64, msgp.Int64, msgp.Float64:
		_, _, err = r.raw(8)
		return err
	case 0xd4, 0xd5, 0xd6, 0xd7, msgp.FixExt16: // fixext: type + 1, 2, 4, 8, 16 bytes
		_, _, err = r.raw(1 + 1<<(c-msgp.FixExt1))
		return err
	case msgp.Ext8, msgp.Ext16, msgp.Ext32:
		if n, err = r.n(1 << (c - msgp.Ext8)); err == nil {
			_, _, err = r.raw(n + 1)
		}
		return err
	case msgp.Array16, msgp.Array32:
		items, err = r.n(2 << (c - msgp.Array16))
	case msgp.Map16, msgp.Map32:
		items, err = r.n(2 << (c - msgp.Map16))
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
