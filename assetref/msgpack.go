package assetref

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// A Ref's msgpack form is written and read here, byte by byte, without a
// msgpack library: the one this package used (vmihailenco/msgpack) put
// 565 KB of code, 86 KB brotli-compressed, into the browser's module for
// this one map. MarshalMsgpack and UnmarshalMsgpack are the Marshaler and
// Unmarshaler interfaces of that library and others, so a struct holding a
// Ref still encodes with them, as the same bytes.

// The msgpack type codes used here (the msgpack specification's names).
const (
	mpPosFixintMax = 0x7f
	mpFixmap       = 0x80 // to 0x8f
	mpFixarray     = 0x90 // to 0x9f
	mpFixstr       = 0xa0 // to 0xbf
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
	mpFixext1      = 0xd4 // to 0xd8: fixext 1, 2, 4, 8, 16
	mpFixext16     = 0xd8
	mpStr8         = 0xd9
	mpStr16        = 0xda
	mpStr32        = 0xdb
	mpArray16      = 0xdc
	mpArray32      = 0xdd
	mpMap16        = 0xde
	mpMap32        = 0xdf
	mpNegFixintMin = 0xe0
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// putBuf returns a buffer to bufPool unless hostile input made it large.
func putBuf(bp *[]byte, b []byte) {
	if cap(b) > 16<<10 {
		return
	}
	*bp = b[:0]
	bufPool.Put(bp)
}

// MarshalMsgpack returns r as a msgpack map with the same keys, order and
// omissions as MarshalJSON; Bytes is an integer in its shortest form. It
// fails with a *RefError if r does not Validate.
func (r Ref) MarshalMsgpack() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r.appendMsgpack(nil), nil
}

// AppendMsgpack appends the bytes MarshalMsgpack returns for r to b, for
// encoders that assemble msgpack themselves. It fails with a *RefError if r
// does not Validate, leaving b as it was.
func (r Ref) AppendMsgpack(b []byte) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return b, err
	}
	return r.appendMsgpack(b), nil
}

func (r *Ref) appendMsgpack(b []byte) []byte {
	n := 0
	for f := range numStringFields {
		if r.stringField(f) != "" {
			n++
		}
	}
	if r.Bytes != 0 {
		n++
	}
	b = append(b, mpFixmap|byte(n)) // at most 9 entries
	for f := range numStringFields {
		if f == fHash && r.Bytes != 0 {
			b = appendMsgpackString(b, keyBytes)
			b = appendMsgpackUint(b, uint64(r.Bytes))
		}
		if v := r.stringField(f); v != "" {
			b = appendMsgpackString(b, fieldNames[f])
			b = appendMsgpackString(b, v)
		}
	}
	return b
}

func appendMsgpackString(b []byte, s string) []byte {
	switch n := len(s); {
	case n <= 31:
		b = append(b, mpFixstr|byte(n))
	case n <= math.MaxUint8:
		b = append(b, mpStr8, byte(n))
	default: // Validate limits every string to 8 KiB
		b = append(b, mpStr16, byte(n>>8), byte(n))
	}
	return append(b, s...)
}

