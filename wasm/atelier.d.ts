// Type declarations for atelier.mjs and the API of atelier.wasm.
//
// In a window the engine runs in a dedicated worker (worker mode, the
// default): the page posts a message per call and never freezes on large
// reads and writes; open({ worker: false }) runs it in the page instead.
// The API is the same in both. Values cross to the engine as JSON: what a
// method resolves to is a fresh plain object, and what it takes is read
// through JSON.stringify (so NaN and Infinity, which JSON writes as null,
// are rejected as Invalid rather than stored as 0). Every method returns a
// Promise; it rejects with an AtelierError, never throws synchronously
// (but for the two watches).

// ---------------------------------------------------------------------------
// Loading

/**
 * Where load() finds the module files. By default each is beside the module
 * (`new URL("./atelier.wasm", import.meta.url)`, the form bundlers ship and
 * rewrite); in the repository, the module is in wasm/ and the files in build/.
 */
export interface LoadOptions {
  /** The wasm module; default `atelier.wasm`. */
  wasmURL?: string | URL;
  /**
   * The library's JavaScript helpers, loaded unless globalThis.__atelierBridge
   * exists; default `atelier-bridge.js`. Served as a file, it lets a
   * page run under a Content-Security-Policy without 'unsafe-eval' or
   * 'unsafe-inline' (script-src 'self' 'wasm-unsafe-eval').
   */
  bridgeURL?: string | URL;
  /**
   * The engine's worker (worker mode); default `worker.mjs`, beside
   * atelier.mjs. One from another origin (a CDN) is started through a
   * same-origin blob: module that imports it.
   */
  workerURL?: string | URL;
  /**
   * @deprecated Ignored: Go's runtime support is imported as a module
   * (wasm_exec.mjs) and sets no globalThis.Go.
   */
  execURL?: string | URL;
}

/**
 * Loads the module (once per page or worker; later calls return the same
 * promise, and after a failure the next call tries again) and resolves to
 * the API. In a window it starts the engine's worker and loads the module
 * there; in a worker it loads the module in place.
 */
export function load(options?: LoadOptions): Promise<Atelier>;

/** The loaded module. */
export interface Atelier {
  /**
   * Opens (creating or upgrading) the database `name` with its asset
   * library. Rejects with SchemaTooNew when another tab already upgraded
   * it, QuotaExceeded when there is no room for the schema, Invalid for bad
   * options.
   */
  open(options: OpenOptions): Promise<Db>;
}

export interface OpenOptions {
  /** The IndexedDB database name; tabs that open the same name share the data. */
  name: string;
  /**
   * Run the engine in a dedicated worker (true, the default in a window) or in
   * this page (false). A worker that goes away (crash, termination) rejects every
   * pending call with Closed; open again starts a new one.
   */
  worker?: boolean;
  /**
   * Another tab opened the database with a newer schema. This handle is
   * closed already (every later call rejects with Closed): ask the user to
   * reload.
   */
  onVersionChange?: (change: VersionChange) => void;
  /** open waits because tabs with an older schema keep the database open. */
  onBlocked?: (change: VersionChange) => void;
  /** This tab became (true) or stopped being (false) the leader that runs sync and upkeep. */
  onLeaderChange?: (leading: boolean) => void;
  /** Wait for every write to reach the disk (slower); default relaxed. */
  strictDurability?: boolean;
  /** Where new assets go: OPFS with the IndexedDB fallback (default), or only one of them. */
  assetBackend?: "auto" | "opfs" | "idb";
  /** Sync with a server: record every write in an outbox and push/pull from the leading tab. */
  sync?: SyncOptions;
  /** Every change of the sync status (with sync only), in every tab: the leading tab runs sync and tells the others. */
  onSyncStatus?: (status: SyncStatus) => void;
  /** Local operations that lost to another write or that the server rejected (with sync only), in every tab. */
  onConflict?: (conflicts: Conflict[]) => void;
}

