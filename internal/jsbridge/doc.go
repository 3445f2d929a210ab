// Package jsbridge hands the library the JavaScript helpers it calls into
// (bulk record moves and revision guards for idb, transaction plumbing for
// idbx, the CRC-32 and the OPFS helper worker for fsx) without compiling
// JavaScript at run time: neither eval nor the Function constructor. A page served with a
// strict Content-Security-Policy, script-src 'self' 'wasm-unsafe-eval',
// can therefore use the module.
//
// # Basics
//
// The helpers live in one file, bridge.js, embedded here and copied by
// `make build` to build/atelier-bridge.js, next to wasm_exec.js. It is valid
// both as a classic script and as an ES module, and all it does is assign
// globalThis.__atelierBridge. Get returns that object: the one the page
// loaded (atelier.mjs loads the file before it starts the module), or else
// the embedded copy, run as an inline <script> in a window or with
// importScripts of a blob: URL in a classic worker. Both of those are
// forbidden by a strict policy, which is why the page should load the file.
//
// # Caveats
//
// Under a policy that blocks inline scripts, and in a module worker (which
// has no importScripts), the file must be loaded before the module starts;
// otherwise Get fails with an *Error matching errs.ErrUnsupported, and
// opening a database fails with it. The loaded file must be the one built
// with the module: a bridge of another version is refused the same way.
//
// The OPFS helper worker runs bridge.js itself (a worker named
// "atelier-fsx-helper" installs its handler), started from the URL the file
// was loaded from, so a policy needs only worker-src 'self'. When that URL
// is unknown (the embedded copy was used, or the file was imported as a
// module), the worker starts from a blob: URL, which needs worker-src blob:;
// where that is refused too, fsx writes from the main thread instead.
package jsbridge
