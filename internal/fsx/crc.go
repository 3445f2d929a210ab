//go:build js && wasm

package fsx

import (
	"context"
	"fmt"
	"hash/crc32"
	"sync"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// crcSource is the JavaScript CRC-32 of BlobCRC32: slicing by 16 over
// 32-bit words, reading the Blob a slice at a time with the next slices
// already on their way. Measured in Chromium on this kind of machine it
// checksums about 1.2 GB/s, Go's hash/crc32 on wasm about 0.3 GB/s (plus
// the copy into Go memory), so the checksum costs less than reading the
// bytes.
const crcSource = `"use strict";
const T = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n];
  for (let k = 1; k < 16; k++) { c = T[c & 0xff] ^ (c >>> 8); T[k * 256 + n] = c; }
}
function update(crc, u8) {
  crc = ~crc;
  let i = 0;
  const n = u8.length;
  while (i < n && ((u8.byteOffset + i) & 3) !== 0) crc = T[(crc ^ u8[i++]) & 0xff] ^ (crc >>> 8);
  const words = (n - i) >> 2;
  const w = new Int32Array(u8.buffer, u8.byteOffset + i, words);
  const m = words & ~3;
  let j = 0;
  for (; j < m; j += 4) {
    const a = w[j] ^ crc, b = w[j + 1], c = w[j + 2], d = w[j + 3];
    crc = T[3840 + (a & 0xff)] ^ T[3584 + ((a >>> 8) & 0xff)] ^ T[3328 + ((a >>> 16) & 0xff)] ^ T[3072 + (a >>> 24)] ^
      T[2816 + (b & 0xff)] ^ T[2560 + ((b >>> 8) & 0xff)] ^ T[2304 + ((b >>> 16) & 0xff)] ^ T[2048 + (b >>> 24)] ^
      T[1792 + (c & 0xff)] ^ T[1536 + ((c >>> 8) & 0xff)] ^ T[1280 + ((c >>> 16) & 0xff)] ^ T[1024 + (c >>> 24)] ^
      T[768 + (d & 0xff)] ^ T[512 + ((d >>> 8) & 0xff)] ^ T[256 + ((d >>> 16) & 0xff)] ^ T[d >>> 24];
  }
  for (i += j * 4; i < n; i++) crc = T[(crc ^ u8[i]) & 0xff] ^ (crc >>> 8);
  return ~crc;
}
const noop = () => {};
// On a page, bytes lets it run between the pieces; a worker has no page
// to keep responsive.
const onPage = typeof WorkerGlobalScope === "undefined";
const yieldNow = globalThis.scheduler && typeof scheduler.yield === "function"
  ? () => scheduler.yield()
  : () => new Promise((ok) => setTimeout(ok, 0));
// bytes checksums an ArrayBuffer a piece at a time.
const bytes = async function (ab, piece) {
  let crc = 0;
  for (let off = 0; off < ab.byteLength; off += piece) {
    if (off > 0 && onPage) await yieldNow();
    crc = update(crc, new Uint8Array(ab, off, Math.min(piece, ab.byteLength - off)));
  }
  return crc >>> 0;
};
const blob = async function (blob, piece, depth, state) {
  const size = blob.size;
  const reads = [];
  let next = 0;
  const start = () => {
    if (next >= size) return;
    const end = Math.min(size, next + piece);
    const p = blob.slice(next, end).arrayBuffer();
    p.catch(noop); // awaited below, unless an earlier slice failed
    reads.push(p);
    next = end;
  };
  for (let i = 0; i < depth; i++) start();
  let crc = 0;
  while (reads.length > 0) {
    const ab = await reads.shift();
    if (state.stop) throw new DOMException("the checksum was cancelled", "AbortError");
    start();
    crc = update(crc, new Uint8Array(ab));
  }
  return crc >>> 0;
};
return { blob, bytes };`

// crcPiece and crcDepth are the slice size and the number of slices in
// flight: reading 16 MiB while the previous 8 MiB are checksummed keeps the
// browser reading all the time, and memory at a few slices.
const (
	crcPiece = 8 << 20
	crcDepth = 2
)

// crcJS compiles crcSource once. A Content-Security-Policy without
// 'unsafe-eval' makes it fail; BlobCRC32 then checksums in Go.
var crcJS = sync.OnceValues(func() (js.Value, error) {
	var f js.Value
	err := jsutil.Try(func() { f = js.Global().Get("Function").New(crcSource).Invoke() })
	if err == nil && (f.Get("blob").Type() != js.TypeFunction || f.Get("bytes").Type() != js.TypeFunction) {
		err = fmt.Errorf("fsx: the checksum source did not give its functions")
	}
	return f, err
})

// crcInGo forces the Go checksum; tests set it.
var crcInGo = false

// BlobCRC32 returns the CRC-32 (IEEE, as zip uses) of the Blob's content,
// read a slice at a time, without its bytes passing through Go where the
// page allows compiling JavaScript (as the rest of this module needs), and
// through Go otherwise. It fails like ReadAt (ErrNotFound once the file
// was removed) and with ctx.Err() if ctx ends first, stopping the work.
func BlobCRC32(ctx context.Context, b *Blob) (uint32, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f, err := crcJS()
	if err != nil || crcInGo {
		return blobCRCGo(ctx, b)
	}
	state := object("stop", false)
	stop := context.AfterFunc(ctx, func() { state.Set("stop", true) })
	defer stop()
	var p js.Value
	if err := jsutil.Try(func() { p = f.Call("blob", b.v, crcPiece, crcDepth, state) }); err != nil {
		return 0, fmt.Errorf("fsx: checksum: %w", err)
	}
	v, err := jsutil.Await(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("fsx: read: %w", err)
	}
	return uint32(v.Float()), nil
}

// blobCRCGo checksums in Go, copying each slice in while the next one is
// read.
func blobCRCGo(ctx context.Context, b *Blob) (uint32, error) {
	var crc uint32
	buf := make([]byte, crcPiece)
	next := b.Prefetch(0, crcPiece)
	for off := int64(0); off < b.size; {
		cur := next
		if end := off + int64(cur.Len()); end < b.size {
			next = b.Prefetch(end, crcPiece)
		}
		n, err := cur.Wait(ctx, buf)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("fsx: read: the content ended at %d of %d bytes", off, b.size)
		}
		crc = crc32.Update(crc, crc32.IEEETable, buf[:n])
		off += int64(n)
	}
	return crc, nil
}
