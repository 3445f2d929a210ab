package assetref

import (
	"math"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// A Ref is written to the msgpack stream as bytes assembled here rather than
// through Encoder.EncodeString, and read back with ReadFull rather than
// Decoder.DecodeString. Besides being faster, this keeps a Ref's strings out
// of the string-interning dictionaries an Encoder and Decoder may keep
// (UseInternedStrings, WithDict): the encoder's and decoder's dictionaries
// stay in step because neither side ever sees a Ref's strings.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// putBuf returns a buffer to bufPool unless hostile input made it large.
func putBuf(bp *[]byte, b []byte) {
	if cap(b) > 16<<10 {
		return
	}
	*bp = b[:0]
	bufPool.Put(bp)
}

// EncodeMsgpack writes r as a msgpack map with the same keys, order and
// omissions as MarshalJSON; Bytes is an integer in its shortest form. It
// fails with a *RefError if r does not Validate, or with the writer's error.
func (r Ref) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := r.Validate(); err != nil {
		return err
	}
	bp := bufPool.Get().(*[]byte)
	b := r.appendMsgpack((*bp)[:0])
	_, err := enc.Writer().Write(b)
	putBuf(bp, b)
	return err
}

// AppendMsgpack appends the bytes EncodeMsgpack writes for r to b, for
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
	b = append(b, msgpcode.FixedMapLow|byte(n)) // at most 9 entries
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
		b = append(b, msgpcode.FixedStrLow|byte(n))
	case n <= math.MaxUint8:
		b = append(b, msgpcode.Str8, byte(n))
	default: // Validate limits every string to 8 KiB
		b = append(b, msgpcode.Str16, byte(n>>8), byte(n))
	}
	return append(b, s...)
}

