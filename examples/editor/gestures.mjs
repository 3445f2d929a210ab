// Pointer gestures on the canvas: select, move and resize nodes, connect
// them by dragging from the output dot, pan the background; double-click
// a title to rename the node, an image to see the original.
//
// A drag is saved in one write when the pointer is released, on the
// condition that nobody changed the node since it was grabbed.

import { openViewer } from "./assets.mjs";
import { applyView, curve, portOut, render, renderEdges, renderSelection, toWorld, updateOriginal, updateView } from "./canvas.mjs";
import { editTitle } from "./rename.mjs";
import { nodeById, state, views } from "./state.mjs";
import { showError, status } from "./status.mjs";
import { $, label, svgEl } from "./util.mjs";
import { saveViewSoon } from "./viewport.mjs";
import { reloadNode, stored } from "./workflows.mjs";

const NODE_MIN_W = 140, NODE_MIN_H = 64;

// track follows one pointer from pointerdown to pointerup. onMove gets the
// offset in screen pixels once the pointer has moved a few pixels; onEnd
// gets whether it did.
function track(ev, onMove, onEnd) {
  ev.preventDefault();
  const canvas = $("canvas"), id = ev.pointerId, x0 = ev.clientX, y0 = ev.clientY;
  let moved = false;
  canvas.setPointerCapture(id);
  state.gestures++;
  const move = (e) => {
    if (e.pointerId !== id) return;
    const dx = e.clientX - x0, dy = e.clientY - y0;
    if (!moved && Math.abs(dx) + Math.abs(dy) < 3) return;
    moved = true;
    onMove(dx, dy, e);
  };
  const end = async (e) => {
    if (e.pointerId !== id) return;
    canvas.removeEventListener("pointermove", move);
    canvas.removeEventListener("pointerup", end);
    canvas.removeEventListener("pointercancel", end);
    try { await onEnd(moved && e.type === "pointerup", e); } finally { state.gestures--; }
  };
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
}

function select(v, ev) {
  const id = v.node.id;
  if (ev.shiftKey || ev.ctrlKey || ev.metaKey) {
    if (state.sel.has(id)) state.sel.delete(id); else state.sel.add(id);
  } else if (!state.sel.has(id)) {
    state.sel = new Set([id]);
  }
  state.selEdge = null;
  renderSelection();
}

function startMove(ev, v) {
  select(v, ev);
  const n = v.node, z = state.view.zoom, start = { ...n.position };
  let pos = start;
  v.locked = true;
  track(ev, (dx, dy) => {
    pos = { x: Math.round(start.x + dx / z), y: Math.round(start.y + dy / z) };
    v.el.classList.add("dragging");
    v.el.style.left = pos.x + "px";
    v.el.style.top = pos.y + "px";
    renderEdges();
  }, async (moved) => {
    v.el.classList.remove("dragging");
    if (moved) await saveGeometry(v, n, { position: pos, size: n.size }, "moved");
    v.locked = false;
    if (views.get(n.id) === v) updateView(v, nodeById(n.id) || v.node);
    renderEdges();
  });
}

function startResize(ev, v) {
  select(v, ev);
  const n = v.node, z = state.view.zoom, w0 = v.el.offsetWidth, h0 = v.el.offsetHeight;
  let size = { width: w0, height: h0 };
  v.locked = true;
  track(ev, (dx, dy) => {
    size = { width: Math.round(Math.max(NODE_MIN_W, w0 + dx / z)), height: Math.round(Math.max(NODE_MIN_H, h0 + dy / z)) };
    v.el.style.width = size.width + "px";
    v.el.style.height = size.height + "px";
    renderEdges();
  }, async (moved) => {
    if (moved) await saveGeometry(v, n, { position: n.position, size }, "resized");
    v.locked = false;
    if (views.get(n.id) === v) updateView(v, nodeById(n.id) || v.node);
    updateOriginal(v);
    renderEdges();
  });
}

