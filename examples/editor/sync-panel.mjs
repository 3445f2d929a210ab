// The sync chip in the header (synced, syncing, offline with the changes
// waiting, failing) and the report of conflicts this tab's changes lost.
// Shown only when the page syncs (see store.mjs).

import { state } from "./state.mjs";
import { showError, status } from "./status.mjs";
import { $ } from "./util.mjs";

function showSync(s) {
  const chip = $("syncChip");
  if (!s) { chip.hidden = true; return; }
  const up = s.assets && s.assets.pending ? `, ${s.assets.pending} image${s.assets.pending === 1 ? "" : "s"} to upload` : "";
  const text = {
    synced: "Synced",
    syncing: "Syncing…",
    offline: `Offline — ${s.pending} change${s.pending === 1 ? "" : "s"} waiting`,
    error: `Sync failing (${s.failures}×) — ${s.pending} waiting`,
  }[s.state] || s.state;
  chip.textContent = text + (s.parked ? `, ${s.parked} refused` : "") + up;
  chip.title = s.lastError ? `Last error: ${s.lastError}` : "Sync with the server";
  chip.dataset.state = s.state === "synced" ? "ok" : s.state === "syncing" ? "" : "warn";
  chip.dataset.sync = s.state;
  chip.hidden = false;
}

export async function refreshSync() {
  if (!state.db || state.closed) return;
  try { showSync(await state.db.syncStatus()); } catch (e) { if (e.name !== "Closed") showError("reading the sync status", e); }
}

// startSyncPanel shows the status now and then every 2 s, besides when
// the workspace's onSyncStatus calls refreshSync.
export async function startSyncPanel() {
  await refreshSync();
  setInterval(refreshSync, 2000);
}

// reportConflicts is the workspace's onConflict: changes made here that
// lost to newer changes from another device.
export function reportConflicts(cs) {
  status(`${cs.length} change${cs.length === 1 ? "" : "s"} made here lost to newer changes from another device (${cs.map((c) => c.lost.entity).join(", ")})`, "error");
}
