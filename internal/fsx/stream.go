//go:build js && wasm

package fsx

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/jsbridge"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// # Streaming
//
// WebCrypto's SHA-256 digests only a whole buffer, so content that should
// not be held whole (over DigestLimit) is hashed with a SHA-256 that takes
// its input in pieces: the bridge's copy of hash-wasm (internal/jsbridge),
// a SHA-256 written in C and compiled to WebAssembly. Measured in a
// dedicated worker in headless Chromium on shared 2-core VMs (64 MiB,
// hashed in 4 MiB pieces, warm), on two machines of different days:
//
//	                                 first VM       AMD EPYC VM (2026-12-08)
//	WebCrypto digest, whole buffer   560-690 MB/s   172-220 MB/s
//	hash-wasm SHA-256, streaming     200-235 MB/s   310-346 MB/s
//	crypto/sha256 compiled to wasm   70-98 MB/s
//	hash-wasm CRC-32                 1.4-1.6 GB/s
//
// hash-wasm's own benchmark reports 426 MB/s for its SHA-256 on a desktop
// CPU. Which of the two is faster depends on the machine. HashBlob keeps
// WebCrypto up to DigestLimit; SyncHandle.CopyBlob, which writes what it
// reads, always streams, so that the hash keeps pace with the copy instead
// of starting once the last byte is in. Chromium computes a WebCrypto
// digest on the calling thread, before digest returns its promise, so the
// bridge hashes in a worker of its own (the digest worker, started from
// the bridge file) where it can: beside the page, or beside the writes of
// SyncHandle.CopyBlob.

// The bridge's options for the sum functions: piece bytes per progress
// report of streamed content (the CRC-32 reads slices of that size, depth
// ahead), and CopyBlob lets the digest worker fall at most piece * depth
// bytes behind its writes. CopyBlob and content hashed whole use crcPiece
// (8 MiB), streamed content over DigestLimit 4 MiB.
const (
	streamPiece = 4 << 20
	streamDepth = 2
)

// streamInGo forces the Go SHA-256 where the bridge's would be used; tests
// set it.
var streamInGo = false

// sumJS is the bridge's streaming hash.
var sumJS = sync.OnceValues(func() (js.Value, error) {
	b, err := jsbridge.Get()
	if err != nil {
		return js.Value{}, err
	}
	var f js.Value
	err = jsutil.Try(func() { f = b.Get("sum") })
	if err == nil && (f.Type() != js.TypeObject || f.Get("blob").Type() != js.TypeFunction || f.Get("copy").Type() != js.TypeFunction) {
		err = fmt.Errorf("fsx: the bridge has no streaming hash")
	}
	return f, err
})

// CopyBlob writes the Blob's content into the file from offset 0 and
// returns its Sum (the CRC-32 too if withCRC), reading the Blob once, as
// a stream, and hashing it meanwhile rather than reading the file back:
// each chunk, once written, is handed to the bridge's digest worker, whose
// streaming SHA-256 hashes while this thread reads and writes the next,
// or, where that worker cannot start, hashed on this thread. progress, if
// not nil, gets the bytes written, every crcPiece bytes or so and at the
// end. A cancelled ctx stops the copy at the next chunk with
// ctx.Err(); a failed write returns its error (atelier.ErrQuotaExceeded
// for a full quota). Either way the file may hold part of the content:
// the caller removes it.
//
// CopyBlob does not flush the handle: closing it leaves the bytes with
// the operating system, as closing a createWritable stream does (Chromium
// syncs neither to disk, as strace shows), while a flush, an fdatasync,
// took 110-130 ms per 64 MiB here.
func (h *SyncHandle) CopyBlob(ctx context.Context, b *Blob, withCRC bool, progress func(done int64)) (Sum, error) {
	f, err := sumJS()
	if err != nil {
		return Sum{}, err
	}
	s, err := streamSum(ctx, withCRC, progress, func(o js.Value) js.Value {
		o.Set("piece", crcPiece)
		return f.Call("copy", b.v, h.v, o)
	})
	if err != nil {
		return Sum{}, fmt.Errorf("fsx: write %q: %w", h.name, err)
	}
	return s, nil
}

