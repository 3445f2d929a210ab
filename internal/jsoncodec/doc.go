// Package jsoncodec decodes and encodes the graph types that cross the
// JavaScript API in bulk (setNodes, putNodes, setEdges, putEdges and
// putGraph arguments; node, edge and workflow lists and whole graphs as
// results) several times faster than encoding/json in the browser, with
// exactly encoding/json's result: where it cannot be sure of that, it
// gives up and the caller uses encoding/json.
//
// # Why
//
// In wasm, encoding/json's reflection is slow: decoding 10k realistic
// nodes (about 450 bytes of JSON each, bench/jsbench.mjs's shape) took a
// quarter to half a second of the page's (or worker's) time. Measured in
// headless Chromium 156 on the 2-core machine, Go 1.26, in one run of
// BenchmarkDecodeNodes10k and BenchmarkEncodeNodes10k in the browser
// (go test -bench . -benchtime 10x -count 5 with wasmbrowsertest), median
// and range of 5:
//
//	10k nodes           encoding/json        jsoncodec
//	decode (setNodes)   379 ms (290-568)     68 ms (55-167)
//	encode (results)     60 ms (59-62)       29 ms (28-30)
//
// The machine was shared and busy, and the figures moved from run to run
// (over six runs: decoding 255-1184 ms against 55-167 ms, encoding 59-131
// ms against 28-51 ms); within a run the ratio held at 4x or more for
// decoding and about 2x for encoding. The gzipped
// module grows by 51.8 KB (make size: 2,193,988 to 2,245,767 bytes):
// jlexer, the generated code and the checks that keep it exact.
//
// # How
//
// graph_easyjson.go is the code easyjson (github.com/mailru/easyjson,
// v0.9.2) generates for the graph types, rewritten by ./gen (go generate):
// easyjson is fast but differs from encoding/json in ways an app could
// notice: it ignores keys that differ in case ("ID"), decodes a repeated
// key's array afresh where encoding/json merges it into the elements
// already decoded, takes null and missing coordinates as 0, skips a null
// json.RawMessage, and writes "\b" as \u0008 and floats with %g. The rewritten code
// gives up where encoding/json's result would differ; codec.go has the
// functions it calls. Only easyjson's lexer (jlexer) is used: its root
// package imports net/http and its writer imports net.
//
// Unmarshal first checks the whole input with internal/jsonvalid (the
// lexer checks only the tokens it reads) and that it is valid UTF-8 (the
// lexer keeps invalid bytes that encoding/json replaces); it then gives
// up on a repeated key, an unknown key that folds to a known one, and
// anything graph's UnmarshalJSON methods reject, and returns no errors:
// bad input is decoded again by encoding/json, whose error the caller
// reports as before. Marshal gives up on what json.Marshal rejects (NaN,
// an invalid json.RawMessage or asset ref) and otherwise writes its bytes.
//
// # Caveats
//
// The tests compare the two ways on a table of cases, on fuzzed input
// (FuzzDecode, FuzzEncode) and in Chromium, against the encoding/json of
// the Go that runs them; none of them depend on encoding/json's error
// texts, which its v2-based implementation (Go 1.27's jsonv2) may change.
// Should encoding/json's results change instead, the tests fail: the
// rewrites in ./gen follow its v1 behaviour. A change to graph's types
// needs go generate (TestGeneratedIsCurrent).
package jsoncodec
