// The footer: the status line, which says what the last action did or why
// it failed (by the error's name), and the progress of an export or import.

import { $ } from "./util.mjs";

export function status(text, kind = "info") {
  const el = $("status");
  el.textContent = text;
  el.dataset.kind = kind;
  el.title = text;
}

// showError reports a failure by the error's name; names the editor expects
// in normal use are not logged to the console.
export function showError(what, e) {
  const name = e?.name || "Error";
  status(`${what} failed — ${name}: ${e?.message ?? e}`, "error");
  if (!["VersionConflict", "NotFound", "Invalid", "InvalidPackage", "QuotaExceeded"].includes(name)) console.error(what, e);
}

let progressTimer;

// progress shows a progress bar for op; the bar's element carries op, done,
// total and state as data attributes. It returns {update, end}: update
// takes the {done, total} that onProgress reports.
export function progress(op, text) {
  const box = $("progress"), bar = $("progressBar"), pct = $("progressPct");
  clearTimeout(progressTimer);
  box.hidden = false;
  box.dataset.op = op;
  box.dataset.done = 0;
  box.dataset.total = 0;
  box.dataset.state = "running";
  $("progressLabel").textContent = text;
  bar.removeAttribute("value");
  pct.textContent = "";
  return {
    update({ done, total }) {
      box.dataset.done = done;
      box.dataset.total = total;
      if (total > 0) {
        bar.max = total;
        bar.value = done;
        pct.textContent = Math.round((100 * done) / total) + "%";
      }
    },
    end(ok) {
      box.dataset.state = ok ? "done" : "failed";
      if (ok) { bar.max = 1; bar.value = 1; pct.textContent = "100%"; }
      progressTimer = setTimeout(() => { box.hidden = true; }, ok ? 1500 : 0);
    },
  };
}