export interface VersionChange {
  /** This tab's schema version. */
  oldVersion: number;
  /** The version the other tab opens; 0 when it deletes the database. */
  newVersion: number;
}

export interface SyncOptions {
  /** The sync server's base URL, http or https. */
  url: string;
  workspace: string;
  /** Sent as a bearer token. */
  token?: string;
  /** How often to pull when idle, in ms; default 15000. */
  pullIntervalMs?: number;
  /**
   * Listen for the server's announcements of new changes and pull each at
   * once (a long poll held by the server), so that changes made elsewhere
   * show within moments; default true. false: only pull every
   * pullIntervalMs.
   */
  live?: boolean;
}

// ---------------------------------------------------------------------------
// Errors

/** The name and code of every rejection. */
export type ErrorCode =
  | "NotFound" // no such workflow, node, edge, asset or folder
  | "Invalid" // bad input, including an argument of the wrong type; nothing was written
  | "InvalidRef" // a malformed AssetRef, or one of a kind not stored here (url, embedded)
  | "InvalidPackage" // not a valid .genaiw.zip package; nothing was stored
  | "VersionConflict" // an ifVersion write found another version stored
  | "Closed" // close() was called, or another tab upgraded the schema
  | "QuotaExceeded" // the origin is out of storage; nothing was written
  | "SchemaTooNew" // the database was upgraded by a newer version of the library
  | "Unsupported" // the browser lacks a required API
  | "ReadOnly"
  | "InUse" // the asset (or folder) is used by nodes
  | "Permission" // the user has not granted access to a folder
  | "NotUploaded" // the asset's bytes are on no device this one can reach: not here, not on the sync server
  | "Corrupt" // stored or received bytes are not what they claim (content with another hash than its name)
  | "ExportFailed" // exportWorkflow could not embed some assets: err.failures lists them, each with its own code
  | "Aborted" // the call's AbortSignal fired; nothing it was writing was kept
  | "Timeout" // a deadline passed before the call completed
  | "Unavailable" // the sync server cannot be reached now (offline, or failing); local writes are kept and go later
  | "WriteFailed" // the browser failed the write (refused a value, a broken transaction); it is not stored
  | "Internal"; // anything else, including a bug caught as a panic

/**
 * Why a package was refused (pack.PackageError's Reason in Go; one per
 * problem sentinel in pack/errors.go). Stable: names are added, never renamed.
 */
export type PackageErrorReason =
  | "NotZip" // not a zip archive
  | "Truncated" // a zip archive whose end is missing
  | "CorruptZip" // a broken or unsupported zip structure, a CRC-32 mismatch
  | "UnsafeName" // an entry name that could escape its directory
  | "Symlink" // an entry stored as a symbolic link
  | "DuplicateEntry"
  | "UnlistedEntry" // an entry the manifest does not list
  | "MissingEntry" // manifest.json, workflow.json or an asset file is missing
  | "SizeMismatch" // an entry's size differs from the manifest's
  | "HashMismatch" // an asset's SHA-256 differs from the manifest's
  | "UnsupportedVersion" // a packageVersion other than 1
  | "TooLarge" // a limit was exceeded
  | "CompressionRatio" // an entry inflates too much
  | "UnsupportedURL" // a url asset that is not http(s)
  | "MalformedJSON" // manifest.json or workflow.json is not JSON
  | "InvalidManifest"
  | "InvalidGraph" // workflow.json is not in the graph layout, or not a valid graph
  | "RefMismatch"; // the workflow's asset refs and the manifest disagree

/** The codes, in one array (for checks at run time). */
export const errorCodes: readonly ErrorCode[];

