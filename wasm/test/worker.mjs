// worker.mjs is the module worker of api.test.mjs: it loads the API
// without a document, creates a workflow in the database it is told, and
// answers with its id.
import { load } from "../atelier.mjs";

self.onmessage = async (e) => {
  try {
    const atelier = await load();
    const db = await atelier.open({ name: e.data.name });
    const w = await db.createWorkflow("from a worker");
    await db.close();
    self.postMessage({ ok: true, id: w.id });
  } catch (err) {
    self.postMessage({ ok: false, error: `${err?.name}: ${err?.message}` });
  }
};
