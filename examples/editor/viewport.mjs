// Zoom and scroll of the canvas (buttons, wheel, Ctrl+wheel, fit), saved
// as the workflow's viewport half a second after the last change.

import { applyView, updateOriginals } from "./canvas.mjs";
import { state, views } from "./state.mjs";
import { showError } from "./status.mjs";
import { $ } from "./util.mjs";
import { stored } from "./workflows.mjs";

// zoomAt zooms by factor, keeping the point under (clientX, clientY) in place.
function zoomAt(clientX, clientY, factor) {
  const r = $("canvas").getBoundingClientRect();
  const v = state.view;
  const zoom = Math.min(3, Math.max(0.25, v.zoom * factor));
  const px = clientX - r.left, py = clientY - r.top;
  v.x = px - ((px - v.x) * zoom) / v.zoom;
  v.y = py - ((py - v.y) * zoom) / v.zoom;
  v.zoom = zoom;
  applyView();
  updateOriginals();
  saveViewSoon();
}

let viewTimer;

export function saveViewSoon() {
  clearTimeout(viewTimer);
  const wf = state.wf;
  viewTimer = setTimeout(async () => {
    if (wf !== state.wf || state.closed) return;
    const { x, y, zoom } = state.view;
    const viewport = { x, y, zoom };
    try {
      // Where the workflow was last looked at: last write wins.
      stored(await state.db.updateWorkflow(wf, { viewport }));
      $("zoom").dataset.saved = JSON.stringify(viewport);
    } catch (e) { showError("saving the view", e); }
  }, 500);
}

// zoomFit shows all nodes, as large as fits up to 300%.
function zoomFit() {
  if (!views.size) return;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const v of views.values()) {
    x0 = Math.min(x0, v.el.offsetLeft); y0 = Math.min(y0, v.el.offsetTop);
    x1 = Math.max(x1, v.el.offsetLeft + v.el.offsetWidth); y1 = Math.max(y1, v.el.offsetTop + v.el.offsetHeight);
  }
  const r = $("canvas").getBoundingClientRect(), pad = 40;
  const zoom = Math.min(3, Math.max(0.25, Math.min((r.width - 2 * pad) / (x1 - x0), (r.height - 2 * pad) / (y1 - y0))));
  state.view = { zoom, x: (r.width - (x1 - x0) * zoom) / 2 - x0 * zoom, y: (r.height - (y1 - y0) * zoom) / 2 - y0 * zoom };
  applyView();
  updateOriginals();
  saveViewSoon();
}

export function init() {
  const center = (factor) => { const r = $("canvas").getBoundingClientRect(); zoomAt(r.left + r.width / 2, r.top + r.height / 2, factor); };
  $("zoomIn").addEventListener("click", () => center(1.25));
  $("zoomOut").addEventListener("click", () => center(0.8));
  $("zoomReset").addEventListener("click", () => { const r = $("canvas").getBoundingClientRect(); zoomAt(r.left, r.top, 1 / state.view.zoom); });
  $("zoomFit").addEventListener("click", zoomFit);
  $("canvas").addEventListener("wheel", (e) => {
    if (!state.graph) return;
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) { zoomAt(e.clientX, e.clientY, Math.exp(-e.deltaY * 0.002)); return; }
    state.view.x -= e.deltaX;
    state.view.y -= e.deltaY;
    applyView();
    saveViewSoon();
  }, { passive: false });
}
