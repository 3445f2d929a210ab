// The methods of the db object that atelier.open resolves to. The
// JavaScript test checks that the module has exactly these, and the type
// check (wasm/typecheck) that the Db interface of atelier.d.ts has exactly
// these: a method added on one side only fails one of them.
export const dbMethods = /** @type {const} */ ([
  "listWorkflows", "createWorkflow", "loadWorkflow", "renameWorkflow", "setViewport",
  "updateWorkflow", "deleteWorkflow", "putGraph",
  "setNodes", "putNodes", "updateNode", "updateNodeConfig", "updateNodeResult",
  "updateNodeDimensions", "deleteNodes",
  "setEdges", "putEdges", "deleteEdges",
  "watchWorkflow", "watchWorkflows",
  "putAsset", "assetBlob", "assetBytes", "assetURL", "assetInfo", "listAssets", "deleteAsset",
  "collectAssets", "reconcileAssets",
  "capabilities", "estimate", "persist",
  "addFolder", "useFolder", "folders", "removeFolder",
  "exportWorkflow", "importPackage",
  "syncNow", "syncStatus", "parkedOps", "retryParked",
  "isLeader", "stats", "close",
]);
