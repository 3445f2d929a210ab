package jsoncodec

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/jsonvalid"
	"github.com/mailru/easyjson/jlexer"
)

// errGiveUp stops the generated code where its result could differ from
// encoding/json's; it never leaves the package.
var errGiveUp = errors.New("jsoncodec: not sure to agree with encoding/json")

// Unmarshal decodes data into v, which must point to a zero
// []graph.Node, []graph.Edge or graph.Graph (what the JavaScript API
// decodes in bulk), and reports whether it did. When it reports true, v
// holds exactly what json.Unmarshal(data, v) would have stored, and
// json.Unmarshal would have returned nil. When it reports false, v is
// unchanged and the caller decodes with encoding/json, which also gives
// the error for bad input.
func Unmarshal(data []byte, v any) bool {
	switch v := v.(type) {
	case *[]graph.Node:
		return v != nil && *v == nil && decode(data, v, decodeNodes)
	case *[]graph.Edge:
		return v != nil && *v == nil && decode(data, v, decodeEdges)
	case *graph.Graph:
		return v != nil && reflect.ValueOf(v).Elem().IsZero() && decode(data, v, decodeGraph)
	}
	return false
}

// decode runs fn on data into a fresh value and stores it in v if it
// succeeded.
func decode[T any](data []byte, v *T, fn func(*jlexer.Lexer, *T)) bool {
	// encoding/json turns invalid UTF-8 in strings into U+FFFD where jlexer
	// keeps it; text from JavaScript is always valid. jlexer checks the
	// grammar only where it reads; encoding/json checks all of it first.
	if !utf8.Valid(data) || !jsonvalid.Valid(data) {
		return false
	}
	in := jlexer.Lexer{Data: data}
	var out T
	fn(&in, &out)
	if in.Error() != nil {
		return false
	}
	*v = out
	return true
}

// Marshal encodes v, a []graph.Node, []graph.Edge, []graph.Workflow,
// graph.Graph, graph.Node, graph.Edge or graph.Workflow, and reports
// whether it did. When it reports true, the bytes are exactly what
// json.Marshal(v) returns, and json.Marshal would have returned no error.
// When it reports false (another type, a value json.Marshal rejects or
// that the fast path is not sure of), the caller uses json.Marshal.
func Marshal(v any) ([]byte, bool) {
	var w writer
	switch v := v.(type) {
	case []graph.Node:
		w.Buf = make([]byte, 0, 512*len(v))
		encodeNodes(&w, v)
	case []graph.Edge:
		w.Buf = make([]byte, 0, 256*len(v))
		encodeEdges(&w, v)
	case []graph.Workflow:
		encodeWorkflows(&w, v)
	case graph.Graph:
		w.Buf = make([]byte, 0, 512+512*len(v.Nodes)+256*len(v.Edges))
		encodeGraph(&w, v)
	case graph.Node:
		encodeNode(&w, v)
	case graph.Edge:
		encodeEdge(&w, v)
	case graph.Workflow:
		encodeWorkflow(&w, v)
	default:
		return nil, false
	}
	if w.Error != nil {
		return nil, false
	}
	return w.Buf, true
}

// writer is what the generated encoders write to in place of
// jwriter.Writer, whose buffer package imports net (about 40 KB of the
// gzipped module) for a method nothing here calls. It has the fields and
// methods of jwriter.Writer that the encoders use, with their meaning.
type writer struct {
	Buf   []byte
	Error error // the first error; the caller gives up
	Flags int   // never set: nil slices are null, as in encoding/json
}

const nilSliceAsEmpty = 1

func (w *writer) RawByte(c byte)     { w.Buf = append(w.Buf, c) }
func (w *writer) RawString(s string) { w.Buf = append(w.Buf, s...) }
func (w *writer) Int64(n int64)      { w.Buf = strconv.AppendInt(w.Buf, n, 10) }

// giveUp records errGiveUp unless an error came first.
func (w *writer) giveUp() {
	if w.Error == nil {
		w.Error = errGiveUp
	}
}

// The functions below are what the rewritten generated code calls.

// once marks a key as seen and gives up on a repeated one: encoding/json
// takes the last value for most fields but merges a repeated array into
// the elements the first one decoded, and jlexer would not.
func once(in *jlexer.Lexer, seen *uint32, bit uint32) {
	if *seen&bit != 0 {
		in.AddError(errGiveUp)
	}
	*seen |= bit
}

// skipUnknown skips the value of a key that no field has, and gives up if
// encoding/json would match the key to one of keys case-insensitively
// ("ID" for "id"; also "K" for "k", Kelvin sign, as bytes.EqualFold
// folds). A key that equals one with '-' and '_' removed gives up too:
// encoding/json v2's case-insensitive matching ignores them, should v1
// ever adopt that.
func skipUnknown(in *jlexer.Lexer, key string, keys []string) {
	loose := key
	if strings.ContainsAny(key, "-_") {
		loose = strings.NewReplacer("-", "", "_", "").Replace(key)
	}
	for _, k := range keys {
		if strings.EqualFold(key, k) || strings.EqualFold(loose, k) {
			in.AddError(errGiveUp)
			return
		}
	}
	skipValue(in)
}