// appendMsgpackUint writes n in its shortest unsigned form.
func appendMsgpackUint(b []byte, n uint64) []byte {
	switch {
	case n <= uint64(mpPosFixintMax):
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, mpUint8, byte(n))
	case n <= math.MaxUint16:
		return append(b, mpUint16, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, mpUint32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, mpUint64, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// maxSkipDepth bounds the nesting of unknown values UnmarshalMsgpack skips,
// so that hostile input cannot recurse without limit.
const maxSkipDepth = 32

// ErrMsgpackTrailing is returned by UnmarshalMsgpack for bytes after the
// reference's map.
var ErrMsgpackTrailing = errors.New("assetref: bytes after the msgpack value")

// UnmarshalMsgpack reads a map written by MarshalMsgpack, which must be all
// of b, and validates the result. Unknown keys and their values are
// skipped, so records written by a newer version still load; a nil value
// for a known key is treated as absent, and a nil in place of the map
// leaves r unchanged.
//
// It fails with io.ErrUnexpectedEOF (io.EOF for empty input) for truncated
// msgpack, with an error naming the code for a byte that starts no msgpack
// value, with ErrMsgpackTrailing for bytes after the map, and with a
// *RefError (matching atelier.ErrInvalidRef) for msgpack that is not a
// valid reference: not a map, a non-string key, a field of the wrong type,
// a string over its length limit, unknown values nested more than 32 deep,
// or anything Validate rejects. On error r is unchanged.
func (r *Ref) UnmarshalMsgpack(b []byte) error {
	d := mpDecoder{b: b}
	c, err := d.peek()
	if err != nil {
		if len(b) == 0 {
			return io.EOF
		}
		return err
	}
	if c == mpNil {
		d.off++
		return d.end()
	}
	n, isMap, err := d.mapLen()
	if err != nil {
		return err
	}
	if !isMap {
		return refErr("", "must be a msgpack map")
	}
	bp := bufPool.Get().(*[]byte)
	st := decodeState{buf: (*bp)[:0]}
	defer func() { putBuf(bp, st.buf) }()
	for range n {
		if err := st.msgpackEntry(&d); err != nil {
			return err
		}
	}
	if err := d.end(); err != nil {
		return err
	}
	ref, err := st.ref()
	if err != nil {
		return err
	}
	*r = ref
	return nil
}

func (st *decodeState) msgpackEntry(d *mpDecoder) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if !isMpString(c) {
		return refErr("", "map keys must be strings")
	}
	key, err := d.bytes()
	if err != nil {
		return err
	}
	f := -1
	if len(key) <= 16 {
		f = fieldIndex(key)
	}
	if f < 0 {
		return d.skip(0)
	}

	if c, err = d.peek(); err != nil {
		return err
	}
	switch {
	case c == mpNil:
		d.off++
		return nil
	case f == fBytes:
		return st.msgpackBytes(d, c)
	case !isMpString(c):
		return refErr(fieldNames[f], "must be a string")
	}
	n, err := d.strLen()
	if err != nil {
		return err
	}
	if n > uint64(maxFieldLen[f]) { // before the length is trusted
		return refErr(fieldNames[f], "too long")
	}
	v, err := d.take(n)
	if err != nil {
		return err
	}
	start := len(st.buf)
	st.buf = append(st.buf, v...)
	return st.setString(f, start)
}

func (st *decodeState) msgpackBytes(d *mpDecoder, c byte) error {
	if c > mpPosFixintMax && c < mpNegFixintMin && (c < mpUint8 || c > mpInt64) {
		return refErr(keyBytes, "must be an integer")
	}
	v, err := d.integer()
	if err != nil {
		return err
	}
	switch {
	case c == mpUint64 && v > MaxBytes:
		return refErr(keyBytes, "larger than 2^53-1")
	case c != mpUint64 && int64(v) < 0:
		return refErr(keyBytes, "must not be negative")
	}
	st.bytes = int64(v)
	return nil
}

func isMpString(c byte) bool {
	return c&0xe0 == mpFixstr || c == mpStr8 || c == mpStr16 || c == mpStr32
}

// mpDecoder reads msgpack values from b.
type mpDecoder struct {
	b   []byte
	off int
}

func (d *mpDecoder) peek() (byte, error) {
	if d.off >= len(d.b) {
		return 0, io.ErrUnexpectedEOF
	}
	return d.b[d.off], nil
}

// take consumes n bytes; a length prefix larger than what is left is
// truncated input, and allocates nothing.
func (d *mpDecoder) take(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.off) {
		return nil, io.ErrUnexpectedEOF
	}
	s := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return s, nil
}

// uint reads a size-byte big-endian unsigned integer.
func (d *mpDecoder) uint(size int) (uint64, error) {
	s, err := d.take(uint64(size))
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, b := range s {
		v = v<<8 | uint64(b)
	}
	return v, nil
}

// integer consumes an integer of any width: unsigned ones as they are,
// signed ones sign-extended to 64 bits.
func (d *mpDecoder) integer() (uint64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	d.off++
	switch {
	case c <= mpPosFixintMax:
		return uint64(c), nil
	case c >= mpNegFixintMin:
		return uint64(int64(int8(c))), nil
	case c == mpUint8:
		return d.uint(1)
	case c == mpUint16:
		return d.uint(2)
	case c == mpUint32:
		return d.uint(4)
	case c == mpUint64, c == mpInt64:
		return d.uint(8)
	case c == mpInt8:
		v, err := d.uint(1)
		return uint64(int64(int8(v))), err
	case c == mpInt16:
		v, err := d.uint(2)
		return uint64(int64(int16(v))), err
	case c == mpInt32:
		v, err := d.uint(4)
		return uint64(int64(int32(v))), err
	}
	d.off--
	return 0, fmt.Errorf("assetref: msgpack code %#x is not an integer", c)
}

