package assetref

import (
	"mime"
	"testing"
)

// FuzzValidParams checks validParams against mime.ParseMediaType, which it
// stands in for, on ASCII (checkMIME refuses anything else before).
func FuzzValidParams(f *testing.F) {
	for _, s := range []string{
		"text/plain", "text/plain; charset=utf-8", "text/plain;charset=\"utf-8\"", "text/plain ; a=b ;",
		"text/plain; a=b; a=b", "text/plain; a=b; A=c", "text/plain; a=\"\"", "text/plain; a=", "text/plain; =b",
		"text/plain; a=\"x\\\"y\"", "text/plain; a=\"x\\yz\"", "text/plain; a=\"x", "text/plain x", "text/ plain",
		"text/plain;; a=b", "text/plain; a*=utf-8''%41; a*0=x; a*1*=%42", "text/plain;a=b c", "text/plain;\ta=b",
		"TEXT/Plain; A=B", "text/plain;", "text/plain; ;", "image/svg+xml; a=\"\r\"", "text", "/plain",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return
			}
		}
		_, _, err := mime.ParseMediaType(s)
		if got := validParams(s); got != (err == nil) {
			t.Fatalf("validParams(%q) = %v; mime.ParseMediaType: %v", s, got, err)
		}
	})
}