// nullGivesUp replaces in.IsNull in the decoders of graph's coordinate
// types, whose UnmarshalJSON rejects null: as an object, or as a value.
func nullGivesUp(in *jlexer.Lexer) bool {
	if in.IsNull() {
		in.AddError(errGiveUp)
		return true
	}
	return false
}

// needAll gives up unless every key of a coordinate type was there: their
// UnmarshalJSON rejects a missing one.
func needAll(in *jlexer.Lexer, seen, all uint32) {
	if seen != all {
		in.AddError(errGiveUp)
	}
}

// decodeRaw decodes a json.RawMessage as its UnmarshalJSON does: a copy of
// the value's bytes, and "null" for null (which easyjson would skip).
func decodeRaw(in *jlexer.Lexer, out *json.RawMessage) {
	data := skipValue(in)
	if in.Ok() {
		*out = append((*out)[:0], data...)
	}
}

// skipValue skips the next value and returns its bytes, as in.Raw does
// but without the json.Valid that in.Raw (in.SkipRecursive) runs on every
// object and array it skips, a fifth of the decoding time: decode checked
// all of the input first.
func skipValue(in *jlexer.Lexer) []byte {
	in.IsNull() // fetches the next token
	if !in.Ok() {
		return nil
	}
	pos := in.GetPos() // just past the token
	if c := in.Data[pos-1]; c != '{' && c != '[' {
		return in.Raw() // a string, number or literal: Raw only consumes it
	}
	end := endOfContainer(in.Data, pos)
	raw := in.Data[pos-1 : end]
	// The lexer has no way to move on by itself: continue with one that
	// reads what follows. Its state is what a lexer has just after a value
	// (no token, no separator wanted: the generated code calls WantComma
	// next), and that is never the start of a decoder's object, so its
	// position 0 is not mistaken for the top level (IsStart).
	*in = jlexer.Lexer{Data: in.Data[end:]}
	return raw
}

// endOfContainer returns the index just past the object or array whose
// opening bracket is at data[i-1], in valid JSON.
func endOfContainer(data []byte, i int) int {
	depth := 1
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(data)
}

// writeString writes s quoted as encoding/json does: with <, > and &
// escaped (json.Marshal's HTML escaping), \b and \f short, U+2028 and
// U+2029 escaped, and invalid UTF-8 as \ufffd. (jwriter writes \b and \f
// as \u0008 and \u000c.)
func writeString(out *writer, s string) {
	b := append(out.Buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	out.Buf = append(b, '"')
}

const hex = "0123456789abcdef"

// htmlSafe is encoding/json's htmlSafeSet: the ASCII bytes a string holds
// unescaped.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// writeFloat writes f as encoding/json does (like JavaScript's
// Number.prototype.toString: exponent form below 1e-6 and from 1e21 on,
// without a padded exponent); jwriter uses %g. NaN and infinities, which
// encoding/json rejects, give up.
func writeFloat(out *writer, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		out.giveUp()
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(out.Buf, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	out.Buf = b
}

// writeMarshaled writes what a MarshalJSON method returned as
// encoding/json does: compacted, with <, >, &, U+2028 and U+2029 escaped
// (they can only be in strings). Invalid output, which encoding/json
// rejects, and an error give up.
func writeMarshaled(out *writer, m []byte, err error) {
	if err != nil || !jsonvalid.Valid(m) {
		out.giveUp()
		return
	}
	b := out.Buf
	start := 0
	for i := 0; i < len(m); i++ {
		switch m[i] {
		case ' ', '\t', '\n', '\r':
			b = append(b, m[start:i]...)
			start = i + 1
		case '"':
			// A string: copy up to what encoding/json escapes.
			for i++; i < len(m) && m[i] != '"'; i++ {
				if !compactSpecial[m[i]] {
					continue
				}
				var esc string
				switch c := m[i]; {
				case c == '\\':
					i++ // the escaped byte is ASCII and none of these
					continue
				case c == '<':
					esc = `\u003c`
				case c == '>':
					esc = `\u003e`
				case c == '&':
					esc = `\u0026`
				case i+2 < len(m) && m[i+1] == 0x80 && m[i+2] == 0xa8:
					esc = `\u2028`
				case i+2 < len(m) && m[i+1] == 0x80 && m[i+2] == 0xa9:
					esc = `\u2029`
				default: // another character starting with 0xe2
					continue
				}
				b = append(b, m[start:i]...)
				b = append(b, esc...)
				if c := m[i]; c == 0xe2 {
					i += 2
				}
				start = i + 1
			}
		}
	}
	out.Buf = append(b, m[start:]...)
}

// compactSpecial marks the bytes writeMarshaled looks at in a string: the
// end of an escape's backslash, what encoding/json escapes, and the first
// byte of U+2028 and U+2029.
var compactSpecial = [256]bool{'\\': true, '<': true, '>': true, '&': true, 0xe2: true}
