// Drawing the open workflow: its nodes (with their thumbnails, or the
// original image when drawn larger), its edges, the selection, and the
// pan and zoom of the view. Nothing here writes to the database.

import { state, views } from "./state.mjs";
import { $, h, label, svgEl } from "./util.mjs";

// render draws state.graph: it reuses the view of each node still there,
// so that a node being dragged or renamed keeps its state.
export function render() {
  const g = state.graph;
  document.body.dataset.workflow = g ? g.workflow.id : "";
  $("toolbar").hidden = $("zoom").hidden = $("hint").hidden = !g;
  $("emptyState").hidden = !!g;
  document.title = g ? `${g.workflow.name} — atelier` : "atelier — workflow editor example";
  if (!g) { $("counts").textContent = ""; renderEdges(); return; }
  const name = $("wfName");
  if (document.activeElement !== name) name.value = g.workflow.name;
  applyView();

  const seen = new Set();
  const world = $("world");
  for (const n of g.nodes) {
    seen.add(n.id);
    let v = views.get(n.id);
    if (!v) { v = makeView(n); views.set(n.id, v); world.append(v.el); }
    updateView(v, n);
  }
  for (const [id, v] of views) if (!seen.has(id)) { dropView(v); views.delete(id); }
  for (const id of state.sel) if (!seen.has(id)) state.sel.delete(id);
  if (state.selEdge && !g.edges.some((e) => e.id === state.selEdge)) state.selEdge = null;
  for (const v of views.values()) updateOriginal(v);
  renderSelection();
  $("counts").textContent = `${g.nodes.length} node${g.nodes.length === 1 ? "" : "s"} · ${g.edges.length} edge${g.edges.length === 1 ? "" : "s"}`;
}

export function renderSelection() {
  for (const [id, v] of views) v.el.classList.toggle("selected", state.sel.has(id));
  $("connect").disabled = state.sel.size !== 2;
  $("deleteNode").disabled = state.sel.size === 0 && !state.selEdge;
  renderEdges();
}

// clearViews removes every node's view, when the workflow closes.
export function clearViews() {
  for (const v of views.values()) dropView(v);
  views.clear();
}

function makeView(n) {
  const el = h("div", { class: "node", "data-id": n.id });
  const type = h("span", { class: "type" });
  const title = h("span", { class: "title" });
  const img = h("img", { class: "thumb", alt: "", draggable: "false", hidden: "" });
  const hint = h("div", { class: "drop-hint" }, "Drop an image here");
  const body = h("div", { class: "body" }, hint, img);
  const text = h("p", { class: "text", hidden: "" });
  el.append(h("div", { class: "head" }, type, title), body, text,
    h("div", { class: "port in" }), h("div", { class: "port out", title: "Drag onto another node to connect" }),
    h("div", { class: "resize", title: "Drag to resize" }), h("div", { class: "busy" }, "Storing image…"));
  const v = { el, type, title, img, hint, body, text, node: n, locked: false, editing: false, thumb: "", thumbW: 0, thumbH: 0, orig: null };
  img.addEventListener("load", () => {
    if (img.dataset.src !== "thumbnail") return;
    v.thumbW = img.naturalWidth;
    v.thumbH = img.naturalHeight;
    updateOriginal(v);
  });
  return v;
}

export function updateView(v, n) {
  v.node = n;
  const el = v.el;
  el.dataset.version = n.version;
  el.dataset.title = n.title || "";
  el.dataset.status = n.status || "";
  if (!v.locked) { // a node being dragged keeps its place under the pointer
    el.style.left = n.position.x + "px";
    el.style.top = n.position.y + "px";
    el.style.width = n.size ? n.size.width + "px" : "";
    el.style.height = n.size ? n.size.height + "px" : "";
  }
  v.type.textContent = n.status && n.status !== "idle" ? `${n.type} · ${n.status}` : n.type;
  if (!v.editing) v.title.textContent = label(n);
  v.title.title = `${label(n)} — double-click to rename`;
  const r = n.result || {};
  const thumb = typeof r.thumbnail === "string" && r.thumbnail.startsWith("data:image/") ? r.thumbnail : "";
  if (thumb !== v.thumb) {
    v.thumb = thumb;
    v.thumbW = v.thumbH = 0;
    releaseOriginal(v);
    if (thumb) { v.img.dataset.src = "thumbnail"; v.img.src = thumb; } else { delete v.img.dataset.src; v.img.removeAttribute("src"); }
  }
  const hasImage = !!thumb || !!r.asset;
  el.classList.toggle("has-image", hasImage);
  v.img.hidden = !v.img.getAttribute("src");
  v.hint.hidden = hasImage;
  v.text.textContent = r.text || "";
  v.text.hidden = !r.text;
}

