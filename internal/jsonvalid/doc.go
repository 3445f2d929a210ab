// Package jsonvalid checks that bytes are one JSON value, exactly as
// encoding/json.Valid does but several times faster. graph validates node
// configs and workflow metadata with it, and internal/jsoncodec checks its
// input with it before decoding.
package jsonvalid
