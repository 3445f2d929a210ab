// Images: files dropped on the page (an image on a node, an image on the
// canvas as a new node, a .genaiw.zip package anywhere), the original
// stored with putAsset and a small thumbnail in the node record, and the
// viewer that shows the original.

import { toWorld } from "./canvas.mjs";
import { importFile } from "./packages.mjs";
import { nodeById, state, views } from "./state.mjs";
import { showError, status } from "./status.mjs";
import { refreshStorageSoon } from "./storage-panel.mjs";
import { $, fmtBytes, label } from "./util.mjs";
import { thumbnail } from "./thumbnail.mjs";
import { stored } from "./workflows.mjs";

// setImage stores the original with putAsset and sets the node's result to
// it plus the thumbnail. The person asked for this image whatever happened
// to the node meanwhile, so this write is unconditional.
async function setImage(nodeId, file) {
  const wf = state.wf;
  const v = views.get(nodeId);
  v?.el.classList.add("is-busy");
  try {
    status(`making a thumbnail of ${file.name}…`);
    const thumb = await thumbnail(file);
    const asset = await state.db.putAsset(file, file.type ? { mime: file.type } : {});
    const current = nodeById(nodeId);
    const result = { ...(current?.result || {}), asset, thumbnail: thumb.url };
    const saved = await state.db.updateNode(wf, nodeId, { result });
    if (wf === state.wf) stored(saved);
    status(`stored ${file.name} (${fmtBytes(file.size)}) in “${label(saved)}”, with a ${thumb.width} × ${thumb.height} thumbnail of ${fmtBytes(thumb.url.length)}`, "ok");
    refreshStorageSoon();
  } catch (e) {
    showError(`storing ${file.name}`, e);
  } finally {
    v?.el.classList.remove("is-busy");
  }
}

// openViewer shows the node's original image in a dialog; its object URL
// is revoked when the dialog closes.
export async function openViewer(v) {
  const a = v.node.result?.asset;
  if (!a) return;
  let url;
  try { url = await state.db.assetURL(a); } catch (e) { showError("opening the original", e); return; }
  const dlg = $("viewer");
  $("viewerImg").src = url;
  $("viewerCaption").textContent = `${label(v.node)} · ${a.mime || "image"} · ${fmtBytes(a.bytes)}`;
  dlg.addEventListener("close", () => { URL.revokeObjectURL(url); $("viewerImg").removeAttribute("src"); }, { once: true });
  dlg.showModal();
}

const isPackage = (f) => /\.zip$/i.test(f.name) || f.type === "application/zip";
const isImage = (f) => f.type.startsWith("image/") || /\.(png|jpe?g|gif|webp|avif|bmp)$/i.test(f.name);
const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");

let overNode = null;
function markDropTarget(el) {
  if (el === overNode) return;
  overNode?.classList.remove("drop-target");
  el?.classList.add("drop-target");
  overNode = el;
}

async function drop(e) {
  if (!hasFiles(e)) return;
  e.preventDefault();
  document.body.classList.remove("files-over");
  markDropTarget(null);
  if (state.closed) return;
  const files = [...e.dataTransfer.files];
  const pkg = files.find(isPackage);
  if (pkg) { importFile(pkg); return; }
  const img = files.find(isImage);
  if (!img) { status(`${files[0]?.name ?? "that"} is neither an image nor a .genaiw.zip package`, "error"); return; }
  if (!state.graph) { status("open a workflow first, then drop images on its nodes", "error"); return; }
  const el = e.target.closest?.(".node");
  if (el) { setImage(el.dataset.id, img); return; }
  if (!e.target.closest?.("#canvas")) { status("drop images on a node, or on the canvas to make a new node", "error"); return; }
  const p = toWorld(e.clientX, e.clientY);
  try {
    const [n] = await state.db.putNodes(state.wf, [{ type: "image", title: img.name.replace(/\.[^.]+$/, "").slice(0, 200) || "image", status: "idle",
      position: { x: Math.round(p.x - 92), y: Math.round(p.y - 40) } }]);
    stored(n);
    await setImage(n.id, img);
  } catch (err) { showError("adding a node for the image", err); }
}

export function init() {
  $("viewerClose").addEventListener("click", () => $("viewer").close());
  document.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = state.closed ? "none" : "copy";
    document.body.classList.add("files-over");
    markDropTarget(e.target.closest?.(".node") || null);
  });
  document.addEventListener("dragleave", (e) => {
    if (e.relatedTarget) return;
    document.body.classList.remove("files-over");
    markDropTarget(null);
  });
  document.addEventListener("drop", drop);
}
