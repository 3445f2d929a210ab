// Renaming the open workflow (the name field in the toolbar) and a node (a
// field in place of its title). Both save on the condition that nobody
// renamed it elsewhere meanwhile, and say so by the error's name when
// somebody did.

import { state } from "./state.mjs";
import { showError, status } from "./status.mjs";
import { $, h, label } from "./util.mjs";
import { reloadNode, stored } from "./workflows.mjs";

// editTitle puts a text field in place of the node's title; Enter or
// leaving the field saves, Escape cancels.
export function editTitle(v) {
  if (v.editing || state.closed) return;
  v.editing = true;
  const before = v.node;
  const input = h("input", { type: "text", class: "title-edit", maxlength: "500", "aria-label": "Node title" });
  input.value = before.title || "";
  v.title.replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    input.replaceWith(v.title);
    v.editing = false;
    const title = input.value.trim();
    v.title.textContent = label(v.node);
    if (!save || title === (before.title || "")) return;
    v.title.textContent = title || label(before);
    try {
      stored(await state.db.updateNode(state.wf, before.id, { title }, { ifVersion: before.version }));
      status(`renamed the node to “${title}”`, "ok");
    } catch (e) {
      if (e.name === "VersionConflict") {
        try { await reloadNode(before.id); } catch { /* the watch will tell */ }
        status(`node title not saved — VersionConflict: “${label(before)}” was changed in another tab meanwhile`, "error");
        return;
      }
      v.title.textContent = label(v.node);
      showError("renaming the node", e);
    }
  };
  input.addEventListener("pointerdown", (e) => e.stopPropagation());
  input.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.key === "Enter") finish(true);
    if (e.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
}

// init wires the workflow's name field: it saves on Enter or when it loses
// focus.
export function init() {
  const wfName = $("wfName");
  wfName.addEventListener("focus", () => wfName.select());
  wfName.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); wfName.blur(); }
    if (e.key === "Escape") { wfName.value = state.graph?.workflow.name ?? ""; wfName.blur(); }
  });
  wfName.addEventListener("blur", async () => {
    const g = state.graph;
    if (!g) return;
    const w = g.workflow, name = wfName.value.trim();
    if (name === w.name) { wfName.value = name; return; }
    if (!name) { wfName.value = w.name; status("a workflow needs a name", "error"); return; }
    try {
      const saved = await state.db.updateWorkflow(w.id, { name }, { ifVersion: w.version });
      stored(saved);
      status(`renamed to “${saved.name}”`, "ok");
    } catch (e) {
      if (e.name === "VersionConflict") {
        try { stored((await state.db.loadWorkflow(w.id)).workflow, true); } catch { /* the watch will tell */ }
        wfName.value = state.graph?.workflow.name ?? "";
        status(`rename not saved — VersionConflict: the workflow was changed in another tab meanwhile; try again`, "error");
        return;
      }
      wfName.value = w.name;
      showError("rename", e);
    }
  });
}
