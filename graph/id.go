package graph

import "github.com/google/uuid"

// NewID returns a new UUIDv7 in canonical form. UUIDv7 ids sort by creation
// time, so records keyed by them come back in creation order.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does; there is
		// nothing sensible to continue with.
		panic("graph: generating a UUIDv7: " + err.Error())
	}
	return id.String()
}

// ValidID reports whether s is a UUID in canonical form: 36 characters,
// lower-case hex, hyphens at 8, 13, 18 and 23. Other spellings uuid.Parse
// accepts (upper case, braces, urn:uuid:) are rejected so that one entity
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
