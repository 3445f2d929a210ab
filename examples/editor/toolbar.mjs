// The toolbar of the open workflow: add a node, connect the two selected
// nodes, delete the selection (also with the Delete key), and delete the
// workflow after asking in a dialog of the page (no window.confirm).

import { render, renderSelection, toWorld } from "./canvas.mjs";
import { connect } from "./gestures.mjs";
import { state, views } from "./state.mjs";
import { showError, status } from "./status.mjs";
import { $, label } from "./util.mjs";
import { closeWorkflow, stored } from "./workflows.mjs";

async function addNode() {
  const g = state.graph;
  if (!g) return;
  const pos = freeSpot();
  try {
    const [n] = await state.db.putNodes(g.workflow.id, [{
      type: "image", title: `Step ${g.nodes.length + 1}`, status: "idle", position: pos, config: { prompt: "" },
    }]);
    state.sel = new Set([n.id]);
    stored(n);
    status(`added “${label(n)}”`, "ok");
  } catch (e) { showError("add node", e); }
}

// freeSpot is the first place on a grid, from the visible top left, where a
// new node does not cover another.
function freeSpot() {
  const o = toWorld($("canvas").getBoundingClientRect().left, $("canvas").getBoundingClientRect().top);
  const taken = [...views.values()].map((v) => ({ x: v.el.offsetLeft, y: v.el.offsetTop, w: v.el.offsetWidth, h: v.el.offsetHeight }));
  for (let i = 0; ; i++) {
    const p = { x: Math.round(o.x + 40 + (i % 4) * 210), y: Math.round(o.y + 40 + Math.floor(i / 4) * 160) };
    if (i > 200 || !taken.some((r) => p.x < r.x + r.w + 20 && p.x + 184 + 20 > r.x && p.y < r.y + r.h + 20 && p.y + 100 + 20 > r.y)) return p;
  }
}

// queueSelection sets the selected nodes' status to "queued", their title
// as the prompt when they have none: a generation job on the server
// (examples/generation-job) picks them up and sets their result, which
// shows here when it arrives.
async function queueSelection() {
  const g = state.graph;
  if (!g || !state.sel.size) { status("select the nodes to generate first", "error"); return; }
  try {
    for (const id of state.sel) {
      const n = g.nodes.find((x) => x.id === id);
      if (!n) continue;
      const prompt = n.config?.prompt || n.title || "";
      stored(await state.db.updateNode(g.workflow.id, id, { status: "queued", config: { ...(n.config || {}), prompt } }));
    }
    status(`queued ${state.sel.size} node${state.sel.size === 1 ? "" : "s"} for generation`, "ok");
  } catch (e) { showError("queue", e); }
}

async function deleteSelection() {
  const g = state.graph;
  if (!g) return;
  try {
    if (state.sel.size) {
      const ids = [...state.sel];
      await state.db.deleteNodes(g.workflow.id, ids);
      if (state.graph === g) {
        g.nodes = g.nodes.filter((n) => !ids.includes(n.id));
        g.edges = g.edges.filter((e) => !ids.includes(e.source) && !ids.includes(e.target));
      }
      state.sel.clear();
      status(`deleted ${ids.length} node${ids.length === 1 ? "" : "s"}`, "ok");
    } else if (state.selEdge) {
      const id = state.selEdge;
      await state.db.deleteEdges(g.workflow.id, [id]);
      if (state.graph === g) g.edges = g.edges.filter((e) => e.id !== id);
      state.selEdge = null;
      status("deleted the connection", "ok");
    }
    render();
  } catch (e) { showError("delete", e); }
}

function askDeleteWorkflow() {
  const g = state.graph;
  if (!g) return;
  $("confirmText").textContent = `“${g.workflow.name}” and its ${g.nodes.length} node${g.nodes.length === 1 ? "" : "s"} will be deleted from this browser. This cannot be undone.`;
  $("confirmDialog").dataset.workflow = g.workflow.id;
  $("confirmDialog").showModal();
}

// deleteWorkflow deletes the workflow the dialog asked about, if it is
// still the open one and nobody renamed it meanwhile.
async function deleteWorkflow() {
  const dlg = $("confirmDialog");
  dlg.close();
  const g = state.graph;
  if (!g || g.workflow.id !== dlg.dataset.workflow) return;
  const { id, name, version } = g.workflow;
  state.deleting = id;
  try {
    await state.db.deleteWorkflow(id, { ifVersion: version });
    if (state.wf === id) closeWorkflow();
    status(`deleted “${name}”`, "ok");
  } catch (e) {
    if (e.name === "VersionConflict") status("delete not done — VersionConflict: the workflow was renamed in another tab meanwhile; check it and delete again", "error");
    else showError("delete", e);
  } finally { state.deleting = null; }
}

export function init() {
  $("addNode").addEventListener("click", addNode);
  $("connect").addEventListener("click", () => {
    if (state.sel.size !== 2) { status("select two nodes first: click one, shift-click the other", "error"); return; }
    const [a, b] = state.sel;
    connect(a, b);
  });
  $("deleteNode").addEventListener("click", deleteSelection);
  $("queue").addEventListener("click", queueSelection);
  document.addEventListener("keydown", (e) => {
    if (e.target.closest?.("input, textarea, dialog") || state.closed) return;
    if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); deleteSelection(); }
    if (e.key === "Escape") { state.sel.clear(); state.selEdge = null; renderSelection(); }
  });
  $("deleteWorkflow").addEventListener("click", askDeleteWorkflow);
  $("confirmCancel").addEventListener("click", () => $("confirmDialog").close());
  $("confirmDelete").addEventListener("click", deleteWorkflow);
}
