// worker.mjs is the engine's side of worker mode: a dedicated module
// worker that loads the wasm module (engine.mjs, the in-place loader) and
// answers the page's client (client.mjs), one message per call. All
// IndexedDB, OPFS, hashing, BroadcastChannel and sync work runs here; the
// page only posts messages.
//
// The protocol (every message has a type t):
//   page -> worker
//     init    {urls}                        load the module; answers ready or fail
//     open    {id, options, cbs}            open a workspace; answers ok {db, name, methods}
//     call    {id, db, method, args, parts} call a method; args hold {$cb: k} and {$signal: true} for
//                                           callbacks and AbortSignals; parts: an argument that
//                                           arrives in part messages
//     part    {id, args | text, last}       the next items of that argument, or their
//                                           JSON text (setNodes and the like)
//     abort   {id}                          the call's AbortSignal fired
//     watch   {sub, db, method, args}       start a watch; its snapshots come as snap messages
//     unwatch {sub}                         stop it
//   worker -> page
//     ready, fail {error}
//     ok {id, value} | err {id, error} | chunk {id, path, items}
//     text {id, path, text}                 the JSON text of a chunk of a large result, UTF-8
//                                           in a transferred Uint8Array
//     cb {id, k, args}                      a call's callback (onProgress)
//     event {db, name, args}                a workspace's callback (onSyncStatus, ...)
//     snap {sub, value, error}              a watch's snapshot or error
//
// Large arrays travel in chunks (chunk, text and part messages) so that
// no structured clone blocks the page for more than a frame; everything
// else is one message per call. Results' ArrayBuffers are transferred.
// Nodes and edges cross as JSON text, which is what the engine reads and
// writes (see wasm/wire.go): cloning them as objects would only add a
// conversion on each side.

import { loadInPlace } from "./engine.mjs";

const CHUNK = 500; // array items per message, see client.mjs

let api; // the engine's API, once loaded
const dbs = new Map(); // db id -> the engine's db object
const calls = new Map(); // call id -> {abort: AbortController, parts: [], resolve}
const watches = new Map(); // sub -> unsubscribe
let nextDB = 0;

const post = (msg, transfer) => self.postMessage(msg, transfer ?? []);

// errorData is what crosses for an error: its name, code, message and own
// properties (entity, field, reason, entry, failures, ...).
function errorData(e) {
  if (!(e instanceof Error)) return { name: "Internal", code: "Internal", message: String(e) };
  const out = { name: e.name, code: e.code ?? "Internal", message: e.message };
  for (const k of Object.keys(e)) {
    try {
      out[k] = structuredClone(e[k]);
    } catch {
      // not cloneable: left out
    }
  }
  return out;
}

// transfers lists the ArrayBuffers in v (top level and one level down).
function transfers(v) {
  const out = [];
  const add = (x) => {
    if (x instanceof ArrayBuffer) out.push(x);
    else if (ArrayBuffer.isView(x) && x.byteOffset === 0 && x.byteLength === x.buffer.byteLength) out.push(x.buffer);
  };
  add(v);
  if (v && typeof v === "object" && !ArrayBuffer.isView(v)) for (const x of Object.values(v)) add(x);
  return out;
}

// acks are the chunk acknowledgements the page sends, by call id.
const acks = new Map();

// chunk posts one chunk of call id's result and waits until the page has
// taken it: the page then runs its own work (input, rendering) before the
// next one arrives, instead of decoding the chunks back to back.
function chunk(id, path, items) {
  return new Promise((resolve) => {
    acks.set(id, resolve);
    post({ t: "chunk", id, path, items });
  });
}

// send answers call id with value, in chunks where value is (or holds) a
// large array.
async function send(id, value) {
  if (value && typeof value === "object" && typeof value.$json === "string" && value.$parts) {
    // The engine's wire form (wasm/wire.go): the text of each chunk goes
    // as it is, its buffer transferred, and the page parses it.
    for (const [path, texts] of Object.entries(value.$parts)) {
      for (const text of texts) post({ t: "text", id, path, text }, [text.buffer]);
    }
    post({ t: "ok", id, value: JSON.parse(value.$json), chunked: true });
    return;
  }
  if (Array.isArray(value) && value.length > CHUNK) {
    for (let i = 0; i < value.length; i += CHUNK) await chunk(id, "", value.slice(i, i + CHUNK));
    post({ t: "ok", id, value: [], chunked: true });
    return;
  }
  if (value && typeof value === "object" && !(value instanceof Blob) && !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer)) {
    const big = Object.keys(value).filter((k) => Array.isArray(value[k]) && value[k].length > CHUNK);
    if (big.length) {
      const rest = { ...value };
      for (const k of big) {
        const arr = value[k];
        rest[k] = [];
        for (let i = 0; i < arr.length; i += CHUNK) await chunk(id, k, arr.slice(i, i + CHUNK));
      }
      post({ t: "ok", id, value: rest, chunked: true });
      return;
    }
  }
  post({ t: "ok", id, value }, transfers(value));
}