// saveGeometry stores where a node was dragged to, position and size in one
// atomic write, on the condition that nobody changed the node since the
// drag began (the version the person saw when they grabbed it).
async function saveGeometry(v, before, patch, verb) {
  const wf = state.wf;
  try {
    const saved = await state.db.updateNode(wf, before.id, patch, { ifVersion: before.version });
    if (wf !== state.wf) return;
    stored(saved);
    status(verb === "moved"
      ? `moved “${label(saved)}” to ${saved.position.x}, ${saved.position.y}`
      : `resized “${label(saved)}” to ${saved.size.width} × ${saved.size.height}`, "ok");
  } catch (e) {
    if (wf !== state.wf) return;
    if (e.name === "VersionConflict") {
      v.locked = false;
      try { await reloadNode(before.id); } catch (e2) { showError("reloading the node", e2); return; }
      status(`${verb === "moved" ? "move" : "resize"} not saved — VersionConflict: “${label(before)}” was changed in another tab meanwhile; it now shows the stored version`, "error");
      return;
    }
    showError(verb === "moved" ? "move" : "resize", e);
  }
}

function startConnect(ev, v) {
  const temp = svgEl("path", { class: "temp" });
  $("edges").append(temp);
  const from = portOut(v);
  let over = null;
  const target = (e) => {
    const el = document.elementFromPoint(e.clientX, e.clientY)?.closest(".node");
    return el && el !== v.el ? el : null;
  };
  track(ev, (dx, dy, e) => {
    temp.setAttribute("d", curve(from, toWorld(e.clientX, e.clientY)));
    const t = target(e);
    if (t !== over) { over?.classList.remove("drop-target"); t?.classList.add("drop-target"); over = t; }
  }, async (moved, e) => {
    temp.remove();
    over?.classList.remove("drop-target");
    if (!moved) return;
    const t = target(e);
    if (!t) { status("to connect, release the line over another node"); return; }
    await connect(v.node.id, t.dataset.id);
  });
}

// connect adds an edge from source to target, unless there is one.
export async function connect(source, target) {
  const g = state.graph;
  const a = nodeById(source), b = nodeById(target);
  if (!a || !b) return;
  if (g.edges.some((e) => e.source === source && e.target === target)) { status(`“${label(a)}” is already connected to “${label(b)}”`); return; }
  try {
    const [edge] = await state.db.putEdges(g.workflow.id, [{ source, target }]);
    if (state.graph === g && !g.edges.some((e) => e.id === edge.id)) g.edges.push(edge);
    render();
    status(`connected “${label(a)}” → “${label(b)}”`, "ok");
  } catch (e) { showError("connect", e); }
}

function startPan(ev) {
  state.sel.clear();
  state.selEdge = null;
  renderSelection();
  const v0 = { ...state.view };
  track(ev, (dx, dy) => {
    state.view.x = v0.x + dx;
    state.view.y = v0.y + dy;
    applyView();
  }, async (moved) => { if (moved) saveViewSoon(); });
}

export function init() {
  $("canvas").addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 || !state.graph || state.closed) return;
    const t = ev.target;
    if (t.closest("input, button, #zoom")) return;
    // The press is not passed on as a mousedown, so focus would stay in a
    // text field: let it go, which saves a name being edited.
    if (document.activeElement?.matches("input")) document.activeElement.blur();
    const el = t.closest(".node");
    const v = el && views.get(el.dataset.id);
    if (v && t.classList.contains("out")) return startConnect(ev, v);
    if (v && t.classList.contains("resize")) return startResize(ev, v);
    if (v) return startMove(ev, v);
    startPan(ev);
  });

  // Double-click a title to rename the node, an image to see the original.
  // The pointer is captured by the canvas during a press, so the event is
  // located by its coordinates.
  $("canvas").addEventListener("dblclick", (e) => {
    const t = document.elementFromPoint(e.clientX, e.clientY);
    const el = t?.closest(".node");
    const v = el && views.get(el.dataset.id);
    if (!v || state.closed) return;
    if (t.closest(".title")) editTitle(v);
    else if (t.closest(".body")) openViewer(v);
  });
}
