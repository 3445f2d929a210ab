// api.test.mjs exercises the JavaScript API as an app would, with nothing
// but the module: atelier.mjs and the wasm it loads. Each case is recorded
// as passed or failed with its message in globalThis.apiTest, which
// browsertest/jsapi_test.go reads, and listed on the page.

import { load, AtelierError, isAtelierError, errorCodes } from "../atelier.mjs";
import { dbMethods } from "./methods.mjs";

const state = { done: false, results: [] };
globalThis.apiTest = state;

// ---------------------------------------------------------------------------
// A small harness.

const cases = [];
const test = (name, fn) => cases.push({ name, fn });

// step names what the running case is doing: a case that hangs says where.
const step = (what) => { state.step = what; };
new BroadcastChannel("zzdebug").onmessage = (e) => { state.step += " > " + e.data; };

class AssertionError extends Error {}

// skip ends a case as skipped: what it tests does not exist in this
// browser (the case first checks what the app sees instead).
class Skip extends Error {}
function skip(reason) {
  throw new Skip(reason);
}

function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}

const json = (v) => JSON.stringify(v);

function eq(got, want, msg) {
  if (json(got) !== json(want)) throw new AssertionError(`${msg}: got ${json(got)}, want ${json(want)}`);
}

// rejects awaits p and checks that it rejects with an AtelierError of the
// given code; it returns the error.
async function rejects(p, code, msg) {
  let v;
  try {
    v = await p;
  } catch (e) {
    assert(e instanceof AtelierError, `${msg}: rejected with ${e?.name}: ${e?.message}, not an AtelierError`);
    assert(e.name === code && e.code === code, `${msg}: rejected with ${e.code} (${e.message}), want ${code}`);
    assert(typeof e.message === "string" && e.message !== "", `${msg}: the ${code} error has no message`);
    return e;
  }
  throw new AssertionError(`${msg}: resolved with ${json(v)}, want a ${code} rejection`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What this browser offers: WebKitGTK's automation session has no
// navigator.storage at all (no OPFS, no estimate).
const hasStorage = typeof navigator.storage === "object" && navigator.storage !== null;
const hasOPFS = hasStorage && typeof navigator.storage.getDirectory === "function";
const backends = hasOPFS ? ["opfs", "idb"] : ["idb"];

async function waitFor(cond, what, ms = 5000) {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new AssertionError(`waited ${ms} ms for ${what}`);
    await sleep(10);
  }
}

let dbCount = 0;
// open opens a database of its own for one case.
// mode is where the engine runs: "worker" (the default) or "page"
// (api.test.html?mode=page), for every case that opens through open.
const mode = new URLSearchParams(location.search).get("mode") ?? "worker";
const inWorker = mode !== "page";

async function open(options = {}) {
  const atelier = await load();
  return atelier.open({ name: `api-test-${++dbCount}-${crypto.randomUUID()}`, worker: inWorker, ...options });
}

// bytes returns n pseudo-random bytes.
function bytes(n, seed = 1) {
  const b = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

async function blobBytes(blob) {
  return new Uint8Array(await blob.arrayBuffer());
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// checkProgress checks a list of progress reports: at least one, done
// never shrinking, never above total, and ending at total.
function checkProgress(seen, what) {
  assert(seen.length > 0, `${what}: onProgress was never called`);
  let last = -1;
  for (const p of seen) {
    assert(Number.isInteger(p.done) && Number.isInteger(p.total), `${what}: progress ${json(p)} is not {done, total}`);
    assert(p.done >= last, `${what}: done went back from ${last} to ${p.done}`);
    assert(p.done <= p.total, `${what}: done ${p.done} above total ${p.total}`);
    last = p.done;
  }
  const end = seen.at(-1);
  assert(end.done === end.total, `${what}: the last progress is ${json(end)}, not complete`);
}

const missingId = "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2aff";

// ---------------------------------------------------------------------------
// Loading and shape.

test("load resolves to the API once, with open", async () => {
  const [a, b] = await Promise.all([load(), load()]);
  assert(a === b, "two load() calls give two APIs");
  assert(typeof a.open === "function", "the API has no open()");
  eq(Object.keys(a), ["open"], "API keys");
  eq([...errorCodes].sort(), ["Aborted", "Closed", "Corrupt", "ExportFailed", "InUse", "Internal", "Invalid",
    "InvalidPackage", "InvalidRef", "NotFound", "NotUploaded", "Permission", "QuotaExceeded", "ReadOnly",
    "SchemaTooNew", "Timeout", "Unavailable", "Unsupported", "VersionConflict", "WriteFailed"], "errorCodes");
});

// The subscriptions return their unsubscribe at once; every other method a
// Promise.
const syncMethods = ["watchWorkflow", "watchWorkflows"];

// throwsSync calls fn and checks that it throws an AtelierError of the
// given code synchronously; it returns the error.
function throwsSync(fn, code, msg) {
  let v;
  try {
    v = fn();
  } catch (e) {
    assert(e instanceof AtelierError, `${msg}: threw ${e?.name}: ${e?.message}, not an AtelierError`);
    assert(e.name === code && e.code === code, `${msg}: threw ${e.code} (${e.message}), want ${code}`);
    return e;
  }
  throw new AssertionError(`${msg}: returned ${typeof v}, want it to throw ${code}`);
}

test("the db object has exactly the methods of methods.mjs, each returning a Promise but the watches", async () => {
  const db = await open();
  const fns = Object.keys(db).filter((k) => typeof db[k] === "function").sort();
  eq(fns, [...dbMethods].sort(), "methods");
  eq(Object.keys(db).filter((k) => typeof db[k] !== "function"), ["name"], "other properties");
  assert(db.name.startsWith("api-test-"), `name is ${db.name}`);
  // Every method, called with nothing, returns a Promise and does not throw.
  for (const m of dbMethods) {
    if (m === "close") continue;
    if (syncMethods.includes(m)) {
      throwsSync(() => db[m](), "Invalid", `${m}() with nothing`);
      continue;
    }
    const p = db[m]();
    assert(p instanceof Promise, `${m}() returned ${typeof p}, not a Promise`);
    await p.catch(() => {});
  }
  await db.close();
});

test("open rejects bad options with Invalid", async () => {
  const atelier = await load();
  const bad = [
    [undefined, "options"],
    ["my-app", "options"],
    [{}, "options.name"],
    [{ name: "" }, "options.name"],
    [{ name: 5 }, "options.name"],
    [{ name: "x", onVersionChange: "reload" }, "options.onVersionChange"],
    [{ name: "x", nmae: "typo" }, "options"],
    [{ name: "x", assetBackend: "s3" }, "options.assetBackend"],
    [{ name: "x", sync: { url: "ftp://x", workspace: "w" } }, "options.sync.url"],
    [{ name: "x", sync: { url: "https://sync.test" } }, "options.sync.workspace"],
  ];
  for (const [opts, field] of bad) {
    const e = await rejects(atelier.open(opts), "Invalid", `open(${json(opts)})`);
    eq(e.field, field, `open(${json(opts)}): field`);
  }
});

// ---------------------------------------------------------------------------
// Workflows.

test("workflows: create, list, rename, delete", async () => {
  const db = await open();
  eq(await db.listWorkflows(), [], "a new database lists");
  const a = await db.createWorkflow("Alpha");
  assert(/^[0-9a-f-]{36}$/.test(a.id), `id ${a.id}`);
  eq([a.name, a.version, a.viewport], ["Alpha", 1, { x: 0, y: 0, zoom: 1 }], "created");
  assert(a.createdAt > 0 && a.updatedAt >= a.createdAt, "timestamps");
  await sleep(2);
  const b = await db.createWorkflow("Beta");
  eq((await db.listWorkflows()).map((w) => w.name), ["Beta", "Alpha"], "most recently updated first");

  const r = await db.updateWorkflow(a.id, { name: "Alpha 2" }, { ifVersion: a.version });
  eq([r.id, r.name, r.version], [a.id, "Alpha 2", 2], "renamed");
  eq((await db.listWorkflows()).map((w) => w.name), ["Alpha 2", "Beta"], "after the rename");
  const u = await db.updateWorkflow(a.id, { meta: { tags: ["x"] } });
  eq(u.meta, { tags: ["x"] }, "meta");
  eq((await db.loadWorkflow(a.id)).workflow, u, "loaded workflow");

  await db.deleteWorkflow(b.id);
  eq((await db.listWorkflows()).map((w) => w.id), [a.id], "after deleting Beta");
  await rejects(db.loadWorkflow(b.id), "NotFound", "loading the deleted workflow");
  await rejects(db.deleteWorkflow(b.id), "NotFound", "deleting it again");
  await rejects(db.updateWorkflow(b.id, { name: "x" }), "NotFound", "renaming it");
  await db.close();
});

test("viewport: set, load, invalid values leave it unchanged", async () => {
  const db = await open();
  const w = await db.createWorkflow("View");
  const s = await db.updateWorkflow(w.id, { viewport: { x: 12.5, y: -40, zoom: 2 } });
  eq(s.viewport, { x: 12.5, y: -40, zoom: 2 }, "set");
  eq(s.version, 2, "version");
  for (const vp of [{ x: 0, y: 0, zoom: 0 }, { x: NaN, y: 0, zoom: 1 }, { x: 0, y: 0 }, { x: "1", y: 0, zoom: 1 }]) {
    await rejects(db.setViewport(w.id, vp), "Invalid", `setViewport(${json(vp)})`);
  }
  await rejects(db.setViewport(w.id, null), "Invalid", "setViewport(null)");
  eq((await db.loadWorkflow(w.id)).workflow, s, "stored after the rejected calls");
  await db.close();
});

// ---------------------------------------------------------------------------
// Nodes and edges.

test("nodes: set, put, update config and result, delete with their edges", async () => {
  const db = await open();
  const w = await db.createWorkflow("Nodes");
  const [a, b, c] = await db.setNodes(w.id, [
    { type: "prompt", title: "A", position: { x: 0, y: 0 }, config: { text: "a cat" } },
    { type: "image-gen", title: "B", position: { x: 300, y: 0 }, size: { width: 256, height: 128 } },
    { type: "note", appState: { selected: true } },
  ]);
  eq([a.workflowId, a.version, a.config, b.size, c.title], [w.id, 1, { text: "a cat" }, { width: 256, height: 128 }, undefined], "stored");
  eq(c.position, { x: 0, y: 0 }, "the default position");
  assert(!("appState" in c), "an app key was stored");

  const [a2] = await db.putNodes(w.id, [{ ...a, title: "A!" }]);
  eq([a2.id, a2.title, a2.version], [a.id, "A!", 2], "put");
  const cfg = await db.updateNode(w.id, a.id, { config: { seed: 7, steps: [1, 2] } });
  eq(cfg.config, { seed: 7, steps: [1, 2] }, "config");
  const noCfg = await db.updateNode(w.id, a.id, { config: null });
  assert(!("config" in noCfg), `config after null: ${json(noCfg.config)}`);
  const res = await db.updateNode(w.id, b.id, { result: { text: "done", data: { score: 0.5 } } });
  eq(res.result, { text: "done", data: { score: 0.5 } }, "result");
  const noRes = await db.updateNode(w.id, b.id, { clearResult: true });
  assert(!("result" in noRes), "result after null");
  const st = await db.updateNode(w.id, b.id, { status: "running", clearSize: true }, { ifVersion: noRes.version });
  eq([st.status, st.size], ["running", undefined], "status set, size cleared");

  const edges = await db.setEdges(w.id, [{ source: a.id, target: b.id }, { source: b.id, target: c.id, sourceHandle: "out" }]);
  eq(edges.map((e) => [e.source, e.target, e.sourceHandle]), [[a.id, b.id, undefined], [b.id, c.id, "out"]], "edges");
  await db.deleteNodes(w.id, [b.id]);
  const g = await db.loadWorkflow(w.id);
  eq(g.nodes.map((n) => n.id), [a.id, c.id], "nodes after deleting B");
  eq(g.edges, [], "B's edges went with it");
  await db.close();
});

test("large arrays (more than one chunk) store and load exactly; a bad item anywhere writes nothing", async () => {
  const db = await open();
  const w = await db.createWorkflow("Large");
  const mk = (n, tag) => Array.from({ length: n }, (_, i) => ({
    type: "t", title: `${tag} ${i} é ✓`, position: { x: i, y: -i / 3 }, config: { i, tag, deep: [{ k: [i] }] },
    when: new Date(0), skip: undefined, fn: () => 1,
  }));
  const first = await db.setNodes(w.id, mk(1234, "a"));
  eq(first.length, 1234, "setNodes of 1,234 nodes resolves to them all");
  eq(first.map((n) => [n.title, n.config, n.version, n.workflowId]), mk(1234, "a").map((n, i) => [`a ${i} é ✓`, n.config, 1, w.id]), "as given, in order");
  const ids = new Set(first.map((n) => n.id));
  eq(ids.size, 1234, "distinct new ids");
  let g = await db.loadWorkflow(w.id);
  eq(g.nodes, first, "loadWorkflow gives what setNodes resolved to");
  // Edges over more than one chunk, then a set that keeps the first 700
  // nodes (changing 100 of them) and adds 600: the rest go with their edges.
  const edges = await db.setEdges(w.id, first.slice(1).map((n, i) => ({ source: first[i].id, target: n.id })));
  eq(edges.length, 1233, "setEdges of 1,233 edges");
  const kept = first.slice(0, 700).map((n, i) => (i < 100 ? { ...n, title: `changed ${i}` } : n));
  const second = await db.setNodes(w.id, [...kept, ...mk(600, "b")]);
  eq(second.slice(0, 700).map((n) => [n.id, n.version]), kept.map((n, i) => [n.id, i < 100 ? 2 : 1]), "kept nodes: changed ones at version 2, the rest unchanged");
  g = await db.loadWorkflow(w.id);
  eq(g.nodes, second, "after the second set");
  eq(g.edges.length, 699, "the edges of the removed nodes went with them");
  // A bad node in the last chunk, a cycle in the second: Invalid, and the
  // store exactly as it was.
  const bad = [...mk(1100, "c"), { type: "t", position: { x: "far", y: 0 } }];
  const e1 = await rejects(db.setNodes(w.id, bad), "Invalid", "a bad node after 1,100 good ones");
  assert(/position/.test(e1.message), `the error names the field: ${e1.message}`);
  const cyclic = mk(1100, "d");
  cyclic[700].config.self = cyclic[700];
  const e2 = await rejects(db.setNodes(w.id, cyclic), "Invalid", "a cycle in the second chunk");
  assert(/JSON/.test(e2.message), `the error says why: ${e2.message}`);
  const dup = mk(1100, "e").map((n, i) => ({ ...n, id: first[i % 600].id }));
  await rejects(db.setNodes(w.id, dup), "Invalid", "an id twice, the second time in a later chunk");
  eq(await db.loadWorkflow(w.id), g, "after the rejected sets");
  if (!inWorker) {
    // The wire form's JSON text goes only to an argument that reads it.
    eq(Object.entries(db.$textArgs).sort(), [["putEdges", 1], ["putNodes", 1], ["setEdges", 1], ["setNodes", 1]], "the methods that take text");
    await rejects(db.$call("renameWorkflow", [w.id, "x"], { index: 1, parts: ['["y"]'] }), "Internal", "text for renameWorkflow");
    eq((await db.loadWorkflow(w.id)).workflow.name, "Large", "the name after the rejected call");
  }
  // putNodes of more than a chunk goes the same way.
  const put = await db.putNodes(w.id, mk(800, "f"));
  eq(put.map((n) => n.title), mk(800, "f").map((n) => n.title), "putNodes of 800");
  eq((await db.loadWorkflow(w.id)).nodes.length, 1300 + 800, "after putNodes");
  await db.close();
});

test("edges: set, put, delete; an edge to another workflow's node is Invalid", async () => {
  const db = await open();
  const w = await db.createWorkflow("Edges");
  const other = await db.createWorkflow("Other");
  const [a, b] = await db.setNodes(w.id, [{ type: "t", position: { x: 0, y: 0 } }, { type: "t", position: { x: 1, y: 1 } }]);
  const [x] = await db.setNodes(other.id, [{ type: "t", position: { x: 0, y: 0 } }]);
  const [e1] = await db.setEdges(w.id, [{ source: a.id, target: b.id }]);
  const [e2] = await db.putEdges(w.id, [{ source: b.id, target: a.id, targetHandle: "in" }]);
  eq((await db.loadWorkflow(w.id)).edges.map((e) => e.id), [e1.id, e2.id], "after put");
  const before = await db.loadWorkflow(w.id);
  await rejects(db.putEdges(w.id, [{ source: a.id, target: x.id }]), "Invalid", "an edge to another workflow's node");
  await rejects(db.setEdges(w.id, [{ source: a.id }]), "Invalid", "an edge without a target");
  eq(await db.loadWorkflow(w.id), before, "after the rejected edges");
  await db.deleteEdges(w.id, [e1.id]);
  eq((await db.loadWorkflow(w.id)).edges.map((e) => e.id), [e2.id], "after delete");
  await rejects(db.deleteEdges(w.id, [e2.id, missingId]), "NotFound", "deleting a missing edge");
  eq((await db.loadWorkflow(w.id)).edges.map((e) => e.id), [e2.id], "nothing deleted by the rejected call");
  await db.close();
});

test("updateNode moves and resizes in one write, seen together by a watcher", async () => {
  const db = await open();
  const w = await db.createWorkflow("Dims");
  const [n] = await db.setNodes(w.id, [{ type: "t", position: { x: 0, y: 0 }, size: { width: 100, height: 100 } }]);
  const seen = [];
  const stop = await db.watchWorkflow(w.id, (g) => { if (g) seen.push(g.nodes[0]); });
  let last;
  for (let i = 1; i <= 20; i++) {
    last = await db.updateNode(w.id, n.id, { position: { x: i * 10, y: i }, size: { width: 100 + i, height: 100 + i } });
  }
  eq([last.position, last.size, last.version], [{ x: 200, y: 20 }, { width: 120, height: 120 }, 21], "after 20 moves");
  await waitFor(() => seen.at(-1)?.version === 21, "the watcher to see the last move");
  stop();
  for (const s of seen) {
    const i = s.position.y;
    eq([s.position.x, s.size.width, s.size.height], [i * 10, 100 + i, 100 + i], `snapshot at version ${s.version}: position and size disagree`);
  }
  const onlySize = await db.updateNode(w.id, n.id, { size: { width: 5, height: 6 } }, { ifVersion: 21 });
  eq([onlySize.position, onlySize.size], [{ x: 200, y: 20 }, { width: 5, height: 6 }], "size alone");
  await rejects(db.updateNodeDimensions(w.id, n.id, {}), "Invalid", "neither position nor size");
  await rejects(db.updateNode(w.id, n.id, { position: { x: 1, y: 1 }, size: { width: -1, height: 1 } }), "Invalid", "a negative width");
  eq((await db.loadWorkflow(w.id)).nodes[0], onlySize, "after the rejected calls");
  await db.close();
});

test("read your writes: a watch call back that comes after a write resolved has the write", async () => {
  const db = await open();
  // Another tab keeps the watch's model reading: a read that began
  // before one of this tab's writes must not be called back after it.
  const other = await (await load()).open({ name: db.name, worker: inWorker });
  const w = await db.createWorkflow("Read your writes");
  const nodes = await db.setNodes(w.id, Array.from({ length: 40 }, (_, i) => ({ type: "t", position: { x: i, y: 0 } })));
  let latest = null;
  const stop = db.watchWorkflow(w.id, (g) => { if (g) latest = g; });
  await waitFor(() => latest?.nodes.length === 40, "the first snapshot");
  let busy = true;
  const churn = (async () => {
    for (let k = 0; busy; k++) await other.updateNode(w.id, nodes[39].id, { position: { x: k, y: -1 } });
  })();
  try {
    for (let i = 1; i <= 60; i++) {
      const id = nodes[i % 39].id;
      await db.updateNode(w.id, id, { position: { x: 1000 + i, y: i } });
      latest = null;
      await waitFor(() => latest !== null, `a call back after turn ${i}`);
      eq(latest.nodes.find((n) => n.id === id).position, { x: 1000 + i, y: i }, `turn ${i}: the first call back after the write resolved`);
    }
  } finally {
    busy = false;
    await churn;
    stop();
    await other.close();
  }
  await db.close();
});

test("the deprecated aliases of updateWorkflow and updateNode still work, for one release", async () => {
  const db = await open();
  const w = await db.createWorkflow("Aliases");
  const [n] = await db.setNodes(w.id, [{ type: "t", position: { x: 0, y: 0 } }]);
  eq((await db.renameWorkflow(w.id, "Renamed")).name, "Renamed", "renameWorkflow");
  eq((await db.setViewport(w.id, { x: 1, y: 2, zoom: 3 })).viewport, { x: 1, y: 2, zoom: 3 }, "setViewport");
  eq((await db.updateNodeConfig(w.id, n.id, { a: 1 })).config, { a: 1 }, "updateNodeConfig");
  assert(!("config" in await db.updateNodeConfig(w.id, n.id, null)), "updateNodeConfig(null)");
  eq((await db.updateNodeResult(w.id, n.id, { text: "t" })).result, { text: "t" }, "updateNodeResult");
  assert(!("result" in await db.updateNodeResult(w.id, n.id, null)), "updateNodeResult(null)");
  const moved = await db.updateNodeDimensions(w.id, n.id, { position: { x: 5, y: 6 }, size: { width: 7, height: 8 } });
  eq([moved.position, moved.size], [{ x: 5, y: 6 }, { width: 7, height: 8 }], "updateNodeDimensions");
  await db.close();
});

test("ifVersion: stale versions reject with VersionConflict and write nothing", async () => {
  const db = await open();
  const w = await db.createWorkflow("CAS");
  const [n] = await db.setNodes(w.id, [{ type: "t", title: "v1", position: { x: 0, y: 0 } }]);
  const n2 = await db.updateNode(w.id, n.id, { title: "v2" }, { ifVersion: 1 });
  const e = await rejects(db.updateNode(w.id, n.id, { title: "stale" }, { ifVersion: 1 }), "VersionConflict", "updateNode");
  eq([e.entity, e.id, e.expected, e.actual], ["node", n.id, 1, 2], "conflict details");
  await rejects(db.updateNode(w.id, n.id, { position: { x: 9, y: 9 } }, { ifVersion: 1 }), "VersionConflict", "updateNode position");
  await rejects(db.updateNode(w.id, n.id, { config: { a: 1 } }, { ifVersion: 7 }), "VersionConflict", "updateNode config");
  await rejects(db.updateWorkflow(w.id, { name: "stale" }, { ifVersion: 9 }), "VersionConflict", "updateWorkflow name");
  await rejects(db.updateWorkflow(w.id, { viewport: { x: 1, y: 1, zoom: 1 } }, { ifVersion: 9 }), "VersionConflict", "updateWorkflow viewport");
  await rejects(db.deleteWorkflow(w.id, { ifVersion: 9 }), "VersionConflict", "deleteWorkflow");
  // A malformed ifVersion is Invalid, never an unconditional write.
  for (const v of ["2", 0, -1, 1.5, true]) {
    const ie = await rejects(db.updateNode(w.id, n.id, { title: "bad" }, { ifVersion: v }), "Invalid", `ifVersion ${json(v)}`);
    assert(ie.field?.startsWith("options"), `ifVersion ${json(v)}: field ${ie.field}`);
  }
  await rejects(db.updateNode(w.id, n.id, { title: "bad" }, { ifVerison: 2 }), "Invalid", "a misspelt ifVersion");
  await rejects(db.updateNode(w.id, n.id, { title: "bad" }, { ifversion: 2 }), "Invalid", "ifVersion in the wrong case");
  await rejects(db.updateNode(w.id, n.id, { Title: "bad" }), "Invalid", "a patch key in the wrong case");
  await rejects(db.updateNode(w.id, n.id, { title: "bad" }, "2"), "Invalid", "options as a string");
  const g = await db.loadWorkflow(w.id);
  eq(g.nodes, [n2], "the node after the rejected writes");
  eq([g.workflow.name, g.workflow.version], ["CAS", 1], "the workflow after the rejected writes");
  await db.deleteWorkflow(w.id, { ifVersion: 1 });
  await db.close();
});

test("NotFound for missing workflows, nodes and edges", async () => {
  const db = await open();
  const w = await db.createWorkflow("NF");
  const [n] = await db.setNodes(w.id, [{ type: "t", position: { x: 0, y: 0 } }]);
  await rejects(db.loadWorkflow(missingId), "NotFound", "loadWorkflow");
  await rejects(db.updateWorkflow(missingId, { name: "x" }), "NotFound", "updateWorkflow");
  await rejects(db.setNodes(missingId, []), "NotFound", "setNodes on a missing workflow");
  await rejects(db.updateNode(w.id, missingId, { title: "x" }), "NotFound", "updateNode");
  await rejects(db.updateNode(w.id, missingId, { clearResult: true }), "NotFound", "updateNodeResult");
  await rejects(db.deleteNodes(w.id, [n.id, missingId]), "NotFound", "deleteNodes with one missing id");
  eq((await db.loadWorkflow(w.id)).nodes.map((x) => x.id), [n.id], "nothing deleted");
  await db.close();
});

test("wrong argument types reject with Invalid and leave the data unchanged", async () => {
  const db = await open();
  const w = await db.createWorkflow("Strict");
  const [a, b] = await db.setNodes(w.id, [
    { type: "t", title: "A", position: { x: 1, y: 2 } },
    { type: "t", title: "B", position: { x: 3, y: 4 }, size: { width: 5, height: 6 } },
  ]);
  await db.setEdges(w.id, [{ source: a.id, target: b.id }]);
  const before = await db.loadWorkflow(w.id);
  const list = await db.listWorkflows();
  const cyclic = { type: "t", position: { x: 0, y: 0 } };
  cyclic.self = cyclic;
  const calls = {
    "createWorkflow()": () => db.createWorkflow(),
    "createWorkflow(42)": () => db.createWorkflow(42),
    "createWorkflow('')": () => db.createWorkflow(""),
    "loadWorkflow(42)": () => db.loadWorkflow(42),
    "loadWorkflow('not-an-id')": () => db.loadWorkflow("not-an-id"),
    "renameWorkflow(id, null)": () => db.renameWorkflow(w.id, null),
    "updateWorkflow(id, 'x')": () => db.updateWorkflow(w.id, "x"),
    "updateWorkflow(id, {nmae})": () => db.updateWorkflow(w.id, { nmae: "typo" }),
    "setNodes(id)": () => db.setNodes(w.id),
    "setNodes(id, null)": () => db.setNodes(w.id, null),
    "setNodes(id, node)": () => db.setNodes(w.id, { type: "t", position: { x: 0, y: 0 } }),
    "setNodes(id, ['x'])": () => db.setNodes(w.id, ["x"]),
    "setNodes(id, [position: null])": () => db.setNodes(w.id, [{ type: "t", position: null }]),
    "putNodes(id, [NaN])": () => db.putNodes(w.id, [{ type: "t", position: { x: NaN, y: 0 } }]),
    "putNodes(id, [Infinity])": () => db.putNodes(w.id, [{ type: "t", position: { x: 0, y: Infinity } }]),
    "putNodes(id, [x: '1'])": () => db.putNodes(w.id, [{ type: "t", position: { x: "1", y: 0 } }]),
    "putNodes(id, [no type])": () => db.putNodes(w.id, [{ position: { x: 0, y: 0 } }]),
    "putNodes(id, [bad id])": () => db.putNodes(w.id, [{ id: "n1", type: "t", position: { x: 0, y: 0 } }]),
    "putNodes(id, [cyclic])": () => db.putNodes(w.id, [cyclic]),
    "putNodes(id, [BigInt])": () => db.putNodes(w.id, [{ type: "t", position: { x: 0, y: 0 }, config: { n: 1n } }]),
    "putNodes(42, [...])": () => db.putNodes(42, [{ type: "t", position: { x: 0, y: 0 } }]),
    "updateNode(id, id)": () => db.updateNode(w.id, a.id),
    "updateNode(id, id, {postion})": () => db.updateNode(w.id, a.id, { postion: { x: 9, y: 9 } }),
    "updateNode(id, id, {size: -1})": () => db.updateNode(w.id, b.id, { size: { width: -1, height: 1 } }),
    "updateNode(id, id, {title: 5})": () => db.updateNode(w.id, a.id, { title: 5 }),
    "updateNode(id, 5, {...})": () => db.updateNode(w.id, 5, { title: "x" }),
    "updateNodeConfig(id, id)": () => db.updateNodeConfig(w.id, a.id),
    "updateNodeResult(id, id, 'x')": () => db.updateNodeResult(w.id, a.id, "x"),
    "updateNodeResult(id, id, {txt})": () => db.updateNodeResult(w.id, a.id, { txt: "typo" }),
    "updateNodeDimensions(id, id, [])": () => db.updateNodeDimensions(w.id, a.id, []),
    "deleteNodes(id, 'id')": () => db.deleteNodes(w.id, a.id),
    "deleteNodes(id)": () => db.deleteNodes(w.id),
    "setEdges(id)": () => db.setEdges(w.id),
    "deleteEdges(id, [1])": () => db.deleteEdges(w.id, [1]),
    "putGraph('x')": () => db.putGraph("x"),
    "putGraph(graph without ids)": () => db.putGraph({ workflow: { name: "x", viewport: { x: 0, y: 0, zoom: 1 } }, nodes: [], edges: [] }),
    "retryParked('x')": () => db.retryParked("x"),
    "useFolder(5)": () => db.useFolder(5),
    "addFolder('x')": () => db.addFolder("x"),
  };
  for (const [what, call] of Object.entries(calls)) {
    const e = await rejects(call(), "Invalid", what);
    assert(typeof e.reason === "string" && e.reason !== "", `${what}: no reason`);
  }
  const syncCalls = {
    "watchWorkflow(id)": () => db.watchWorkflow(w.id),
    "watchWorkflow(id, 'cb')": () => db.watchWorkflow(w.id, "cb"),
    "watchWorkflow(5, cb)": () => db.watchWorkflow(5, () => {}),
    "watchWorkflows({})": () => db.watchWorkflows({}),
  };
  for (const [what, call] of Object.entries(syncCalls)) {
    const e = throwsSync(call, "Invalid", what);
    assert(typeof e.reason === "string" && e.reason !== "", `${what}: no reason`);
  }
  eq(await db.loadWorkflow(w.id), before, "the workflow after the rejected calls");
  eq(await db.listWorkflows(), list, "the list after the rejected calls");
  await db.close();
});

test("putGraph stores a whole workflow in one transaction", async () => {
  const db = await open();
  const w = await db.createWorkflow("Source");
  const [a, b] = await db.setNodes(w.id, [{ type: "t", position: { x: 0, y: 0 } }, { type: "t", position: { x: 5, y: 5 } }]);
  await db.setEdges(w.id, [{ source: a.id, target: b.id }]);
  const g = await db.loadWorkflow(w.id);
  const id = crypto.randomUUID();
  const fresh = new Map();
  const map = (x) => fresh.get(x) ?? fresh.set(x, crypto.randomUUID()).get(x);
  const copy = await db.putGraph({
    workflow: { ...g.workflow, id, name: "Copy" },
    nodes: g.nodes.map((n) => ({ ...n, id: map(n.id), workflowId: id })),
    edges: g.edges.map((e) => ({ ...e, id: map(e.id), workflowId: id, source: map(e.source), target: map(e.target) })),
  });
  eq([copy.workflow.id, copy.workflow.name, copy.nodes.length, copy.edges.length], [id, "Copy", 2, 1], "stored copy");
  // Nodes and edges load in id order (creation order for the store's own
  // UUIDv7 ids); these random ids sort otherwise.
  const byId = (g) => ({ ...g, nodes: [...g.nodes].sort((x, y) => x.id < y.id ? -1 : 1), edges: [...g.edges].sort((x, y) => x.id < y.id ? -1 : 1) });
  eq(byId(await db.loadWorkflow(id)), byId(copy), "loaded copy");
  const bad = { workflow: copy.workflow, nodes: copy.nodes, edges: [{ ...copy.edges[0], target: missingId }] };
  await rejects(db.putGraph(bad), "Invalid", "an edge to a missing node");
  eq(byId(await db.loadWorkflow(id)), byId(copy), "after the rejected putGraph");
  eq((await db.listWorkflows()).length, 2, "workflows");
  await db.close();
});

// ---------------------------------------------------------------------------
// Live queries.

test("watchWorkflow: snapshots now and after changes, NotFound on delete, nothing after unsubscribe", async () => {
  const db = await open();
  const w = await db.createWorkflow("Watched");
  const calls = [];
  const stop = db.watchWorkflow(w.id, (g, err) => calls.push(err ? { err: err.code } : { nodes: g.nodes.length, name: g.workflow.name }));
  assert(typeof stop === "function", `watchWorkflow returned ${typeof stop}, not its unsubscribe function`);
  await waitFor(() => calls.length >= 1, "the first snapshot");
  eq(calls[0], { nodes: 0, name: "Watched" }, "first snapshot");
  await db.setNodes(w.id, [{ type: "t", position: { x: 0, y: 0 } }]);
  await waitFor(() => calls.at(-1)?.nodes === 1, "the snapshot with the node");
  await db.updateWorkflow(w.id, { name: "Renamed" });
  await waitFor(() => calls.at(-1)?.name === "Renamed", "the snapshot with the new name");

  // A second watch keeps running to tell when a change has been delivered.
  const other = [];
  const stopOther = db.watchWorkflow(w.id, (g, err) => other.push(err ? err.code : g.workflow.name));
  await waitFor(() => other.length >= 1, "the second watch's first snapshot");
  stop();
  stop(); // harmless twice
  const n = calls.length;
  await db.updateWorkflow(w.id, { name: "After stop" });
  await db.setNodes(w.id, []);
  await waitFor(() => other.at(-1) === "After stop", "the second watch to see the rename");
  await db.deleteWorkflow(w.id);
  await waitFor(() => other.at(-1) === "NotFound", "the second watch to see the delete");
  await sleep(100);
  eq(calls.length, n, "calls after unsubscribe");
  stopOther();
  await db.close();
});

test("watchWorkflows: the list now and after changes, nothing after unsubscribe", async () => {
  const db = await open();
  const lists = [];
  const stop = db.watchWorkflows((ws, err) => lists.push(err ? err.code : ws.map((w) => w.name)));
  assert(typeof stop === "function", `watchWorkflows returned ${typeof stop}, not its unsubscribe function`);
  await waitFor(() => lists.length >= 1, "the first list");
  eq(lists[0], [], "first list");
  const a = await db.createWorkflow("A");
  await waitFor(() => json(lists.at(-1)) === json(["A"]), "the list with A");
  await sleep(2);
  await db.createWorkflow("B");
  await waitFor(() => json(lists.at(-1)) === json(["B", "A"]), "the list with B first");
  stop();
  const n = lists.length;
  await db.deleteWorkflow(a.id);
  await db.createWorkflow("C");
  const probe = [];
  const stopProbe = db.watchWorkflows((ws) => ws && probe.push(ws.length));
  await waitFor(() => probe.at(-1) === 2, "a new watch to see B and C");
  await sleep(100);
  eq(lists.length, n, "calls after unsubscribe");
  stopProbe();
  await db.close();
});

test("a watch stopped at once, before its first snapshot, never calls back; await on it still works", async () => {
  const db = await open();
  const w = await db.createWorkflow("Stopped at once");
  const early = [];
  db.watchWorkflow(w.id, () => early.push("wf"))(); // no race token needed
  db.watchWorkflows(() => early.push("list"))();
  // The old way, awaiting what watchWorkflow returns, gives the same function.
  const late = [];
  const stop = await db.watchWorkflow(w.id, (g) => g && late.push(g.workflow.name));
  assert(typeof stop === "function", "await watchWorkflow(...) is not a function");
  await waitFor(() => late.length >= 1, "the awaited watch's first snapshot");
  await db.updateWorkflow(w.id, { name: "Renamed" });
  await waitFor(() => late.at(-1) === "Renamed", "the awaited watch to see the rename");
  stop();
  await sleep(100);
  eq(early, [], "calls of the watches stopped at once");
  // A missing workflow is reported to the callback, not thrown.
  const missing = [];
  const stopMissing = db.watchWorkflow(crypto.randomUUID(), (g, err) => missing.push(err?.code));
  await waitFor(() => missing.length >= 1, "the missing workflow's report");
  eq(missing[0], "NotFound", "a watch of a missing workflow");
  stopMissing();
  await db.close();
});

test("a throwing watch callback does not end the watch", async () => {
  const db = await open();
  const w = await db.createWorkflow("Throws");
  let calls = 0;
  const stop = db.watchWorkflow(w.id, () => { calls++; throw new Error("app bug"); });
  await waitFor(() => calls >= 1, "the first call");
  await db.updateWorkflow(w.id, { name: "Again" });
  await waitFor(() => calls >= 2, "a call after the throw");
  stop();
  await db.close();
});

// ---------------------------------------------------------------------------
// Assets.

async function assetRoundTrip(db, kind) {
  const data = bytes(200_000, 7);
  const ref = await db.putAsset(new Blob([data], { type: "image/png" }));
  eq([ref.kind, ref.mime, ref.bytes], [kind, "image/png", data.length], "ref");
  assert(/^sha256-[A-Za-z0-9+/]{43}=$/.test(ref.hash), `hash ${ref.hash}`);
  assert(sameBytes(await blobBytes(await db.assetBlob(ref)), data), "assetBlob returns other bytes");
  const url = await db.assetURL(ref);
  assert(url.startsWith("blob:"), `assetURL ${url}`);
  const fetched = new Uint8Array(await (await fetch(url)).arrayBuffer());
  URL.revokeObjectURL(url);
  assert(sameBytes(fetched, data), "the object URL serves other bytes");
  const info = await db.assetInfo(ref);
  eq([info.size, info.mime, info.hash, info.ref], [data.length, "image/png", ref.hash, ref], "assetInfo");
  const again = await db.putAsset(new File([data], "again.png", { type: "image/png" }));
  eq(again, ref, "the same content stored again");

  // A large Blob reports progress as it is written.
  const big = bytes(40 << 20, 11);
  const seen = [];
  const bigRef = await db.putAsset(new Blob([big], { type: "video/mp4" }), { onProgress: (p) => seen.push(p) });
  checkProgress(seen, `putAsset of 40 MiB (${kind})`);
  assert(seen.length >= 2, `putAsset of 40 MiB (${kind}) reported progress ${seen.length} times, want it in steps (16 MiB in OPFS, 32 MiB in IndexedDB)`);
  eq(seen.at(-1).total, big.length, "putAsset progress total");
  await db.deleteAsset(bigRef);
  return { ref, data };
}

test("assets: put a Blob, read it back as Blob and URL, InUse while a node shows it", async () => {
  const db = await open();
  const { ref } = await assetRoundTrip(db, (await db.capabilities()).backend);
  const w = await db.createWorkflow("Assets");
  const [n] = await db.setNodes(w.id, [{ type: "image", position: { x: 0, y: 0 }, result: { asset: ref } }]);
  const recs = await db.listAssets();
  eq(recs.map((r) => [r.hash, r.ref, r.users]), [[ref.hash, ref, [{ workflowId: w.id, nodeId: n.id }]]], "listAssets");
  const e = await rejects(db.deleteAsset(ref), "InUse", "deleting an asset a node shows");
  assert(e.message.includes("in use"), e.message);
  assert(sameBytes(await blobBytes(await db.assetBlob(ref)), bytes(200_000, 7)), "the asset after the refused delete");
  await db.updateNode(w.id, n.id, { clearResult: true });
  await db.deleteAsset(ref);
  await rejects(db.assetBlob(ref), "NotFound", "reading the deleted asset");
  await rejects(db.assetInfo(ref), "NotFound", "assetInfo of the deleted asset");
  await rejects(db.deleteAsset(ref), "NotFound", "deleting it again");
  eq(await db.listAssets(), [], "listAssets after the delete");
  await db.close();
});

test("assets: the IndexedDB backend stores and reads the same way", async () => {
  const db = await open({ assetBackend: "idb" });
  const caps = await db.capabilities();
  eq(caps.backend, "idb", "backend");
  assert(caps.reason.includes("IndexedDB"), "capabilities().reason: " + caps.reason);
  // Blobs where the browser stores them in IndexedDB, ArrayBuffers where it refuses them.
  assert(caps.idbValues === "blob" || (caps.idbValues === "bytes" && caps.idbValuesReason !== ""),
    "capabilities().idbValues: " + caps.idbValues + " " + caps.idbValuesReason);
  await assetRoundTrip(db, "idb");
  await db.close();
});

test("assets: bad arguments reject with Invalid or InvalidRef", async () => {
  const db = await open();
  await rejects(db.putAsset("bytes"), "Invalid", "putAsset(string)");
  await rejects(db.putAsset(new Uint8Array(3)), "Invalid", "putAsset(Uint8Array)");
  await rejects(db.putAsset(), "Invalid", "putAsset()");
  await rejects(db.putAsset(new Blob(["x"]), { mime: 5 }), "Invalid", "putAsset with a numeric mime");
  await rejects(db.putAsset(new Blob(["x"]), { mim: "text/plain" }), "Invalid", "putAsset with a misspelt option");
  await rejects(db.assetBlob(42), "Invalid", "assetBlob(42)");
  await rejects(db.assetBlob(), "Invalid", "assetBlob()");
  await rejects(db.assetBlob({}), "InvalidRef", "assetBlob({})");
  await rejects(db.assetBlob({ kind: "opfs" }), "InvalidRef", "a ref without its path");
  await rejects(db.assetBlob({ kind: "opfs", path: "../etc/passwd" }), "InvalidRef", "an unsafe path");
  await rejects(db.assetURL({ kind: "url", url: "https://example.test/a.png" }), "InvalidRef", "a url ref is not stored here");
  await rejects(db.deleteAsset({ kind: "opfs", path: "atelier/assets/x" }), "InvalidRef", "deleting without a hash");
  const w = await db.createWorkflow("Refs");
  await rejects(db.setNodes(w.id, [{ type: "t", position: { x: 0, y: 0 }, result: { asset: { kind: "ftp", url: "x" } } }]), "InvalidRef", "a node with a bad ref");
  eq((await db.loadWorkflow(w.id)).nodes, [], "no node stored");
  eq(await db.listAssets(), [], "no asset stored");
  await db.close();
});

test("two databases of one origin keep their asset bytes apart", async () => {
  if (!hasOPFS) {
    await rejects(open({ assetBackend: "opfs" }), "Unsupported", "open with assetBackend opfs without OPFS");
    skip("no OPFS in this browser: open({assetBackend: \"opfs\"}) rejects with Unsupported");
  }
  const a = await open({ assetBackend: "opfs" });
  const b = await open({ assetBackend: "opfs" });
  const data = bytes(300_000, 21);
  const refA = await a.putAsset(new Blob([data], { type: "image/png" }));
  const refB = await b.putAsset(new Blob([data], { type: "image/png" }));
  assert(refA.path !== refB.path, `both databases store the content at ${refA.path}`);
  await b.deleteAsset(refB);
  assert(sameBytes(await blobBytes(await a.assetBlob(refA)), data), "a's asset after b deleted the same content");
  await a.close();
  await b.close();
});

test("AbortSignal: putAsset, exportWorkflow and importPackage reject with Aborted and keep nothing", async () => {
  step("open");
  const db = await open();
  const bad = await rejects(db.putAsset(new Blob(["x"]), { signal: {} }), "Invalid", "a signal that is not an AbortSignal");
  eq(bad.field, "options.signal", "the field of a bad signal");
  await rejects(db.putAsset(new Blob(["x"]), { signal: AbortSignal.abort() }), "Aborted", "putAsset with an aborted signal");
  eq(await db.listAssets(), [], "assets after the putAsset that never started");

  // Aborted while it writes: at the first progress report of 40 MiB.
  for (const backend of backends) {
    step(`putAsset aborted mid-write (${backend})`);
    const b = await open({ assetBackend: backend });
    const ac = new AbortController();
    await rejects(b.putAsset(new Blob([bytes(40 << 20, 5)]), { signal: ac.signal, onProgress: () => ac.abort() }),
      "Aborted", `putAsset aborted mid-write (${backend})`);
    eq(await b.listAssets(), [], `assets after the aborted putAsset (${backend})`);
    step(`a put after the abort (${backend})`);
    const kept = await b.putAsset(new Blob(["after"]), { signal: new AbortController().signal });
    assert(sameBytes(await blobBytes(await b.assetBlob(kept)), new TextEncoder().encode("after")), `a put after the abort (${backend})`);
    step(`close (${backend})`);
    await b.close();
  }

  // A package with a large asset: the export and the import stop midway.
  step("putAsset 24 MiB, exportWorkflow aborted");
  const ref = await db.putAsset(new Blob([bytes(24 << 20, 9)], { type: "video/mp4" }));
  const w = await db.createWorkflow("To abort");
  await db.setNodes(w.id, [{ type: "video", position: { x: 0, y: 0 }, result: { asset: ref } }]);
  const ae = new AbortController();
  if (inWorker) {
    // A callback in the page runs after the worker posted it: an export
    // (which writes nothing, and is fast) may be done before the abort
    // arrives. Either way it keeps nothing.
    const how = await db.exportWorkflow(w.id, { signal: ae.signal, onProgress: () => ae.abort() }).then(() => "done", (e) => e.code);
    assert(how === "Aborted" || how === "done", `exportWorkflow aborted: ${how}`);
  } else {
    await rejects(db.exportWorkflow(w.id, { signal: ae.signal, onProgress: () => ae.abort() }), "Aborted", "exportWorkflow aborted");
  }
  step("exportWorkflow");
  const zip = await db.exportWorkflow(w.id, { signal: new AbortController().signal });
  step("importPackage aborted");

  const other = await open();
  const ai = new AbortController();
  await rejects(other.importPackage(zip, { signal: ai.signal, onProgress: () => ai.abort() }), "Aborted", "importPackage aborted");
  eq(await other.listWorkflows(), [], "workflows after the aborted import");
  eq((await other.listAssets()).length, 0, "assets after the aborted import");
  await rejects(other.importPackage(zip, { signal: AbortSignal.abort() }), "Aborted", "importPackage with an aborted signal");
  step("importPackage");
  const imported = await other.importPackage(zip);
  eq(imported.workflow.name, "To abort", "the import after the aborted ones");
  step("close");
  await other.close();
  await db.close();
});

test("folders: add, use, list, InUse while nodes show its assets, remove", async () => {
  const db = await open();
  if (!hasOPFS) {
    // WebKit with OPFS off: no directory handle to offer at all.
    eq((await db.capabilities()).folderAccess, false, "capabilities().folderAccess without OPFS");
    await db.close();
    skip("no OPFS and no File System Access API in this browser: there is no folder to add");
  }
  const root = await navigator.storage.getDirectory();
  const picked = await root.getDirectoryHandle(`picked-${crypto.randomUUID()}`, { create: true });
  eq(await db.folders(), [], "no folders yet");
  if (typeof FileSystemHandle.prototype.queryPermission !== "function") {
    // Firefox, Safari: OPFS but no File System Access API.
    eq((await db.capabilities()).folderAccess, false, "capabilities().folderAccess without the API");
    await rejects(db.addFolder(picked, { use: true }), "Unsupported", "addFolder without the File System Access API");
    eq(await db.folders(), [], "folders after the refused addFolder");
    await db.close();
    skip("folders need the File System Access API (queryPermission), which this browser lacks: addFolder rejects with Unsupported");
  }
  const key = await db.addFolder(picked, { use: true });
  assert(typeof key === "string" && key !== "", `key ${key}`);
  const fs = await db.folders();
  eq(fs.map((f) => [f.key, f.name, f.permission]), [[key, picked.name, "granted"]], "folders()");
  assert(await fs[0].handle.isSameEntry(picked), "the listed handle is another folder");
  eq((await db.capabilities()).folder, key, "capabilities().folder");

  const data = bytes(5000, 3);
  const ref = await db.putAsset(new Blob([data], { type: "text/plain" }));
  eq(ref.kind, "fs-handle", "kind of an asset put while the folder is in use");
  assert(ref.handleId.startsWith(key + "/"), `handleId ${ref.handleId}`);
  assert(sameBytes(await blobBytes(await db.assetBlob(ref)), data), "bytes from the folder");
  const w = await db.createWorkflow("Folder");
  const [n] = await db.setNodes(w.id, [{ type: "t", position: { x: 0, y: 0 }, result: { asset: ref } }]);
  await rejects(db.removeFolder(key), "InUse", "removing a folder whose asset a node shows");
  eq((await db.folders()).length, 1, "the folder after the refused remove");
  await db.deleteNodes(w.id, [n.id]);
  await db.removeFolder(key);
  eq(await db.folders(), [], "folders after the remove");
  eq((await db.capabilities()).folder, null, "new assets go back to the default store");
  await rejects(db.removeFolder(key), "NotFound", "removing it again");
  await rejects(db.useFolder(key), "NotFound", "using a removed folder");
  await db.useFolder(null);
  eq((await db.putAsset(new Blob(["default"]))).kind, (await db.capabilities()).backend, "kind after useFolder(null)");
  await db.close();
});

// ---------------------------------------------------------------------------
// Packages.

test("exportWorkflow -> Blob -> importPackage round trip with progress", async () => {
  const db = await open();
  const w = await db.createWorkflow("Package");
  const data = bytes(3 << 20, 11); // several 1 MiB chunks
  const ref = await db.putAsset(new Blob([data], { type: "video/mp4" }));
  const [a, b] = await db.setNodes(w.id, [
    { type: "prompt", title: "Idea", position: { x: 0, y: 0 }, config: { text: "a cat" } },
    { type: "video", title: "Clip", position: { x: 300, y: 0 }, size: { width: 320, height: 180 }, result: { asset: ref, text: "clip" } },
  ]);
  await db.setEdges(w.id, [{ source: a.id, target: b.id }]);
  await db.updateWorkflow(w.id, { viewport: { x: 5, y: 6, zoom: 0.5 } });

  const exported = [];
  const zip = await db.exportWorkflow(w.id, { appName: "api-test", appVersion: "1.0.0", onProgress: (p) => exported.push(p) });
  assert(zip instanceof Blob, "exportWorkflow did not resolve to a Blob");
  eq(zip.type, "application/zip", "type");
  assert(zip.size > data.length, `the package is ${zip.size} bytes`);
  checkProgress(exported, "export");
  eq(exported.at(-1).total, data.length, "export total");

  const imported = [];
  const r = await db.importPackage(new File([zip], "w.genaiw.zip"), { onProgress: (p) => imported.push(p) });
  checkProgress(imported, "import");
  eq(imported.at(-1).total, data.length, "import total");
  assert(r.newIds && !r.replaced, `newIds ${r.newIds}, replaced ${r.replaced}: the workflow exists, so the copy gets new ids`);
  assert(r.workflow.id !== w.id, "the copy has the original's id");
  eq(r.ids[w.id], r.workflow.id, "ids maps the workflow");
  const orig = await db.loadWorkflow(w.id);
  const copy = await db.loadWorkflow(r.workflow.id);
  eq([copy.workflow.name, copy.workflow.viewport], ["Package", { x: 5, y: 6, zoom: 0.5 }], "copied workflow");
  eq(copy.nodes.map((n) => [n.id, n.type, n.title, n.position, n.size, n.config]),
    orig.nodes.map((n) => [r.ids[n.id], n.type, n.title, n.position, n.size, n.config]), "copied nodes");
  eq(copy.edges.map((e) => [e.source, e.target]), [[r.ids[a.id], r.ids[b.id]]], "copied edges");
  const copied = copy.nodes.find((n) => n.type === "video").result.asset;
  eq(copied.hash, ref.hash, "the copy's asset hash");
  assert(sameBytes(await blobBytes(await db.assetBlob(copied)), data), "the imported asset's bytes");

  // replace keeps the ids and replaces the stored workflow.
  await db.updateWorkflow(w.id, { name: "Changed" });
  const rr = await db.importPackage(zip, { replace: true });
  assert(rr.replaced && !rr.newIds, `replace: replaced ${rr.replaced}, newIds ${rr.newIds}`);
  eq(rr.workflow.id, w.id, "replaced id");
  eq((await db.loadWorkflow(w.id)).workflow.name, "Package", "the name after the replace");
  eq((await db.listWorkflows()).length, 2, "workflows after the imports");
  await db.close();
});

test("exportWorkflow with includeOriginals: failed downloads are listed, or kept as links", async () => {
  const db = await open();
  const w = await db.createWorkflow("Links");
  const ok = new URL("./api.test.html", location.href).href;
  const missing = new URL(`./no-such-file-${crypto.randomUUID()}.png`, location.href).href;
  const [good, bad] = await db.setNodes(w.id, [
    { type: "image", position: { x: 0, y: 0 }, result: { asset: { kind: "url", url: ok, mime: "text/html" } } },
    { type: "image", position: { x: 1, y: 0 }, result: { asset: { kind: "url", url: missing, mime: "image/png" } } },
  ]);
  const e = await rejects(db.exportWorkflow(w.id, { includeOriginals: true }), "ExportFailed", "an original that cannot be downloaded");
  eq(e.failures?.map((f) => [f.ref.url, f.nodes]), [[missing, [bad.id]]], "failures");
  assert(e.failures[0].message.includes("404"), e.failures[0].message);

  const kept = [];
  const zip = await db.exportWorkflow(w.id, { includeOriginals: true, keepFailedAsUrl: true, onKeptAsUrl: (k) => kept.push(...k) });
  eq(kept.map((k) => [k.ref.kind, k.ref.url, k.nodes]), [["url", missing, [bad.id]]], "kept as links");
  const r = await db.importPackage(zip);
  const byTitle = Object.fromEntries(r.nodes.map((n) => [n.id === r.ids[good.id] ? "good" : "bad", n.result.asset]));
  eq(byTitle.good.kind, "opfs" === (await db.capabilities()).backend ? "opfs" : "idb", "the downloaded original is stored");
  eq([byTitle.bad.kind, byTitle.bad.url], ["url", missing], "the failed one stays a link");
  await db.close();
});

test("importPackage of garbage rejects with InvalidPackage and stores nothing", async () => {
  const db = await open();
  await db.createWorkflow("Keep");
  const list = await db.listWorkflows();
  const text = await rejects(db.importPackage(new Blob(["this is not a zip file at all"])), "InvalidPackage", "a text file");
  eq(text.reason, "NotZip", "a text file's reason");
  const cut = await rejects(db.importPackage(new Blob([new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3])])), "InvalidPackage", "a truncated zip");
  assert(typeof cut.reason === "string" && cut.reason !== "" && cut.reason !== text.message, `a truncated zip's reason: ${cut.reason}`);
  const empty = await rejects(db.importPackage(new Blob([])), "InvalidPackage", "an empty file");
  assert(typeof empty.reason === "string" && empty.reason !== "", `an empty file's reason: ${empty.reason}`);
  await rejects(db.importPackage("w.genaiw.zip"), "Invalid", "a file name instead of a File");
  await rejects(db.importPackage(new Blob(["x"]), { onProgress: 5 }), "Invalid", "a numeric onProgress");
  await rejects(db.exportWorkflow(missingId), "NotFound", "exporting a missing workflow");
  await rejects(db.exportWorkflow(list[0].id, { onProgress: "yes" }), "Invalid", "a string onProgress");
  await rejects(db.exportWorkflow(list[0].id, { includeOriginal: true }), "Invalid", "a misspelt export option");
  eq(await db.listWorkflows(), list, "the list after the rejected imports");
  eq(await db.listAssets(), [], "no assets stored");
  await db.close();
});

// ---------------------------------------------------------------------------
// Storage, sync, this tab.

test("capabilities, estimate, persist, stats, isLeader: shapes", async () => {
  const db = await open();
  const c = await db.capabilities();
  eq(Object.keys(c).sort(), ["backend", "folder", "folderAccess", "idbValues", "idbValuesReason", "opfs", "persisted",
    "quota", "reason", "syncAccess", "usage"], "capabilities keys");
  assert(c.backend === "opfs" || c.backend === "idb", `backend ${c.backend}`);
  assert(typeof c.reason === "string" && c.reason !== "", `reason ${c.reason}`);
  // Probed when IndexedDB takes new assets; later otherwise.
  assert(c.backend === "opfs" ? [null, "blob", "bytes"].includes(c.idbValues) : ["blob", "bytes"].includes(c.idbValues),
    `idbValues ${c.idbValues} with backend ${c.backend}`);
  eq(c.folder, null, "folder");
  for (const k of ["opfs", "syncAccess", "folderAccess", "persisted"]) assert(typeof c[k] === "boolean", `${k} is ${typeof c[k]}`);
  if (hasStorage) {
    assert(Number.isFinite(c.usage) && Number.isFinite(c.quota) && c.quota > 0, `usage ${c.usage}, quota ${c.quota}`);
    const est = await db.estimate();
    eq(Object.keys(est).sort(), ["quota", "usage"], "estimate keys");
    assert(est.quota > 0 && est.usage >= 0, `estimate ${json(est)}`);
    const p = await db.persist();
    assert(typeof p === "boolean", `persist resolved to ${json(p)}`);
  } else {
    // No navigator.storage: nothing to report, and no way to ask.
    eq([c.usage, c.quota, c.persisted, c.opfs], [0, 0, false, false], "capabilities without navigator.storage");
    await rejects(db.estimate(), "Unsupported", "estimate without navigator.storage");
    await rejects(db.persist(), "Unsupported", "persist without navigator.storage");
  }
  const s = await db.stats();
  eq(Object.keys(s).sort(), ["mutations", "retries", "transactions"], "stats keys");
  await db.createWorkflow("counted");
  const s2 = await db.stats();
  assert(s2.mutations === s.mutations + 1 && s2.transactions >= s.transactions + 1, `stats ${json(s)} then ${json(s2)}`);
  assert(typeof (await db.isLeader()) === "boolean", "isLeader");
  eq(await db.collectAssets(), 0, "collectAssets on an empty library");
  eq(await db.reconcileAssets(), { removed: 0, missing: [] }, "reconcileAssets");
  await db.close();
});

test("syncNow waits for the round: Unavailable when the server cannot be reached, Aborted by its signal", async () => {
  step("open");
  const db = await open({ sync: { url: "http://127.0.0.1:9", workspace: "w", pullIntervalMs: 3600000 } });
  step("createWorkflow");
  await db.createWorkflow("Waits for the network");
  step("syncNow");
  const e = await rejects(db.syncNow(), "Unavailable", "syncNow with the server down");
  assert(/unavailable/i.test(e.message), `message: ${e.message}`);
  step("syncNow, aborted");
  const ac = new AbortController();
  const call = db.syncNow({ signal: ac.signal });
  ac.abort();
  await rejects(call, "Aborted", "syncNow aborted");
  step("syncNow with a bad signal");
  await rejects(db.syncNow({ signal: 42 }), "Invalid", "a signal that is not an AbortSignal");
  step("close");
  await db.close();
});

test("sync methods without sync configured", async () => {
  const db = await open();
  eq(await db.syncStatus(), null, "syncStatus");
  await rejects(db.syncNow(), "Invalid", "syncNow");
  eq(await db.parkedOps(), [], "parkedOps");
  eq(await db.retryParked(), undefined, "retryParked()");
  eq(await db.retryParked([]), undefined, "retryParked([])");
  await db.close();
});

test("errors are AtelierErrors with name, code and details", async () => {
  const db = await open();
  const e = await rejects(db.loadWorkflow(missingId), "NotFound", "loadWorkflow");
  assert(e instanceof Error, "not an Error");
  assert(isAtelierError(e) && isAtelierError(e, "NotFound") && !isAtelierError(e, "Invalid"), "isAtelierError");
  assert(!isAtelierError(new TypeError("x")) && !isAtelierError("NotFound"), "isAtelierError on others");
  const ie = await rejects(db.putNodes((await db.createWorkflow("E")).id, [{ type: "t", position: { x: 0, y: NaN } }]), "Invalid", "NaN");
  eq([ie.entity, ie.field], ["json", "position.y"], "validation details");
  assert(typeof ie.stack === "string", "no stack");
  await db.close();
});

test("throwing getters, Proxies and look-alikes reject with Invalid and the module keeps working", async () => {
  const db = await open();
  const w = await db.createWorkflow("Hostile");
  // A getter that throws when it is read: reading an app object must not
  // end the module.
  const opts = { get onProgress() { throw new Error("getter failed"); } };
  const e = await rejects(db.exportWorkflow(w.id, opts), "Invalid", "a throwing getter");
  assert(e.message.includes("getter failed"), e.message);
  assert(e.field?.startsWith("options"), `field ${e.field}`);
  const trap = new Proxy({}, { get() { throw new Error("trap"); }, ownKeys() { throw new Error("trap"); } });
  await rejects((await load()).open(trap), "Invalid", "open(a Proxy that throws)");
  await rejects(db.updateNode(w.id, missingId, trap), "Invalid", "a patch that throws");
  await rejects(db.putAsset(new Proxy(new Blob(["x"]), {})), "Invalid", "a Proxy of a Blob");
  await rejects(db.putAsset({ size: 3, type: "image/png", slice() {} }), "Invalid", "a Blob look-alike");
  await rejects(db.importPackage(Object.create(Blob.prototype)), "Invalid", "an object with Blob's prototype");
  await rejects(db.addFolder({ kind: "directory", name: "fake" }), "Invalid", "a handle look-alike");
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  await rejects(db.updateNode(w.id, missingId, proxy), "Invalid", "a revoked Proxy");
  eq((await db.loadWorkflow(w.id)).workflow.name, "Hostile", "a call afterwards");
  await db.close();
});

test("close: later calls reject with Closed, close again resolves, watches end with Closed", async () => {
  const db = await open();
  const w = await db.createWorkflow("Closing");
  const ref = await db.putAsset(new Blob(["kept"]));
  const seen = [];
  db.watchWorkflow(w.id, (g, err) => seen.push(err ? err.code : "graph"));
  await waitFor(() => seen.length >= 1, "the first snapshot");
  // A write queued before close is committed, not lost.
  const queued = db.updateWorkflow(w.id, { name: "Renamed before close" });
  eq(await db.close(), undefined, "close resolves to");
  eq((await queued).name, "Renamed before close", "the write queued before close");
  eq(await db.close(), undefined, "close again");
  await waitFor(() => seen.at(-1) === "Closed", "the watch to end with Closed");
  const calls = {
    listWorkflows: () => db.listWorkflows(),
    createWorkflow: () => db.createWorkflow("after"),
    loadWorkflow: () => db.loadWorkflow(w.id),
    setNodes: () => db.setNodes(w.id, []),
    assetBlob: () => db.assetBlob(ref),
    putAsset: () => db.putAsset(new Blob(["after"])),
    capabilities: () => db.capabilities(),
    estimate: () => db.estimate(),
    exportWorkflow: () => db.exportWorkflow(w.id),
    isLeader: () => db.isLeader(),
    // Even bad arguments: the handle is closed first.
    createWorkflowBad: () => db.createWorkflow(42),
  };
  for (const [what, call] of Object.entries(calls)) await rejects(call(), "Closed", what);
  throwsSync(() => db.watchWorkflows(() => {}), "Closed", "watchWorkflows after close");
  throwsSync(() => db.watchWorkflow(w.id, () => {}), "Closed", "watchWorkflow after close");

  const again = await (await load()).open({ name: db.name, worker: inWorker });
  eq((await again.loadWorkflow(w.id)).workflow.name, "Renamed before close", "the data after reopening");
  assert(sameBytes(await blobBytes(await again.assetBlob(ref)), new TextEncoder().encode("kept")), "the asset after reopening");
  await again.close();
});

test("another tab's schema upgrade: onVersionChange, then Closed; reopening is SchemaTooNew", async () => {
  const changes = [];
  const db = await open({ onVersionChange: (v) => changes.push(v) });
  const w = await db.createWorkflow("Before the upgrade");
  const { version } = (await indexedDB.databases()).find((d) => d.name === db.name);
  // What a newer version of the library in another tab would do.
  const newer = await new Promise((resolve, reject) => {
    const req = indexedDB.open(db.name, version + 1);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("the upgrade was blocked: the old connection did not close"));
  });
  newer.close();
  // In worker mode the call comes as a message from the engine's worker,
  // which may arrive after the upgrade's success event.
  await waitFor(() => changes.length > 0, "the onVersionChange call");
  eq(changes, [{ oldVersion: version, newVersion: version + 1 }], "onVersionChange calls");
  await rejects(db.loadWorkflow(w.id), "Closed", "loadWorkflow after the upgrade");
  await rejects(db.assetInfo({ kind: "opfs", path: "atelier/x" }), "Closed", "an asset call after the upgrade");
  eq(await db.close(), undefined, "close after the upgrade");
  await rejects((await load()).open({ name: db.name, worker: inWorker }), "SchemaTooNew", "opening the upgraded database");
});