// appendMsgpackUint writes n as Encoder.EncodeUint does.
func appendMsgpackUint(b []byte, n uint64) []byte {
	switch {
	case n <= uint64(msgpcode.PosFixedNumHigh):
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, msgpcode.Uint8, byte(n))
	case n <= math.MaxUint16:
		return append(b, msgpcode.Uint16, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, msgpcode.Uint32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, msgpcode.Uint64, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// maxSkipDepth bounds the nesting of unknown values DecodeMsgpack skips, so
// that hostile input cannot recurse without limit.
const maxSkipDepth = 32

// DecodeMsgpack reads a map written by EncodeMsgpack and validates the
// result. Unknown keys and their values are skipped, so records written by a
// newer version still load; a nil value for a known key is treated as
// absent, and a nil in place of the map leaves r unchanged (as a nil does
// for a Ref field decoded by the msgpack package itself).
//
// It fails with the decoder's error for truncated or malformed msgpack, and
// with a *RefError (matching atelier.ErrInvalidRef) for msgpack that is not
// a valid reference: not a map, a non-string key, a field of the wrong type,
// a string over its length limit (detected before it is read), unknown
// values nested more than 32 deep, or anything Validate rejects. On error r
// is unchanged and the stream position is unspecified.
func (r *Ref) DecodeMsgpack(dec *msgpack.Decoder) error {
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	if c == msgpcode.Nil {
		return dec.DecodeNil()
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return refErr("", "must be a msgpack map")
	}
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	bp := bufPool.Get().(*[]byte)
	st := decodeState{buf: (*bp)[:0]}
	defer func() { putBuf(bp, st.buf) }()
	for range n {
		if err := st.msgpackEntry(dec); err != nil {
			return err
		}
	}
	ref, err := st.ref()
	if err != nil {
		return err
	}
	*r = ref
	return nil
}

func (st *decodeState) msgpackEntry(dec *msgpack.Decoder) error {
	// Read the key into the tail of buf, then drop it again.
	start := len(st.buf)
	known, err := st.readMsgpackString(dec, 16, "")
	if err != nil {
		return err
	}
	f := -1
	if known {
		f = fieldIndex(st.buf[start:])
	}
	st.buf = st.buf[:start]
	if f < 0 {
		return st.skipMsgpack(dec, 0)
	}

	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	switch {
	case c == msgpcode.Nil:
		return dec.DecodeNil()
	case f == fBytes:
		return st.msgpackBytes(dec, c)
	case !msgpcode.IsString(c):
		return refErr(fieldNames[f], "must be a string")
	}
	if _, err := st.readMsgpackString(dec, maxFieldLen[f], fieldNames[f]); err != nil {
		return err
	}
	return st.setString(f, start)
}

// readMsgpackString appends the next value, which must be a string, to
// st.buf. If it is longer than limit, then for a key (field == "") it is
// consumed without being kept and ok is false, and for a field value it is
// left unread and a RefError returned.
func (st *decodeState) readMsgpackString(dec *msgpack.Decoder, limit int, field string) (ok bool, err error) {
	c, err := dec.PeekCode()
	if err != nil {
		return false, err
	}
	if !msgpcode.IsString(c) {
		return false, refErr("", "map keys must be strings")
	}
	n, err := dec.DecodeBytesLen()
	if err != nil {
		return false, err
	}
	if n > limit {
		// The length prefix is not trusted with an allocation.
		if field != "" {
			return false, refErr(field, "too long")
		}
		return false, st.discard(dec, n)
	}
	start := len(st.buf)
	st.buf = append(st.buf, make([]byte, n)...)
	return true, dec.ReadFull(st.buf[start:])
}

func (st *decodeState) msgpackBytes(dec *msgpack.Decoder, c byte) error {
	switch {
	case msgpcode.IsFixedNum(c), c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32,
		c == msgpcode.Int8, c == msgpcode.Int16, c == msgpcode.Int32, c == msgpcode.Int64:
		n, err := dec.DecodeInt64()
		if err != nil {
			return err
		}
		if n < 0 {
			return refErr(keyBytes, "must not be negative")
		}
		st.bytes = n
	case c == msgpcode.Uint64:
		n, err := dec.DecodeUint64()
		if err != nil {
			return err
		}
		if n > MaxBytes {
			return refErr(keyBytes, "larger than 2^53-1")
		}
		st.bytes = int64(n)
	default:
		return refErr(keyBytes, "must be an integer")
	}
	return nil
}

// skipMsgpack skips one value. It walks maps and arrays itself so that
// their depth is bounded (Decoder.Skip recurses without limit), and
// discards strings, binaries and extensions through a small window
// (Decoder.Skip allocates up to 1 MiB on the word of a length prefix).
func (st *decodeState) skipMsgpack(dec *msgpack.Decoder, depth int) error {
	if depth > maxSkipDepth {
		return refErr("", "unknown value nested too deeply")
	}
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	var n int
	switch {
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		m, err := dec.DecodeMapLen()
		if err != nil {
			return err
		}
		n = 2 * m
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		if n, err = dec.DecodeArrayLen(); err != nil {
			return err
		}
	case msgpcode.IsString(c), msgpcode.IsBin(c):
		m, err := dec.DecodeBytesLen()
		if err != nil {
			return err
		}
		return st.discard(dec, m)
	case msgpcode.IsExt(c):
		_, m, err := dec.DecodeExtHeader()
		if err != nil {
			return err
		}
		return st.discard(dec, m)
	default: // numbers, booleans and nil: a few bytes at most
		return dec.Skip()
	}
	for range n {
		if err := st.skipMsgpack(dec, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// discard consumes n bytes through the tail of st.buf, 256 at a time.
func (st *decodeState) discard(dec *msgpack.Decoder, n int) error {
	start := len(st.buf)
	defer func() { st.buf = st.buf[:start] }()
	for n > 0 {
		k := min(n, 256)
		st.buf = append(st.buf[:start], make([]byte, k)...)
		if err := dec.ReadFull(st.buf[start:]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
