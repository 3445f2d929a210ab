// atelier-bridge.js: the JavaScript helpers of the atelier wasm module.
//
// The module calls these instead of compiling JavaScript at run time, so
// that a page served with a strict Content-Security-Policy (script-src
// 'self' 'wasm-unsafe-eval', no 'unsafe-eval') can use it. Load this file
// before starting the module: atelier.mjs does (its bridgeURL option), or
// add <script src="atelier-bridge.js"></script>, or import it from a module
// worker. It is valid both as a classic script and as an ES module: all it
// does is assign globalThis.__atelierBridge (and, when it runs as the
// module's OPFS helper worker, install that worker's message handler).
//
// The Go side (internal/jsbridge) embeds this same file; `make build` copies
// it to build/atelier-bridge.js. Bump VERSION with every change: the module
// refuses a bridge of another version.
(function () {
  "use strict";
  const VERSION = 2;

  // records moves records across the Go/JavaScript boundary in bulk (idb):
  // crossing it costs per call, not per byte, so a write of 10,000 records
  // is one call that builds and writes them all, and a read is one call
  // that packs every body and property into one buffer for one copy.
  const records = (function () {
    return {
      // write builds record hdr.r[i] with body all.slice(x[3i], x[3i+1])
      // (its own ArrayBuffer: storing a view would clone all of all) and
      // writes it with add if x[3i+2] is 1, else put. It returns null, or
      // [i, error] for the first record the store refused.
      write(store, json, all) {
        const hdr = JSON.parse(json), r = hdr.r, x = hdr.x;
        for (let i = 0; i < r.length; i++) {
          const o = r[i];
          o.b = all.slice(x[3 * i], x[3 * i + 1]);
          try {
            if (x[3 * i + 2] === 1) store.add(o); else store.put(o);
          } catch (e) {
            return [i, e];
          }
        }
        return null;
      },
      // gather packs the records of arr into one Uint8Array: for each record
      // the body length (uint32), and with props its v, u and sv (float64)
      // and the lengths of its id, workflowId and a (uint16, UTF-8), then
      // those strings and the body. Numbers are little-endian.
      gather(arr, props) {
        const n = arr.length, bs = new Array(n);
        let size = 0;
        for (let i = 0; i < n; i++) {
          const o = arr[i];
          let b = o == null ? undefined : o.b;
          if (b instanceof ArrayBuffer) b = new Uint8Array(b);
          else if (!(b instanceof Uint8Array)) throw new TypeError("record " + i + ": body is not a Uint8Array");
          bs[i] = b;
          size += 4 + b.length;
          if (props) {
            if (typeof o.id !== "string") throw new TypeError("record " + i + ": id is not a string");
            if (typeof o.v !== "number" || typeof o.u !== "number") throw new TypeError("record " + i + ": v or u is not a number");
            size += 30 + 3 * (o.id.length + (typeof o.workflowId === "string" ? o.workflowId.length : 0) + (typeof o.a === "string" ? o.a.length : 0));
          }
        }
        const out = new Uint8Array(size), dv = new DataView(out.buffer), te = new TextEncoder();
        let off = 0;
        const str = (s, at) => {
          const k = typeof s === "string" ? te.encodeInto(s, out.subarray(off)).written : 0;
          if (k > 65535) throw new RangeError("property longer than 65535 bytes");
          dv.setUint16(at, k, true);
          off += k;
        };
        for (let i = 0; i < n; i++) {
          const o = arr[i], b = bs[i];
          dv.setUint32(off, b.length, true);
          off += 4;
          if (props) {
            dv.setFloat64(off, o.v, true);
            dv.setFloat64(off + 8, o.u, true);
            dv.setFloat64(off + 16, typeof o.sv === "number" ? o.sv : 0, true);
            const at = off + 24;
            off += 30;
            str(o.id, at);
            str(o.workflowId, at + 2);
            str(o.a, at + 4);
          }
          out.set(b, off);
          off += b.length;
        }
        return out.subarray(0, off);
      },
    };
  })();

  // guards check remembered revisions inside a transaction (idb/remember_js.go).
  const guards = (function () {
    const same = (a, b) => {
      if (b instanceof ArrayBuffer) b = new Uint8Array(b);
      if (!(b instanceof Uint8Array) || a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return true;
    };
    return {
      // guard issues a get of key whose success handler checks that the
      // record is as remembered and aborts the transaction if not.
      guard(tx, store, key, found, wf, v, u, sv, a, body, st) {
        st.pending++;
        const req = tx.objectStore(store).get(key);
        req.onsuccess = () => {
          st.pending--;
          const r = req.result;
          let ok = (r === undefined) === !found;
          if (ok && r !== undefined) {
            ok = r.v === v && r.u === u && (r.sv ?? 0) === sv && (r.a ?? "") === a &&
              (r.workflowId ?? "") === wf && same(body, r.b);
          }
          if (!ok) {
            st.stale = true;
            try { tx.abort(); } catch (e) {}
            return;
          }
          if (st.pending === 0 && st.commit) {
            try { if (tx.commit) tx.commit(); } catch (e) {}
          }
        };
      },
      // commit commits once every guard has passed: now if they have, else
      // from the last guard's handler.
      commit(tx, st) {
        if (st.pending > 0) { st.commit = true; return; }
        if (st.stale) return;
        try { if (tx.commit) tx.commit(); } catch (e) {}
      },
    };
  })();

  // tx begins transactions and awaits requests, reporting events through
  // the one long-lived Go function settled(id, what) (internal/idbx).
  const tx = function (settled) {
    return {
      begin(db, stores, mode, opts, id) {
        const tx = db.transaction(stores, mode, opts);
        tx.oncomplete = () => settled(id, 0);
        tx.onabort = () => settled(id, 1);
        return tx;
      },
      // await reports whether req is done; if not, settled(id, 2) follows.
      await(req, id) {
        if (req.readyState === "done") return true;
        req.onsuccess = req.onerror = () => settled(id, 2);
        return false;
      },
    };
  };

  // crc is the CRC-32 of fsx.BlobCRC32: slicing by 16 over 32-bit words,
  // reading the Blob a slice at a time with the next slices already on
  // their way (about 4x Go's hash/crc32 on wasm).
  const crc = (function () {
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
    return { blob, bytes };
  })();

  // helper installs the message handler of the OPFS helper worker
  // (internal/fsx/helper.go), once. It handles one message at a time, in
  // order, so a write never overtakes the open before it, and sends every
  // data buffer back (transferred, not copied) for reuse.
  let helperInstalled = false;
  const helper = function (self) {
    if (helperInstalled) return;
    helperInstalled = true;
    const handles = new Map();
    const describe = (e) => ({ name: (e && e.name) || "Error", message: (e && e.message) || String(e) });
    const notOpen = () => new DOMException("the file is not open in the helper worker", "InvalidStateError");
    async function run(m) {
      switch (m.op) {
      case "ping":
        if (typeof FileSystemFileHandle !== "function" ||
            typeof FileSystemFileHandle.prototype.createSyncAccessHandle !== "function") {
          throw new DOMException("no sync access handles in workers", "NotSupportedError");
        }
        return {};
      case "open": {
        const h = await m.file.createSyncAccessHandle();
        try { h.truncate(0); } catch (e) { h.close(); throw e; }
        handles.set(m.fid, h);
        return {};
      }
      case "write": {
        const h = handles.get(m.fid);
        if (!h) throw notOpen();
        const u = new Uint8Array(m.buf, 0, m.n);
        for (let done = 0; done < m.n;) {
          const n = h.write(done ? u.subarray(done) : u, { at: m.at + done });
          if (!(n > 0)) throw new DOMException("the write wrote nothing", "InvalidStateError");
          done += n;
        }
        return {};
      }
      case "close": {
        const h = handles.get(m.fid);
        if (!h) throw notOpen();
        handles.delete(m.fid);
        try { h.flush(); return { size: h.getSize() }; } finally { h.close(); }
      }
      case "abort": {
        const h = handles.get(m.fid);
        handles.delete(m.fid);
        if (h) h.close();
        return {};
      }
      case "shutdown":
        for (const h of handles.values()) { try { h.close(); } catch (e) {} }
        handles.clear();
        return {};
      }
      throw new DOMException("unknown operation " + m.op, "NotSupportedError");
    }
    let queue = Promise.resolve();
    self.onmessage = (ev) => {
      const m = ev.data;
      queue = queue.then(async () => {
        let reply;
        try { reply = await run(m); } catch (e) { reply = { error: describe(e) }; }
        reply.id = m.id;
        if (m.buf) {
          reply.buf = m.buf;
          self.postMessage(reply, [m.buf]);
        } else {
          self.postMessage(reply);
        }
      });
    };
  };

  // throwing wraps a Go function (js.FuncOf) for a synchronous API: Go
  // cannot throw into its caller, so it returns { [THROWN]: error } and
  // the wrapper throws the error where the caller can catch it.
  const THROWN = "__atelierThrown";
  const throwing = function (fn) {
    return function (...args) {
      const r = fn.apply(this, args);
      if (r !== null && typeof r === "object" && Object.prototype.hasOwnProperty.call(r, THROWN)) throw r[THROWN];
      return r;
    };
  };

  // url is where this file was loaded from, when the browser says so (a
  // classic <script src>); the module starts its helper worker from it.
  // atelier.mjs sets it when it loads the file.
  let url;
  if (typeof document !== "undefined" && document.currentScript && document.currentScript.src) {
    url = document.currentScript.src;
  }

  globalThis.__atelierBridge = { version: VERSION, url, records, guards, tx, crc, helper, throwing };

  if (typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope &&
      globalThis.name === "atelier-fsx-helper") {
    helper(globalThis);
  }
})();