test("assetBytes: the content as an ArrayBuffer (transferred from the engine's worker)", async () => {
  const db = await open();
  const data = bytes(3 << 20, 7);
  const ref = await db.putAsset(new Blob([data], { type: "image/png" }));
  const got = await db.assetBytes(ref);
  assert(got instanceof ArrayBuffer, `assetBytes resolved to ${Object.prototype.toString.call(got)}`);
  assert(sameBytes(new Uint8Array(got), data), "the bytes differ");
  const missing = ref.kind === "idb" ? { ...ref, hash: undefined, blobKey: ref.blobKey + "-missing" }
    : { ...ref, hash: undefined, path: ref.path + "-missing" };
  await rejects(db.assetBytes(missing), "NotFound", "assetBytes of a missing asset");
  await db.close();
});

test("worker mode: a worker that goes away fails pending calls with Closed, keeps nothing half-written, and open recovers", async () => {
  if (!inWorker) return;
  const name = `api-test-crash-${crypto.randomUUID()}`;
  const atelier = await load();
  const db = await atelier.open({ name });
  const w = await db.createWorkflow("Crash");
  const worker = db[Symbol.for("atelier.worker")];
  assert(worker instanceof Worker, "the client has no worker");
  const nodes = Array.from({ length: 20000 }, (_, i) => ({ type: "t", title: `n${i}`, position: { x: i, y: 0 } }));
  const pending = db.setNodes(w.id, nodes);
  await sleep(30);
  worker.terminate();
  await rejects(pending, "Closed", "the call the worker was running");
  await rejects(db.listWorkflows(), "Closed", "a call after the worker went away");
  const again = await atelier.open({ name });
  assert(again[Symbol.for("atelier.worker")] !== worker, "open did not start a new worker");
  const g = await again.loadWorkflow(w.id);
  assert(g.nodes.length === 0 || g.nodes.length === nodes.length, `${g.nodes.length} of ${nodes.length} nodes were kept`);
  const n = await again.setNodes(w.id, nodes.slice(0, 3));
  eq(n.length, 3, "a write after recovering");
  await again.close();
});

