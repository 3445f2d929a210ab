// Package atelier holds what every part of the library shares: the sentinel
// errors that callers match with errors.Is.
//
// The library itself lives in the sub-packages:
//
//   - graph: the workflow graph (workflows, nodes, edges), ids and validation.
//   - idb: the IndexedDB workflow store (schema, migrations, writer queue,
//     managed transactions).
//   - assetref: the AssetRef union that the graph uses to point at binary assets.
//
// Browser-only code carries the build constraint `js && wasm`; everything
// else builds and is tested on the host as well.
package atelier