/** What every method rejects with. name and code are the same. */
export class AtelierError extends Error {
  constructor(message: string, code?: ErrorCode);
  name: ErrorCode;
  code: ErrorCode;
  /** Invalid, VersionConflict: the entity concerned ("node", "workflow", "argument", ...). */
  entity?: string;
  /** Invalid, VersionConflict: the entity's id, when known. */
  id?: string;
  /** Invalid, InvalidRef: the offending field, e.g. "position.x" or "options.ifVersion". */
  field?: string;
  /**
   * Invalid, InvalidRef: what is wrong with it. InvalidPackage: which
   * problem the package has, one of PackageErrorReason ("HashMismatch", ...).
   */
  reason?: string;
  /** InvalidPackage: the zip entry concerned, when there is one. */
  entry?: string;
  /** VersionConflict: the version the write expected. */
  expected?: number;
  /** VersionConflict: the version stored. */
  actual?: number;
  /** exportWorkflow: every asset that could not be embedded. */
  failures?: AssetFailure[];
}

/** Reports whether e is an AtelierError, and with code whether it has that code. */
export function isAtelierError<C extends ErrorCode = ErrorCode>(e: unknown, code?: C): e is AtelierError & { code: C; name: C };

export interface AssetFailure {
  /** The ref in the workflow. */
  ref?: AssetRef;
  /** The nodes whose result it is. */
  nodes: string[];
  code: ErrorCode;
  message: string;
}

// ---------------------------------------------------------------------------
// The workflow model (graph/graph.go)

/** Any value JSON can hold: configs, results' data and workflow meta. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A UUID in canonical form (lower-case hex); crypto.randomUUID() makes one. */
export type Id = string;

export interface Viewport {
  x: number;
  y: number;
  /** Positive. */
  zoom: number;
}

export interface Position {
  x: number;
  y: number;
}

export interface Size {
  /** Not negative. */
  width: number;
  /** Not negative. */
  height: number;
}

export interface Workflow {
  id: Id;
  /** 1 to 200 characters. */
  name: string;
  viewport: Viewport;
  /** Application-defined, at most 1 MiB of JSON. */
  meta?: Json;
  /** ms since the Unix epoch. */
  createdAt: number;
  /** ms since the Unix epoch. */
  updatedAt: number;
  /** Grows with every write; pass it as ifVersion for a compare-and-set. */
  version: number;
}

/** What a node produced; any combination of the fields may be set. */
export interface Result {
  text?: string;
  /** A media result stored elsewhere; media bytes are never stored in the graph. */
  asset?: AssetRef;
  /** A small preview as a data: URL of at most 16 KiB. */
  thumbnail?: string;
  /** Application-defined structured output. */
  data?: Json;
}

export interface Node {
  id: Id;
  workflowId: Id;
  /** A token of at most 64 bytes, e.g. "image-gen". */
  type: string;
  title?: string;
  /** A token of at most 32 bytes, e.g. "running". */
  status?: string;
  position: Position;
  size?: Size;
  /** Application-defined settings, at most 1 MiB of JSON. */
  config?: Json;
  result?: Result;
  updatedAt: number;
  version: number;
}

export interface Edge {
  id: Id;
  workflowId: Id;
  /** The node the edge leaves. */
  source: Id;
  /** The node it enters. */
  target: Id;
  sourceHandle?: string;
  targetHandle?: string;
  updatedAt: number;
  version: number;
}

/** A workflow with all of its nodes and edges (in id order: creation order for the store's ids). */
export interface Graph {
  workflow: Workflow;
  nodes: Node[];
  edges: Edge[];
}

/**
 * A node to write: id (a new one when absent), workflowId (the workflow
 * written to), updatedAt and version are the store's; position defaults to
 * {x: 0, y: 0}. Keys of the app's own are ignored, so a Node read earlier
 * can be written back as it is.
 */
export type NodeInput = Omit<Node, "id" | "workflowId" | "position" | "updatedAt" | "version"> &
  Partial<Pick<Node, "id" | "workflowId" | "position" | "updatedAt" | "version">>;

/** An edge to write; see NodeInput. */
export type EdgeInput = Omit<Edge, "id" | "workflowId" | "updatedAt" | "version"> &
  Partial<Pick<Edge, "id" | "workflowId" | "updatedAt" | "version">>;

