package assetref

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/atelierstore/atelier/internal/msgp"
)

// A Ref's msgpack form is written and read here, byte by byte, without a
// msgpack library: the one this package used (vmihailenco/msgpack) put
// 565 KB of code, 86 KB brotli-compressed, into the browser's module for
// this one map. MarshalMsgpack and UnmarshalMsgpack are the Marshaler and
// Unmarshaler interfaces of that library and others, so a struct holding a
// Ref still encodes with them, as the same bytes.

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
	b = append(b, msgp.FixMap|byte(n)) // at most 9 entries
	for f := range numStringFields {
		if f == fHash && r.Bytes != 0 {
			b = msgp.AppendString(b, keyBytes)
			b = msgp.AppendUint(b, uint64(r.Bytes))
		}
		if v := r.stringField(f); v != "" {
			b = msgp.AppendString(b, fieldNames[f])
			b = msgp.AppendString(b, v)
		}
	}
	return b
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
	if c == msgp.Nil {
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
	case c == msgp.Nil:
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
	if c > msgp.PosFixIntMax && c < msgp.NegFixIntMin && (c < msgp.Uint8 || c > msgp.Int64) {
		return refErr(keyBytes, "must be an integer")
	}
	v, err := d.integer()
	if err != nil {
		return err
	}
	switch {
	case c == msgp.Uint64 && v > MaxBytes:
		return refErr(keyBytes, "larger than 2^53-1")
	case c != msgp.Uint64 && int64(v) < 0:
		return refErr(keyBytes, "must not be negative")
	}
	st.bytes = int64(v)
	return nil
}

func isMpString(c byte) bool {
	return c&0xe0 == msgp.FixStr || c == msgp.Str8 || c == msgp.Str16 || c == msgp.Str32
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
	case c <= msgp.PosFixIntMax:
		return uint64(c), nil
	case c >= msgp.NegFixIntMin:
		return uint64(int64(int8(c))), nil
	case c == msgp.Uint8:
		return d.uint(1)
	case c == msgp.Uint16:
		return d.uint(2)
	case c == msgp.Uint32:
		return d.uint(4)
	case c == msgp.Uint64, c == msgp.Int64:
		return d.uint(8)
	case c == msgp.Int8:
		v, err := d.uint(1)
		return uint64(int64(int8(v))), err
	case c == msgp.Int16:
		v, err := d.uint(2)
		return uint64(int64(int16(v))), err
	case c == msgp.Int32:
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
	case c&0xf0 == msgp.FixMap:
		d.off++
		return int(c & 0x0f), true, nil
	case c == msgp.Map16:
		d.off++
		v, err = d.uint(2)
	case c == msgp.Map32:
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
	case c&0xe0 == msgp.FixStr:
		return uint64(c & 0x1f), nil
	case c == msgp.Str8:
		return d.uint(1)
	case c == msgp.Str16:
		return d.uint(2)
	case c == msgp.Str32:
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
	case c <= msgp.PosFixIntMax, c >= msgp.NegFixIntMin, c == msgp.Nil, c == msgp.False, c == msgp.True:
	case c&0xf0 == msgp.FixMap:
		items = 2 * uint64(c&0x0f)
	case c&0xf0 == msgp.FixArray:
		items = uint64(c & 0x0f)
	case c&0xe0 == msgp.FixStr:
		size = uint64(c & 0x1f)
	case c == msgp.Map16:
		items, err = d.uint(2)
		items *= 2
	case c == msgp.Map32:
		items, err = d.uint(4)
		items *= 2
	case c == msgp.Array16:
		items, err = d.uint(2)
	case c == msgp.Array32:
		items, err = d.uint(4)
	case c == msgp.Str8, c == msgp.Bin8:
		size, err = d.uint(1)
	case c == msgp.Str16, c == msgp.Bin16:
		size, err = d.uint(2)
	case c == msgp.Str32, c == msgp.Bin32:
		size, err = d.uint(4)
	case c >= msgp.FixExt1 && c <= msgp.FixExt16:
		size = 1 + 1<<(c-msgp.FixExt1) // the type byte, then 1 to 16 bytes
	case c == msgp.Ext8:
		size, err = d.uint(1)
		size++ // the type byte
	case c == msgp.Ext16:
		size, err = d.uint(2)
		size++
	case c == msgp.Ext32:
		size, err = d.uint(4)
		size++
	case c == msgp.Uint8, c == msgp.Int8:
		size = 1
	case c == msgp.Uint16, c == msgp.Int16:
		size = 2
	case c == msgp.Uint32, c == msgp.Int32, c == msgp.Float32:
		size = 4
	case c == msgp.Uint64, c == msgp.Int64, c == msgp.Float64:
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
