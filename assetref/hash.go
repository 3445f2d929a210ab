package assetref

import (
	"crypto/sha256"
	"encoding/base64"
	"hash"
)

// hashPrefix names the only digest algorithm refs carry. SRI also knows
// sha384 and sha512; one algorithm keeps one asset to one hash string, which
// deduplication relies on.
const hashPrefix = "sha256-"

// hashLen is the length of a hash string: the prefix and 44 base64 characters.
const hashLen = len(hashPrefix) + 44

// HashBytes returns the hash string of b in the form Ref.Hash uses:
// "sha256-" followed by the standard base64 (with padding) of its SHA-256
// digest, as in Subresource Integrity. It never fails.
func HashBytes(b []byte) string {
	return FormatHash(sha256.Sum256(b))
}

// FormatHash returns the hash string of a SHA-256 digest computed elsewhere,
// for instance by the browser's SubtleCrypto. It never fails.
func FormatHash(sum [32]byte) string {
	var buf [hashLen]byte
	copy(buf[:], hashPrefix)
	base64.StdEncoding.Encode(buf[len(hashPrefix):], sum[:])
	return string(buf[:])
}

// ParseHash returns the digest in a hash string. It fails with a *RefError
// (matching atelier.ErrInvalidRef) unless s is exactly what FormatHash
// produces: the "sha256-" prefix and 44 characters of padded standard base64
// whose unused bits are zero. Being strict keeps one digest to one string.
func ParseHash(s string) ([32]byte, error) {
	sum, ok := parseHash(s)
	if !ok {
		return sum, refErr("hash", `must be "sha256-" and the padded standard base64 of a 32-byte digest`)
	}
	return sum, nil
}

var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// parseHash decodes by hand: base64.StdEncoding would need a []byte copy of
// s, and it skips embedded newlines, which would admit two spellings of one
// digest.
func parseHash(s string) (sum [32]byte, ok bool) {
	if len(s) != hashLen || s[:len(hashPrefix)] != hashPrefix || s[hashLen-1] != '=' {
		return sum, false
	}
	s = s[len(hashPrefix) : hashLen-1] // 43 characters: 10 groups of 4, then 3
	var bad byte
	for g := 0; g < 10; g++ {
		a, b, c, d := b64[s[4*g]], b64[s[4*g+1]], b64[s[4*g+2]], b64[s[4*g+3]]
		bad |= a | b | c | d
		sum[3*g] = a<<2 | b>>4
		sum[3*g+1] = b<<4 | c>>2
		sum[3*g+2] = c<<6 | d
	}
	a, b, c := b64[s[40]], b64[s[41]], b64[s[42]]
	bad |= a | b | c
	sum[30] = a<<2 | b>>4
	sum[31] = b<<4 | c>>2
	// 0xff marks an invalid character and has the top bits set, which no
	// valid 6-bit value has; the last character's two low bits are unused
	// and must be zero.
	if bad&0xc0 != 0 || c&3 != 0 {
		return [32]byte{}, false
	}
	return sum, true
}

// Hasher computes the hash string of a stream. Write the asset to it, then
// call Sum. The zero value is ready to use. Write never fails.
type Hasher struct {
	h hash.Hash
	n int64
}

// Write adds p to the hashed content. It always returns len(p), nil.
func (h *Hasher) Write(p []byte) (int, error) {
	if h.h == nil {
		h.h = sha256.New()
	}
	h.n += int64(len(p))
	return h.h.Write(p)
}

// Sum returns the hash string of everything written so far, in the form of
// HashBytes. It does not change the state: more can be written after it.
func (h *Hasher) Sum() string {
	if h.h == nil {
		h.h = sha256.New()
	}
	var sum [32]byte
	h.h.Sum(sum[:0])
	return FormatHash(sum)
}

// Size returns the number of bytes written so far.
func (h *Hasher) Size() int64 { return h.n }

// Reset forgets everything written, so the Hasher can hash another stream.
func (h *Hasher) Reset() {
	if h.h != nil {
		h.h.Reset()
	}
	h.n = 0
}