/** A whole workflow for putGraph: every id given, every node and edge of this workflow. */
export interface GraphInput {
  workflow: Pick<Workflow, "id" | "name" | "viewport"> & Partial<Pick<Workflow, "meta" | "createdAt" | "updatedAt" | "version">>;
  nodes: (NodeInput & { id: Id; workflowId: Id })[];
  edges: (EdgeInput & { id: Id; workflowId: Id })[];
}

/** The fields of a workflow to change; the others stay. Unknown keys are Invalid. */
export interface WorkflowPatch {
  name?: string;
  viewport?: Viewport;
  meta?: Json;
}

/** The fields of a node to change; the others stay. Unknown keys are Invalid. */
export interface NodePatch {
  type?: string;
  title?: string;
  status?: string;
  /** Position and size given together change in one write. */
  position?: Position;
  size?: Size;
  /** Replaces the config; null removes it. */
  config?: Json;
  result?: Result;
  /** Remove the size. */
  clearSize?: boolean;
  /** Remove the result. */
  clearResult?: boolean;
}

/** Position and/or size, written together. */
export type Dimensions = { position: Position; size?: Size } | { position?: Position; size: Size };

export interface WriteOptions {
  /**
   * Write only if the stored version is this one (a positive integer);
   * otherwise reject with VersionConflict and write nothing.
   */
  ifVersion?: number;
}

// ---------------------------------------------------------------------------
// Assets (assetref/ref.go: the JSON form of Ref)

interface AssetRefFields {
  /** Media type, e.g. "image/png". */
  mime?: string;
  /** Size in bytes (absent: unknown). */
  bytes?: number;
  /** "sha256-" and the padded base64 of the digest (the Subresource Integrity form). */
  hash?: string;
}

/** An asset fetched from an http, https or blob: URL. */
export interface UrlAssetRef extends AssetRefFields {
  kind: "url";
  url: string;
  path?: never; handleId?: never; blobKey?: never; id?: never;
}

/** A file in the origin private file system. */
export interface OpfsAssetRef extends AssetRefFields {
  kind: "opfs";
  /** Relative to the OPFS root, e.g. "atelier/assets/image/<id>". */
  path: string;
  url?: never; handleId?: never; blobKey?: never; id?: never;
}

/** A file in a folder the user picked (see addFolder). */
export interface FolderAssetRef extends AssetRefFields {
  kind: "fs-handle";
  /** "<folder key>/<path>". */
  handleId: string;
  url?: never; path?: never; blobKey?: never; id?: never;
}

/** A blob in the IndexedDB asset store (where OPFS is missing). */
export interface IdbAssetRef extends AssetRefFields {
  kind: "idb";
  blobKey: string;
  url?: never; path?: never; handleId?: never; id?: never;
}

/** An asset inside an exported package. */
export interface EmbeddedAssetRef extends AssetRefFields {
  kind: "embedded";
  id: string;
  url?: never; path?: never; handleId?: never; blobKey?: never;
}

/** Where an asset's bytes live: exactly one locator field, the one of its kind. */
export type AssetRef = UrlAssetRef | OpfsAssetRef | FolderAssetRef | IdbAssetRef | EmbeddedAssetRef;

/** The kinds putAsset stores to. */
export type StoredAssetRef = OpfsAssetRef | FolderAssetRef | IdbAssetRef;

export interface ReadAssetOptions {
  /** While the content is fetched from the sync server: bytes received so far (every 4 MiB), and once at the end. */
  onProgress?: (progress: Progress) => void;
  /** Aborts the read: the call rejects with Aborted. */
  signal?: AbortSignal;
}

export interface PutAssetOptions {
  /** The media type to record; default the Blob's type, else application/octet-stream. */
  mime?: string;
  /** Bytes written so far, as they are (every 16 MiB in OPFS, every 32 MiB in IndexedDB), and once at the end. */
  onProgress?: (progress: Progress) => void;
  /** Aborts the write: the call rejects with Aborted and nothing is stored. */
  signal?: AbortSignal;
}

