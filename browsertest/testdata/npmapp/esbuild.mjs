// esbuild.mjs OUTDIR: builds both pages with esbuild, then copies the
// package's files next to the bundles, as its README says: esbuild leaves
// new URL("./file", import.meta.url) as it is.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const out = process.argv[2] ?? "dist-esbuild";
await build({
  entryPoints: ["main.js", "capture.js", "quickstart.js"],
  bundle: true,
  format: "esm",
  target: "es2022",
  outdir: out,
  logLevel: "warning",
});
mkdirSync(out, { recursive: true });
for (const f of ["index.html", "quickstart.html"]) copyFileSync(f, join(out, f));
const pkg = dirname(createRequire(import.meta.url).resolve("@atelierstore/atelier/package.json"));
for (const f of readdirSync(pkg)) {
  if (/\.(mjs|js|wasm|wasm\.br|wasm\.gz)$/.test(f)) copyFileSync(join(pkg, f), join(out, f));
}