// revive turns the markers of args back into callbacks and signals.
function revive(id, args, call) {
  const one = (v) => {
    if (isPlain(v)) {
      if (v.$cb !== undefined) {
        const k = v.$cb;
        return (...a) => post({ t: "cb", id, k, args: a });
      }
      if (v.$signal) return call.abort.signal;
    }
    return v;
  };
  return args.map((a) => {
    const r = one(a);
    if (r !== a || !isPlain(a)) return r;
    const o = {};
    for (const [k, v] of Object.entries(a)) o[k] = one(v);
    return o;
  });
}

// isPlain reports whether v is a plain object, as a structured clone of
// one arrives (not an array, a Blob, a handle).
function isPlain(v) {
  if (v === null || typeof v !== "object") return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

async function onCall(m) {
  const call = { abort: new AbortController(), items: null };
  calls.set(m.id, call);
  try {
    const db = dbs.get(m.db);
    if (!db) throw Object.assign(new Error("database closed"), { name: "Closed", code: "Closed" });
    const args = revive(m.id, m.args, call);
    let json;
    if (m.parts !== undefined) {
      call.items = [];
      await new Promise((resolve) => { call.partsDone = resolve; });
      const parts = call.items;
      if (parts.every((p) => typeof p === "string")) {
        // JSON text of the argument's items, in chunks: the engine
        // decodes the text (see $call in wasm/wire.go).
        json = { index: m.parts, parts };
        args[m.parts] = [];
      } else {
        args[m.parts] = parts.flatMap((p) => (typeof p === "string" ? JSON.parse(p) : p));
      }
    }
    const value = typeof db.$call === "function"
      ? await db.$call(m.method, args, json)
      : await db[m.method](...args);
    if (m.method === "close") dbs.delete(m.db);
    await send(m.id, value);
  } catch (e) {
    post({ t: "err", id: m.id, error: errorData(e) });
  } finally {
    calls.delete(m.id);
  }
}

async function onOpen(m) {
  try {
    const id = ++nextDB;
    let options = m.options;
    if (options !== null && typeof options === "object" && !Array.isArray(options)) {
      options = { ...options };
      for (const k of m.cbs) options[k] = (...a) => post({ t: "event", db: id, name: k, args: a });
    }
    const db = await api.open(options);
    dbs.set(id, db);
    const methods = Object.keys(db).filter((k) => typeof db[k] === "function");
    post({ t: "ok", id: m.id, value: { db: id, name: db.name, methods, textArgs: { ...db.$textArgs } } });
  } catch (e) {
    post({ t: "err", id: m.id, error: errorData(e) });
  }
}

function onWatch(m) {
  const db = dbs.get(m.db);
  try {
    if (!db) throw Object.assign(new Error("database closed"), { name: "Closed", code: "Closed" });
    // The first snapshot may come before the call returns.
    watches.set(m.sub, null);
    const stop = db[m.method](...m.args, (value, error) => {
      if (!watches.has(m.sub)) return;
      post({ t: "snap", sub: m.sub, value: error ? null : value, error: error ? errorData(error) : null });
    });
    if (watches.has(m.sub)) watches.set(m.sub, stop);
    else stop(); // unwatched meanwhile
  } catch (e) {
    post({ t: "snap", sub: m.sub, value: null, error: errorData(e) });
  }
}

self.onmessage = async (e) => {
  const m = e.data;
  switch (m.t) {
    case "init":
      try {
        api = await loadInPlace(m.urls);
        // The page learns that this worker has gone (crashed, or was
        // terminated) when the browser releases this lock.
        await new Promise((held) => navigator.locks.request(m.lock, () => {
          held();
          return new Promise(() => {});
        }));
        post({ t: "ready" });
      } catch (err) {
        post({ t: "fail", error: errorData(err) });
      }
      break;
    case "open":
      onOpen(m);
      break;
    case "call":
      onCall(m);
      break;
    case "part": {
      const call = calls.get(m.id);
      if (!call || !call.items) break;
      call.items.push(m.text ?? m.args);
      post({ t: "partack", id: m.id });
      if (m.last) call.partsDone();
      break;
    }
    case "abort":
      calls.get(m.id)?.abort.abort();
      break;
    case "ack": {
      const resolve = acks.get(m.id);
      acks.delete(m.id);
      resolve?.();
      break;
    }
    case "watch":
      onWatch(m);
      break;
    case "unwatch": {
      const stop = watches.get(m.sub);
      watches.delete(m.sub);
      if (stop) stop();
      break;
    }
  }
};