// streamSum runs one of the bridge's sum functions: start calls it with
// the options object o = { piece, depth, crc, state, progress, whole },
// which it may adjust; ctx ending sets o.state.stop. streamSum converts the
// result; progress, if not nil, gets the number of bytes done after each
// slice.
func streamSum(ctx context.Context, withCRC bool, progress func(int64), start func(o js.Value) js.Value) (Sum, error) {
	if err := ctx.Err(); err != nil {
		return Sum{}, err
	}
	state := object("stop", false)
	stop := context.AfterFunc(ctx, func() {
		state.Set("stop", true)
		if on := state.Get("onstop"); on.Type() == js.TypeFunction {
			_ = jsutil.Try(func() { on.Invoke() })
		}
	})
	defer stop()
	o := object("piece", streamPiece, "depth", streamDepth, "crc", withCRC, "state", state, "whole", maxDigestBytes)
	if url := digestURL(); url != "" {
		o.Set("digest", url)
	}
	if progress != nil {
		fn, wait := reportFrom(progress)
		defer wait()
		o.Set("progress", fn)
	}
	var p js.Value
	if err := jsutil.Try(func() { p = start(o) }); err != nil {
		return Sum{}, fmt.Errorf("fsx: hash: %w", err)
	}
	// Not Await(ctx, …): once ctx ends, the work stops at its next slice,
	// and only then may the file be closed and the progress function
	// released.
	v, err := jsutil.Await(context.Background(), p)
	if ctx.Err() != nil {
		return Sum{}, ctx.Err()
	}
	if err != nil {
		return Sum{}, err
	}
	var h [sha256.Size]byte
	if n := js.CopyBytesToGo(h[:], v.Get("hash")); n != len(h) {
		return Sum{}, fmt.Errorf("fsx: hash: %d bytes of SHA-256", n)
	}
	out := Sum{Hash: assetref.FormatHash(h)}
	if c := v.Get("crc"); withCRC && c.Type() == js.TypeNumber {
		out.CRC32, out.HasCRC = uint32(c.Float()), true
	}
	return out, nil
}

// reportFrom returns a JavaScript function that hands its argument, a
// number of bytes, to progress, and the function that releases it once
// the last number was handed on. progress runs on a goroutine of its own,
// as it may block (a JavaScript callback into Go must not), and skips
// numbers that arrive while it is busy: only the latest matters.
func reportFrom(progress func(int64)) (js.Func, func()) {
	latest := make(chan int64, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := range latest {
			progress(n)
		}
	}()
	fn := js.FuncOf(func(_ js.Value, args []js.Value) any {
		n := int64(arg0(args).Float())
		select {
		case <-latest: // not reported yet: replaced by n
		default:
		}
		latest <- n
		return nil
	})
	return fn, func() {
		fn.Release()
		close(latest)
		wg.Wait()
	}
}

// digestURL is the URL the bridge starts its digest worker from: where the
// page loaded the bridge file, so that a Content-Security-Policy needs only
// worker-src 'self'; where that is unknown, a blob: URL of the embedded
// copy (worker-src blob:), kept for the life of the module. Empty without
// Blob URLs, and when digestInThread is set (tests).
func digestURL() string {
	if digestInThread {
		return ""
	}
	return digestFrom()
}

var digestFrom = sync.OnceValue(func() string {
	if u := jsbridge.URL(); u != "" {
		return u
	}
	u, err := scriptURL(jsbridge.Source)
	if err != nil {
		return ""
	}
	return u
})

// digestInThread makes the bridge hash on the calling thread, as it does
// where the digest worker cannot start; tests set it.
var digestInThread = false
