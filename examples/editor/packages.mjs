// Export of the open workflow as a .genaiw.zip download, and import of a
// package picked with the sidebar's button (assets.mjs passes on packages
// dropped on the page), both with a progress bar.

import { state } from "./state.mjs";
import { progress, showError, status } from "./status.mjs";
import { refreshStorageSoon } from "./storage-panel.mjs";
import { $, fmtBytes, h } from "./util.mjs";
import { openWorkflow } from "./workflows.mjs";

// packageName is the download's file name: the workflow's name without the
// characters file systems refuse.
function packageName(name) {
  const base = name.replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, "_").replace(/^[\s.]+|[\s.]+$/g, "").slice(0, 100);
  return (base || "workflow") + ".genaiw.zip";
}

async function exportOpen() {
  const g = state.graph;
  if (!g) return;
  const btn = $("export");
  btn.disabled = true;
  const p = progress("export", `Exporting “${g.workflow.name}”`);
  try {
    const blob = await state.db.exportWorkflow(g.workflow.id, { onProgress: p.update });
    const file = packageName(g.workflow.name);
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: file, hidden: "" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download reads it after click()
    p.end(true);
    status(`exported “${g.workflow.name}” as ${file} (${fmtBytes(blob.size)})`, "ok");
  } catch (e) {
    p.end(false);
    showError("export", e);
  } finally { btn.disabled = false; }
}

// importFile imports the package file and opens the workflow it holds.
export async function importFile(file) {
  const p = progress("import", `Importing ${file.name}`);
  try {
    const r = await state.db.importPackage(file, { onProgress: p.update });
    p.end(true);
    await openWorkflow(r.workflow.id);
    status(`imported “${r.workflow.name}”: ${r.nodes.length} node${r.nodes.length === 1 ? "" : "s"}, ${r.edges.length} edge${r.edges.length === 1 ? "" : "s"}${r.newIds ? " (a copy, with new ids)" : ""}`, "ok");
    refreshStorageSoon();
  } catch (e) {
    p.end(false);
    showError(`import of ${file.name}`, e);
  }
}

export function init() {
  $("export").addEventListener("click", exportOpen);
  $("importFile").addEventListener("change", () => {
    const f = $("importFile").files[0];
    $("importFile").value = ""; // picking the same file again fires change again
    if (f) importFile(f);
  });
}
