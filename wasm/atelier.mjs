// atelier.mjs loads the atelier wasm module and resolves to its API.
//
//   import { load } from "./wasm/atelier.mjs";
//   const atelier = await load();            // or load({ wasmURL, execURL })
//   const db = await atelier.open({ name: "my-app" });
//
// It loads Go's wasm_exec.js (if globalThis.Go is not there yet) and the
// module, and waits until the Go side has installed the API.

const here = new URL(".", import.meta.url);

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

let loading;

export function load({
  wasmURL = new URL("../build/atelier.wasm", here),
  execURL = new URL("../build/wasm_exec.js", here),
} = {}) {
  loading ??= (async () => {
    if (!globalThis.Go) await loadScript(execURL);
    const go = new globalThis.Go();
    const ready = new Promise((resolve) => { globalThis.__atelierReady = resolve; });
    const { instance } = await WebAssembly.instantiateStreaming(fetch(wasmURL), go.importObject);
    go.run(instance).then(() => console.error("atelier: the wasm module exited"));
    const api = await ready;
    delete globalThis.__atelierReady;
    return api;
  })();
  return loading;
}
