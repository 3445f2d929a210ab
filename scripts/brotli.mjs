// node scripts/brotli.mjs IN OUT: writes IN compressed with Brotli at its
// highest quality and largest window, as browsers decode it, to OUT.
// Node's zlib has Brotli built in, so no other tool is needed. It takes
// ~17 s for the module, and go build rewrites an unchanged module: so it
// notes the SHA-256 of what it compressed in OUT.sum and skips the work
// when IN is the same.
import { createHash } from "node:crypto";
import { readFileSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants as z } from "node:zlib";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node scripts/brotli.mjs IN OUT");
  process.exit(2);
}
const data = readFileSync(input);
const sum = createHash("sha256").update(data).digest("hex");
try {
  if (readFileSync(output + ".sum", "utf8") === sum) {
    // Still current: newer than IN again, for make and for servers that
    // take an older copy as stale.
    const now = new Date();
    utimesSync(output, now, now);
    process.exit(0);
  }
} catch {
  // not compressed yet
}
const out = brotliCompressSync(data, {
  params: {
    [z.BROTLI_PARAM_MODE]: z.BROTLI_MODE_GENERIC,
    [z.BROTLI_PARAM_QUALITY]: z.BROTLI_MAX_QUALITY,
    [z.BROTLI_PARAM_LGWIN]: z.BROTLI_MAX_WINDOW_BITS,
    [z.BROTLI_PARAM_SIZE_HINT]: data.length,
  },
});
writeFileSync(output + ".tmp", out);
renameSync(output + ".tmp", output);
writeFileSync(output + ".sum", sum);
