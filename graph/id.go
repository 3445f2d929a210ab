package graph

import "github.com/atelierstore/atelier/internal/uuid7"

// NewID returns a new UUIDv7 in canonical form. UUIDv7 ids sort by creation
// time, so records keyed by them come back in creation order.
func NewID() string { return uuid7.New() }

// ValidID reports whether s is a UUID in canonical form: 36 characters,
// lower-case hex, hyphens at 8, 13, 18 and 23. Other spellings UUID parsers
// accept (upper case, braces, urn:uuid:) are rejected so that one entity
// has exactly one key.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