// A node shows its small stored thumbnail, and the original image (an object
// URL from assetURL) only when it is drawn larger than the thumbnail.
function wantsOriginal(v) {
  const a = v.node.result?.asset;
  if (!a || !state.db) return false;
  if (!v.thumb) return true;
  if (!v.thumbW) return false;
  const box = v.body.getBoundingClientRect(); // includes the zoom
  const scale = Math.min(box.width / v.thumbW, box.height / v.thumbH) * (window.devicePixelRatio || 1);
  return scale > 1.05;
}

export function updateOriginal(v) {
  const a = v.node.result?.asset;
  const key = wantsOriginal(v) ? a.hash || JSON.stringify(a) : "";
  if (key === (v.orig?.key || "")) return;
  releaseOriginal(v);
  if (!key) {
    if (v.img.dataset.src === "original") {
      if (v.thumb) { v.img.dataset.src = "thumbnail"; v.img.src = v.thumb; }
      else { delete v.img.dataset.src; v.img.removeAttribute("src"); v.img.hidden = true; }
    }
    return;
  }
  const o = { key, url: "" };
  v.orig = o;
  state.db.assetURL(a).then((url) => {
    if (v.orig !== o || views.get(v.node.id) !== v) { URL.revokeObjectURL(url); return; }
    o.url = url;
    v.img.dataset.src = "original";
    v.img.src = url;
    v.img.hidden = false;
  }, (e) => {
    if (v.orig === o) v.el.dataset.original = e.name;
    console.warn(`the original image of “${label(v.node)}” cannot be read: ${e.name}: ${e.message}`);
  });
}

// updateOriginals reconsiders, for every node, whether it shows its
// original: after a zoom, or when the window changes.
export function updateOriginals() {
  for (const v of views.values()) updateOriginal(v);
}

function releaseOriginal(v) {
  if (v.orig?.url) URL.revokeObjectURL(v.orig.url);
  v.orig = null;
  delete v.el.dataset.original;
}

function dropView(v) {
  releaseOriginal(v);
  v.el.remove();
}

// renderEdges draws every edge between two drawn nodes; pressing one
// selects it.
export function renderEdges() {
  const svg = $("edges");
  svg.querySelectorAll("g.edge").forEach((e) => e.remove());
  const g = state.graph;
  if (!g) return;
  for (const e of g.edges) {
    const a = views.get(e.source), b = views.get(e.target);
    if (!a || !b) continue;
    const sel = e.id === state.selEdge;
    const d = curve(portOut(a), portIn(b));
    const grp = svgEl("g", { class: "edge" + (sel ? " selected" : ""), "data-id": e.id, "data-source": e.source, "data-target": e.target });
    const hit = svgEl("path", { class: "hit", d });
    grp.append(hit, svgEl("path", { class: "line", d, "marker-end": sel ? "url(#arrowSelected)" : "url(#arrow)" }));
    hit.addEventListener("pointerdown", (ev) => {
      ev.stopPropagation();
      state.sel.clear();
      state.selEdge = e.id;
      renderSelection();
    });
    svg.append(grp);
  }
}

export const portOut = (v) => ({ x: v.el.offsetLeft + v.el.offsetWidth + 1, y: v.el.offsetTop + v.el.offsetHeight / 2 });
const portIn = (v) => ({ x: v.el.offsetLeft - 10, y: v.el.offsetTop + v.el.offsetHeight / 2 });

export function curve(a, b) {
  const dx = Math.max(40, Math.abs(b.x - a.x) / 2);
  return `M${a.x},${a.y} C${a.x + dx},${a.y} ${b.x - dx},${b.y} ${b.x},${b.y}`;
}

// applyView moves and scales the drawing to state.view.
export function applyView() {
  const { x, y, zoom } = state.view;
  $("world").style.transform = `translate(${x}px, ${y}px) scale(${zoom})`;
  const c = $("canvas").style;
  c.backgroundSize = `${20 * zoom}px ${20 * zoom}px`;
  c.backgroundPosition = `${x}px ${y}px`;
  $("zoomReset").textContent = Math.round(zoom * 100) + "%";
}

// toWorld converts a point of the window to the drawing's coordinates.
export function toWorld(clientX, clientY) {
  const r = $("canvas").getBoundingClientRect();
  return { x: (clientX - r.left - state.view.x) / state.view.zoom, y: (clientY - r.top - state.view.y) / state.view.zoom };
}

export function init() {
  window.addEventListener("resize", updateOriginals);
}
