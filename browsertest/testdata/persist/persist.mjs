// persist.mjs writes (?phase=write) or checks (?phase=read) what must
// survive a browser restart: a workflow, a node and the bytes of an asset
// the node refers to. It posts {phase, ok, error, backend, ...} as JSON to
// ./result, which the test reads, and shows it on the page.

import { load } from "../../../wasm/atelier.mjs";

const params = new URLSearchParams(location.search);
const phase = params.get("phase");
const size = Number(params.get("bytes") || 5 << 20);
const name = "persist-across-restart";

// bytes returns n pseudo-random bytes, the same for the same n.
function bytes(n) {
  const b = new Uint8Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

// b64 is the padded base64 of buf, as AssetRef.sha256 writes a digest.
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));

async function write(db) {
  const data = bytes(size);
  const ref = await db.putAsset(new Blob([data], { type: "application/octet-stream" }));
  const w = await db.createWorkflow("Survives a restart");
  await db.putNodes(w.id, [{ type: "image", title: "with an asset", position: { x: 1, y: 2 }, config: { ref } }]);
  return { workflow: w.id, kind: ref.kind, hash: ref.hash, size: ref.bytes };
}

async function read(db) {
  const list = await db.listWorkflows();
  if (list.length !== 1) throw new Error(`${list.length} workflows after the restart, want 1`);
  const g = await db.loadWorkflow(list[0].id);
  if (g.nodes.length !== 1) throw new Error(`${g.nodes.length} nodes after the restart, want 1`);
  const ref = g.nodes[0].config.ref;
  const got = new Uint8Array(await db.assetBytes(ref));
  const want = bytes(size);
  if (got.length !== want.length) throw new Error(`the asset has ${got.length} bytes after the restart, want ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) throw new Error(`the asset differs at byte ${i} after the restart`);
  }
  const digest = "sha256-" + b64(await crypto.subtle.digest("SHA-256", got));
  return { workflow: list[0].id, kind: ref.kind, hash: ref.hash, digest, size: got.length };
}

async function main() {
  const result = { phase, ok: false };
  try {
    const atelier = await load();
    const db = await atelier.open({ name });
    try {
      if (phase === "write") Object.assign(result, await write(db));
      else if (phase === "read") Object.assign(result, await read(db));
      else throw new Error(`phase ${phase}: want write or read`);
      const caps = await db.capabilities();
      result.backend = `${caps.backend} (${caps.reason}); IndexedDB values: ${caps.idbValues ?? "not used"}`;
      result.ok = true;
    } finally {
      await db.close();
    }
  } catch (e) {
    result.error = `${e?.name}: ${e?.message}`;
  }
  document.getElementById("status").textContent = JSON.stringify(result);
  await fetch("./result", { method: "POST", body: JSON.stringify(result) });
}

main();
