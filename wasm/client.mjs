// client.mjs is the page's side of worker mode: it starts the engine in a
// dedicated module worker (worker.mjs) and gives each opened workspace an
// object with exactly the in-place API (atelier.d.ts), whose methods post
// one message per call. Arguments and results are structured clones of
// plain objects; Blobs and Files are posted as they are; callbacks and
// AbortSignals become markers the worker turns back into functions and
// signals. Large arrays (setNodes of a big graph, the nodes of a loaded
// workflow) travel in chunks, the page yielding between them, so that no
// clone blocks it for more than a frame: the nodes and edges of a write
// as the JSON text the engine decodes (it would stringify the objects
// itself), those of a result as UTF-8 JSON text in transferred buffers,
// parsed here. A worker that goes away (crash,
// termination) fails every pending call with Closed; the next open starts
// a new one.

// CHUNK is the number of array items per message: a clone or a
// JSON.stringify of a ms or two. The JSON text of 200 nodes (~90 KB) stays
// below V8's large-object size (128 KB), so that it dies young instead of
// waiting in the old generation for a full collection of the page's heap.
const CHUNK = 200;

// Where this module is, for the fallback below (the literal form is for bundlers).
const here = import.meta.url;


const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// startWorker starts the engine's worker: from url when the app names one,
// else from worker.mjs beside this module, written in the one form bundlers
// recognize (new Worker(new URL("./worker.mjs", import.meta.url), {type:
// "module"})): Vite, webpack and Parcel bundle the worker with what it
// imports. A worker script must come from the page's origin; from another
// (the package served by a CDN), a same-origin blob: module that imports it
// takes its place.
function startWorker(url) {
  const options = { type: "module", name: "atelier" };
  try {
    if (url !== undefined) return new Worker(url, options);
    return new Worker(new URL("./worker.mjs", import.meta.url), { type: "module", name: "atelier" });
  } catch (e) {
    const src = String(url ?? new URL("./worker.mjs", here));
    if (e?.name !== "SecurityError" || new URL(src, location.href).origin === location.origin) throw e;
    const blob = new Blob([`import ${JSON.stringify(src)};\n`], { type: "text/javascript" });
    return new Worker(URL.createObjectURL(blob), options);
  }
}

/** A worker running the engine, shared by the workspaces this page opens through it. */
export class Engine {
  constructor(workerURL, urls, ErrorClass) {
    this.ErrorClass = ErrorClass;
    this.pending = new Map(); // call id -> {resolve, reject, chunks, cbs}
    this.subs = new Map(); // sub -> callback
    this.dbs = new Map(); // db id -> {events, closed, name}
    this.next = 0;
    this.dead = null; // the error every call gets once the worker is gone
    this.worker = startWorker(workerURL);
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      this.die(`the engine's worker failed: ${e.message ?? "an error"}`);
    };
    const lock = `atelier-worker:${crypto.randomUUID()}`;
    this.ready = new Promise((resolve, reject) => { this.started = { resolve, reject }; });
    this.ready.catch(() => {});
    this.worker.postMessage({ t: "init", urls: { ...urls }, lock });
    // The worker holds the lock from its start: once the page is granted
    // it, the worker has gone.
    this.ready.then(() => navigator.locks?.request(lock, () => this.die("the engine's worker stopped")), () => {});
  }

  error(data) {
    const e = new this.ErrorClass(data.message, data.code);
    for (const [k, v] of Object.entries(data)) if (k !== "message" && k !== "stack") e[k] = v;
    e.name = data.code ?? data.name;
    return e;
  }

  closedError(msg) {
    return new this.ErrorClass(`atelier: ${msg}`, "Closed");
  }

  die(msg) {
    if (this.dead) return;
    this.dead = this.closedError(msg);
    this.started.reject(this.dead);
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
    for (const db of this.dbs.values()) db.closed = true;
    for (const cb of this.subs.values()) {
      try { cb(null, this.dead); } catch (e) { console.error("atelier: a callback threw:", e); }
    }
    this.subs.clear();
    this.worker.terminate();
  }

  receive(m) {
    switch (m.t) {
      case "ready":
        this.started.resolve();
        break;
      case "fail":
        this.started.reject(this.error(m.error));
        this.die("the engine's worker could not start");
        break;
      case "partack": {
        const p = this.pending.get(m.id);
        p?.partAcked?.();
        break;
      }
      case "text": {
        // The JSON text of a chunk of the result: parsed once the answer
        // is complete (see settle).
        this.pending.get(m.id)?.texts.push(m);
        break;
      }
      case "chunk": {
        const p = this.pending.get(m.id);
        if (p) (p.chunks[m.path] ??= []).push(m.items);
        this.worker.postMessage({ t: "ack", id: m.id });
        break;
      }
      case "ok": {
        const p = this.pending.get(m.id);
        if (!p) break;
        this.pending.delete(m.id);
        if (m.chunked) this.settle(p, m.value).then(p.resolve, p.reject);
        else p.resolve(m.value);
        break;
      }
      case "err": {
        const p = this.pending.get(m.id);
        if (!p) break;
        this.pending.delete(m.id);
        p.reject(this.error(m.error));
        break;
      }
      case "cb": {
        const f = this.pending.get(m.id)?.cbs[m.k];
        if (f) invoke(f, m.args);
        break;
      }
      case "event": {
        const f = this.dbs.get(m.db)?.events[m.name];
        if (f) invoke(f, m.args);
        break;
      }
      case "snap": {
        const f = this.subs.get(m.sub);
        if (f) invoke(f, [m.value, m.error && this.error(m.error)]);
        break;
      }
    }
  }

  // settle assembles a result that came in chunks: value with the items
  // of each chunked path. Chunks of JSON text are parsed here, one per
  // task: they arrive back to back, and the page would not run a timer or
  // an input event between them.
  async settle(p, value) {
    for (const { path, text } of p.texts) {
      (p.chunks[path] ??= []).push(JSON.parse(utf8.decode(text)));
      await nextTask();
    }
    let v = value;
    for (const [path, parts] of Object.entries(p.chunks)) {
      const all = parts.length === 1 ? parts[0] : [].concat(...parts);
      if (path === "") v = all;
      else v[path] = all;
    }
    return v;
  }

  // send posts msg as a new call and returns its id and the promise of
  // its answer.
  send(msg, cbs = {}) {
    const id = ++this.next;
    if (this.dead) return { id, answer: Promise.reject(this.dead) };
    const answer = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, chunks: {}, texts: [], cbs });
    });
    try {
      this.post({ ...msg, id });
    } catch (e) {
      this.pending.get(id).reject(e);
      this.pending.delete(id);
    }
    return { id, answer };
  }

  // post posts msg; arguments the structured clone refuses (a Proxy, an
  // object holding functions) go as JSON.stringify would see them, as they
  // do in place, and an argument that JSON refuses too rejects with Invalid.
  post(msg) {
    try {
      this.worker.postMessage(msg);
      return;
    } catch (e) {
      if (e?.name !== "DataCloneError" || !("args" in msg || "options" in msg)) throw e;
    }
    const asJSON = (v, what) => {
      if (v === undefined) return v;
      try {
        return structuredClone(v);
      } catch {
        try {
          return JSON.parse(JSON.stringify(v));
        } catch (e) {
          throw new this.ErrorClass(`invalid ${what}: cannot be converted to JSON: ${e?.message ?? e}`, "Invalid");
        }
      }
    };
    if ("args" in msg) msg = { ...msg, args: msg.args.map((a, i) => asJSON(a, `argument ${i + 1}`)) };
    if ("options" in msg) msg = { ...msg, options: asJSON(msg.options, "options") };
    this.worker.postMessage(msg);
  }

  request(msg, cbs) {
    return this.send(msg, cbs).answer;
  }

  /** Opens a workspace in the worker: the client object of atelier.d.ts. */
  async open(options) {
    await this.ready;
    // Options that are not an object go as they are: the engine says what
    // is wrong with them, as in place.
    let data = options;
    const events = {};
    if (options !== null && typeof options === "object" && !Array.isArray(options)) {
      data = {};
      for (const [k, v] of Object.entries(options)) {
        if (typeof v === "function") events[k] = v;
        else data[k] = v;
      }
    }
    const { db: dbID, name, methods, textArgs } = await this.request({ t: "open", options: data, cbs: Object.keys(events) });
    // textArgs: the methods whose array argument may go as JSON text, by
    // the argument's index (setNodes' nodes, ...).
    const db = { events, closed: false, textArgs: textArgs ?? {} };
    this.dbs.set(dbID, db);
    return this.client(dbID, db, name, methods);
  }

  client(dbID, db, name, methods) {
    const obj = { name };
    for (const m of methods) {
      if (m === "watchWorkflow" || m === "watchWorkflows") obj[m] = (...args) => this.watch(dbID, db, m, args);
      else obj[m] = (...args) => this.call(dbID, db, m, args);
    }
    Object.defineProperty(obj, Symbol.for("atelier.worker"), { value: this.worker });
    return obj;
  }

  // call sends one method call; see worker.mjs for the markers.
  async call(dbID, db, method, args) {
    if (db.closed || this.dead) {
      if (method === "close") return undefined;
      throw this.closedError("database closed");
    }
    if (method === "persist") return persist(this.ErrorClass);
    if (method === "assetURL") {
      // An object URL made in the worker would belong to it: make it here.
      return URL.createObjectURL(await this.call(dbID, db, "assetBlob", args));
    }
    const cbs = {};
    const signals = [];
    let n = 0;
    const mark = (v) => {
      if (typeof v === "function") {
        const k = n++;
        cbs[k] = v;
        return { $cb: k };
      }
      if (typeof AbortSignal !== "undefined" && v instanceof AbortSignal) {
        signals.push(v);
        return { $signal: true };
      }
      return v;
    };
    // Objects are read here once, as JSON.stringify would read them in
    // place: a getter or a Proxy that throws rejects with Invalid.
    const sent = args.map((a, i) => {
      const field = i === args.length - 1 && i > 0 ? "options" : `argument ${i + 1}`;
      let key = "";
      try {
        const m = mark(a);
        if (m !== a || !isPlain(a)) return m;
        const o = {};
        for (key of Object.keys(a)) o[key] = mark(a[key]);
        return o;
      } catch (e) {
        throw this.invalid(key ? `${field}.${key}` : field, `reading it threw ${e?.message ?? e}`);
      }
    });
    // A large array argument follows in parts.
    const big = sent.findIndex((a) => Array.isArray(a) && a.length > CHUNK);
    const items = big >= 0 ? sent[big] : null;
    if (items) sent[big] = [];
    if (signals.some((s) => s.aborted)) throw new this.ErrorClass("aborted by its signal", "Aborted");
    const msg = { t: "call", db: dbID, method, args: sent };
    if (items) msg.parts = big;
    const { id, answer } = this.send(msg, cbs);
    const onAbort = () => this.worker.postMessage({ t: "abort", id });
    for (const s of signals) s.addEventListener("abort", onAbort, { once: true });
    try {
      if (items) {
        // One part at a time: the worker's acknowledgement is a task of
        // the page's, so the page runs its own work (input, rendering)
        // between two parts.
        const p = this.pending.get(id);
        let textual = db.textArgs[method] === big;
        for (let i = 0; i < items.length && p && !this.dead; i += CHUNK) {
          const acked = new Promise((resolve) => { p.partAcked = resolve; });
          const part = { t: "part", id, last: i + CHUNK >= items.length };
          const slice = items.slice(i, i + CHUNK);
          if (textual) {
            // As JSON text, which the engine reads as it is (the same
            // text the engine's JSON.stringify would make in place).
            try {
              part.text = JSON.stringify(slice);
            } catch {
              textual = false; // the engine gives the error, as in place
            }
          }
          if (!textual) part.args = slice;
          this.post(part);
          await Promise.race([acked, answer.catch(() => {})]);
        }
      }
      let v = await answer;
      if (method === "close") db.closed = true;
      if (method === "capabilities" && v && typeof v === "object") {
        // The worker cannot show a folder picker; the page can.
        v = { ...v, folderAccess: typeof globalThis.showDirectoryPicker === "function" };
      }
      return v;
    } finally {
      for (const s of signals) s.removeEventListener("abort", onAbort);
    }
  }

  // invalid is the error of a bad argument, shaped as the engine's.
  invalid(field, reason, entity = "argument") {
    return Object.assign(new this.ErrorClass(`invalid ${entity}: ${field}: ${reason}`, "Invalid"), { entity, field, reason });
  }

  // watch starts a live query and returns its unsubscribe at once, as the
  // in-place API does; bad arguments and a closed database throw.
  watch(dbID, db, method, args) {
    const cb = method === "watchWorkflow" ? args[1] : args[0];
    if (method === "watchWorkflow" && typeof args[0] !== "string") {
      throw this.invalid("workflowId", `must be a string, not ${describe(args[0])}`);
    }
    if (typeof cb !== "function") throw this.invalid("callback", `must be a function, not ${describe(cb)}`);
    if (method === "watchWorkflow" && !UUID.test(args[0])) {
      throw Object.assign(this.invalid("id", "must be a canonical UUID", "workflow"), { id: args[0] });
    }
    if (db.closed || this.dead) throw this.closedError("database closed");
    const sub = ++this.next;
    this.subs.set(sub, cb);
    this.worker.postMessage({ t: "watch", sub, db: dbID, method, args: method === "watchWorkflow" ? [args[0]] : [] });
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      this.subs.delete(sub);
      if (!this.dead) this.worker.postMessage({ t: "unwatch", sub });
    };
    return stop;
  }
}

// nextTask resolves in a task of its own, queued behind what is due now
// (a timer, an input event): a MessageChannel message, which no clamp
// delays as it does a setTimeout(0) chain.
const yields = [];
const utf8 = new TextDecoder();
let yielder;
function nextTask() {
  if (!yielder) {
    yielder = new MessageChannel();
    yielder.port1.onmessage = () => yields.shift()?.();
  }
  return new Promise((resolve) => {
    yields.push(resolve);
    yielder.port2.postMessage(null);
  });
}

// persist asks the browser to keep this origin's storage, which only a
// window may (the worker has no navigator.storage.persist).
async function persist(ErrorClass) {
  if (typeof navigator.storage?.persist !== "function") {
    throw new ErrorClass("persistent storage: navigator.storage.persist: not supported by this browser", "Unsupported");
  }
  return navigator.storage.persist();
}

function invoke(f, args) {
  try {
    f(...args);
  } catch (e) {
    console.error("atelier: a callback threw:", e);
  }
}

function isPlain(v) {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  const t = typeof v;
  if (t === "object") return "an object";
  if (t === "undefined") return "undefined";
  return `a${/^[aeiou]/.test(t) ? "n" : ""} ${t}`;
}
