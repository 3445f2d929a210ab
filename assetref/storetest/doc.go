// Package storetest is the conformance suite for assetref.Store
// implementations. Every store runs it: memstore on the host, the browser
// stores under GOOS=js GOARCH=wasm in a real browser.
//
// # Basics
//
// Call Run from a test with a function that returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) assetref.Store {
//			return memstore.New()
//		})
//	}
//
// The suite checks the whole contract documented on assetref.Store: round
// trips with byte-identical content and correct hash, size and MIME; empty
// and large (LargeSize, streamed in odd-sized chunks) assets;
// deduplication; hint ids; failing readers and cancelled contexts leaving
// nothing behind; not-found, stale-hash, wrong-kind and invalid refs; and
// concurrent Puts of the same and of different content.
//
// # Caveats
//
// Some guarantees cannot be seen through the Store interface alone. A store
// that also implements assetref.Lister gets the stronger checks (that a
// duplicate or failed Put stores nothing, and a consistency check of every
// listed asset after each subtest); implement it if you can.
//
// The suite uses no file system and only small goroutine fan-outs, so it
// runs in the browser; the largest asset is LargeSize bytes, held in memory
// once by the suite.
package storetest