export interface AssetInfo {
  /** The canonical ref, with mime, bytes and hash. */
  ref: StoredAssetRef;
  size: number;
  mime: string;
  hash: string;
}

export interface AssetRecord {
  hash: string;
  ref: StoredAssetRef;
  /** The nodes whose result uses the asset. */
  users: { workflowId: Id; nodeId: Id }[];
  createdAt: number;
  /** With sync: when the server was found to have the bytes (ms since the epoch); absent while it is not known to. */
  uploaded?: number;
  /** With sync: the bytes are not on this device (never fetched, or evicted); reading them fetches them. */
  remote?: boolean;
  /** When the bytes were last read here (ms since the epoch, to about a minute); absent if never. */
  usedAt?: number;
}

export interface ReconcileReport {
  /** Stored bytes no record knew (left by a crash), deleted. */
  removed: number;
  /** Hashes of assets whose bytes are gone. */
  missing: string[];
}

// ---------------------------------------------------------------------------
// Storage and folders

export interface Capabilities {
  /** Where new assets go unless a folder is in use. */
  backend: "opfs" | "idb";
  /** Why: what open() found when it tried the stores, e.g. "OPFS refused a test write (...)". */
  reason: string;
  /**
   * How IndexedDB keeps asset bytes: "blob", or "bytes" (ArrayBuffers) where the
   * browser refused to store a Blob (idbValuesReason says how); null until first needed.
   */
  idbValues: "blob" | "bytes" | null;
  idbValuesReason: string;
  /** The key of the folder new assets go to, or null. */
  folder: string | null;
  /** The origin private file system is available. */
  opfs: boolean;
  /** The fast OPFS path (a dedicated worker) is in use. */
  syncAccess: boolean;
  /** The browser lets the user pick folders (showDirectoryPicker). */
  folderAccess: boolean;
  /** Storage is persistent (not evicted under pressure). */
  persisted: boolean;
  /** Bytes, as navigator.storage.estimate() reports them. */
  usage: number;
  quota: number;
}

export interface StorageEstimate {
  /** Bytes the origin uses. */
  usage: number;
  /** Bytes it may use. */
  quota: number;
}

export interface Folder {
  key: string;
  /** The folder's name, to show. */
  name: string;
  createdAt: number;
  handle: FileSystemDirectoryHandle;
  /** Write permission now; "prompt" until useFolder asks during a user gesture. Null where the browser cannot tell. */
  permission: "granted" | "denied" | "prompt" | null;
}

export interface AddFolderOptions {
  /** Send new assets there from now on. */
  use?: boolean;
}

// ---------------------------------------------------------------------------
// Packages

/** How far an export or import is, in bytes of asset content. */
export interface Progress {
  done: number;
  /** Never below done; during an export it grows when sizes were unknown. */
  total: number;
}

export interface ExportOptions {
  /** Download and embed the originals of http(s) url assets. */
  includeOriginals?: boolean;
  /** Keep url assets whose originals fail to download as url refs instead of failing. */
  keepFailedAsUrl?: boolean;
  /** Recorded in the manifest; default "atelier". */
  appName?: string;
  /** Recorded in the manifest; default "0.0.0". */
  appVersion?: string;
  /** Called after each chunk of asset content. */
  onProgress?: (progress: Progress) => void;
  /** With keepFailedAsUrl: the url assets kept as links, before the promise resolves. */
  onKeptAsUrl?: (kept: AssetFailure[]) => void;
  /** Aborts the export: the call rejects with Aborted. */
  signal?: AbortSignal;
}

export interface ImportOptions {
  /** Keep the package's ids and replace a workflow with the same id; default import as a copy with fresh ids. */
  replace?: boolean;
  /** Called after each chunk of embedded asset content. */
  onProgress?: (progress: Progress) => void;
  /** Aborts the import: the call rejects with Aborted and nothing is stored (all or nothing, as for a bad package). */
  signal?: AbortSignal;
}

