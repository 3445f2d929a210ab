// The editor's state, shared by its modules: the open database, the
// workflow list, the open workflow as last seen, the selection and the view.

export const state = {
  db: null,
  closed: false,      // another tab upgraded the schema: nothing can be saved
  list: [],           // workflows, most recently updated first (watchWorkflows)
  wf: null,           // id of the open workflow
  graph: null,        // {workflow, nodes, edges}: the last snapshot, with this tab's newer writes
  stop: null,         // stops the watch of the open workflow
  openSeq: 0,
  sel: new Set(),     // selected node ids, in the order they were selected
  selEdge: null,
  gestures: 0,        // drags in progress
  view: { x: 0, y: 0, zoom: 1 },
  deleting: null,     // id of the workflow this tab is deleting
};

export const views = new Map();   // node id -> the node's DOM and its image state
export const written = new Map(); // entities this tab stored that a snapshot may not show yet
export const created = new Set(); // nodes this tab created that no snapshot has shown yet
export const removed = new Set(); // nodes this tab deleted that a snapshot may still show

// A snapshot can be older than a write of this tab that already returned:
// keep whichever version is newer, so ifVersion is based on the latest.
export function newer(e) {
  const w = written.get(e.id);
  if (w && w.version > e.version) return w;
  if (w) written.delete(e.id);
  return e;
}

// A snapshot read before this tab's write returned can lack a node the tab
// just created, or still hold one it just deleted: until a snapshot agrees,
// the tab's own write wins (so the new node, and its selection, stay).
export function ownNodes(nodes) {
  const ids = new Set(nodes.map((n) => n.id));
  for (const id of created) {
    if (ids.has(id)) created.delete(id);
    else if (written.has(id)) nodes.push(written.get(id));
  }
  for (const id of removed) if (!ids.has(id)) removed.delete(id);
  return removed.size ? nodes.filter((n) => !removed.has(n.id)) : nodes;
}

export function nodeById(id) { return state.graph?.nodes.find((n) => n.id === id); }
