// The example editor's entry point: wires the parts of the page, opens the
// workspace (store.mjs), shows the workflow list and reopens the workflow
// named in the address's #fragment.
//
// globalThis.editorReady settles when the editor has started (or failed
// to), and body[data-ready] says which: the browser tests wait on them.
//
// The page runs under Content-Security-Policy: script-src 'self'
// 'wasm-unsafe-eval' (examples/serve sends it): no inline scripts or
// handlers, no eval; every script is a module file of this directory.

import * as assets from "./assets.mjs";
import * as canvas from "./canvas.mjs";
import * as gestures from "./gestures.mjs";
import * as packages from "./packages.mjs";
import * as rename from "./rename.mjs";
import { state } from "./state.mjs";
import { showError, status } from "./status.mjs";
import * as storagePanel from "./storage-panel.mjs";
import { openStore, syncOptions } from "./store.mjs";
import { refreshSync, reportConflicts, startSyncPanel } from "./sync-panel.mjs";
import * as toolbar from "./toolbar.mjs";
import { $, deferred } from "./util.mjs";
import * as viewport from "./viewport.mjs";
import * as workflows from "./workflows.mjs";

const ready = deferred();
globalThis.editorReady = ready.promise;
ready.promise.catch(() => {}); // reported in the status line

// stopped shows the banner and makes the page read-only: this tab can no
// longer save anything.
function stopped(text) {
  state.closed = true;
  document.body.classList.add("closed");
  $("bannerText").textContent = text;
  $("banner").hidden = false;
  for (const id of ["aside", "main"]) document.querySelector(id).inert = true;
}

// A violation of the page's policy means some part did not run: say which.
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`Content-Security-Policy ${e.effectiveDirective} refused ${e.blockedURI || "an inline script"} (${e.sourceFile}:${e.lineNumber})`);
});
window.addEventListener("unhandledrejection", (e) => showError("an operation", e.reason));
$("reloadPage").addEventListener("click", () => location.reload());
for (const part of [canvas, workflows, viewport, gestures, rename, toolbar, assets, packages, storagePanel]) part.init();

try {
  const sync = syncOptions();
  state.db = await openStore(sync, {
    onSyncStatus: () => refreshSync(),
    onConflict: reportConflicts,
    onVersionChange: (v) => {
      stopped(`A newer version of this app upgraded the stored data in another tab (schema ${v.oldVersion} → ${v.newVersion}). This tab can no longer save anything: reload it.`);
      status("stopped: the stored data was upgraded by another tab", "error");
    },
  });
  await workflows.watchList();
  await storagePanel.refreshStorage();
  if (sync) await startSyncPanel();
  const want = location.hash.slice(1);
  if (want && state.list.some((w) => w.id === want)) await workflows.openWorkflow(want);
  else if (want) history.replaceState(null, "", location.pathname + location.search);
  status(`ready — ${state.list.length} workflow${state.list.length === 1 ? "" : "s"} in this browser`);
  document.body.dataset.ready = "true";
  ready.resolve(true);
} catch (e) {
  document.body.dataset.ready = "failed";
  status(`could not start — ${e.name}: ${e.message}`, "error");
  if (e.name === "SchemaTooNew") stopped("The stored data was written by a newer version of this app. Open that version, or reload once it is deployed here.");
  ready.reject(e);
}