export interface ImportResult extends Graph {
  /** The workflow, nodes and edges got fresh ids (the workflow existed, and replace was not set). */
  newIds: boolean;
  /** The package replaced a stored workflow with the same id. */
  replaced: boolean;
  /** Each id of the package to its id as stored. */
  ids: Record<string, Id>;
}

// ---------------------------------------------------------------------------
// Sync (syncproto, syncengine)

export interface SyncStatus {
  state: "synced" | "syncing" | "offline" | "error";
  /** Operations waiting to be pushed (counted again shortly after each
   * write, also while offline). */
  pending: number;
  /** Operations the server rejected, waiting for retryParked. */
  parked: number;
  /**
   * Times this tab pulled the whole workspace again because the server had
   * forgotten operations of this device (offline longer than it keeps
   * acks, code "Resync"); those operations are parked and reported as
   * conflicts, not pushed again.
   */
  resyncs: number;
  /** Consecutive failed rounds. */
  failures: number;
  /** The last round's error, if it failed; else "". */
  lastError: string;
  /** While failing: when the next attempt runs, ms since the epoch. */
  retryAt?: number;
  /**
   * The leader listens for the server's announcements of new changes
   * (sync.live, and a server that makes them); false while it only polls.
   */
  live: boolean;
  /** Asset uploads. */
  assets: AssetUploadStatus;
  /**
   * Only the leading tab runs sync: true when this is its own status, false
   * when it is the leader's as this tab last received it.
   */
  leader: boolean;
}

export interface AssetUploadStatus {
  state: "synced" | "syncing" | "offline" | "error";
  /** Assets not known to be on the server. */
  pending: number;
  /** Of those, assets whose bytes are on another device. */
  waiting: number;
  /** Of those, assets the server refused, waiting to be tried again. */
  held: number;
  /** Assets uploaded since this tab started uploading. */
  uploaded: number;
  /** While uploading: the hash of the asset being sent, bytes sent and its size. */
  current?: string;
  sent?: number;
  total?: number;
  /** Consecutive failed passes. */
  failures: number;
  lastError: string;
  retryAt?: number;
}

export type Entity = "workflow" | "node" | "edge";

export interface Op {
  id: Id;
  entity: Entity;
  entityId: Id;
  workflowId: Id;
  kind: "create" | "update" | "delete";
  /** The entity after the change; absent for a delete. */
  data?: Workflow | Node | Edge;
  baseVersion: number;
  version: number;
  updatedAt: number;
  tab: string;
  time: number;
}

export interface Change {
  seq: number;
  entity: Entity;
  entityId: Id;
  workflowId: Id;
  version: number;
  proposed: number;
  updatedAt: number;
  opId: Id;
  deleted?: boolean;
  data?: Workflow | Node | Edge;
}

/** A local operation that did not become the server's state. */
export interface Conflict {
  lost: Op;
  /** The server state that won over it, or null when the server rejected it. */
  winner: Change | null;
  /** Why a rejected operation can never apply; it stays parked until retryParked. */
  reason?: string;
}

// ---------------------------------------------------------------------------
// The database

/** Stops a watch; after it returns the callback is never called again. */
export type Unsubscribe = () => void;

/**
 * A watch callback: (value, null) now and after every change in any tab;
 * (null, error) while the workflow is missing (NotFound) and once when the
 * database closes (Closed).
 */
export type WatchCallback<T> = (value: T | null, error: AtelierError | null) => void;

export interface WriterStats {
  /** Readwrite transactions committed since open. */
  transactions: number;
  /** Mutations committed; mutations / transactions is the average batch. */
  mutations: number;
  /** Mutations re-run alone after their shared transaction failed. */
  retries: number;
}

/** An open database. Every method returns a Promise and rejects with an AtelierError. */
export interface Db {
  /** The database name given to open. */
  readonly name: string;

