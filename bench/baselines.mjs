// Baselines for make bench: the same work as the library's, written the way
// a page without it would do it, with raw browser APIs or with Dexie.js.
// Each timed function measures itself with performance.now() and resolves
// to milliseconds, so the Go side's calling overhead is not counted against
// the baseline. bench/wasm calls them through globalThis.baselines.
//
// Write transactions use durability "relaxed", as the library's do, so the
// comparison is of the code, not of the durability hint.

import Dexie from "./node_modules/dexie/dist/dexie.mjs";

const TX = { durability: "relaxed" };

const request = (r) => new Promise((ok, fail) => {
  r.onsuccess = () => ok(r.result);
  r.onerror = () => fail(r.error);
});

const committed = (tx) => new Promise((ok, fail) => {
  tx.oncomplete = ok;
  tx.onabort = () => fail(tx.error || new Error("transaction aborted"));
});

// dropDB deletes a database (left by an earlier run) before a scenario.
export function dropDB(name) {
  return new Promise((ok, fail) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = () => ok(true);
    r.onerror = () => fail(r.error);
    r.onblocked = () => console.warn(`deleting ${name}: blocked`);
  });
}

// rawOpen opens a database with one object store of nodes keyed by id and
// indexed by workflowId.
export function rawOpen(name) {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => {
    const s = r.result.createObjectStore("nodes", { keyPath: "id" });
    s.createIndex("workflowId", "workflowId");
  };
  return request(r);
}

// dexieOpen opens the same layout with Dexie.
export async function dexieOpen(name) {
  const db = new Dexie(name, { chromeTransactionDurability: "relaxed" });
  db.version(1).stores({ nodes: "id, workflowId" });
  await db.open();
  return db;
}

const isDexie = (db) => db instanceof Dexie;

// rawPutAll writes all nodes with a put loop in one transaction and waits
// for the commit.
export async function rawPutAll(db, nodes) {
  const t0 = performance.now();
  const tx = db.transaction("nodes", "readwrite", TX);
  const s = tx.objectStore("nodes");
  for (const n of nodes) s.put(n);
  await committed(tx);
  return performance.now() - t0;
}

// dexiePutAll writes all nodes with one bulkPut.
export async function dexiePutAll(db, nodes) {
  const t0 = performance.now();
  await db.table("nodes").bulkPut(nodes);
  return performance.now() - t0;
}

// rawMoveOne sets the node object's position and puts it in its own
// transaction, resolving once it has committed.
export async function rawMoveOne(db, node, x) {
  const t0 = performance.now();
  node.position.x = x;
  const tx = db.transaction("nodes", "readwrite", TX);
  tx.objectStore("nodes").put(node);
  await committed(tx);
  return performance.now() - t0;
}

// rawLoad reads a workflow's nodes into JavaScript objects with one getAll
// on the workflowId index.
export async function rawLoad(db, wf, want) {
  const t0 = performance.now();
  const tx = db.transaction("nodes", "readonly");
  const rows = await request(tx.objectStore("nodes").index("workflowId").getAll(wf));
  const t = performance.now() - t0;
  if (rows.length !== want) throw new Error(`raw getAll: ${rows.length} nodes, want ${want}`);
  return t;
}

// dexieLoad reads them with where().equals().toArray().
export async function dexieLoad(db, wf, want) {
  const t0 = performance.now();
  const rows = await db.table("nodes").where("workflowId").equals(wf).toArray();
  const t = performance.now() - t0;
  if (rows.length !== want) throw new Error(`Dexie toArray: ${rows.length} nodes, want ${want}`);
  return t;
}

export async function count(db) {
  if (isDexie(db)) return db.table("nodes").count();
  return request(db.transaction("nodes", "readonly").objectStore("nodes").count());
}

// opfsWrite writes a Blob (or bytes) to an OPFS file with createWritable.
export async function opfsWrite(data, name) {
  const t0 = performance.now();
  const root = await navigator.storage.getDirectory();
  const f = await root.getFileHandle(name, { create: true });
  const w = await f.createWritable();
  await w.write(data);
  await w.close();
  return performance.now() - t0;
}

// opfsRead reads an OPFS file whole with getFile().arrayBuffer().
export async function opfsRead(name, want) {
  const t0 = performance.now();
  const root = await navigator.storage.getDirectory();
  const buf = await (await (await root.getFileHandle(name)).getFile()).arrayBuffer();
  const t = performance.now() - t0;
  if (buf.byteLength !== want) throw new Error(`OPFS read ${buf.byteLength} bytes, want ${want}`);
  return t;
}

// opfsRemove removes a file or directory of the OPFS root, if it exists.
export async function opfsRemove(name) {
  const root = await navigator.storage.getDirectory();
  try {
    await root.removeEntry(name, { recursive: true });
  } catch (e) {
    if (e.name !== "NotFoundError") throw e;
  }
  return true;
}

// bcEcho (tab B) answers every message on the channel with the same data.
export function bcEcho(name) {
  const ch = new BroadcastChannel(name);
  ch.onmessage = (e) => ch.postMessage(e.data);
  globalThis.benchEcho = ch;
  return true;
}

// bcRoundTrips (tab A) sends n messages, gapMs apart, each answered by
// bcEcho in another tab, and resolves to the round-trip times.
export function bcRoundTrips(name, n, gapMs) {
  return new Promise((ok) => {
    const ch = new BroadcastChannel(name);
    const out = [];
    let t0;
    ch.onmessage = () => {
      out.push(performance.now() - t0);
      if (out.length === n) {
        ch.close();
        ok(out);
        return;
      }
      setTimeout(() => { t0 = performance.now(); ch.postMessage(out.length); }, gapMs);
    };
    t0 = performance.now();
    ch.postMessage(0);
  });
}

let worker;
let calls = 0;
const pending = new Map();

// runInWorker runs a scenario of bench/wasm in a dedicated worker
// (bench/worker.js) and resolves to its result (JSON text).
export function runInWorker(name, opts) {
  if (!worker) {
    worker = new Worker(new URL("./worker.js", import.meta.url));
    worker.onmessage = (e) => {
      const { id, out, error } = e.data;
      const p = pending.get(id);
      pending.delete(id);
      if (error !== undefined) p.fail(new Error(error));
      else p.ok(out);
    };
    worker.onerror = (e) => {
      for (const p of pending.values()) p.fail(new Error(`worker: ${e.message}`));
      pending.clear();
    };
  }
  const id = ++calls;
  return new Promise((ok, fail) => {
    pending.set(id, { ok, fail });
    worker.postMessage({ id, name, opts });
  });
}
