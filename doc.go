// Package atelier is the library's front door: Open assembles the
// workflow store, the asset library and, when configured, sync with a
// server into a Workspace, in the one order they need (see Open); the
// JavaScript module is a binding over it. The package also holds the
// sentinel errors that callers match with errors.Is.
//
// The parts live in the sub-packages:
//
//   - graph: the workflow graph (workflows, nodes, edges), ids and validation.
//   - idb: the IndexedDB workflow store (schema, migrations, writer queue,
//     managed transactions).
//   - assetref: the AssetRef union that the graph uses to point at binary assets.
//
// Browser-only code carries the build constraint `js && wasm`; everything
// else builds and is tested on the host as well.
package atelier
