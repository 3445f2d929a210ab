// Thumbnails: the image drawn small enough that its data: URL fits in a
// node record. The work (decoding the image, which for a large file takes
// the thread for hundreds of milliseconds, then encoding) runs in a worker
// (thumbnail-worker.mjs) so that the page stays responsive; thumbnail()
// falls back to the page where a worker cannot start.

const MAX_THUMBNAIL_BYTES = 16 << 10; // graph.MaxThumbnailBytes: the whole data: URL
const THUMBNAIL_STEPS = [[256, 0.82], [224, 0.78], [192, 0.72], [160, 0.66], [128, 0.6], [96, 0.55], [64, 0.5]];

function named(name, message) { const e = new Error(message); e.name = name; return e; }

// makeThumbnail draws the image small enough that its data: URL fits in a
// node record (MAX_THUMBNAIL_BYTES), trying WebP then JPEG at falling sizes
// and qualities. It runs in a worker or in the page.
export async function makeThumbnail(file) {
  let bmp;
  try { bmp = await createImageBitmap(file); } catch (e) { throw named("Invalid", `${file.name} is not an image this browser can read (${e.message})`); }
  try {
    for (const [edge, quality] of THUMBNAIL_STEPS) {
      const k = Math.min(1, edge / Math.max(bmp.width, bmp.height));
      const w = Math.max(1, Math.round(bmp.width * k)), hh = Math.max(1, Math.round(bmp.height * k));
      for (const type of ["image/webp", "image/jpeg"]) {
        const blob = await encode(bmp, w, hh, type, quality);
        if (blob.type !== type) continue; // this browser cannot write the type
        const url = await dataURL(blob);
        if (url.length <= MAX_THUMBNAIL_BYTES) return { url, width: w, height: hh };
      }
    }
  } finally { bmp.close(); }
  throw named("Invalid", `cannot make a thumbnail of ${file.name} within ${MAX_THUMBNAIL_BYTES} bytes`);
}

async function encode(bmp, w, hh, type, quality) {
  const paint = (ctx) => {
    if (type === "image/jpeg") { ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, hh); } // no alpha in JPEG
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bmp, 0, 0, w, hh);
  };
  if (typeof OffscreenCanvas === "function") {
    const c = new OffscreenCanvas(w, hh);
    paint(c.getContext("2d"));
    return c.convertToBlob({ type, quality });
  }
  const c = document.createElement("canvas");
  c.width = w;
  c.height = hh;
  paint(c.getContext("2d"));
  return new Promise((ok, fail) => c.toBlob((b) => (b ? ok(b) : fail(named("Invalid", "cannot encode the thumbnail"))), type, quality));
}

function dataURL(blob) {
  return new Promise((ok, fail) => {
    const r = new FileReader();
    r.onload = () => ok(r.result);
    r.onerror = () => fail(r.error);
    r.readAsDataURL(blob);
  });
}

// The page's side: one worker, started on first use, and the calls
// waiting for it.
let worker = null; // a Promise of the Worker, or of null when none starts
let seq = 0;
const waiting = new Map();

function startWorker() {
  if (worker) return worker;
  worker = new Promise((ok) => {
    let w;
    try {
      w = new Worker(new URL("./thumbnail-worker.mjs", import.meta.url), { type: "module", name: "thumbnails" });
    } catch { ok(null); return; }
    const failed = () => {
      for (const [, p] of waiting) p.retry();
      waiting.clear();
      worker = Promise.resolve(null); // do not try again
      ok(null);
    };
    w.onerror = failed;
    w.onmessage = (e) => {
      const m = e.data;
      if (m.ready) { ok(w); return; }
      const p = waiting.get(m.id);
      if (!p) return;
      waiting.delete(m.id);
      if (m.error) p.fail(named(m.error.name, m.error.message));
      else p.done(m.result);
    };
  });
  return worker;
}

// thumbnail makes the thumbnail of file in the worker, or in the page
// when no worker starts.
export async function thumbnail(file) {
  const w = await startWorker();
  if (!w) return makeThumbnail(file);
  return new Promise((done, fail) => {
    const id = ++seq;
    waiting.set(id, { done, fail, retry: () => makeThumbnail(file).then(done, fail) });
    w.postMessage({ id, file });
  });
}
