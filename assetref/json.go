package assetref

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MarshalJSON encodes r as a JSON object with the keys kind, url, path,
// handleId, blobKey, id, mime, bytes and hash, in that order, leaving out
// empty strings and a zero Bytes. It fails with a *RefError if r does not
// Validate: what is written must be readable again.
func (r Ref) MarshalJSON() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r.appendJSON(make([]byte, 0, r.jsonSizeHint())), nil
}

func (r *Ref) jsonSizeHint() int {
	n := 2 + 32 // braces, and room for "bytes" and its value
	for f := range numStringFields {
		if v := r.stringField(f); v != "" {
			n += len(fieldNames[f]) + len(v) + 6
		}
	}
	return n
}

func (r *Ref) appendJSON(b []byte) []byte {
	b = append(b, '{')
	first := true
	key := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	for f := range numStringFields {
		if f == fHash && r.Bytes != 0 {
			key(keyBytes)
			b = strconv.AppendInt(b, r.Bytes, 10)
		}
		if v := r.stringField(f); v != "" {
			key(fieldNames[f])
			b = appendJSONString(b, v)
		}
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s, which is valid UTF-8 (Validate checked it).
// Like encoding/json it escapes U+2028 and U+2029, which are line breaks to
// some JavaScript parsers.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// UnmarshalJSON decodes a JSON object written by MarshalJSON and validates
// the result. Keys it does not know are ignored, so records written by a
// newer version still load; keys are matched exactly (unlike encoding/json's
// case-insensitive struct matching). A null field is treated as absent, and
// JSON null as a whole leaves r unchanged, following the encoding/json
// convention.
//
// It fails with a *json.SyntaxError for malformed JSON, and with a *RefError
// (matching atelier.ErrInvalidRef) for well-formed JSON that is not a valid
// reference: not an object, a field of the wrong JSON type, a non-integer
// bytes, or anything Validate rejects. On error r is unchanged.
func (r *Ref) UnmarshalJSON(data []byte) error {
	if !json.Valid(data) {
		// Let encoding/json produce the error, with its offset.
		var raw json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return err
		}
		return refErr("", "malformed JSON")
	}
	i := skipSpace(data, 0)
	if data[i] == 'n' {
		return nil
	}
	if data[i] != '{' {
		return refErr("", "must be a JSON object")
	}
	var scratch [256]byte
	st := decodeState{buf: scratch[:0]}
	var key [16]byte
	i++
	for {
		i = skipSpace(data, i)
		if data[i] == '}' {
			break
		}
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
		// Known keys are short; a longer one is unknown whatever it says.
		var k []byte
		k, i = appendJSONUnquoted(key[:0], data, i)
		f := -1
		if len(k) <= len(key) {
			f = fieldIndex(k)
		}
		i = skipSpace(data, i)
		i = skipSpace(data, i+1) // the colon
		var err error
		switch {
		case f < 0:
			i = skipJSONValue(data, i)
		case data[i] == 'n': // null: absent, as encoding/json treats it
			i += len("null")
		case f == fBytes:
			i, err = st.jsonBytes(data, i)
		case data[i] != '"':
			return refErr(fieldNames[f], "must be a string")
		default:
			start := len(st.buf)
			st.buf, i = appendJSONUnquoted(st.buf, data, i)
			err = st.setString(f, start)
		}
		if err != nil {
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

// jsonBytes parses the bytes value, an integer literal, at data[i].
func (st *decodeState) jsonBytes(data []byte, i int) (int, error) {
	j := skipJSONValue(data, i)
	lit := data[i:j]
	neg := false
	if len(lit) > 0 && lit[0] == '-' {
		neg, lit = true, lit[1:]
	}
	if len(lit) == 0 {
		return j, refErr(keyBytes, "must be an integer")
	}
	var n int64
	for _, c := range lit {
		if c < '0' || c > '9' {
			return j, refErr(keyBytes, "must be an integer")
		}
		if n > (MaxBytes-int64(c-'0'))/10 {
			if neg {
				return j, refErr(keyBytes, "must not be negative")
			}
			return j, refErr(keyBytes, "larger than 2^53-1")
		}
		n = n*10 + int64(c-'0')
	}
	if neg && n != 0 {
		return j, refErr(keyBytes, "must not be negative")
	}
	st.bytes = n
	return j, nil
}

// The helpers below run only on input json.Valid accepted, so they need not
// check the grammar; they still never index past the end.

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipJSONValue returns the index just past the value starting at data[i].
func skipJSONValue(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		switch data[i] {
		case '"':
			i = skipJSONString(data, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // the end of the enclosing value
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

func skipJSONString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// appendJSONUnquoted appends the string starting at data[i] (a quote) to
// dst, unescaped exactly as encoding/json does: invalid UTF-8 and unpaired
// surrogates become U+FFFD.
func appendJSONUnquoted(dst, data []byte, i int) ([]byte, int) {
	i++
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			return dst, i + 1
		case c == '\\' && i+1 < len(data):
			i++
			switch e := data[i]; e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := getu4(data, i-1)
				i += 4
				if utf16.IsSurrogate(r) {
					if dec := utf16.DecodeRune(r, getu4(data, i+1)); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, data[i:i+size]...)
			}
			i += size
		}
	}
	return dst, i
}

// getu4 decodes the \uXXXX escape at data[i:], or returns -1.
func getu4(data []byte, i int) rune {
	if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range data[i+2 : i+6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
