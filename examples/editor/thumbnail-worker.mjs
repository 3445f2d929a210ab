// The thumbnail worker: makes thumbnails (thumbnail.mjs) off the page's
// thread. It says it is ready once loaded, then answers {id, file} with
// {id, result} or {id, error}.

import { makeThumbnail } from "./thumbnail.mjs";

self.onmessage = async (e) => {
  const { id, file } = e.data;
  try {
    self.postMessage({ id, result: await makeThumbnail(file) });
  } catch (err) {
    self.postMessage({ id, error: { name: err.name || "Error", message: err.message || String(err) } });
  }
};
self.postMessage({ ready: true });
