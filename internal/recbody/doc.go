// Package recbody is the body format of the workflow store's records
// (package idb): workflows, nodes and edges as msgpack maps with short,
// stable keys, written and read field by field by a small msgpack writer
// and reader (msgp.go) on byte slices, with the strings of a bulk read cut
// from one shared copy. The bytes are those github.com/vmihailenco/msgpack
// writes for the same fields, and the tests check that against the
// package; msgp.go says why the hand-written path is kept (it is two to
// four times faster in the browser) and what was measured.
package recbody
