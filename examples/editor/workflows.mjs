// The workflow list in the sidebar and the open workflow: creating one,
// opening one (watching it, so that changes from every tab show), closing
// it, and putting this tab's own writes on screen before the next snapshot.

import { clearViews, render } from "./canvas.mjs";
import { state } from "./state.mjs";
import { showError, status } from "./status.mjs";
import { refreshStorageSoon } from "./storage-panel.mjs";
import { $, deferred, fmtTime, h } from "./util.mjs";

export function renderList() {
  const ul = $("workflows");
  ul.replaceChildren();
  $("wfCount").textContent = state.list.length ? String(state.list.length) : "";
  if (state.list.length === 0) ul.append(h("li", { class: "empty" }, "No workflows yet."));
  for (const w of state.list) {
    const li = h("li", { class: "wf" + (w.id === state.wf ? " active" : ""), "data-id": w.id, tabindex: "0", title: w.name },
      h("span", { class: "name" }, w.name), h("small", {}, `edited ${fmtTime(w.updatedAt)}`));
    if (w.id === state.wf) li.setAttribute("aria-current", "true");
    li.addEventListener("click", () => openWorkflow(w.id));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openWorkflow(w.id); } });
    ul.append(li);
  }
}

// watchList keeps the list up to date with every tab's changes; it resolves
// once the list has been shown the first time.
export async function watchList() {
  const listed = deferred();
  await state.db.watchWorkflows((list, err) => {
    if (err) { if (!state.closed) showError("watching the workflow list", err); listed.resolve(); return; }
    state.list = list;
    renderList();
    listed.resolve();
  });
  await listed.promise;
}

export async function openWorkflow(id) {
  if (state.wf === id && state.graph) return;
  closeWorkflow();
  const seq = ++state.openSeq;
  state.wf = id;
  history.replaceState(null, "", "#" + id);
  renderList();
  const first = deferred();
  let stop;
  try {
    stop = await state.db.watchWorkflow(id, (snap, err) => {
      if (seq !== state.openSeq) return;
      if (err) { first.resolve(); watchFailed(err); return; }
      applySnapshot(snap);
      first.resolve();
    });
  } catch (e) {
    if (seq === state.openSeq) { closeWorkflow(); showError("opening the workflow", e); }
    return;
  }
  if (seq !== state.openSeq) { stop(); return; }
  state.stop = stop;
  await first.promise;
}

export function closeWorkflow() {
  state.openSeq++;
  if (state.stop) state.stop();
  state.stop = null;
  state.wf = state.graph = null;
  state.sel.clear();
  state.selEdge = null;
  clearViews();
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  render();
  renderList();
}

function watchFailed(err) {
  if (err.name === "Closed" && state.closed) return;
  if (err.name === "NotFound") {
    const name = state.graph?.workflow.name;
    const mine = state.deleting === state.wf;
    closeWorkflow();
    if (mine) status(`deleted “${name}”`, "ok");
    else status(name ? `“${name}” was deleted in another tab` : "that workflow does not exist (any more)", "error");
    return;
  }
  showError("watching the workflow", err);
}

function applySnapshot(snap) {
  const first = !state.graph || state.graph.workflow.id !== snap.workflow.id;
  state.graph = { workflow: snap.workflow, nodes: snap.nodes, edges: snap.edges };
  if (first) {
    const vp = state.graph.workflow.viewport || {};
    state.view = { x: vp.x || 0, y: vp.y || 0, zoom: vp.zoom > 0 ? vp.zoom : 1 };
  }
  render();
  refreshStorageSoon();
}

// stored puts an entity this tab just wrote into the graph on screen.
export function stored(entity, force = false) {
  const g = state.graph;
  if (!g || entity.workflowId && entity.workflowId !== g.workflow.id) return;
  if (entity.id === g.workflow.id) {
    if (force || entity.version >= g.workflow.version) g.workflow = entity;
  } else {
    const i = g.nodes.findIndex((n) => n.id === entity.id);
    if (i < 0) g.nodes.push(entity);
    else if (force || entity.version >= g.nodes[i].version) g.nodes[i] = entity;
  }
  render();
}

// reloadNode reads a node as stored, after a write based on an old version
// was refused.
export async function reloadNode(id) {
  const g = await state.db.loadWorkflow(state.wf);
  const fresh = g.nodes.find((n) => n.id === id);
  if (fresh) stored(fresh, true);
  else if (state.graph) {
    state.graph.nodes = state.graph.nodes.filter((n) => n.id !== id);
    render();
  }
  return fresh;
}

export function init() {
  $("create").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = $("newName").value.trim() || "Untitled workflow";
    try {
      const w = await state.db.createWorkflow(name);
      $("newName").value = "";
      await openWorkflow(w.id);
      status(`created “${w.name}”`, "ok");
    } catch (e) { showError("create", e); }
  });
}
