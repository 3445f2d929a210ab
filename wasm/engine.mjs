// engine.mjs loads the wasm module into this context (a page or a worker)
// and resolves to its API: what worker.mjs runs, and what
// open({ worker: false }) uses. atelier.mjs is the public entry.
//
// Every file it needs is found with new URL("...", import.meta.url), the
// form bundlers (Vite, webpack, Parcel, Rollup plugins) recognize: they ship
// the file and rewrite the URL. In the repository the files are in build/
// (make build); the npm package (make package) has them beside this module,
// and its build rewrites "../build/" below to "./". Go's wasm_exec.js comes
// as a module (wasm_exec.mjs, made from the toolchain's file by make build)
// that exports its Go class instead of setting globalThis.Go, so an app's
// own Go program, of another Go version, keeps its own.

import { Go } from "../build/wasm_exec.mjs";
import { AtelierError } from "./errors.mjs";

/** The default URLs of the module's files. */
export function defaultURLs() {
  return {
    wasmURL: String(new URL("../build/atelier.wasm", import.meta.url)),
    bridgeURL: String(new URL("../build/atelier-bridge.js", import.meta.url)),
  };
}

function loadScript(src) {
  if (typeof document === "undefined") {
    // A module worker: the bridge is a plain script that sets a global,
    // which importing it as a module does as well. The comments keep
    // bundlers from trying to resolve a URL only known at run time.
    return import(/* @vite-ignore */ /* webpackIgnore: true */ String(src));
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

async function start({ wasmURL, bridgeURL }) {
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
  const go = new Go();
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
 * API. Once per context; after a failure the next call tries again. urls
 * are absolute URLs of the files, as defaultURLs returns them.
 */
export function loadInPlace(urls = defaultURLs()) {
  if (!inPlace) {
    inPlace = start(urls);
    inPlace.catch(() => { inPlace = undefined; });
  }
  return inPlace;
}