  // Workflows
  /** Every workflow, most recently updated first. */
  listWorkflows(): Promise<Workflow[]>;
  /** Creates an empty workflow with the default viewport. */
  createWorkflow(name: string): Promise<Workflow>;
  /**
   * A workflow with its nodes and edges, read in one snapshot, in id order
   * (which is creation order for the ids the store makes). NotFound if missing.
   */
  loadWorkflow(workflowId: Id): Promise<Graph>;
  /** @deprecated Use updateWorkflow(id, { name }); this alias goes in the next release. */
  renameWorkflow(workflowId: Id, name: string, options?: WriteOptions): Promise<Workflow>;
  /** @deprecated Use updateWorkflow(id, { viewport }); this alias goes in the next release. */
  setViewport(workflowId: Id, viewport: Viewport, options?: WriteOptions): Promise<Workflow>;
  /** Changes name, viewport and/or meta in one write: the one way to change a workflow. */
  updateWorkflow(workflowId: Id, patch: WorkflowPatch, options?: WriteOptions): Promise<Workflow>;
  /** Deletes a workflow with all of its nodes and edges. */
  deleteWorkflow(workflowId: Id, options?: WriteOptions): Promise<void>;
  /** Creates or replaces a whole workflow with exactly these nodes and edges, in one transaction. */
  putGraph(graph: GraphInput): Promise<Graph>;

  // Nodes
  /** Makes nodes the complete node set (others are deleted with their edges); returns them as stored. */
  setNodes(workflowId: Id, nodes: NodeInput[]): Promise<Node[]>;
  /** Creates or replaces these nodes, leaving the others alone. */
  putNodes(workflowId: Id, nodes: NodeInput[]): Promise<Node[]>;
  /**
   * Changes any fields of a node in one atomic write (a move and a resize
   * together are never seen apart): the one way to change a node.
   */
  updateNode(workflowId: Id, nodeId: Id, patch: NodePatch, options?: WriteOptions): Promise<Node>;
  /** @deprecated Use updateNode(wf, id, { config }); this alias goes in the next release. Null removes it. */
  updateNodeConfig(workflowId: Id, nodeId: Id, config: Json, options?: WriteOptions): Promise<Node>;
  /** @deprecated Use updateNode(wf, id, { result }) or { clearResult: true }; this alias goes in the next release. */
  updateNodeResult(workflowId: Id, nodeId: Id, result: Result | null, options?: WriteOptions): Promise<Node>;
  /** @deprecated Use updateNode(wf, id, { position, size }); this alias goes in the next release. */
  updateNodeDimensions(workflowId: Id, nodeId: Id, dimensions: Dimensions, options?: WriteOptions): Promise<Node>;
  /** Deletes nodes and their edges; NotFound (deleting nothing) if any id is not a node of the workflow. */
  deleteNodes(workflowId: Id, nodeIds: Id[]): Promise<void>;

  // Edges
  /** Makes edges the complete edge set; every edge connects two nodes of the workflow. */
  setEdges(workflowId: Id, edges: EdgeInput[]): Promise<Edge[]>;
  putEdges(workflowId: Id, edges: EdgeInput[]): Promise<Edge[]>;
  deleteEdges(workflowId: Id, edgeIds: Id[]): Promise<void>;

  // Live queries (changes from every tab)
  /**
   * Calls back with the workflow now and after every change, from this tab
   * or another. Read your writes: a call back that comes after one of this
   * tab's writes resolved has that write in it; another tab's writes show
   * shortly after they commit. Returns its unsubscribe at once (not a
   * Promise: `await` on it still works, as it did when it returned one).
   * Throws Invalid for bad arguments and Closed on a closed database.
   */
  watchWorkflow(workflowId: Id, callback: WatchCallback<Graph>): Unsubscribe;
  /** Like watchWorkflow, for the list of workflows, most recently updated first. */
  watchWorkflows(callback: WatchCallback<Workflow[]>): Unsubscribe;

