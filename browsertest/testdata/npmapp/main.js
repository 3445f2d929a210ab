// main.js: an app that uses the installed package as any app would. The
// first visit stores a workflow with a node and an asset; the visit after
// a reload reads them back. ?mode=page runs the engine in the page
// (open({ worker: false })) instead of its worker. browsertest/npm_test.go
// builds it with Vite and with esbuild, and loads it unbundled from another
// origin (the package on a CDN), and reads globalThis.appResult.
import { load, isAtelierError } from "@atelierstore/atelier";

const mode = new URLSearchParams(location.search).get("mode") ?? "worker";
const name = `npmapp-${mode}`;
const key = `npmapp:${name}`;
const bytes = new Uint8Array(70000).map((_, i) => (i * 7) % 251);

async function run() {
  const atelier = await load();
  const db = await atelier.open({ name, worker: mode !== "page" });
  try {
    const saved = JSON.parse(localStorage.getItem(key) ?? "null");
    if (!saved) {
      const w = await db.createWorkflow("Bundled");
      const ref = await db.putAsset(new Blob([bytes], { type: "application/octet-stream" }));
      const [n] = await db.setNodes(w.id, [
        { type: "image-gen", title: "Idea", position: { x: 1, y: 2 }, result: { asset: ref } },
      ]);
      localStorage.setItem(key, JSON.stringify({ workflow: w.id, node: n.id, ref }));
      return { step: "wrote" };
    }
    const g = await db.loadWorkflow(saved.workflow);
    const node = g.nodes.find((n) => n.id === saved.node);
    const got = new Uint8Array(await db.assetBytes(node.result.asset));
    let missing = null;
    try {
      await db.loadWorkflow("00000000-0000-4000-8000-000000000000");
    } catch (e) {
      missing = isAtelierError(e, "NotFound") ? "NotFound" : String(e);
    }
    return {
      step: "read",
      workflow: g.workflow.name,
      nodes: g.nodes.map((n) => n.title),
      assetBytes: got.length,
      assetSame: got.length === bytes.length && got.every((b, i) => b === bytes[i]),
      missing,
    };
  } finally {
    await db.close();
  }
}

// Where the page fetched the module from (in page mode: in worker mode the
// worker fetches it).
function fetched() {
  return performance.getEntriesByType("resource").map((e) => e.name).filter((u) => /\.(wasm|mjs|js)(\?|$)/.test(u));
}

globalThis.appResult = run().then(
  (v) => ({ ok: true, ...v, fetched: fetched() }),
  (e) => ({ ok: false, error: `${e?.name}: ${e?.message}`, fetched: fetched() }),
);
globalThis.browsertestReady = globalThis.appResult;
globalThis.appResult.then((r) => { document.getElementById("out").textContent = JSON.stringify(r); });
