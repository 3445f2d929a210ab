// usage.ts uses the whole API the way an app would, so that tsc checks
// atelier.d.ts: every call below must type-check, and every line after an
// expect-error directive must not (tsc fails on an unused directive), so
// declarations that decayed to `any` or lost a method fail the check.
// It is never run: wasm/test/api.test.mjs runs the same API in a browser.

import {
  load,
  AtelierError,
  isAtelierError,
  errorCodes,
  type Atelier,
  type AssetRef,
  type Db,
  type ErrorCode,
  type Graph,
  type ImportResult,
  type Json,
  type Node,
  type Progress,
  type StoredAssetRef,
  type SyncStatus,
  type Unsubscribe,
  type Workflow,
} from "../atelier.mjs";
import { dbMethods } from "../test/methods.mjs";

// ---------------------------------------------------------------------------
// The method list of wasm/test/methods.mjs (which the browser test checks
// against the module) is exactly the set of methods of Db.

type Methods<T> = { [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];
type Listed = (typeof dbMethods)[number];
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const methodsMatch: Equal<Methods<Db>, Listed> = true;
// Everything on Db besides the methods is the name.
const propertiesMatch: Equal<Exclude<keyof Db, Methods<Db>>, "name"> = true;

// ---------------------------------------------------------------------------
// Types the declarations must keep: none of these may be `any`.

type IsAny<T> = 0 extends 1 & T ? true : false;
const dbIsTyped: IsAny<Db> = false;
const nodeIsTyped: IsAny<Node> = false;
const refIsTyped: IsAny<AssetRef> = false;
const codeIsTyped: IsAny<ErrorCode> = false;
const loadIsTyped: IsAny<ReturnType<typeof load>> = false;

async function app(): Promise<void> {
  const atelier: Atelier = await load({ wasmURL: "/build/atelier.wasm", execURL: new URL("https://example.test/wasm_exec.js") });
  const db = await atelier.open({
    name: "my-app",
    onVersionChange: (v) => console.warn(`schema ${v.oldVersion} -> ${v.newVersion}: reload`),
    onBlocked: (v) => console.warn(`waiting for tabs on ${v.oldVersion}`),
    onLeaderChange: (leading: boolean) => console.log("leading", leading),
    strictDurability: false,
    assetBackend: "auto",
    sync: { url: "https://sync.example.test", workspace: "team", token: "t", pullIntervalMs: 15000 },
    onSyncStatus: (s: SyncStatus) => console.log(s.state, s.pending, s.retryAt ?? "now"),
    onConflict: (cs) => cs.forEach((c) => console.log(c.lost.entity, c.lost.entityId, c.winner?.version ?? "rejected", c.reason)),
  });
  const name: string = db.name;
  console.log(name);

  // Workflows.
  const w: Workflow = await db.createWorkflow("Storyboard");
  const list: Workflow[] = await db.listWorkflows();
  console.log(list.map((x) => `${x.name} v${x.version} @${x.updatedAt}`));
  const renamed = await db.updateWorkflow(w.id, { name: "Storyboard 2" }, { ifVersion: w.version });
  await db.updateWorkflow(w.id, { viewport: { x: 10, y: -20, zoom: 1.5 } });
  await db.updateWorkflow(w.id, { name: "Final", meta: { tags: ["a", "b"], starred: true } }, { ifVersion: renamed.version + 1 });
  const g: Graph = await db.loadWorkflow(w.id);
  console.log(g.workflow.viewport.zoom, g.nodes.length, g.edges.length);

  // Nodes: new ones without ids, then a stored one written back as it is.
  const [a, b] = await db.setNodes(w.id, [
    { type: "prompt", title: "Idea", position: { x: 0, y: 0 }, config: { text: "a cat" } },
    { type: "image-gen", title: "Hero", position: { x: 300, y: 0 }, size: { width: 256, height: 256 } },
  ]);
  if (!a || !b) throw new Error("two nodes expected");
  await db.putNodes(w.id, [{ ...a, title: "Idea, refined" }]);
  await db.updateNode(w.id, b.id, { status: "running", clearSize: true }, { ifVersion: b.version });
  await db.updateNode(w.id, a.id, { config: { seed: 42, steps: [1, 2, 3] } });
  await db.updateNode(w.id, a.id, { config: null });
  const moved: Node = await db.updateNode(w.id, b.id, { position: { x: 320, y: 40 }, size: { width: 300, height: 200 } });
  await db.updateNode(w.id, b.id, { size: { width: 1, height: 1 } });
  console.log(moved.position.x, moved.size?.width);

  // Edges.
  const [e] = await db.setEdges(w.id, [{ source: a.id, target: b.id, sourceHandle: "out", targetHandle: "in" }]);
  await db.putEdges(w.id, [{ source: b.id, target: a.id }]);
  if (e) await db.deleteEdges(w.id, [e.id]);

  // Assets.
  const file = new File([new Uint8Array([1, 2, 3])], "cat.png", { type: "image/png" });
  const ref: StoredAssetRef = await db.putAsset(file);
  await db.putAsset(new Blob(["text"]), { mime: "text/plain", onProgress: (p) => console.log(p.done, p.total) });
  // Long calls take an AbortSignal and reject with Aborted when it fires.
  const abort = new AbortController();
  try {
    await db.putAsset(file, { signal: abort.signal });
  } catch (e) {
    if (isAtelierError(e, "Aborted")) console.log("cancelled");
  }
  await db.updateNode(w.id, b.id, { result: { asset: ref, text: "a cat", thumbnail: "data:image/png;base64,AA==", data: { score: 0.9 } } });
  const url: string = await db.assetURL(ref);
  URL.revokeObjectURL(url);
  const blob: Blob = await db.assetBlob(ref);
  const bytes: ArrayBuffer = await db.assetBytes(ref);
  console.log(bytes.byteLength);
  const info = await db.assetInfo(ref);
  console.log(blob.size === info.size, info.mime, info.hash, info.ref.kind);
  switch (ref.kind) {
    case "opfs":
      console.log(ref.path);
      break;
    case "idb":
      console.log(ref.blobKey);
      break;
    case "fs-handle":
      console.log(ref.handleId);
      break;
  }
  const remote: AssetRef = { kind: "url", url: "https://cdn.example.test/a.png", mime: "image/png", bytes: 3 };
  await db.updateNode(w.id, a.id, { result: { asset: remote } });
  await db.updateNode(w.id, a.id, { clearResult: true });
  for (const rec of await db.listAssets()) console.log(rec.hash, rec.ref.kind, rec.users.map((u) => u.nodeId), rec.createdAt);
  try {
    await db.deleteAsset(ref);
  } catch (err) {
    if (!isAtelierError(err, "InUse")) throw err;
    const code: "InUse" = err.code; // narrowed by the code given
    console.log(code);
  }
  const collected: number = await db.collectAssets();
  const report = await db.reconcileAssets();
  console.log(collected, report.removed, report.missing.length);

  // Storage.
  const caps = await db.capabilities();
  console.log(caps.backend, caps.folder ?? "default store", caps.opfs, caps.syncAccess, caps.folderAccess, caps.persisted, caps.usage / caps.quota);
  const { usage, quota } = await db.estimate();
  const persisted: boolean = await db.persist();
  console.log(usage, quota, persisted);

  // Folders.
  const dir = await navigator.storage.getDirectory();
  const key: string = await db.addFolder(dir, { use: true });
  await db.useFolder(null);
  await db.useFolder(key);
  for (const f of await db.folders()) console.log(f.key, f.name, f.handle.name, f.permission ?? "unknown", f.createdAt);
  await db.removeFolder(key);

  // Packages, with progress.
  const seen: Progress[] = [];
  const zip: Blob = await db.exportWorkflow(w.id, {
    includeOriginals: true,
    keepFailedAsUrl: true,
    appName: "my-app",
    appVersion: "1.2.3",
    onProgress: (p) => seen.push(p),
    onKeptAsUrl: (kept) => kept.forEach((k) => console.warn(k.ref?.kind, k.nodes, k.code, k.message)),
  });
  const imported: ImportResult = await db.importPackage(new File([zip], "w.genaiw.zip"), {
    replace: false,
    onProgress: ({ done, total }) => console.log(`${done}/${total}`),
  });
  console.log(imported.workflow.id, imported.newIds, imported.replaced, imported.ids[a.id], imported.nodes.length);

  // A whole graph at once: a copy of the workflow with fresh ids.
  const fresh = new Map<string, string>();
  const idFor = (id: string): string => fresh.get(id) ?? (fresh.set(id, crypto.randomUUID()), fresh.get(id)!);
  const copy: Graph = await db.putGraph({
    workflow: { ...g.workflow, id: crypto.randomUUID(), name: "Copy" },
    nodes: g.nodes.map((n) => ({ ...n, id: idFor(n.id), workflowId: "x" })),
    edges: g.edges.map((ed) => ({ ...ed, id: idFor(ed.id), workflowId: "x", source: idFor(ed.source), target: idFor(ed.target) })),
  });
  console.log(copy.workflow.id);

  // Live queries.
  const stop: Unsubscribe = db.watchWorkflow(w.id, (graph, err) => {
    if (err) {
      console.log(err.code === "NotFound" ? "deleted" : err.message);
      return;
    }
    console.log(graph?.nodes.length);
  });
  stop();
  const stopList = db.watchWorkflows((ws, err) => console.log(ws?.length ?? err?.code));
  stopList();

  // Errors, narrowed by code.
  try {
    await db.updateNode(w.id, a.id, { title: "stale" }, { ifVersion: 1 });
  } catch (err) {
    if (err instanceof AtelierError) {
      switch (err.code) {
        case "VersionConflict":
          console.log(`expected ${err.expected}, stored ${err.actual}`);
          break;
        case "Invalid":
          console.log(err.field, err.reason);
          break;
        case "Closed":
        case "NotFound":
          break;
        default: {
          const other: ErrorCode = err.code;
          console.log(other);
        }
      }
    }
    if (isAtelierError(err) && err.code === "QuotaExceeded") console.log("free some space");
  }
  const codes: readonly ErrorCode[] = errorCodes;
  console.log(codes.includes("Internal"));
  const made = new AtelierError("made by the app", "NotFound");
  console.log(made.name === "NotFound");

  // Sync.
  await db.syncNow();
  const status: SyncStatus | null = await db.syncStatus();
  console.log(status?.state, status?.leader, status?.assets.pending, status?.assets.current);
  for (const c of await db.parkedOps()) console.log(c.lost.id, c.reason);
  await db.retryParked();
  await db.retryParked(["0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2aff"]);

  // This tab.
  const leading: boolean = await db.isLeader();
  const stats = await db.stats();
  console.log(leading, stats.transactions, stats.mutations, stats.retries);
  await db.deleteNodes(w.id, [a.id]);
  await db.deleteWorkflow(w.id, { ifVersion: 3 });
  await db.close();

  misuse(db, ref);
}

// ---------------------------------------------------------------------------
// Misuse the declarations must reject.

async function misuse(db: Db, ref: StoredAssetRef): Promise<void> {
  // @ts-expect-error: open needs a name
  await (await load()).open({});
  // @ts-expect-error: open takes an options object, not the name
  await (await load()).open("my-app");
  // @ts-expect-error: no such asset backend
  await (await load()).open({ name: "x", assetBackend: "s3" });
  // @ts-expect-error: a workflow name is a string
  await db.createWorkflow(42);
  // @ts-expect-error: ids are strings
  await db.loadWorkflow({ id: "x" });
  // @ts-expect-error: nodes are an array
  await db.setNodes("wf", { type: "x", position: { x: 0, y: 0 } });
  // @ts-expect-error: a node needs a type
  await db.putNodes("wf", [{ title: "untyped", position: { x: 0, y: 0 } }]);
  // @ts-expect-error: coordinates are numbers
  await db.putNodes("wf", [{ type: "x", position: { x: "0", y: 0 } }]);
  // @ts-expect-error: a misspelt patch key
  await db.updateNode("wf", "n", { postion: { x: 1, y: 1 } });
  // @ts-expect-error: ifVersion is a number
  await db.updateNode("wf", "n", { title: "t" }, { ifVersion: "3" });
  // @ts-expect-error: dimensions need a position or a size
  await db.updateNodeDimensions("wf", "n", {});
  // @ts-expect-error: a viewport has a zoom
  await db.updateWorkflow("wf", { viewport: { x: 0, y: 0 } });
  // @ts-expect-error: node ids are an array
  await db.deleteNodes("wf", "n");
  // @ts-expect-error: an edge needs a target
  await db.setEdges("wf", [{ source: "a" }]);
  // @ts-expect-error: putAsset takes a Blob, not bytes
  await db.putAsset(new Uint8Array(3));
  // @ts-expect-error: an opfs ref has a path, not a url
  const bad: AssetRef = { kind: "opfs", url: "https://example.test/a.png" };
  // @ts-expect-error: an unknown ref kind
  const unknown: AssetRef = { kind: "s3", url: "https://example.test/a.png" };
  // @ts-expect-error: a ref has exactly one locator
  const two: AssetRef = { kind: "url", url: "https://example.test/a.png", path: "a/b" };
  // @ts-expect-error: a watch callback gets (value, error), not a string
  db.watchWorkflows((ws: string) => console.log(ws));
  // @ts-expect-error: a signal is an AbortSignal, not a controller
  await db.importPackage(new Blob([]), { signal: new AbortController() });
  // @ts-expect-error: progress is {done, total}
  await db.exportWorkflow("wf", { onProgress: (p: number) => console.log(p) });
  // @ts-expect-error: importPackage takes a Blob or File
  await db.importPackage("w.genaiw.zip");
  // @ts-expect-error: stats are numbers
  const s: string = (await db.stats()).transactions;
  // @ts-expect-error: close resolves to nothing
  const closed: boolean = await db.close();
  // @ts-expect-error: no such method
  await db.deleteEverything();

  try {
    await db.assetBlob(ref);
  } catch (err) {
    if (err instanceof AtelierError) {
      // @ts-expect-error: not an error code
      if (err.code === "NotFoundError") console.log("never");
      // @ts-expect-error: codes are a closed set
      const c: ErrorCode = "TimedOut";
      console.log(c);
    }
    // @ts-expect-error: isAtelierError takes only known codes
    isAtelierError(err, "Oops");
  }
  console.log(bad, unknown, two, s, closed);
}

export { app, methodsMatch, propertiesMatch, dbIsTyped, nodeIsTyped, refIsTyped, codeIsTyped, loadIsTyped };
export type { Json };