  // Assets
  /** Stores a Blob or File (deduplicated by content) and resolves to its ref. */
  putAsset(blob: Blob, options?: PutAssetOptions): Promise<StoredAssetRef>;
  /**
   * The content as a Blob, read lazily from where it is stored. With sync, content that is on no
   * device here is fetched from the server first (a broken download of 8 MiB or more goes on
   * where it stopped); onProgress hears of the bytes received.
   */
  assetBlob(ref: AssetRef, options?: ReadAssetOptions): Promise<Blob>;
  /**
   * The content as bytes, read by the engine and (in worker mode) transferred to the page without a
   * copy: the page does no work for them. Fails like assetBlob.
   */
  assetBytes(ref: AssetRef, options?: ReadAssetOptions): Promise<ArrayBuffer>;
  /** An object URL for the content; revoke it with URL.revokeObjectURL when done. */
  assetURL(ref: AssetRef, options?: ReadAssetOptions): Promise<string>;
  /** Size, type and hash of a stored asset; NotFound if it is gone. */
  assetInfo(ref: AssetRef): Promise<AssetInfo>;
  /** Every registered asset and the nodes using it. */
  listAssets(): Promise<AssetRecord[]>;
  /** Deletes an asset no node uses: InUse while one does. The ref needs its hash. */
  deleteAsset(ref: AssetRef): Promise<void>;
  /** Deletes assets no node has used for a while (the leading tab also does it hourly); resolves to how many. */
  collectAssets(): Promise<number>;
  /** Removes bytes no record knows and reports records whose bytes are gone. */
  reconcileAssets(): Promise<ReconcileReport>;

  // Storage
  capabilities(): Promise<Capabilities>;
  /** navigator.storage.estimate(): Unsupported where it is missing. */
  estimate(): Promise<StorageEstimate>;
  /** Asks for persistent storage; resolves to whether the origin has it. */
  persist(): Promise<boolean>;

  // Folders the user picked (File System Access)
  /** Persists a picked folder and resolves to its key. */
  addFolder(handle: FileSystemDirectoryHandle, options?: AddFolderOptions): Promise<string>;
  /** Sends new assets to the folder (asking for permission: call it in a user gesture); null for the default store. */
  useFolder(key: string | null): Promise<void>;
  folders(): Promise<Folder[]>;
  /** Forgets a folder (its files stay); InUse while nodes show assets kept there. */
  removeFolder(key: string): Promise<void>;

  // Packages (.genaiw.zip)
  /**
   * The workflow and its assets as a package (application/zip), streamed into a Blob. Media assets are
   * not copied: the Blob refers to their stored files and reads them when it is read, so save or upload
   * it soon (reading it fails once one of those assets is deleted or evicted).
   */
  exportWorkflow(workflowId: Id, options?: ExportOptions): Promise<Blob>;
  /** Stores a package's assets and workflow, all or nothing; InvalidPackage for a bad one. */
  importPackage(file: Blob, options?: ImportOptions): Promise<ImportResult>;

  // Sync
  /**
   * Asks the leading tab for a sync round now and resolves once one has finished: everything written
   * before the call is on the server, and the server's changes are here. Rejects with Unavailable when
   * the browser is offline or the round failed (nothing is lost: the writes go later), Aborted when the
   * signal fires, Invalid without sync.
   */
  syncNow(options?: { signal?: AbortSignal }): Promise<void>;
  /** The sync status, or null without sync. */
  syncStatus(): Promise<SyncStatus | null>;
  /** Operations the server rejected. */
  parkedOps(): Promise<Conflict[]>;
  /**
   * Puts parked operations back in the outbox: all of them, or those with these op ids (an empty list: none).
   * One parked because the server had forgotten it (a reason starting "Resync: ") goes back under a new op id.
   */
  retryParked(opIds?: Id[]): Promise<void>;

  // This tab
  /** Whether this tab is the leader that runs sync and asset upkeep. */
  isLeader(): Promise<boolean>;
  stats(): Promise<WriterStats>;
  /** Waits for queued writes, stops sync and upkeep, closes. Later calls of other methods reject with Closed. */
  close(): Promise<void>;
}