test("a module worker loads the API and shares the database with the page", async () => {
  const name = `api-test-worker-${crypto.randomUUID()}`;
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
  try {
    const reply = await new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
      setTimeout(() => reject(new Error("the worker did not answer in 20 s")), 20_000);
      worker.postMessage({ name });
    });
    assert(reply.ok, `worker: ${reply.error}`);
    const db = await (await load()).open({ name, worker: inWorker });
    eq((await db.listWorkflows()).map((w) => [w.id, w.name]), [[reply.id, "from a worker"]], "the page lists");
    await db.close();
  } finally {
    worker.terminate();
  }
});

// ---------------------------------------------------------------------------
// Run.

const list = document.getElementById("results");
const summary = document.getElementById("summary");

// ?only=text runs the cases whose name contains text, ?repeat=n each n
// times: for chasing a case that fails now and then.
const params = new URLSearchParams(location.search);
const only = params.get("only") ?? "";
const repeat = Math.max(1, Number(params.get("repeat")) || 1);
const chosen = cases.filter((c) => c.name.includes(only)).flatMap((c) => Array(repeat).fill(c));

for (const c of chosen) {
  const start = performance.now();
  let ok = true;
  let skipped = false;
  let message = "";
  state.current = c.name;
  state.step = "";
  try {
    // A case that hangs fails on its own and lets the others run.
    let timer;
    const limit = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new AssertionError(`did not finish within 30 s${state.step ? `; last step: ${state.step}` : ""}`)), 30_000);
    });
    try {
      await Promise.race([c.fn(), limit]);
    } finally {
      clearTimeout(timer);
    }
  } catch (e) {
    if (e instanceof Skip) {
      skipped = true;
      message = e.message;
    } else {
      ok = false;
      message = e instanceof AssertionError ? e.message : `${e?.name}: ${e?.message}\n${e?.stack ?? ""}`;
    }
  }
  const ms = Math.round(performance.now() - start);
  state.results.push({ name: c.name, ok, skipped, message, ms });
  const li = document.createElement("li");
  li.className = skipped ? "skip" : ok ? "pass" : "fail";
  li.textContent = `${c.name} `;
  const small = document.createElement("small");
  small.textContent = `${ms} ms`;
  li.append(small);
  if (!ok || skipped) {
    const pre = document.createElement("pre");
    pre.textContent = message;
    li.append(pre);
  }
  list.append(li);
}
const failed = state.results.filter((r) => !r.ok).length;
const skippedN = state.results.filter((r) => r.skipped).length;
summary.textContent = `${state.results.length - failed - skippedN} passed, ${failed} failed, ${skippedN} skipped`;
state.done = true;
