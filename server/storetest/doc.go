// Package storetest is the conformance suite of server.Store
// implementations: every test drives a real server.Server over HTTP (with
// a dirblob.Store for the bytes), so it checks the sync rules end to end
// on the Store under test.
//
// # Basics
//
// An implementation's tests call Run with a NewDB that creates an empty
// database for one test:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB) storetest.Opener {
//			path := filepath.Join(tb.TempDir(), "sync.db")
//			return func(tb testing.TB) server.Store {
//				s, err := sqlite.Open(path)
//				if err != nil {
//					tb.Fatal(err)
//				}
//				return s
//			}
//		})
//	}
//
// Every call of the Opener opens the same database, so the suite can close
// and reopen it (a restart) or hold two at once (two server processes).
// Bench runs the benchmarks the same way.
//
// The garbage collection tests (server.GC: grace, references, pushes and
// upload grants racing a collection, shared bytes, dry runs, concurrent
// collections, ack compaction and Resync) run as part of Run with a
// dirblob.Store; RunGC runs them with another BlobStore (s3blob's tests
// do, on a real S3 server).
//
// A store that is a server.Announcer is checked as one too: two servers on
// two handles of its database, with no watch poll to fall back on, must
// wake each other's watches. For other stores those tests skip.
// Announcements records what an Announcer tells its handler, for an
// implementation's own tests (of its reconnection, say).
//
// # Caveats
//
// Subtests run in parallel, each on its own database. The concurrency
// tests push from many goroutines; on a slow machine with the race
// detector they take a few seconds.
package storetest
