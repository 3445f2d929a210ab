// The streaming SHA-256 J6 measures next to WebCrypto (the driver passes
// this module as J6's hook by default): the library's own, hash-wasm's
// SHA-256 in the bridge file, fed the bytes 4 MiB at a time on the page's
// thread, as the digest worker is fed the chunks putAsset writes. Reading
// a Blob is J4's concern; this row is the hash alone.
await new Promise((ok, fail) => {
  if (globalThis.__atelierBridge) return ok();
  const s = document.createElement("script");
  s.src = "/build/atelier-bridge.js";
  s.onload = ok;
  s.onerror = () => fail(new Error("cannot load /build/atelier-bridge.js"));
  document.head.append(s);
});

const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");

globalThis.atelierSHA256Bench = async (blob, bytes) => {
  const h = await globalThis.__atelierBridge.sum.hasher(bytes.length, false, -1);
  for (let off = 0; off < bytes.length; off += 4 << 20) h.update(bytes.subarray(off, off + (4 << 20)));
  const r = await h.result();
  return hex(r.hash);
};
globalThis.atelierSHA256Bench.label = "hash-wasm streaming SHA-256 (the bridge's, 4 MiB updates)";