// mapLen consumes a map header; isMap is false, and nothing consumed, when
// the next value is not a map.
func (d *mpDecoder) mapLen() (n int, isMap bool, err error) {
	c, err := d.peek()
	if err != nil {
		return 0, false, err
	}
	var v uint64
	switch {
	case c&0xf0 == mpFixmap:
		d.off++
		return int(c & 0x0f), true, nil
	case c == mpMap16:
		d.off++
		v, err = d.uint(2)
	case c == mpMap32:
		d.off++
		v, err = d.uint(4)
	default:
		return 0, false, nil
	}
	return int(v), true, err
}

// strLen consumes a string's header and returns its length.
func (d *mpDecoder) strLen() (uint64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	d.off++
	switch {
	case c&0xe0 == mpFixstr:
		return uint64(c & 0x1f), nil
	case c == mpStr8:
		return d.uint(1)
	case c == mpStr16:
		return d.uint(2)
	case c == mpStr32:
		return d.uint(4)
	}
	d.off--
	return 0, fmt.Errorf("assetref: msgpack code %#x is not a string", c)
}

// bytes consumes a string and returns its bytes (a view of b).
func (d *mpDecoder) bytes() ([]byte, error) {
	n, err := d.strLen()
	if err != nil {
		return nil, err
	}
	return d.take(n)
}

// skip consumes one value, walking maps and arrays to a bounded depth.
func (d *mpDecoder) skip(depth int) error {
	if depth > maxSkipDepth {
		return refErr("", "unknown value nested too deeply")
	}
	c, err := d.peek()
	if err != nil {
		return err
	}
	d.off++
	var items, size uint64 // values inside a map or array; payload bytes
	switch {
	case c <= mpPosFixintMax, c >= mpNegFixintMin, c == mpNil, c == mpFalse, c == mpTrue:
	case c&0xf0 == mpFixmap:
		items = 2 * uint64(c&0x0f)
	case c&0xf0 == mpFixarray:
		items = uint64(c & 0x0f)
	case c&0xe0 == mpFixstr:
		size = uint64(c & 0x1f)
	case c == mpMap16:
		items, err = d.uint(2)
		items *= 2
	case c == mpMap32:
		items, err = d.uint(4)
		items *= 2
	case c == mpArray16:
		items, err = d.uint(2)
	case c == mpArray32:
		items, err = d.uint(4)
	case c == mpStr8, c == mpBin8:
		size, err = d.uint(1)
	case c == mpStr16, c == mpBin16:
		size, err = d.uint(2)
	case c == mpStr32, c == mpBin32:
		size, err = d.uint(4)
	case c >= mpFixext1 && c <= mpFixext16:
		size = 1 + 1<<(c-mpFixext1) // the type byte, then 1 to 16 bytes
	case c == mpExt8:
		size, err = d.uint(1)
		size++ // the type byte
	case c == mpExt16:
		size, err = d.uint(2)
		size++
	case c == mpExt32:
		size, err = d.uint(4)
		size++
	case c == mpUint8, c == mpInt8:
		size = 1
	case c == mpUint16, c == mpInt16:
		size = 2
	case c == mpUint32, c == mpInt32, c == mpFloat32:
		size = 4
	case c == mpUint64, c == mpInt64, c == mpFloat64:
		size = 8
	default: // 0xc1, which msgpack never uses
		return fmt.Errorf("assetref: invalid msgpack code %#x", c)
	}
	if err != nil {
		return err
	}
	if _, err := d.take(size); err != nil {
		return err
	}
	for range items {
		if err := d.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// end reports ErrMsgpackTrailing if bytes are left.
func (d *mpDecoder) end() error {
	if d.off != len(d.b) {
		return ErrMsgpackTrailing
	}
	return nil
}
