package idb

import "fmt"

// CorruptError reports a stored record that cannot be decoded.
type CorruptError struct {
	Store string
	Key   string
	Err   error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt %s record %q: %v", e.Store, e.Key, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }
