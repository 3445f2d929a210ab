// The JavaScript side of make bench (scenarios J1-J6): the library as web
// apps use it, through the public module /wasm/atelier.mjs, next to Dexie.js
// and raw IndexedDB / OPFS called from the same page. bench/js.html loads
// this module and sets globalThis.jsBench; the driver (bench/driver) runs a
// scenario with jsBench.run(name, optionsJSON), which resolves to JSON:
//
//   { series: { "<contender>.<what>": [[ms, ...] per measured run] },
//     bytes: <bytes one sample moved>, info: { workerMode, ... } }
//
// Every timed call is awaited between two performance.now() readings, with
// a heartbeat running on the page's main thread (a setTimeout(0) loop,
// started just before the call and stopped just after it): the longest gap
// between two beats is the longest time the page could not run anything
// else (input, rendering) during the call. Both go into series of their
// own: "<contender>.time" and "<contender>.block" (ms).
//
// Contenders: atelier in worker mode (open({name, worker: true})) and in
// in-page mode (open({name, worker: false})), Dexie 4 and raw browser APIs
// (the functions of baselines.mjs, which the Go-side scenarios use too).
// They take turns within every run, in a rotating order, after a warm-up.

import { load, isAtelierError } from "/wasm/atelier.mjs";
import * as base from "./baselines.mjs";

const MiB = 1 << 20;

// ---------------------------------------------------------------------------
// Measuring

/**
 * Starts a heartbeat on the main thread and returns its stop function,
 * which resolves to the longest gap in ms between two beats (the start and
 * the stop count as beats). A setTimeout(0) chain is clamped to about 4 ms
 * after a few beats, so an idle page shows gaps of about 4 ms; anything
 * longer is a task that kept the main thread busy. (A MessageChannel loop
 * has no clamp but spins the main thread, taking CPU from the very calls it
 * watches on a 2-core machine.)
 */
export function heartbeat() {
  let last = performance.now();
  let longest = 0;
  let timer;
  const beat = () => {
    const t = performance.now();
    if (t - last > longest) longest = t - last;
    last = t;
    timer = setTimeout(beat, 0);
  };
  timer = setTimeout(beat, 0);
  return () => {
    clearTimeout(timer);
    const t = performance.now();
    return Math.max(longest, t - last);
  };
}

/** Awaits fn() and resolves to its time, the longest main-thread block during it and its result. */
async function measure(fn) {
  const stop = heartbeat();
  const t0 = performance.now();
  let out;
  try {
    out = await fn();
  } catch (e) {
    stop();
    throw e;
  }
  const time = performance.now() - t0;
  return { time, block: stop(), out };
}

/** Collects the series of a scenario. */
class Result {
  constructor() {
    this.series = {};
    this.bytes = 0;
    this.info = {};
  }

  /** add appends a sample to run `run` of series `name`; a warm-up (run < 0) is dropped. */
  add(name, run, v) {
    if (run < 0) return;
    const s = (this.series[name] ??= []);
    while (s.length <= run) s.push([]);
    s[run].push(v);
  }

  /** addCall adds a measure() result as <who>.<what> time and <who>.<what>Block. */
  addCall(who, what, run, m) {
    this.add(`${who}.${what}`, run, m.time);
    this.add(`${who}.${what}Block`, run, m.block);
  }
}

/** order rotates the contenders by i, as the Go scenarios' order does. */
function order(i, cs) {
  return cs.map((_, j) => cs[(i + j) % cs.length]);
}

// ---------------------------------------------------------------------------
// Opening the contenders

const ATELIER = ["worker", "inpage"];
let atelier;
let workerMode; // "available" | "unavailable", found once per page

/**
 * Whether open knows the worker option: the first open with it decides.
 * Until the option exists, open rejects unknown keys with Invalid; then
 * both atelier contenders open the default way (in the page).
 */
async function probeWorkerMode() {
  atelier ??= await load();
  if (workerMode) return workerMode;
  try {
    const db = await atelier.open({ name: "jbench-probe", worker: false });
    await db.close();
    workerMode = "available";
  } catch (e) {
    if (!isAtelierError(e, "Invalid")) throw e;
    workerMode = "unavailable";
  }
  return workerMode;
}

/** Opens atelier's database `name` in worker or in-page mode. */
async function openAtelier(name, who) {
  await probeWorkerMode();
  const opts = { name };
  if (workerMode === "available") opts.worker = who === "worker";
  return atelier.open(opts);
}

/** Deletes every IndexedDB database whose name is `name` or starts with `name` and a separator. */
async function dropAll(name) {
  const all = (await indexedDB.databases?.()) ?? [{ name }];
  for (const d of all) {
    if (d.name === name || d.name.startsWith(name + "-") || d.name.startsWith(name + ".") || d.name.startsWith(name + "/")) {
      await base.dropDB(d.name);
    }
  }
}

/**
 * Opens a store for each contender of which under prefix (prefix-worker,
 * prefix-inpage, prefix-raw, prefix-dexie), each new unless `existing` names them, with a
 * workflow each: atelier creates it, raw and Dexie use an id of their own.
 */
async function openContenders(prefix, existing, which = [...ATELIER, "raw", "dexie"]) {
  const c = {};
  for (const who of which) {
    const name = existing?.[who]?.name ?? `${prefix}-${who}`;
    let db;
    let wf = existing?.[who]?.wf;
    if (who === "raw") db = await base.rawOpen(name);
    else if (who === "dexie") db = await base.dexieOpen(name);
    else {
      db = await openAtelier(name, who);
      wf ??= (await db.createWorkflow("bench")).id;
    }
    c[who] = { name, db, wf: wf ?? crypto.randomUUID() };
  }
  return c;
}

async function closeContenders(c, drop) {
  for (const x of Object.values(c)) {
    await x.db.close();
    if (drop) await dropAll(x.name);
  }
}

/** What a later page needs to open the same stores again. */
function describe(c) {
  return Object.fromEntries(Object.entries(c).map(([who, x]) => [who, { name: x.name, wf: x.wf }]));
}

// ---------------------------------------------------------------------------
// Records

/**
 * nodes returns n realistic nodes with the given ids, the shape bench/wasm's
 * makeNodes gives the Go-side scenarios (about 450 bytes each as JSON): for
 * atelier what an app passes to setNodes (NodeInput: the store sets
 * updatedAt and version), for raw and Dexie the whole record an app would
 * store itself.
 */
function nodes(ids, wf, record) {
  const now = Date.now();
  return ids.map((id, i) => {
    const n = {
      id,
      workflowId: wf,
      type: "image-generation",
      title: `Render pass ${i}`,
      status: "idle",
      position: { x: (i % 100) * 260, y: Math.floor(i / 100) * 180.5 },
      size: { width: 240, height: 160 },
      config: {
        model: "sdxl-1.0",
        prompt: `a lighthouse on a cliff at dusk, volumetric light, ${i}`,
        negative: "blurry, low quality",
        steps: 30,
        cfg: 7.5,
        seed: 1000 + i,
        sampler: "dpmpp_2m",
      },
    };
    if (record) {
      n.updatedAt = now;
      n.version = 1;
    }
    return n;
  });
}

const ids = (n) => Array.from({ length: n }, () => crypto.randomUUID());

/** write stores the nodes the way each contender does (timed by the caller). */
async function write(who, x, ns) {
  switch (who) {
    case "raw":
      return base.rawPutAll(x.db, ns);
    case "dexie":
      return base.dexiePutAll(x.db, ns);
    default: {
      const out = await x.db.setNodes(x.wf, ns);
      if (out.length !== ns.length) throw new Error(`${who} setNodes: ${out.length} nodes, want ${ns.length}`);
      return out;
    }
  }
}

async function stored(who, x, n) {
  const got = who === "raw" || who === "dexie" ? await base.count(x.db) : null;
  if (got !== null && got !== n) throw new Error(`${who} stored ${got} nodes, want ${n}`);
}

async function fill(c, n) {
  const all = ids(n);
  for (const [who, x] of Object.entries(c)) {
    await write(who, x, nodes(all, x.wf, !ATELIER.includes(who)));
  }
}

// ---------------------------------------------------------------------------
// Scenarios

const CONTENDERS = ["worker", "inpage", "dexie", "raw"];

/**
 * J1: setNodes of n new nodes into a new workflow, against Dexie's bulkPut
 * and a raw put loop in one transaction. Every iteration each contender
 * writes into a store of its own created afresh (untimed), and the
 * iteration's stores are deleted before the next (untimed); the last
 * iteration's stores are kept for J2 (info.kept). The warm-up iterations
 * (o.warmups, default 1) write o.warmN nodes (default n).
 */
async function j1(o) {
  const res = new Result();
  const warm = o.warmups ?? 1;
  const tag = `j1-${o.n}-${Date.now().toString(36)}`;
  let prev;
  for (let i = -warm; i < o.runs; i++) {
    const c = await openContenders(`${tag}-${i + warm}`);
    const n = i < 0 ? (o.warmN ?? o.n) : o.n;
    const all = ids(n);
    for (const who of order(i + warm, CONTENDERS)) {
      const x = c[who];
      const ns = nodes(all, x.wf, !ATELIER.includes(who));
      res.addCall(who, "write", i, await measure(() => write(who, x, ns)));
      await stored(who, x, n);
    }
    if (prev) await closeContenders(prev, true);
    prev = c;
  }
  await closeContenders(prev, false);
  res.info.kept = describe(prev);
  res.info.recordBytes = Math.round(JSON.stringify(nodes(ids(100), "x", true)).length / 100);
  return res;
}

/** load reads a workflow's nodes the way each contender does. */
async function loadNodes(who, x, n) {
  switch (who) {
    case "raw":
      return base.rawLoad(x.db, x.wf, n);
    case "dexie":
      return base.dexieLoad(x.db, x.wf, n);
    default: {
      const g = await x.db.loadWorkflow(x.wf);
      if (g.nodes.length !== n) throw new Error(`${who} loadWorkflow: ${g.nodes.length} nodes, want ${n}`);
      return g;
    }
  }
}

/**
 * J2: loadWorkflow of n nodes, against Dexie's where().equals().toArray()
 * and a raw getAll on the workflowId index. o.kept (from J1) names stores
 * that already hold n nodes each; without it they are made here (untimed).
 */
async function j2(o) {
  const res = new Result();
  const c = await openContenders(`j2-${o.n}-${Date.now().toString(36)}`, o.kept);
  if (!o.kept) await fill(c, o.n);
  res.info.reused = !!o.kept;
  const warm = o.warmups ?? 1;
  for (let i = -warm; i < o.runs; i++) {
    for (const who of order(i + warm, CONTENDERS)) {
      res.addCall(who, "load", i, await measure(() => loadNodes(who, c[who], o.n)));
    }
  }
  await closeContenders(c, true);
  return res;
}

/**
 * J3: one updateNode(wf, id, {position}) of a 100-node workflow, until it
 * resolves (committed), against a raw put of the node's object in its own
 * transaction until oncomplete. o.samples per run and contender, taking
 * turns call by call.
 */
async function j3(o) {
  const res = new Result();
  const c = await openContenders(`j3-${Date.now().toString(36)}`, null, [...ATELIER, "raw"]);
  const all = ids(100);
  const rawNodes = nodes(all, c.raw.wf, true);
  for (const who of ATELIER) await write(who, c[who], nodes(all, c[who].wf, false));
  await write("raw", c.raw, rawNodes);
  const id = all[42];
  const warm = 20;
  const cs = ["worker", "inpage", "raw"];
  for (let i = -warm; i < o.runs * o.samples; i++) {
    const run = i < 0 ? -1 : Math.floor(i / o.samples);
    const x = i + warm + 1;
    for (const who of order(i + warm, cs)) {
      const m = await measure(() => (who === "raw"
        ? base.rawMoveOne(c.raw.db, rawNodes[42], x)
        : c[who].db.updateNode(c[who].wf, id, { position: { x, y: 7 } })));
      if (who !== "raw" && m.out.position.x !== x) throw new Error(`${who}: stored x ${m.out.position.x}, want ${x}`);
      res.addCall(who, "update", run, m);
    }
  }
  await closeContenders(c, true);
  return res;
}

/** randomBytes returns n pseudo-random bytes (crypto.getRandomValues, 64 KiB at a time). */
function randomBytes(n) {
  const b = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(b.subarray(off, Math.min(n, off + 65536)));
  return b;
}

/**
 * J4: putAsset of a 64 MiB Blob, then assetBytes(ref) (an ArrayBuffer the
 * worker transfers in worker mode),
 * against a raw OPFS createWritable write of the same Blob and
 * getFile().arrayBuffer(). The page makes the bytes once; every write gets
 * its own first 16 bytes, so that no store can skip it as a duplicate.
 * Stored assets and files are deleted after each iteration (untimed).
 */
async function j4(o) {
  const res = new Result();
  res.bytes = o.bytes;
  const big = new Blob([randomBytes(o.bytes)], { type: "video/mp4" });
  const stamp = Date.now().toString(36);
  const dbs = {};
  for (const who of ATELIER) dbs[who] = await openAtelier(`j4-${stamp}-${who}`, who);
  const warm = 1;
  let k = 0;
  for (let i = -warm; i < o.runs; i++) {
    for (const who of order(i + warm, ["worker", "inpage", "raw"])) {
      const head = new Uint8Array(16);
      new DataView(head.buffer).setFloat64(0, Date.now());
      new DataView(head.buffer).setUint32(8, ++k);
      const blob = new Blob([head, big.slice(16)], { type: "video/mp4" });
      if (who === "raw") {
        const name = `j4-${stamp}-raw-${k}`;
        res.addCall(who, "write", i, await measure(() => base.opfsWrite(blob, name)));
        res.addCall(who, "read", i, await measure(() => base.opfsRead(name, o.bytes)));
        await base.opfsRemove(name);
        continue;
      }
      const db = dbs[who];
      const w = await measure(() => db.putAsset(blob));
      res.addCall(who, "write", i, w);
      const ref = w.out;
      res.addCall(who, "read", i, await measure(async () => {
        const buf = await db.assetBytes(ref);
        if (buf.byteLength !== o.bytes) throw new Error(`${who}: read ${buf.byteLength} bytes, want ${o.bytes}`);
      }));
      await db.deleteAsset(ref);
    }
  }
  for (const who of ATELIER) {
    const caps = await dbs[who].capabilities();
    res.info[`${who}Backend`] = caps.backend;
    res.info[`${who}SyncAccess`] = caps.syncAccess;
    await dbs[who].close();
  }
  return res;
}

/** loadScript adds a classic script to the page, as atelier.mjs loads atelier-bridge.js. */
function loadScript(src) {
  return new Promise((ok, fail) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = ok;
    s.onerror = () => fail(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

/**
 * J5 (one fresh page per call): start-up, from just before load() until
 * listWorkflows() of the workspace just opened has answered, in worker or
 * in-page mode; or, for the baseline, from just before wasm_exec.js is
 * loaded until a Go hello world's first output. load() itself loads
 * atelier-bridge.js (and the worker Go's wasm_exec.mjs), so both clocks
 * include that.
 */
async function j5(o) {
  const res = new Result();
  const stop = heartbeat();
  const t0 = performance.now();
  let loaded;
  if (o.mode === "hello") {
    if (!globalThis.Go) await loadScript("/build/wasm_exec.js");
    let out;
    const write = globalThis.fs.writeSync.bind(globalThis.fs);
    globalThis.fs.writeSync = (fd, buf) => { out ??= performance.now(); return write(fd, buf); };
    const go = new globalThis.Go();
    const { instance } = await WebAssembly.instantiateStreaming(fetch("/bench/build/hello.wasm"), go.importObject);
    await go.run(instance);
    if (out === undefined) throw new Error("hello world printed nothing");
    loaded = out;
  } else {
    const a = await load();
    loaded = performance.now();
    let db;
    try {
      db = await a.open({ name: `j5-${o.mode}`, worker: o.mode === "worker" });
      res.info.workerMode = "available";
    } catch (e) {
      if (!isAtelierError(e, "Invalid")) throw e;
      res.info.workerMode = "unavailable";
      db = await a.open({ name: `j5-${o.mode}` });
    }
    await db.listWorkflows();
  }
  const ready = performance.now() - t0;
  const block = stop();
  res.add("ready", 0, ready);
  res.add("load", 0, loaded - t0);
  res.add("block", 0, block);
  return res;
}

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * J6: SHA-256 of o.bytes in the page with WebCrypto's digest (whole
 * buffer). The hook for a streaming SHA-256: when the page has
 * globalThis.atelierSHA256Bench (o.hook may name a module that sets it), it
 * is called as atelierSHA256Bench(blob, bytes) with the same content as a
 * Blob and as a Uint8Array, timed the same way, and must resolve to the hex
 * digest (checked against WebCrypto's); its label is
 * atelierSHA256Bench.label, default "streaming SHA-256".
 */
async function j6(o) {
  const res = new Result();
  res.bytes = o.bytes;
  if (o.hook) await import(o.hook);
  const hook = globalThis.atelierSHA256Bench;
  res.info.hook = typeof hook === "function" ? (hook.label ?? "streaming SHA-256") : null;
  const bytes = randomBytes(o.bytes);
  const blob = new Blob([bytes]);
  let want;
  for (let i = -1; i < o.runs; i++) {
    for (const who of order(i + 1, hook ? ["webcrypto", "hook"] : ["webcrypto"])) {
      const m = await measure(() => (who === "hook" ? hook(blob, bytes) : crypto.subtle.digest("SHA-256", bytes)));
      const got = who === "hook" ? String(m.out).toLowerCase() : hex(m.out);
      want ??= got;
      if (got !== want) throw new Error(`${who}: digest ${got}, want ${want}`);
      res.addCall(who, "hash", i, m);
    }
  }
  return res;
}

const scenarios = { J1: j1, J2: j2, J3: j3, J4: j4, J5: j5, J6: j6 };

/** Runs scenario name with the options (JSON text) and resolves to its Result as JSON text. */
export async function run(name, optsJSON = "{}") {
  const fn = scenarios[name];
  if (!fn) throw new Error(`unknown scenario ${name}`);
  const o = JSON.parse(optsJSON);
  const res = await fn(o);
  if (name !== "J5" && name !== "J6") res.info.workerMode = workerMode;
  res.info.crossOriginIsolated = globalThis.crossOriginIsolated === true;
  return JSON.stringify(res);
}
