// atelier.mjs loads the atelier wasm module and resolves to its API.
// atelier.d.ts describes it for TypeScript.
//
//   import { load } from "@atelierstore/atelier";   // or "./wasm/atelier.mjs" in this repository
//   const atelier = await load();            // or load({ wasmURL, bridgeURL, workerURL })
//   const db = await atelier.open({ name: "my-app" });
//
// In a window the engine runs in a dedicated module worker (worker.mjs,
// started by client.mjs); elsewhere, and with open({ worker: false }), in
// this context (engine.mjs). Each loads the library's atelier-bridge.js
// (the JavaScript helpers the module uses, as a file, so that a
// Content-Security-Policy without 'unsafe-eval' or 'unsafe-inline' allows
// them) and the module, and waits until the Go side has installed the API.
// Every file is found relative to these modules (new URL(..., import.meta.url)),
// so the package works unbundled, from a CDN and through bundlers.

import { AtelierError } from "./errors.mjs";
import { defaultURLs, loadInPlace } from "./engine.mjs";

export { AtelierError, errorCodes, isAtelierError } from "./errors.mjs";
export { loadInPlace } from "./engine.mjs";

const inWindow = typeof document !== "undefined" && typeof Worker === "function";

let loading;

/**
 * Loads the module once per page (later calls return the same promise;
 * after a failure the next call tries again) and resolves to the API,
 * { open }.
 *
 * In a window, open runs the engine in a dedicated module worker (worker.mjs):
 * every IndexedDB, OPFS and sync operation happens there and the page only
 * posts messages, so it never freezes on large reads and writes. The worker
 * is started, and the module loaded into it, by load. open({ worker: false })
 * runs the engine in the page instead (loaded at its first use). In a
 * worker, the engine always runs in place.
 */
export function load({ wasmURL, bridgeURL, workerURL } = {}) {
  if (!loading) {
    const defaults = defaultURLs();
    const urls = {
      wasmURL: String(wasmURL ?? defaults.wasmURL),
      bridgeURL: String(bridgeURL ?? defaults.bridgeURL),
    };
    loading = (async () => {
      if (!inWindow) {
        const api = await loadInPlace(urls);
        return { open: (options) => api.open(options) };
      }
      // Worker mode by default: start the engine now, so that open finds it
      // loaded; a page that only opens in place never waits for it.
      // The worker in use; after it went away (e.dead), the next open
      // starts another.
      let engine;
      const worker = async () => {
        if (!engine || (await engine).dead) {
          engine = import("./client.mjs").then(({ Engine }) => new Engine(workerURL, urls, AtelierError));
        }
        return engine;
      };
      const first = await worker();
      await first.ready;
      return {
        async open(options) {
          let where;
          try {
            where = options !== null && typeof options === "object" && !Array.isArray(options) ? options.worker : undefined;
          } catch (e) {
            throw Object.assign(new AtelierError(`invalid options: reading it threw ${e?.message ?? e}`, "Invalid"),
              { entity: "argument", field: "options" });
          }
          if (where !== undefined) {
            if (typeof where !== "boolean") {
              throw Object.assign(new AtelierError("invalid options.worker: must be a boolean", "Invalid"),
                { entity: "argument", field: "options.worker" });
            }
            const { worker: _, ...rest } = options;
            if (!where) return (await loadInPlace(urls)).open(rest);
            options = rest;
          }
          const e = await worker();
          await e.ready;
          return e.open(options);
        },
      };
    })();
    loading.catch(() => { loading = undefined; });
  }
  return loading;
}
