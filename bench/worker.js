// A dedicated worker for the worker-path scenario of make bench (S5): it
// runs bench/wasm here, where the library writes OPFS files with sync
// access handles, next to the raw baseline doing the same with a sync
// access handle. The page sends {id, name, opts} (see runInWorker in
// baselines.mjs) and gets back {id, out} or {id, error}.

importScripts("/build/wasm_exec.js");

const request = (r) => new Promise((ok, fail) => {
  r.onsuccess = () => ok(r.result);
  r.onerror = () => fail(r.error);
});

globalThis.rawWorker = {
  async dropDB(name) {
    await request(indexedDB.deleteDatabase(name));
    return true;
  },

  async opfsRemove(name) {
    const root = await navigator.storage.getDirectory();
    try {
      await root.removeEntry(name, { recursive: true });
    } catch (e) {
      if (e.name !== "NotFoundError") throw e;
    }
    return true;
  },

  // syncWrite writes bytes to a new OPFS file with a sync access handle.
  async syncWrite(bytes, name) {
    const t0 = performance.now();
    const root = await navigator.storage.getDirectory();
    const f = await root.getFileHandle(name, { create: true });
    const h = await f.createSyncAccessHandle();
    try {
      h.truncate(0);
      const n = h.write(bytes, { at: 0 });
      if (n !== bytes.byteLength) throw new Error(`wrote ${n} of ${bytes.byteLength} bytes`);
      h.flush();
    } finally {
      h.close();
    }
    return performance.now() - t0;
  },

  // syncRead reads an OPFS file whole with a sync access handle.
  async syncRead(name, want) {
    const t0 = performance.now();
    const root = await navigator.storage.getDirectory();
    const h = await (await root.getFileHandle(name)).createSyncAccessHandle();
    let n;
    try {
      const buf = new Uint8Array(h.getSize());
      n = h.read(buf, { at: 0 });
    } finally {
      h.close();
    }
    const t = performance.now() - t0;
    if (n !== want) throw new Error(`read ${n} bytes, want ${want}`);
    return t;
  },
};

const started = (async () => {
  const go = new Go();
  const ready = new Promise((resolve) => { globalThis.__benchReady = resolve; });
  const { instance } = await WebAssembly.instantiateStreaming(fetch("/bench/build/bench.wasm"), go.importObject);
  go.run(instance).then(() => console.error("bench worker: the wasm module exited"));
  return ready;
})();

onmessage = async (e) => {
  const { id, name, opts } = e.data;
  try {
    const lib = await started;
    postMessage({ id, out: await lib.run(name, opts) });
  } catch (err) {
    postMessage({ id, error: String((err && err.message) || err) });
  }
};
