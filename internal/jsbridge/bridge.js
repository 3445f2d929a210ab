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
  const VERSION = 6;

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

  // commitWhenDone commits transaction t once every request issued on it
  // so far has succeeded. Calling commit() at once would save a little,
  // but a request that fails after commit() does not reliably abort the
  // transaction: Firefox 153 stores the others when one fails among many
  // (2,000 puts and an add of an existing key: all stored but the add, and
  // complete fires), WebKit fires complete after a Blob it refused. So a
  // small read goes last: requests complete in order, so when it succeeds
  // every earlier one has finished, and if one failed, the error listener
  // (tx.begin) has aborted the transaction, which it still can then.
  const commitWhenDone = (t) => {
    if (t.atelierRequestError) return;
    let req;
    try { req = t.objectStore(t.objectStoreNames.item(0)).count(0); } catch (e) { return; } // finished
    req.onsuccess = () => {
      if (t.atelierRequestError) return;
      try { if (t.commit) t.commit(); } catch (e) { /* finished meanwhile */ }
    };
  };

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
          if (st.pending === 0 && st.commit) commitWhenDone(tx);
        };
      },
      // commit commits once every guard has passed: now if they have, else
      // from the last guard's handler.
      commit(tx, st) {
        if (st.pending > 0) { st.commit = true; return; }
        if (st.stale) return;
        commitWhenDone(tx);
      },
    };
  })();

  // tx begins transactions and awaits requests, reporting events through
  // the one long-lived Go function settled(id, what) (internal/idbx).
  const tx = function (settled) {
    return {
      // begin starts a transaction and reports how it ends: settled(id, 0)
      // when it committed with every request successful, 1 when it aborted,
      // 3 when it committed after a request failed. A request's error event
      // bubbles to its transaction; Chromium and Firefox then abort it, but
      // WebKit, after an explicit commit(), fires complete instead (a Blob it
      // refuses to store): the failure is recorded on the transaction
      // (atelierRequestError) and the transaction aborted while it still
      // can be. AbortErrors are what every pending request fails with once
      // the transaction aborts, not a cause. No request of ours handles its
      // own error, so every error event counts.
      begin(db, stores, mode, opts, id) {
        const tx = db.transaction(stores, mode, opts);
        tx.addEventListener("error", (e) => {
          const err = e.target && e.target.error;
          if (!err || err.name === "AbortError" || tx.atelierRequestError) return;
          tx.atelierRequestError = err;
          try { tx.abort(); } catch (_) { /* committing: complete follows */ }
        });
        tx.oncomplete = () => settled(id, tx.atelierRequestError ? 3 : 0);
        tx.onabort = () => settled(id, 1);
        return tx;
      },
      // commit asks for the commit once every request so far succeeded.
      commit: commitWhenDone,
      // await reports whether req is done; if not, settled(id, 2) follows.
      await(req, id) {
        if (req.readyState === "done") return true;
        req.onsuccess = req.onerror = () => settled(id, 2);
        return false;
      },
    };
  };

  // hashwasm is hash-wasm 4.13.0 (https://github.com/Daninet/hash-wasm; MIT
  // License, Copyright (c) 2020 Dani Biró, in LICENSE.hash-wasm next to this
  // file in the repository): its dist/sha256.umd.min.js and
  // dist/crc32.umd.min.js exactly as npm publishes them, between the BEGIN
  // and END lines (internal/jsbridge's tests check them against the
  // published files' SHA-256), run with a module object of their own so
  // that they define nothing global. Each compiles its WebAssembly the
  // first time a hasher is made (what a Content-Security-Policy allows with
  // 'wasm-unsafe-eval', which the module needs anyway).
  const hashwasm = (function () {
    const module = { exports: {} }, exports = module.exports;
// BEGIN hash-wasm 4.13.0 dist/sha256.umd.min.js
/*!
 * hash-wasm (https://www.npmjs.com/package/hash-wasm)
 * (c) Dani Biro
 * @license MIT
 */

!function(A,I){"object"==typeof exports&&"undefined"!=typeof module?I(exports):"function"==typeof define&&define.amd?define(["exports"],I):I((A="undefined"!=typeof globalThis?globalThis:A||self).hashwasm=A.hashwasm||{})}(this,function(A){"use strict";var I,B={name:"sha256",data:"AGFzbQEAAAABEQRgAAF/YAF/AGAAAGACf38AAwgHAAEBAQIAAwUEAQECAgYPAn8BQYCABAt/AEGAgAQLB4IBCQZtZW1vcnkCAA9fX3N0YWNrX3BvaW50ZXIDAA5IYXNoX0dldEJ1ZmZlcgAACUhhc2hfSW5pdAABC0hhc2hfVXBkYXRlAAIKSGFzaF9GaW5hbAAEDUhhc2hfR2V0U3RhdGUABQ5IYXNoX0NhbGN1bGF0ZQAGClNUQVRFX1NJWkUDAQqGSQcGAEGAgQQLnQEAQQBCADcDwIEFQQBBHEEgIABB4AFGIgAbNgLogQVBAEKnn+anxvST/b5/Qquzj/yRo7Pw2wAgABs3A+CBBUEAQrGWgP6fooWs6ABC/6S5iMWR2oKbfyAAGzcD2IEFQQBCl7rDg5Onlod3QvLmu+Ojp/2npX8gABs3A9CBBUEAQti9loj8oLW+NkLnzKfQ1tDrs7t/IAAbNwPIgQUL9wICAX4Hf0EAQQApA8CBBSIBIACtfDcDwIEFAkACQAJAIAGnQT9xIgINAEGAgQQhAwwBCyAAQcAAIAJrIgRJIQUCQCAARQ0AIAAgBCAFGyIDQQNxIQYgAkGAgQVqIQdBACECAkAgA0EESQ0AIANB/ABxIQhBACECA0AgByACaiIDIAJBgIEEai0AADoAACADQQFqIAJBgYEEai0AADoAACADQQJqIAJBgoEEai0AADoAACADQQNqIAJBg4EEai0AADoAACAIIAJBBGoiAkcNAAsgBkUNAQsDQCAHIAJqIAJBgIEEai0AADoAACACQQFqIQIgBkF/aiIGDQALCyAFDQFBgIEFEAMgACAEayEAIARBgIEEaiEDCwJAIABBwABJDQADQCADEAMgA0HAAGohAyAAQUBqIgBBP0sNAAsLIABFDQBBACEGQQAhAgNAIAJBgIEFaiADIAJqLQAAOgAAIAJBAWohAiAAIAZBAWoiBkH/AXFLDQALCwuDPQFFf0EAIAAoAjwiAUH/gfwHcUEIeCABQRh4Qf+B/AdxciIBQRl3IAFBDndzIAFBA3ZzIAAoAjgiAkH/gfwHcUEIeCACQRh4Qf+B/AdxciICaiAAKAIgIgNB/4H8B3FBCHggA0EYeEH/gfwHcXIiBEEZdyAEQQ53cyAEQQN2cyAAKAIcIgNB/4H8B3FBCHggA0EYeEH/gfwHcXIiBWogACgCBCIDQf+B/AdxQQh4IANBGHhB/4H8B3FyIgZBGXcgBkEOd3MgBkEDdnMgACgCACIDQf+B/AdxQQh4IANBGHhB/4H8B3FyIgdqIAAoAiQiA0H/gfwHcUEIeCADQRh4Qf+B/AdxciIIaiACQQ93IAJBDXdzIAJBCnZzaiIDaiAAKAIYIglB/4H8B3FBCHggCUEYeEH/gfwHcXIiCkEZdyAKQQ53cyAKQQN2cyAAKAIUIglB/4H8B3FBCHggCUEYeEH/gfwHcXIiC2ogAmogACgCECIJQf+B/AdxQQh4IAlBGHhB/4H8B3FyIgxBGXcgDEEOd3MgDEEDdnMgACgCDCIJQf+B/AdxQQh4IAlBGHhB/4H8B3FyIg1qIAAoAjAiCUH/gfwHcUEIeCAJQRh4Qf+B/AdxciIOaiAAKAIIIglB/4H8B3FBCHggCUEYeEH/gfwHcXIiD0EZdyAPQQ53cyAPQQN2cyAGaiAAKAIoIglB/4H8B3FBCHggCUEYeEH/gfwHcXIiEGogAUEPdyABQQ13cyABQQp2c2oiCUEPdyAJQQ13cyAJQQp2c2oiEUEPdyARQQ13cyARQQp2c2oiEkEPdyASQQ13cyASQQp2c2oiE2ogACgCNCIUQf+B/AdxQQh4IBRBGHhB/4H8B3FyIhVBGXcgFUEOd3MgFUEDdnMgDmogEmogACgCLCIAQf+B/AdxQQh4IABBGHhB/4H8B3FyIhZBGXcgFkEOd3MgFkEDdnMgEGogEWogCEEZdyAIQQ53cyAIQQN2cyAEaiAJaiAFQRl3IAVBDndzIAVBA3ZzIApqIAFqIAtBGXcgC0EOd3MgC0EDdnMgDGogFWogDUEZdyANQQ53cyANQQN2cyAPaiAWaiADQQ93IANBDXdzIANBCnZzaiIUQQ93IBRBDXdzIBRBCnZzaiIXQQ93IBdBDXdzIBdBCnZzaiIYQQ93IBhBDXdzIBhBCnZzaiIZQQ93IBlBDXdzIBlBCnZzaiIaQQ93IBpBDXdzIBpBCnZzaiIbQQ93IBtBDXdzIBtBCnZzaiIcQRl3IBxBDndzIBxBA3ZzIAJBGXcgAkEOd3MgAkEDdnMgFWogGGogDkEZdyAOQQ53cyAOQQN2cyAWaiAXaiAQQRl3IBBBDndzIBBBA3ZzIAhqIBRqIBNBD3cgE0ENd3MgE0EKdnNqIh1BD3cgHUENd3MgHUEKdnNqIh5BD3cgHkENd3MgHkEKdnNqIh9qIBNBGXcgE0EOd3MgE0EDdnMgGGogA0EZdyADQQ53cyADQQN2cyABaiAZaiAfQQ93IB9BDXdzIB9BCnZzaiIgaiASQRl3IBJBDndzIBJBA3ZzIBdqIB9qIBFBGXcgEUEOd3MgEUEDdnMgFGogHmogCUEZdyAJQQ53cyAJQQN2cyADaiAdaiAcQQ93IBxBDXdzIBxBCnZzaiIhQQ93ICFBDXdzICFBCnZzaiIiQQ93ICJBDXdzICJBCnZzaiIjQQ93ICNBDXdzICNBCnZzaiIkaiAbQRl3IBtBDndzIBtBA3ZzIB5qICNqIBpBGXcgGkEOd3MgGkEDdnMgHWogImogGUEZdyAZQQ53cyAZQQN2cyATaiAhaiAYQRl3IBhBDndzIBhBA3ZzIBJqIBxqIBdBGXcgF0EOd3MgF0EDdnMgEWogG2ogFEEZdyAUQQ53cyAUQQN2cyAJaiAaaiAgQQ93ICBBDXdzICBBCnZzaiIlQQ93ICVBDXdzICVBCnZzaiImQQ93ICZBDXdzICZBCnZzaiInQQ93ICdBDXdzICdBCnZzaiIoQQ93IChBDXdzIChBCnZzaiIpQQ93IClBDXdzIClBCnZzaiIqQQ93ICpBDXdzICpBCnZzaiIrQRl3ICtBDndzICtBA3ZzIB9BGXcgH0EOd3MgH0EDdnMgG2ogJ2ogHkEZdyAeQQ53cyAeQQN2cyAaaiAmaiAdQRl3IB1BDndzIB1BA3ZzIBlqICVqICRBD3cgJEENd3MgJEEKdnNqIixBD3cgLEENd3MgLEEKdnNqIi1BD3cgLUENd3MgLUEKdnNqIi5qICRBGXcgJEEOd3MgJEEDdnMgJ2ogIEEZdyAgQQ53cyAgQQN2cyAcaiAoaiAuQQ93IC5BDXdzIC5BCnZzaiIvaiAjQRl3ICNBDndzICNBA3ZzICZqIC5qICJBGXcgIkEOd3MgIkEDdnMgJWogLWogIUEZdyAhQQ53cyAhQQN2cyAgaiAsaiArQQ93ICtBDXdzICtBCnZzaiIwQQ93IDBBDXdzIDBBCnZzaiIxQQ93IDFBDXdzIDFBCnZzaiIyQQ93IDJBDXdzIDJBCnZzaiIzaiAqQRl3ICpBDndzICpBA3ZzIC1qIDJqIClBGXcgKUEOd3MgKUEDdnMgLGogMWogKEEZdyAoQQ53cyAoQQN2cyAkaiAwaiAnQRl3ICdBDndzICdBA3ZzICNqICtqICZBGXcgJkEOd3MgJkEDdnMgImogKmogJUEZdyAlQQ53cyAlQQN2cyAhaiApaiAvQQ93IC9BDXdzIC9BCnZzaiI0QQ93IDRBDXdzIDRBCnZzaiI1QQ93IDVBDXdzIDVBCnZzaiI2QQ93IDZBDXdzIDZBCnZzaiI3QQ93IDdBDXdzIDdBCnZzaiI4QQ93IDhBDXdzIDhBCnZzaiI5QQ93IDlBDXdzIDlBCnZzaiI6IDggNCAuICwgISAbIBkgAyAOIARBACgC2IEFIjtBGncgO0EVd3MgO0EHd3NBACgC5IEFIjxqQQAoAuCBBSI9QQAoAtyBBSI+cyA7cSA9c2ogB2pBmN+olARqIgdBACgC1IEFIj9qIgAgDGogOyANaiA+IA9qID0gBmogACA+IDtzcSA+c2ogAEEadyAAQRV3cyAAQQd3c2pBkYndiQdqIkBBACgC0IEFIkFqIgwgACA7c3EgO3NqIAxBGncgDEEVd3MgDEEHd3NqQc/3g657aiJCQQAoAsyBBSJDaiINIAwgAHNxIABzaiANQRp3IA1BFXdzIA1BB3dzakGlt9fNfmoiREEAKALIgQUiAGoiDyANIAxzcSAMc2ogD0EadyAPQRV3cyAPQQd3c2pB24TbygNqIkUgQSBDIABzcSBDIABxcyAAQR53IABBE3dzIABBCndzaiAHaiIGaiIHaiAFIA9qIAogDWogCyAMaiAHIA8gDXNxIA1zaiAHQRp3IAdBFXdzIAdBB3dzakHxo8TPBWoiCiAGIABzIENxIAYgAHFzIAZBHncgBkETd3MgBkEKd3NqIEBqIgxqIgQgByAPc3EgD3NqIARBGncgBEEVd3MgBEEHd3NqQaSF/pF5aiILIAwgBnMgAHEgDCAGcXMgDEEedyAMQRN3cyAMQQp3c2ogQmoiDWoiDyAEIAdzcSAHc2ogD0EadyAPQRV3cyAPQQd3c2pB1b3x2HpqIkAgDSAMcyAGcSANIAxxcyANQR53IA1BE3dzIA1BCndzaiBEaiIGaiIHIA8gBHNxIARzaiAHQRp3IAdBFXdzIAdBB3dzakGY1Z7AfWoiQiAGIA1zIAxxIAYgDXFzIAZBHncgBkETd3MgBkEKd3NqIEVqIgxqIgVqIBYgB2ogECAPaiAIIARqIAUgByAPc3EgD3NqIAVBGncgBUEVd3MgBUEHd3NqQYG2jZQBaiIIIAwgBnMgDXEgDCAGcXMgDEEedyAMQRN3cyAMQQp3c2ogCmoiDWoiDyAFIAdzcSAHc2ogD0EadyAPQRV3cyAPQQd3c2pBvovGoQJqIg4gDSAMcyAGcSANIAxxcyANQR53IA1BE3dzIA1BCndzaiALaiIGaiIHIA8gBXNxIAVzaiAHQRp3IAdBFXdzIAdBB3dzakHD+7GoBWoiECAGIA1zIAxxIAYgDXFzIAZBHncgBkETd3MgBkEKd3NqIEBqIgxqIgQgByAPc3EgD3NqIARBGncgBEEVd3MgBEEHd3NqQfS6+ZUHaiIWIAwgBnMgDXEgDCAGcXMgDEEedyAMQRN3cyAMQQp3c2ogQmoiDWoiBWogASAEaiACIAdqIBUgD2ogBSAEIAdzcSAHc2ogBUEadyAFQRV3cyAFQQd3c2pB/uP6hnhqIgcgDSAMcyAGcSANIAxxcyANQR53IA1BE3dzIA1BCndzaiAIaiIBaiIGIAUgBHNxIARzaiAGQRp3IAZBFXdzIAZBB3dzakGnjfDeeWoiBCABIA1zIAxxIAEgDXFzIAFBHncgAUETd3MgAUEKd3NqIA5qIgJqIgwgBiAFc3EgBXNqIAxBGncgDEEVd3MgDEEHd3NqQfTi74x8aiIFIAIgAXMgDXEgAiABcXMgAkEedyACQRN3cyACQQp3c2ogEGoiA2oiDSAMIAZzcSAGc2ogDUEadyANQRV3cyANQQd3c2pBwdPtpH5qIgggAyACcyABcSADIAJxcyADQR53IANBE3dzIANBCndzaiAWaiIBaiIPIBdqIBEgDWogFCAMaiAJIAZqIA8gDSAMc3EgDHNqIA9BGncgD0EVd3MgD0EHd3NqQYaP+f1+aiIGIAEgA3MgAnEgASADcXMgAUEedyABQRN3cyABQQp3c2ogB2oiAmoiCSAPIA1zcSANc2ogCUEadyAJQRV3cyAJQQd3c2pBxruG/gBqIgwgAiABcyADcSACIAFxcyACQR53IAJBE3dzIAJBCndzaiAEaiIDaiIRIAkgD3NxIA9zaiARQRp3IBFBFXdzIBFBB3dzakHMw7KgAmoiDSADIAJzIAFxIAMgAnFzIANBHncgA0ETd3MgA0EKd3NqIAVqIgFqIhQgESAJc3EgCXNqIBRBGncgFEEVd3MgFEEHd3NqQe/YpO8CaiIPIAEgA3MgAnEgASADcXMgAUEedyABQRN3cyABQQp3c2ogCGoiAmoiF2ogEyAUaiAYIBFqIBIgCWogFyAUIBFzcSARc2ogF0EadyAXQRV3cyAXQQd3c2pBqonS0wRqIhggAiABcyADcSACIAFxcyACQR53IAJBE3dzIAJBCndzaiAGaiIDaiIJIBcgFHNxIBRzaiAJQRp3IAlBFXdzIAlBB3dzakHc08LlBWoiFCADIAJzIAFxIAMgAnFzIANBHncgA0ETd3MgA0EKd3NqIAxqIgFqIhEgCSAXc3EgF3NqIBFBGncgEUEVd3MgEUEHd3NqQdqR5rcHaiIXIAEgA3MgAnEgASADcXMgAUEedyABQRN3cyABQQp3c2ogDWoiAmoiEiARIAlzcSAJc2ogEkEadyASQRV3cyASQQd3c2pB0qL5wXlqIhkgAiABcyADcSACIAFxcyACQR53IAJBE3dzIAJBCndzaiAPaiIDaiITaiAeIBJqIBogEWogHSAJaiATIBIgEXNxIBFzaiATQRp3IBNBFXdzIBNBB3dzakHtjMfBemoiGiADIAJzIAFxIAMgAnFzIANBHncgA0ETd3MgA0EKd3NqIBhqIgFqIgkgEyASc3EgEnNqIAlBGncgCUEVd3MgCUEHd3NqQcjPjIB7aiIYIAEgA3MgAnEgASADcXMgAUEedyABQRN3cyABQQp3c2ogFGoiAmoiESAJIBNzcSATc2ogEUEadyARQRV3cyARQQd3c2pBx//l+ntqIhQgAiABcyADcSACIAFxcyACQR53IAJBE3dzIAJBCndzaiAXaiIDaiISIBEgCXNxIAlzaiASQRp3IBJBFXdzIBJBB3dzakHzl4C3fGoiFyADIAJzIAFxIAMgAnFzIANBHncgA0ETd3MgA0EKd3NqIBlqIgFqIhNqICAgEmogHCARaiAfIAlqIBMgEiARc3EgEXNqIBNBGncgE0EVd3MgE0EHd3NqQceinq19aiIZIAEgA3MgAnEgASADcXMgAUEedyABQRN3cyABQQp3c2ogGmoiAmoiCSATIBJzcSASc2ogCUEadyAJQRV3cyAJQQd3c2pB0capNmoiGiACIAFzIANxIAIgAXFzIAJBHncgAkETd3MgAkEKd3NqIBhqIgNqIhEgCSATc3EgE3NqIBFBGncgEUEVd3MgEUEHd3NqQefSpKEBaiIYIAMgAnMgAXEgAyACcXMgA0EedyADQRN3cyADQQp3c2ogFGoiAWoiEiARIAlzcSAJc2ogEkEadyASQRV3cyASQQd3c2pBhZXcvQJqIhQgASADcyACcSABIANxcyABQR53IAFBE3dzIAFBCndzaiAXaiICaiITICNqICYgEmogIiARaiAlIAlqIBMgEiARc3EgEXNqIBNBGncgE0EVd3MgE0EHd3NqQbjC7PACaiIXIAIgAXMgA3EgAiABcXMgAkEedyACQRN3cyACQQp3c2ogGWoiA2oiCSATIBJzcSASc2ogCUEadyAJQRV3cyAJQQd3c2pB/Nux6QRqIhkgAyACcyABcSADIAJxcyADQR53IANBE3dzIANBCndzaiAaaiIBaiIRIAkgE3NxIBNzaiARQRp3IBFBFXdzIBFBB3dzakGTmuCZBWoiGiABIANzIAJxIAEgA3FzIAFBHncgAUETd3MgAUEKd3NqIBhqIgJqIhIgESAJc3EgCXNqIBJBGncgEkEVd3MgEkEHd3NqQdTmqagGaiIYIAIgAXMgA3EgAiABcXMgAkEedyACQRN3cyACQQp3c2ogFGoiA2oiE2ogKCASaiAkIBFqICcgCWogEyASIBFzcSARc2ogE0EadyATQRV3cyATQQd3c2pBu5WoswdqIhQgAyACcyABcSADIAJxcyADQR53IANBE3dzIANBCndzaiAXaiIBaiIJIBMgEnNxIBJzaiAJQRp3IAlBFXdzIAlBB3dzakGukouOeGoiFyABIANzIAJxIAEgA3FzIAFBHncgAUETd3MgAUEKd3NqIBlqIgJqIhEgCSATc3EgE3NqIBFBGncgEUEVd3MgEUEHd3NqQYXZyJN5aiIZIAIgAXMgA3EgAiABcXMgAkEedyACQRN3cyACQQp3c2ogGmoiA2oiEiARIAlzcSAJc2ogEkEadyASQRV3cyASQQd3c2pBodH/lXpqIhogAyACcyABcSADIAJxcyADQR53IANBE3dzIANBCndzaiAYaiIBaiITaiAqIBJqIC0gEWogKSAJaiATIBIgEXNxIBFzaiATQRp3IBNBFXdzIBNBB3dzakHLzOnAemoiGCABIANzIAJxIAEgA3FzIAFBHncgAUETd3MgAUEKd3NqIBRqIgJqIgkgEyASc3EgEnNqIAlBGncgCUEVd3MgCUEHd3NqQfCWrpJ8aiIUIAIgAXMgA3EgAiABcXMgAkEedyACQRN3cyACQQp3c2ogF2oiA2oiESAJIBNzcSATc2ogEUEadyARQRV3cyARQQd3c2pBo6Oxu3xqIhcgAyACcyABcSADIAJxcyADQR53IANBE3dzIANBCndzaiAZaiIBaiISIBEgCXNxIAlzaiASQRp3IBJBFXdzIBJBB3dzakGZ0MuMfWoiGSABIANzIAJxIAEgA3FzIAFBHncgAUETd3MgAUEKd3NqIBpqIgJqIhNqIDAgEmogLyARaiArIAlqIBMgEiARc3EgEXNqIBNBGncgE0EVd3MgE0EHd3NqQaSM5LR9aiIaIAIgAXMgA3EgAiABcXMgAkEedyACQRN3cyACQQp3c2ogGGoiA2oiCSATIBJzcSASc2ogCUEadyAJQRV3cyAJQQd3c2pBheu4oH9qIhggAyACcyABcSADIAJxcyADQR53IANBE3dzIANBCndzaiAUaiIBaiIRIAkgE3NxIBNzaiARQRp3IBFBFXdzIBFBB3dzakHwwKqDAWoiFCABIANzIAJxIAEgA3FzIAFBHncgAUETd3MgAUEKd3NqIBdqIgJqIhIgESAJc3EgCXNqIBJBGncgEkEVd3MgEkEHd3NqQZaCk80BaiIXIAIgAXMgA3EgAiABcXMgAkEedyACQRN3cyACQQp3c2ogGWoiA2oiEyA2aiAyIBJqIDUgEWogMSAJaiATIBIgEXNxIBFzaiATQRp3IBNBFXdzIBNBB3dzakGI2N3xAWoiGSADIAJzIAFxIAMgAnFzIANBHncgA0ETd3MgA0EKd3NqIBpqIgFqIgkgEyASc3EgEnNqIAlBGncgCUEVd3MgCUEHd3NqQczuoboCaiIaIAEgA3MgAnEgASADcXMgAUEedyABQRN3cyABQQp3c2ogGGoiAmoiESAJIBNzcSATc2ogEUEadyARQRV3cyARQQd3c2pBtfnCpQNqIhggAiABcyADcSACIAFxcyACQR53IAJBE3dzIAJBCndzaiAUaiIDaiISIBEgCXNxIAlzaiASQRp3IBJBFXdzIBJBB3dzakGzmfDIA2oiFCADIAJzIAFxIAMgAnFzIANBHncgA0ETd3MgA0EKd3NqIBdqIgFqIhNqICxBGXcgLEEOd3MgLEEDdnMgKGogNGogM0EPdyAzQQ13cyAzQQp2c2oiFyASaiA3IBFqIDMgCWogEyASIBFzcSARc2ogE0EadyATQRV3cyATQQd3c2pBytTi9gRqIhsgASADcyACcSABIANxcyABQR53IAFBE3dzIAFBCndzaiAZaiICaiIJIBMgEnNxIBJzaiAJQRp3IAlBFXdzIAlBB3dzakHPlPPcBWoiGSACIAFzIANxIAIgAXFzIAJBHncgAkETd3MgAkEKd3NqIBpqIgNqIhEgCSATc3EgE3NqIBFBGncgEUEVd3MgEUEHd3NqQfPfucEGaiIaIAMgAnMgAXEgAyACcXMgA0EedyADQRN3cyADQQp3c2ogGGoiAWoiEiARIAlzcSAJc2ogEkEadyASQRV3cyASQQd3c2pB7oW+pAdqIhwgASADcyACcSABIANxcyABQR53IAFBE3dzIAFBCndzaiAUaiICaiITaiAuQRl3IC5BDndzIC5BA3ZzICpqIDZqIC1BGXcgLUEOd3MgLUEDdnMgKWogNWogF0EPdyAXQQ13cyAXQQp2c2oiFEEPdyAUQQ13cyAUQQp2c2oiGCASaiA5IBFqIBQgCWogEyASIBFzcSARc2ogE0EadyATQRV3cyATQQd3c2pB78aVxQdqIgkgAiABcyADcSACIAFxcyACQR53IAJBE3dzIAJBCndzaiAbaiIDaiIRIBMgEnNxIBJzaiARQRp3IBFBFXdzIBFBB3dzakGU8KGmeGoiGyADIAJzIAFxIAMgAnFzIANBHncgA0ETd3MgA0EKd3NqIBlqIgFqIhIgESATc3EgE3NqIBJBGncgEkEVd3MgEkEHd3NqQYiEnOZ4aiIZIAEgA3MgAnEgASADcXMgAUEedyABQRN3cyABQQp3c2ogGmoiAmoiEyASIBFzcSARc2ogE0EadyATQRV3cyATQQd3c2pB+v/7hXlqIhogAiABcyADcSACIAFxcyACQR53IAJBE3dzIAJBCndzaiAcaiIDaiIUIDxqNgLkgQVBACA/IAMgAnMgAXEgAyACcXMgA0EedyADQRN3cyADQQp3c2ogCWoiASADcyACcSABIANxcyABQR53IAFBE3dzIAFBCndzaiAbaiICIAFzIANxIAIgAXFzIAJBHncgAkETd3MgAkEKd3NqIBlqIgMgAnMgAXEgAyACcXMgA0EedyADQRN3cyADQQp3c2ogGmoiCWo2AtSBBUEAID0gL0EZdyAvQQ53cyAvQQN2cyAraiA3aiAYQQ93IBhBDXdzIBhBCnZzaiIYIBFqIBQgEyASc3EgEnNqIBRBGncgFEEVd3MgFEEHd3NqQevZwaJ6aiIZIAFqIhFqNgLggQVBACBBIAkgA3MgAnEgCSADcXMgCUEedyAJQRN3cyAJQQp3c2ogGWoiAWo2AtCBBUEAID4gMEEZdyAwQQ53cyAwQQN2cyAvaiAXaiA6QQ93IDpBDXdzIDpBCnZzaiASaiARIBQgE3NxIBNzaiARQRp3IBFBFXdzIBFBB3dzakH3x+b3e2oiFyACaiISajYC3IEFQQAgQyABIAlzIANxIAEgCXFzIAFBHncgAUETd3MgAUEKd3NqIBdqIgJqNgLMgQVBACA7IDRBGXcgNEEOd3MgNEEDdnMgMGogOGogGEEPdyAYQQ13cyAYQQp2c2ogE2ogEiARIBRzcSAUc2ogEkEadyASQRV3cyASQQd3c2pB8vHFs3xqIhEgA2pqNgLYgQVBACAAIAIgAXMgCXEgAiABcXMgAkEedyACQRN3cyACQQp3c2ogEWpqNgLIgQULswYCBH8BfkEAKALAgQUiAEECdkEPcSIBQQJ0IgIgAigCgIEFQX8gAEEDdCIAdEF/c3FBgAEgAHRzNgKAgQUCQAJAAkAgAUEOSQ0AAkAgAUEORw0AQQBBADYCvIEFC0GAgQUQA0EAIQIMAQsgAUENRg0BIAFBAWohAgsgAiEDAkBBBiACa0EHcSIARQ0AIAIgAGohAyACQQJ0QYCBBWohAQNAIAFBADYCACABQQRqIQEgAEF/aiIADQALCyACQXlqQQdJDQACQEEGIANrIgBBCHENACADQQJ0IgFCADcCmIEFIAFCADcCkIEFIAFCADcCiIEFIAFCADcCgIEFIABBCEkNASADQQhqIQMLIANBAnRBgIEFaiEBA0AgAUIANwIAIAFBOGpCADcCACABQTBqQgA3AgAgAUEoakIANwIAIAFBIGpCADcCACABQRhqQgA3AgAgAUEQakIANwIAIAFBCGpCADcCACABQcAAaiEBDAALC0EAIQBBAEEAKQPAgQUiBKdBA3QiAUH4gfwHcUEIeCABQRh4Qf+B/AdxcjYCvIEFQQAgBEIdiKciAUH/gfwHcUEIeCABQRh4Qf+B/AdxcjYCuIEFQYCBBRADQQBBACgC5IEFIgFB/4H8B3FBCHggAUEYeEH/gfwHcXI2AuSBBUEAQQAoAuCBBSIBQf+B/AdxQQh4IAFBGHhB/4H8B3FyNgLggQVBAEEAKALcgQUiAUH/gfwHcUEIeCABQRh4Qf+B/AdxcjYC3IEFQQBBACgC2IEFIgFB/4H8B3FBCHggAUEYeEH/gfwHcXI2AtiBBUEAQQAoAtSBBSIBQf+B/AdxQQh4IAFBGHhB/4H8B3FyNgLUgQVBAEEAKALQgQUiAUH/gfwHcUEIeCABQRh4Qf+B/AdxcjYC0IEFQQBBACgCzIEFIgFB/4H8B3FBCHggAUEYeEH/gfwHcXI2AsyBBUEAQQAoAsiBBSIBQf+B/AdxQQh4IAFBGHhB/4H8B3FyNgLIgQUCQEEAKALogQUiAkUNAEEAIQEDQCABQYCBBGogAUHIgQVqLQAAOgAAIAFBAWohASACIABBAWoiAEH/AXFLDQALCwsGAEGAgQULowEAQQBCADcDwIEFQQBBHEEgIAFB4AFGIgEbNgLogQVBAEKnn+anxvST/b5/Qquzj/yRo7Pw2wAgARs3A+CBBUEAQrGWgP6fooWs6ABC/6S5iMWR2oKbfyABGzcD2IEFQQBCl7rDg5Onlod3QvLmu+Ojp/2npX8gARs3A9CBBUEAQti9loj8oLW+NkLnzKfQ1tDrs7t/IAEbNwPIgQUgABACEAQLCwwBAEGAgAQLBHAAAAA=",hash:"8ed695a3"};function g(A,I,B,g){return new(B||(B=Promise))(function(Q,E){function c(A){try{d(g.next(A))}catch(A){E(A)}}function i(A){try{d(g.throw(A))}catch(A){E(A)}}function d(A){var I;A.done?Q(A.value):(I=A.value,I instanceof B?I:new B(function(A){A(I)})).then(c,i)}d((g=g.apply(A,I||[])).next())})}"function"==typeof SuppressedError&&SuppressedError;class Q{constructor(){this.mutex=Promise.resolve()}lock(){let A=()=>{};return this.mutex=this.mutex.then(()=>new Promise(A)),new Promise(I=>{A=I})}dispatch(A){return g(this,void 0,void 0,function*(){const I=yield this.lock();try{return yield Promise.resolve(A())}finally{I()}})}}const E="undefined"!=typeof globalThis?globalThis:"undefined"!=typeof self?self:"undefined"!=typeof window?window:global,c=null!==(I=E.Buffer)&&void 0!==I?I:null,i=E.TextEncoder?new E.TextEncoder:null;function d(A,I){return(15&A)+(A>>6|A>>3&8)<<4|(15&I)+(I>>6|I>>3&8)}const n="a".charCodeAt(0)-10,o="0".charCodeAt(0);function a(A,I,B){let g=0;for(let Q=0;Q<B;Q++){let B=I[Q]>>>4;A[g++]=B>9?B+n:B+o,B=15&I[Q],A[g++]=B>9?B+n:B+o}return String.fromCharCode.apply(null,A)}const e=null!==c?A=>{if("string"==typeof A){const I=c.from(A,"utf8");return new Uint8Array(I.buffer,I.byteOffset,I.length)}if(c.isBuffer(A))return new Uint8Array(A.buffer,A.byteOffset,A.length);if(ArrayBuffer.isView(A))return new Uint8Array(A.buffer,A.byteOffset,A.byteLength);throw new Error("Invalid data type!")}:A=>{if("string"==typeof A)return i.encode(A);if(ArrayBuffer.isView(A))return new Uint8Array(A.buffer,A.byteOffset,A.byteLength);throw new Error("Invalid data type!")},C="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",t=new Uint8Array(256);for(let A=0;A<64;A++)t[C.charCodeAt(A)]=A;function y(A){const I=function(A){let I=Math.floor(.75*A.length);const B=A.length;return"="===A[B-1]&&(I-=1,"="===A[B-2]&&(I-=1)),I}(A),B=A.length,g=new Uint8Array(I);let Q=0;for(let I=0;I<B;I+=4){const B=t[A.charCodeAt(I)],E=t[A.charCodeAt(I+1)],c=t[A.charCodeAt(I+2)],i=t[A.charCodeAt(I+3)];g[Q]=B<<2|E>>4,Q+=1,g[Q]=(15&E)<<4|c>>2,Q+=1,g[Q]=(3&c)<<6|63&i,Q+=1}return g}const D=16384,z=new Q,N=new Map;function r(A,I){return g(this,void 0,void 0,function*(){let B=null,Q=null,E=!1;if("undefined"==typeof WebAssembly)throw new Error("WebAssembly is not supported in this environment!");const c=()=>new DataView(B.exports.memory.buffer).getUint32(B.exports.STATE_SIZE,!0),i=z.dispatch(()=>g(this,void 0,void 0,function*(){if(!N.has(A.name)){const I=y(A.data),B=WebAssembly.compile(I.buffer);N.set(A.name,B)}const I=yield N.get(A.name);B=yield WebAssembly.instantiate(I,{})})),n=(A=null)=>{E=!0,B.exports.Hash_Init(A)},o=A=>{if(!E)throw new Error("update() called before init()");(A=>{let I=0;for(;I<A.length;){const g=A.subarray(I,I+D);I+=g.length,Q.set(g),B.exports.Hash_Update(g.length)}})(e(A))},C=new Uint8Array(2*I),t=(A,g=null)=>{if(!E)throw new Error("digest() called before init()");return E=!1,B.exports.Hash_Final(g),"binary"===A?Q.slice(0,I):a(C,Q,I)},r=A=>"string"==typeof A?A.length<4096:A.byteLength<D;let F=r;switch(A.name){case"argon2":case"scrypt":F=()=>!0;break;case"blake2b":case"blake2s":F=(A,I)=>I<=512&&r(A);break;case"blake3":F=(A,I)=>0===I&&r(A);break;case"xxhash64":case"xxhash3":case"xxhash128":case"crc64":F=()=>!1}return yield(()=>g(this,void 0,void 0,function*(){B||(yield i);const A=B.exports.Hash_GetBuffer(),I=B.exports.memory.buffer;Q=new Uint8Array(I,A,D)}))(),{getMemory:()=>Q,writeMemory:(A,I=0)=>{Q.set(A,I)},getExports:()=>B.exports,setMemorySize:A=>{B.exports.Hash_SetMemorySize(A);const I=B.exports.Hash_GetBuffer(),g=B.exports.memory.buffer;Q=new Uint8Array(g,I,A)},init:n,update:o,digest:t,save:()=>{if(!E)throw new Error("save() can only be called after init() and before digest()");const I=B.exports.Hash_GetState(),g=c(),Q=B.exports.memory.buffer,i=new Uint8Array(Q,I,g),n=new Uint8Array(4+g);return function(A,I){const B=I.length>>1;for(let g=0;g<B;g++){const B=g<<1;A[g]=d(I.charCodeAt(B),I.charCodeAt(B+1))}}(n,A.hash),n.set(i,4),n},load:I=>{if(!(I instanceof Uint8Array))throw new Error("load() expects an Uint8Array generated by save()");const g=B.exports.Hash_GetState(),Q=c(),i=4+Q,n=B.exports.memory.buffer;if(I.length!==i)throw new Error(`Bad state length (expected ${i} bytes, got ${I.length})`);if(!function(A,I){if(A.length!==2*I.length)return!1;for(let B=0;B<I.length;B++){const g=B<<1;if(I[B]!==d(A.charCodeAt(g),A.charCodeAt(g+1)))return!1}return!0}(A.hash,I.subarray(0,4)))throw new Error("This state was written by an incompatible hash implementation");const o=I.subarray(4);new Uint8Array(n,g,Q).set(o),E=!0},calculate:(A,g=null,E=null)=>{if(!F(A,g))return n(g),o(A),t("hex",E);const c=e(A);return Q.set(c),B.exports.Hash_Calculate(c.length,g,E),a(C,Q,I)},hashLength:I}})}const F=new Q;let q=null;A.createSHA256=function(){return r(B,32).then(A=>{A.init(256);const I={init:()=>(A.init(256),I),update:B=>(A.update(B),I),digest:I=>A.digest(I),save:()=>A.save(),load:B=>(A.load(B),I),blockSize:64,digestSize:32};return I})},A.sha256=function(A){if(null===q)return function(A,I,B){return g(this,void 0,void 0,function*(){const g=yield A.lock(),Q=yield r(I,B);return g(),Q})}(F,B,32).then(I=>(q=I,q.calculate(A,256)));try{const I=q.calculate(A,256);return Promise.resolve(I)}catch(A){return Promise.reject(A)}}});
// END hash-wasm 4.13.0 dist/sha256.umd.min.js
// BEGIN hash-wasm 4.13.0 dist/crc32.umd.min.js
/*!
 * hash-wasm (https://www.npmjs.com/package/hash-wasm)
 * (c) Dani Biro
 * @license MIT
 */

!function(e,t){"object"==typeof exports&&"undefined"!=typeof module?t(exports):"function"==typeof define&&define.amd?define(["exports"],t):t((e="undefined"!=typeof globalThis?globalThis:e||self).hashwasm=e.hashwasm||{})}(this,function(e){"use strict";var t,A={name:"crc32",data:"AGFzbQEAAAABEQRgAAF/YAF/AGAAAGACf38AAwgHAAEBAQIAAwUEAQECAgYPAn8BQYCABAt/AEGAgAQLB4IBCQZtZW1vcnkCAA9fX3N0YWNrX3BvaW50ZXIDAA5IYXNoX0dldEJ1ZmZlcgAACUhhc2hfSW5pdAACC0hhc2hfVXBkYXRlAAMKSGFzaF9GaW5hbAAEDUhhc2hfR2V0U3RhdGUABQ5IYXNoX0NhbGN1bGF0ZQAGClNUQVRFX1NJWkUDAQrNBwcGAEGAgQQLrgMBA39BgIEFIQFBACECA0AgAUEAQQBBAEEAQQBBAEEAQQAgAkEBcWsgAHEgAkEBdnMiA0EBcWsgAHEgA0EBdnMiA0EBcWsgAHEgA0EBdnMiA0EBcWsgAHEgA0EBdnMiA0EBcWsgAHEgA0EBdnMiA0EBcWsgAHEgA0EBdnMiA0EBcWsgAHEgA0EBdnMiA0EBcWsgAHEgA0EBdnM2AgAgAUEEaiEBIAJBAWoiAkGAAkcNAAtBACEAA0AgAEGEiQVqIABBhIEFaigCACICQf8BcUECdCgCgIEFIAJBCHZzIgI2AgAgAEGEkQVqIAJB/wFxQQJ0KAKAgQUgAkEIdnMiAjYCACAAQYSZBWogAkH/AXFBAnQoAoCBBSACQQh2cyICNgIAIABBhKEFaiACQf8BcUECdCgCgIEFIAJBCHZzIgI2AgAgAEGEqQVqIAJB/wFxQQJ0KAKAgQUgAkEIdnMiAjYCACAAQYSxBWogAkH/AXFBAnQoAoCBBSACQQh2cyICNgIAIABBhLkFaiACQf8BcUECdCgCgIEFIAJBCHZzNgIAIABBBGoiAEH8B0cNAAsLJwACQEEAKAKAwQUgAEYNACAAEAFBACAANgKAwQULQQBBADYChMEFC+kCAQN/QQAoAoTBBUF/cyEBQYCBBCECAkAgAEEISQ0AQYCBBCECA0AgAkEEaigCACIDQQ52QfwHcSgCgIkFIANBFnZB/AdxKAKAgQVzIANBBnZB/AdxKAKAkQVzIANB/wFxQQJ0KAKAmQVzIAIoAgAgAXMiAUEWdkH8B3EoAoChBXMgAUEOdkH8B3EoAoCpBXMgAUEGdkH8B3EoAoCxBXMgAUH/AXFBAnQoAoC5BXMhASACQQhqIQIgAEF4aiIAQQdLDQALCwJAIABFDQACQAJAIABBAXENACAAIQMMAQsgAUH/AXEgAi0AAHNBAnQoAoCBBSABQQh2cyEBIAJBAWohAiAAQX9qIQMLIABBAUYNAANAIAFB/wFxIAItAABzQQJ0KAKAgQUgAUEIdnMiAUH/AXEgAkEBai0AAHNBAnQoAoCBBSABQQh2cyEBIAJBAmohAiADQX5qIgMNAAsLQQAgAUF/czYChMEFCykBAX9BAEEAKAKEwQUiAEH/gfwHcUEIeCAAQRh4Qf+B/AdxcjYCgIEECwYAQYTBBQtQAAJAQQAoAoDBBSABRg0AIAEQAUEAIAE2AoDBBQtBAEEANgKEwQUgABADQQBBACgChMEFIgFB/4H8B3FBCHggAUEYeEH/gfwHcXI2AoCBBAsLDAEAQYCABAsEBAAAAA==",hash:"e5d47522"};function n(e,t,A,n){return new(A||(A=Promise))(function(r,o){function i(e){try{a(n.next(e))}catch(e){o(e)}}function s(e){try{a(n.throw(e))}catch(e){o(e)}}function a(e){var t;e.done?r(e.value):(t=e.value,t instanceof A?t:new A(function(e){e(t)})).then(i,s)}a((n=n.apply(e,t||[])).next())})}"function"==typeof SuppressedError&&SuppressedError;class r{constructor(){this.mutex=Promise.resolve()}lock(){let e=()=>{};return this.mutex=this.mutex.then(()=>new Promise(e)),new Promise(t=>{e=t})}dispatch(e){return n(this,void 0,void 0,function*(){const t=yield this.lock();try{return yield Promise.resolve(e())}finally{t()}})}}const o="undefined"!=typeof globalThis?globalThis:"undefined"!=typeof self?self:"undefined"!=typeof window?window:global,i=null!==(t=o.Buffer)&&void 0!==t?t:null,s=o.TextEncoder?new o.TextEncoder:null;function a(e,t){return(15&e)+(e>>6|e>>3&8)<<4|(15&t)+(t>>6|t>>3&8)}const c="a".charCodeAt(0)-10,f="0".charCodeAt(0);function l(e,t,A){let n=0;for(let r=0;r<A;r++){let A=t[r]>>>4;e[n++]=A>9?A+c:A+f,A=15&t[r],e[n++]=A>9?A+c:A+f}return String.fromCharCode.apply(null,e)}const B=null!==i?e=>{if("string"==typeof e){const t=i.from(e,"utf8");return new Uint8Array(t.buffer,t.byteOffset,t.length)}if(i.isBuffer(e))return new Uint8Array(e.buffer,e.byteOffset,e.length);if(ArrayBuffer.isView(e))return new Uint8Array(e.buffer,e.byteOffset,e.byteLength);throw new Error("Invalid data type!")}:e=>{if("string"==typeof e)return s.encode(e);if(ArrayBuffer.isView(e))return new Uint8Array(e.buffer,e.byteOffset,e.byteLength);throw new Error("Invalid data type!")},g="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",h=new Uint8Array(256);for(let e=0;e<64;e++)h[g.charCodeAt(e)]=e;function E(e){const t=function(e){let t=Math.floor(.75*e.length);const A=e.length;return"="===e[A-1]&&(t-=1,"="===e[A-2]&&(t-=1)),t}(e),A=e.length,n=new Uint8Array(t);let r=0;for(let t=0;t<A;t+=4){const A=h[e.charCodeAt(t)],o=h[e.charCodeAt(t+1)],i=h[e.charCodeAt(t+2)],s=h[e.charCodeAt(t+3)];n[r]=A<<2|o>>4,r+=1,n[r]=(15&o)<<4|i>>2,r+=1,n[r]=(3&i)<<6|63&s,r+=1}return n}const u=16384,d=new r,Q=new Map;function C(e,t){return n(this,void 0,void 0,function*(){let A=null,r=null,o=!1;if("undefined"==typeof WebAssembly)throw new Error("WebAssembly is not supported in this environment!");const i=()=>new DataView(A.exports.memory.buffer).getUint32(A.exports.STATE_SIZE,!0),s=d.dispatch(()=>n(this,void 0,void 0,function*(){if(!Q.has(e.name)){const t=E(e.data),A=WebAssembly.compile(t.buffer);Q.set(e.name,A)}const t=yield Q.get(e.name);A=yield WebAssembly.instantiate(t,{})})),c=(e=null)=>{o=!0,A.exports.Hash_Init(e)},f=e=>{if(!o)throw new Error("update() called before init()");(e=>{let t=0;for(;t<e.length;){const n=e.subarray(t,t+u);t+=n.length,r.set(n),A.exports.Hash_Update(n.length)}})(B(e))},g=new Uint8Array(2*t),h=(e,n=null)=>{if(!o)throw new Error("digest() called before init()");return o=!1,A.exports.Hash_Final(n),"binary"===e?r.slice(0,t):l(g,r,t)},C=e=>"string"==typeof e?e.length<4096:e.byteLength<u;let y=C;switch(e.name){case"argon2":case"scrypt":y=()=>!0;break;case"blake2b":case"blake2s":y=(e,t)=>t<=512&&C(e);break;case"blake3":y=(e,t)=>0===t&&C(e);break;case"xxhash64":case"xxhash3":case"xxhash128":case"crc64":y=()=>!1}return yield(()=>n(this,void 0,void 0,function*(){A||(yield s);const e=A.exports.Hash_GetBuffer(),t=A.exports.memory.buffer;r=new Uint8Array(t,e,u)}))(),{getMemory:()=>r,writeMemory:(e,t=0)=>{r.set(e,t)},getExports:()=>A.exports,setMemorySize:e=>{A.exports.Hash_SetMemorySize(e);const t=A.exports.Hash_GetBuffer(),n=A.exports.memory.buffer;r=new Uint8Array(n,t,e)},init:c,update:f,digest:h,save:()=>{if(!o)throw new Error("save() can only be called after init() and before digest()");const t=A.exports.Hash_GetState(),n=i(),r=A.exports.memory.buffer,s=new Uint8Array(r,t,n),c=new Uint8Array(4+n);return function(e,t){const A=t.length>>1;for(let n=0;n<A;n++){const A=n<<1;e[n]=a(t.charCodeAt(A),t.charCodeAt(A+1))}}(c,e.hash),c.set(s,4),c},load:t=>{if(!(t instanceof Uint8Array))throw new Error("load() expects an Uint8Array generated by save()");const n=A.exports.Hash_GetState(),r=i(),s=4+r,c=A.exports.memory.buffer;if(t.length!==s)throw new Error(`Bad state length (expected ${s} bytes, got ${t.length})`);if(!function(e,t){if(e.length!==2*t.length)return!1;for(let A=0;A<t.length;A++){const n=A<<1;if(t[A]!==a(e.charCodeAt(n),e.charCodeAt(n+1)))return!1}return!0}(e.hash,t.subarray(0,4)))throw new Error("This state was written by an incompatible hash implementation");const f=t.subarray(4);new Uint8Array(c,n,r).set(f),o=!0},calculate:(e,n=null,o=null)=>{if(!y(e,n))return c(n),f(e),h("hex",o);const i=B(e);return r.set(i),A.exports.Hash_Calculate(i.length,n,o),l(g,r,t)},hashLength:t}})}const y=new r;let w=null;function I(e){return!Number.isInteger(e)||e<0||e>4294967295?new Error("Polynomial must be a valid 32-bit long unsigned integer"):null}e.crc32=function(e,t=3988292384){if(I(t))return Promise.reject(I(t));if(null===w)return function(e,t,A){return n(this,void 0,void 0,function*(){const n=yield e.lock(),r=yield C(t,A);return n(),r})}(y,A,4).then(A=>(w=A,w.calculate(e,t)));try{const A=w.calculate(e,t);return Promise.resolve(A)}catch(e){return Promise.reject(e)}},e.createCRC32=function(e=3988292384){return I(e)?Promise.reject(I(e)):C(A,4).then(t=>{t.init(e);const A={init:()=>(t.init(e),A),update:e=>(t.update(e),A),digest:e=>t.digest(e),save:()=>t.save(),load:e=>(t.load(e),A),blockSize:4,digestSize:4};return A})}});
// END hash-wasm 4.13.0 dist/crc32.umd.min.js
    return module.exports;
  })();

  const noop = () => {};
  // On a page, long loops let it run between their pieces; a worker has no
  // page to keep responsive.
  const onPage = typeof WorkerGlobalScope === "undefined";
  const yieldNow = globalThis.scheduler && typeof scheduler.yield === "function"
    ? () => scheduler.yield()
    : () => new Promise((ok) => setTimeout(ok, 0));
  const cancelled = () => new DOMException("the work was cancelled", "AbortError");

  // slices reads blob [0, size) a slice of piece bytes at a time, depth
  // slices in flight, and returns the function that waits for the next:
  // an ArrayBuffer, or null at the end.
  const slices = function (blob, piece, depth) {
    const size = blob.size, reads = [];
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
    return async () => {
      if (reads.length === 0) return null;
      const ab = await reads.shift();
      start();
      return ab;
    };
  };

  // streamed reads a Blob through blob.stream(), which the browser reads
  // ahead of its reader: next() resolves to the next piece of at most piece
  // bytes (a chunk of the stream, or a view into one: Firefox may give a
  // Blob in memory as one chunk), or to null at the end; cancel() stops the
  // stream.
  const streamed = function (blob, piece) {
    const reader = blob.stream().getReader();
    let cur = null, off = 0;
    return {
      async next() {
        while (cur === null || off >= cur.length) {
          const { done, value } = await reader.read();
          if (done) return null;
          cur = value;
          off = 0;
        }
        const n = Math.min(piece, cur.length - off);
        const u8 = off === 0 && n === cur.length ? cur : cur.subarray(off, off + n);
        off += n;
        return u8;
      },
      cancel() { reader.cancel().catch(noop); },
    };
  };

  // pump reads a Blob through streamed, a piece of at most o.piece bytes
  // at a time, and awaits each(piece, offset) for each: it stops at the
  // next piece once o.state.stop is set, reports progress (step) every
  // o.piece bytes and at the end, yielding after each report on a page,
  // and fails if the Blob gives other than its size. each may transfer the
  // piece's buffer.
  const pump = async function (blob, o, each) {
    const stream = streamed(blob, o.piece);
    try {
      let done = 0, reported = 0;
      for (let value; (value = await stream.next()) !== null;) {
        if (o.state.stop) throw cancelled();
        const n = value.length; // each may transfer the piece's buffer
        await each(value, done);
        done += n;
        if (done - reported >= o.piece) {
          reported = done;
          step(o, done);
          if (onPage) await yieldNow();
        }
      }
      if (done !== blob.size) throw new DOMException("the Blob gave " + done + " of its " + blob.size + " bytes", "NotReadableError");
      if (done !== reported) step(o, done);
    } catch (e) {
      stream.cancel();
      throw e;
    }
  };

  // writeAll writes all of u8 into the sync access handle h at offset at.
  const writeAll = function (h, u8, at) {
    for (let done = 0; done < u8.length;) {
      const n = h.write(done ? u8.subarray(done) : u8, { at: at + done });
      if (!(n > 0)) throw new DOMException("the write wrote nothing", "InvalidStateError");
      done += n;
    }
  };

  // newCRC makes a CRC-32 (IEEE, as zip uses) in hash-wasm's WebAssembly,
  // about twice as fast as the slicing-by-16 in JavaScript it replaced.
  const newCRC = async function () {
    const c = await hashwasm.createCRC32();
    return {
      update(u8) { c.update(u8); },
      value() { return parseInt(c.digest("hex"), 16) >>> 0; },
    };
  };

  // crc is the CRC-32 of fsx.BlobCRC32 and fsx.SumBlob.
  const crc = (function () {
    // bytes checksums an ArrayBuffer a piece at a time.
    const bytes = async function (ab, piece) {
      const c = await newCRC();
      for (let off = 0; off < ab.byteLength; off += piece) {
        if (off > 0 && onPage) await yieldNow();
        c.update(new Uint8Array(ab, off, Math.min(piece, ab.byteLength - off)));
      }
      return c.value();
    };
    // blob checksums a Blob read a slice at a time, the next slices already
    // on their way.
    const blob = async function (blob, piece, depth, state) {
      const c = await newCRC();
      const next = slices(blob, piece, depth);
      for (let ab; (ab = await next()) !== null;) {
        if (state.stop) throw cancelled();
        c.update(new Uint8Array(ab));
      }
      return c.value();
    };
    return { blob, bytes };
  })();

  // newHasher makes the SHA-256 (and with withCRC the CRC-32) of content
  // of size bytes handed over a piece at a time. Up to whole bytes it is
  // WebCrypto's, over a copy of the content gathered from the pieces:
  // WebCrypto digests only whole buffers, but about three times as fast as
  // the fastest SHA-256 in WebAssembly measured here. Larger content, or a
  // context without WebCrypto, gets hash-wasm's streaming SHA-256.
  const newHasher = async function (size, withCRC, whole) {
    const subtle = globalThis.crypto && crypto.subtle;
    const c = withCRC ? await newCRC() : null;
    const crcOf = () => (c ? c.value() : undefined);
    if (size <= whole && subtle) {
      const all = new Uint8Array(size);
      let n = 0;
      return {
        update(u8) {
          if (n + u8.length > size) throw new RangeError("more content than the " + size + " bytes announced");
          all.set(u8, n);
          n += u8.length;
          if (c) c.update(u8);
        },
        async result() {
          if (n !== size) throw new RangeError(n + " bytes of content, " + size + " announced");
          return { hash: new Uint8Array(await subtle.digest("SHA-256", all)), crc: crcOf() };
        },
      };
    }
    const h = await hashwasm.createSHA256();
    return {
      update(u8) { h.update(u8); if (c) c.update(u8); },
      async result() { return { hash: h.digest("binary"), crc: crcOf() }; },
    };
  };

  // step ends a slice of the sum functions' work: it stops the work if
  // asked to, and reports progress.
  const step = (o, done) => {
    if (o.state.stop) throw cancelled();
    if (o.progress) o.progress(done);
  };

  // hashBlob hashes a Blob on this thread: up to o.whole bytes read in one
  // piece for WebCrypto (which hashes it before digest returns: on a page,
  // a long task) and checksummed meanwhile; larger ones streamed.
  const hashBlob = async function (blob, o) {
    const subtle = globalThis.crypto && crypto.subtle;
    if (blob.size <= o.whole && subtle) {
      const ab = await blob.arrayBuffer();
      if (o.state.stop) throw cancelled();
      const digest = subtle.digest("SHA-256", ab);
      digest.catch(noop); // awaited below, unless the checksum fails
      const c = o.crc ? await newCRC() : null;
      for (let off = 0; off < ab.byteLength; off += o.piece) {
        const u8 = new Uint8Array(ab, off, Math.min(o.piece, ab.byteLength - off));
        if (c) c.update(u8);
        step(o, off + u8.length);
        if (onPage) await yieldNow();
      }
      return { hash: new Uint8Array(await digest), crc: c ? c.value() : undefined };
    }
    // Larger ones stream: blob.stream() reads ahead of this thread, about
    // twice as fast here as slice().arrayBuffer() in o.piece slices.
    const hs = await newHasher(blob.size, o.crc, -1);
    await pump(blob, o, (u8) => hs.update(u8));
    return hs.result();
  };

  const describe = (e) => ({ name: (e && e.name) || "Error", message: (e && e.message) || String(e) });

  // digestWorker installs the message handler of the digest worker: this
  // file run as a dedicated worker named "atelier-digest", which hashes for
  // the thread that started it (the page, or the worker the module runs
  // in), so that hashing runs beside that thread's own work. Messages:
  //   ping {id}                           answers {id}
  //   begin {id, size, crc, whole}        a hash of content sent in parts
  //   part {id, job, buf}                 the job's next part (transferred); answers {id}
  //   end {id}                            answers {id, hash, crc}
  //   cancel {id}                         forgets a job
  //   blob {id, blob, crc, whole, piece, depth}  hashes a Blob; answers {id, hash, crc}
  //   stop {id}                           stops a blob job (AbortError)
  // and failures answer {id, error: {name, message}}. Messages are handled
  // one at a time, in order, except stop.
  let digestInstalled = false;
  const digestWorker = function (self) {
    if (digestInstalled) return;
    digestInstalled = true;
    const jobs = new Map(), states = new Map();
    async function run(m) {
      switch (m.op) {
      case "ping":
        return {};
      case "begin":
        jobs.set(m.id, { h: null, err: null });
        try { jobs.get(m.id).h = await newHasher(m.size, m.crc, m.whole); } catch (e) { jobs.get(m.id).err = e; }
        return null;
      case "part": {
        const j = jobs.get(m.job);
        if (!j) throw new DOMException("no such job", "InvalidStateError");
        if (!j.err) { try { j.h.update(new Uint8Array(m.buf)); } catch (e) { j.err = e; } }
        if (j.err) throw j.err;
        return {};
      }
      case "end": {
        const j = jobs.get(m.id);
        jobs.delete(m.id);
        if (!j) throw new DOMException("no such job", "InvalidStateError");
        if (j.err) throw j.err;
        return j.h.result();
      }
      case "cancel":
        jobs.delete(m.id);
        return null;
      case "blob": {
        const state = { stop: false };
        states.set(m.id, state);
        try {
          return await hashBlob(m.blob, { whole: m.whole, piece: m.piece, depth: m.depth, crc: m.crc, state });
        } finally {
          states.delete(m.id);
        }
      }
      }
      throw new DOMException("unknown operation " + m.op, "NotSupportedError");
    }
    let queue = Promise.resolve();
    self.onmessage = (ev) => {
      const m = ev.data;
      if (m.op === "stop") {
        const st = states.get(m.id);
        if (st) st.stop = true;
        return;
      }
      queue = queue.then(async () => {
        let reply;
        try { reply = await run(m); } catch (e) { reply = { error: describe(e) }; }
        if (reply === null) return;
        reply.id = m.id;
        self.postMessage(reply, reply.hash ? [reply.hash.buffer] : []);
      });
    };
  };

  // digester is the client of the digest worker, started from url once
  // per context: a promise of the client, or of null where the worker
  // cannot run (no Worker, a Content-Security-Policy that forbids url, no
  // answer within 10 s). A worker that fails later is dropped; the next
  // call starts another.
  let digesterOf = null;
  // noWorker says, once, that the digest worker cannot start: content is
  // then hashed on the calling thread, which on a page is a long task
  // (about 300 ms per 64 MiB). The usual cause is a cross-origin isolated
  // page (Cross-Origin-Embedder-Policy) whose server sends this file
  // without that header: a worker's script must carry it too.
  let warned = false;
  const noWorker = function (url, e) {
    if (warned || typeof console === "undefined") return;
    warned = true;
    console.warn("atelier: the digest worker did not start from " + url + " (" + ((e && e.message) || e) +
      "); hashing on this thread instead. A cross-origin isolated page must serve this file with " +
      "Cross-Origin-Embedder-Policy too.");
  };

  const digester = function (url) {
    if (!url || typeof Worker !== "function") return Promise.resolve(null);
    if (digesterOf && digesterOf.url === url) return digesterOf.p;
    const entry = { url, p: null };
    entry.p = new Promise((resolve) => {
      let w;
      try { w = new Worker(url, { name: "atelier-digest" }); } catch (e) { noWorker(url, e); resolve(null); return; }
      const pending = new Map();
      let nextID = 1, dead = null;
      let started = false;
      const fail = (err) => {
        if (dead) return;
        dead = err;
        // A worker that failed after it started is replaced at the next
        // call; one that never started is not tried again from url.
        if (started && digesterOf === entry) digesterOf = null;
        for (const p of pending.values()) p.reject(err);
        pending.clear();
        try { w.terminate(); } catch (e) {}
      };
      w.onmessage = (ev) => {
        const r = ev.data, p = pending.get(r.id);
        if (!p) return;
        pending.delete(r.id);
        if (r.error) p.reject(new DOMException(r.error.message, r.error.name));
        else p.resolve(r);
      };
      w.onerror = (ev) => {
        if (ev && ev.preventDefault) ev.preventDefault();
        fail(new DOMException("the digest worker failed" + (ev && ev.message ? ": " + ev.message : ""), "OperationError"));
      };
      const call = (msg, transfer) => new Promise((res, rej) => {
        if (dead) { rej(dead); return; }
        pending.set(msg.id, { resolve: res, reject: rej });
        w.postMessage(msg, transfer || []);
      });
      const post = (msg, transfer) => { if (!dead) w.postMessage(msg, transfer || []); };
      const result = (r) => ({ hash: new Uint8Array(r.hash), crc: r.crc });
      const client = {
        begin(size, crc, whole) {
          const id = nextID++;
          post({ op: "begin", id, size, crc, whole });
          return {
            part(ab) { return call({ op: "part", id: nextID++, job: id, buf: ab }, [ab]); },
            end() { return call({ op: "end", id }).then(result); },
            cancel() { post({ op: "cancel", id }); },
          };
        },
        blob(blob, o) {
          const id = nextID++;
          o.state.onstop = () => post({ op: "stop", id });
          if (o.state.stop) o.state.onstop();
          return call({ op: "blob", id, blob, crc: o.crc, whole: o.whole, piece: o.piece, depth: o.depth }).then(result);
        },
      };
      const timer = setTimeout(() => fail(new DOMException("the digest worker did not answer", "TimeoutError")), 10000);
      call({ op: "ping", id: nextID++ }).then(
        () => { clearTimeout(timer); started = true; resolve(client); },
        (e) => { clearTimeout(timer); noWorker(url, e); resolve(null); });
    });
    digesterOf = entry;
    return entry.p;
  };

  // sum hashes content for fsx, with the digest worker where it can run
  // (o.digest is the URL to start it from) and on this thread otherwise.
  // Both functions take o = { piece, depth, crc, whole, state, progress,
  // digest }: slices of piece bytes, depth of them read ahead; with o.crc
  // the CRC-32 too; WebCrypto up to o.whole bytes (see newHasher);
  // o.state.stop, once true, stops the work at the next slice with an
  // AbortError (o.state.onstop, if the function sets it, is called when it
  // is set); o.progress(done), if set, is called after each slice. Both
  // return { hash, crc }: hash a Uint8Array of 32 bytes, crc a number or
  // undefined.
  const sum = (function () {
    // blob hashes a Blob.
    const blob = async function (b, o) {
      const d = await digester(o.digest);
      return d ? d.blob(b, o) : hashBlob(b, o);
    };
    // copy writes a Blob into a FileSystemSyncAccessHandle (a worker's)
    // from offset 0, reading it once through blob.stream(): the browser
    // reads ahead of the stream, which gave 64 MiB in 180-360 ms here
    // against 450-680 ms for the same Blob read in 4 MiB slices with
    // slice().arrayBuffer(). Each chunk is written, then handed
    // (transferred) to the digest worker, which hashes with the streaming
    // SHA-256 while this thread reads and writes the next, at most
    // o.piece * o.depth bytes ahead of it; without that worker, this thread
    // hashes each chunk itself. The hash streams at every size (o.whole is
    // not used): WebCrypto would only start once the last chunk is in.
    const copy = async function (blob, h, o) {
      const d = await digester(o.digest);
      const job = d ? d.begin(blob.size, o.crc, -1) : null;
      const hs = job ? null : await newHasher(blob.size, o.crc, -1);
      try {
        const window = o.piece * o.depth, parts = [];
        let ahead = 0;
        await pump(blob, o, async (u8, at) => {
          writeAll(h, u8, at);
          if (!job) {
            hs.update(u8);
            return;
          }
          // The stream's chunks normally own their buffers; a piece of a
          // larger one is copied, as transferring it would send more.
          const n = u8.length;
          const ab = u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength ? u8.buffer : u8.slice().buffer;
          const p = job.part(ab);
          p.catch(noop); // awaited below, unless an earlier step fails
          parts.push({ p, n });
          ahead += n;
          while (ahead > window) {
            const q = parts.shift();
            await q.p;
            ahead -= q.n;
          }
        });
        await Promise.all(parts.map((q) => q.p));
        return await (job ? job.end() : hs.result());
      } catch (e) {
        if (job) job.cancel();
        throw e;
      }
    };
    // hasher is newHasher, for the benchmark of the streaming SHA-256.
    return { blob, copy, digester, hasher: newHasher };
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
        writeAll(h, new Uint8Array(m.buf, 0, m.n), m.at);
        return {};
      }
      case "close": {
        const h = handles.get(m.fid);
        if (!h) throw notOpen();
        handles.delete(m.fid);
        try { return { size: h.getSize() }; } finally { h.close(); }
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

  globalThis.__atelierBridge = { version: VERSION, url, records, guards, tx, crc, sum, helper, throwing };

  if (typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope &&
      globalThis.name === "atelier-fsx-helper") {
    helper(globalThis);
  }
  if (typeof WorkerGlobalScope !== "undefined" && globalThis instanceof WorkerGlobalScope &&
      globalThis.name === "atelier-digest") {
    digestWorker(globalThis);
  }
})();
