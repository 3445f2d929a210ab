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
export function nodeById(id) { return state.graph?.nodes.find((n) => n.id === id); }
