// The streaming SHA-256 J6 measures next to WebCrypto (the driver passes
// this module as J6's hook by default): the library's own, hash-wasm's
// SHA-256 in the bridge file, reading the Blob in 4 MiB slices (two ahead)
// on the page's thread, as the bridge does for content over its digest
// limit when its digest worker cannot start.
await new Promise((ok, fail) => {
  if (globalThis.__atelierBridge) return ok();
  const s = document.createElement("script");
  s.src = "/build/atelier-bridge.js";
  s.onload = ok;
  s.onerror = () => fail(new Error("cannot load /build/atelier-bridge.js"));
  document.head.append(s);
});

const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");

globalThis.atelierSHA256Bench = async (blob) => {
  const r = await globalThis.__atelierBridge.sum.blob(blob, {
    piece: 4 << 20, depth: 2, crc: false, whole: -1, state: { stop: false },
  });
  return hex(r.hash);
};
globalThis.atelierSHA256Bench.label = "hash-wasm streaming SHA-256 (the bridge's, 4 MiB slices of a Blob)";
