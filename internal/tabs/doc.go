// Package tabs is the browser plumbing that lets tabs of one origin talk:
// a message bus (BroadcastChannel, or the storage event where that is
// missing) and leader election with Web Locks.
package tabs
