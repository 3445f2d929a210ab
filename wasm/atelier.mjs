// atelier.mjs loads the atelier wasm module and resolves to its API.
// atelier.d.ts describes it for TypeScript.
//
//   import { load } from "./wasm/atelier.mjs";
//   const atelier = await load();            // or load({ wasmURL, execURL, bridgeURL })
//   const db = await atelier.open({ name: "my-app" });
//
// It loads Go's wasm_exec.js (if globalThis.Go is not there yet), the
// library's atelier-bridge.js (the JavaScript helpers the module uses, as a
// file, so that a Content-Security-Policy without 'unsafe-eval' or
// 'unsafe-inline' allows them) and the module, and waits until the Go side has installed the API. It works in a
// window and in a module worker.

const here = new URL(".", import.meta.url);

/** The codes of AtelierError, as atelier.d.ts lists them in ErrorCode. */
export const errorCodes = Object.freeze([
  "NotFound", "Invalid", "InvalidRef", "InvalidPackage", "VersionConflict", "Closed",
  "QuotaExceeded", "SchemaTooNew", "Unsupported", "ReadOnly", "InUse", "Permission",
  "NotUploaded", "Corrupt", "ExportFailed", "Aborted", "Timeout", "Unavailable", "WriteFailed",
  "Internal",
]);

/** The Error every rejection of the API is: its name and code say what went wrong. */
export class AtelierError extends Error {
  constructor(message, code = "Internal") {
    super(message);
    this.name = code;
    this.code = code;
  }
}

/** Reports whether e is an error of the API, and with code whether it has that code. */
export function isAtelierError(e, code) {
  const ok = e instanceof AtelierError || (e instanceof Error && errorCodes.includes(e.code));
  return ok && (code === undefined || e.code === code);
}

function loadScript(src) {
  if (typeof document === "undefined") {
    // A worker: wasm_exec.js is a plain script that sets globalThis.Go,
    // which importing it as a module does as well.
    return import(String(src));
  }
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = String(src);
    s.onload = resolve;
    s.onerror = () => reject(new Error(`atelier: cannot load ${src}`));
    document.head.append(s);
  });
}

async function instantiate(wasmURL, imports) {
  const resp = await fetch(wasmURL);
  if (!resp.ok) throw new Error(`atelier: cannot load ${wasmURL}: ${resp.status} ${resp.statusText}`);
  // Streaming compilation needs the application/wasm type; a server that
  // sends another one still works, compiling after the download.
  if ((resp.headers.get("content-type") ?? "").startsWith("application/wasm")) {
    return (await WebAssembly.instantiateStreaming(resp, imports)).instance;
  }
  return (await WebAssembly.instantiate(await resp.arrayBuffer(), imports)).instance;
}

// The engine loaded in this context (the page, or a worker), once.
let inPlace;

async function start({ wasmURL, execURL, bridgeURL }) {
  if (!globalThis.Go) await loadScript(execURL);
  // Without the file the module runs the copy it embeds, which works
  // wherever the page's policy allows inline scripts, and otherwise fails
  // with a clear Unsupported error: so a missing file is not fatal here.
  if (!globalThis.__atelierBridge) {
    await loadScript(bridgeURL).catch(() => {});
    // The module starts its helper workers from the file's URL, which the
    // file cannot learn itself when it is imported (in a worker).
    const b = globalThis.__atelierBridge;
    if (b && !b.url) b.url = String(bridgeURL);
  }
  const go = new globalThis.Go();
  const ready = new Promise((resolve) => { globalThis.__atelierReady = resolve; });
  globalThis.__atelierErrorClass = AtelierError;
  try {
    const instance = await instantiate(wasmURL, go.importObject);
    const exited = go.run(instance).then(() => {
      console.error("atelier: the wasm module exited");
      throw new Error("atelier: the wasm module exited before it was ready");
    });
    return await Promise.race([ready, exited]);
  } finally {
    delete globalThis.__atelierReady;
    delete globalThis.__atelierErrorClass;
  }
}

/**
 * Loads the engine into this context (page or worker) and resolves to its
 * API: what worker.mjs runs, and what open({ worker: false }) uses. Once per
 * context; after a failure the next call tries again.
 */
export function loadInPlace(urls) {
  if (!inPlace) {
    inPlace = start(urls);
    inPlace.catch(() => { inPlace = undefined; });
  }
  return inPlace;
}

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
export function load({
  wasmURL = new URL("../build/atelier.wasm", here),
  execURL = new URL("../build/wasm_exec.js", here),
  bridgeURL = new URL("../build/atelier-bridge.js", here),
  workerURL = new URL("./worker.mjs", here),
} = {}) {
  if (!loading) {
    const urls = { wasmURL: String(wasmURL), execURL: String(execURL), bridgeURL: String(bridgeURL) };
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
