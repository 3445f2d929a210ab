// Opening the workspace: loads the wasm module and opens the editor's
// database, syncing with a server when the page's address names one:
//
//   /examples/editor/?sync=http://127.0.0.1:8787&workspace=dev&token=dev-token
//
// (what `make sync-server` prints).

import { load } from "../../wasm/atelier.mjs";

// DB_NAME is the database of the editor, one per origin.
export const DB_NAME = "atelier-example";

// syncOptions reads the sync options from the page's query, or returns
// undefined when there is no sync parameter.
export function syncOptions(search = location.search) {
  const q = new URLSearchParams(search);
  const url = q.get("sync");
  if (!url) return undefined;
  return { url, workspace: q.get("workspace") || "dev", token: q.get("token") || "dev-token" };
}

// openStore loads the module and opens the database with sync (if any) and
// the handlers given: {onSyncStatus, onConflict, onVersionChange}.
export async function openStore(sync, handlers) {
  const atelier = await load();
  return atelier.open({ name: DB_NAME, sync, ...handlers });
}
