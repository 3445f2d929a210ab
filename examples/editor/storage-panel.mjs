// The storage chips in the header (where images are kept, the usage,
// whether storage is persistent) and the sidebar notices with their
// "Keep my data" button.

import { state } from "./state.mjs";
import { showError, status } from "./status.mjs";
import { $, fmtBytes } from "./util.mjs";

let storageTimer;

// refreshStorageSoon refreshes the chips after a burst of writes.
export function refreshStorageSoon() {
  clearTimeout(storageTimer);
  storageTimer = setTimeout(refreshStorage, 400);
}

export async function refreshStorage() {
  if (!state.db || state.closed) return;
  let c;
  try { c = await state.db.capabilities(); } catch (e) { if (e.name !== "Closed") showError("reading storage information", e); return; }
  const where = c.folder ? "a folder you picked" : c.backend === "opfs" ? "OPFS" : "IndexedDB";
  $("backend").textContent = `Images in ${where}`;
  $("backend").dataset.backend = c.folder ? "folder" : c.backend;
  $("usage").textContent = c.quota > 0 ? `${fmtBytes(c.usage)} of ${fmtBytes(c.quota)} used` : `${fmtBytes(c.usage)} used`;
  $("usage").dataset.usage = c.usage;
  const chip = $("persistChip");
  chip.textContent = c.persisted ? "Persistent" : "Best-effort";
  chip.dataset.state = c.persisted ? "ok" : "warn";
  chip.dataset.persisted = String(c.persisted);
  $("noticePersist").hidden = c.persisted;
  $("noticeOPFS").hidden = c.opfs;
  $("storage").hidden = false;
}

export function init() {
  $("persist").addEventListener("click", async () => {
    try {
      const granted = await state.db.persist();
      status(granted ? "storage is now persistent: the browser will not evict it"
        : "the browser did not make storage persistent (browsers grant it more readily to installed or bookmarked sites)", granted ? "ok" : "info");
    } catch (e) { showError("asking for persistent storage", e); }
    refreshStorage();
  });
}
