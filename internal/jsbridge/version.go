package jsbridge

import (
	"strconv"
	"strings"
)

// versionMark precedes the version number in bridge.js.
const versionMark = "const VERSION = "

// sourceVersion returns the version that the bridge source src declares,
// and false when it declares none.
func sourceVersion(src string) (int, bool) {
	_, rest, ok := strings.Cut(src, versionMark)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, ";")
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(digits)
	return v, err == nil && v > 0
}
