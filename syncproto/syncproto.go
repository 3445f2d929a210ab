package syncproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// Entity names the kind of entity an op or change is about.
type Entity string

// Entities.
const (
	EntityWorkflow Entity = "workflow"
	EntityNode     Entity = "node"
	EntityEdge     Entity = "edge"
)

// OpKind says what an op does.
type OpKind string

// Op kinds.
const (
	OpCreate OpKind = "create"
	OpUpdate OpKind = "update"
	OpDelete OpKind = "delete"
)

// Op is one local mutation, as pushed to the server.
type Op struct {
	ID         string `json:"id"` // UUIDv7; the idempotency key, within a workspace
	Entity     Entity `json:"entity"`
	EntityID   string `json:"entityId"`
	WorkflowID string `json:"workflowId"` // for a workflow, its own id
	Kind       OpKind `json:"kind"`
	// Data is the entity after the change as JSON (graph.Workflow,
	// graph.Node or graph.Edge); absent for a delete.
	Data json.RawMessage `json:"data,omitempty"`
	// BaseVersion is the server version the change was made on (0 when
	// the entity never reached the server).
	BaseVersion int64 `json:"baseVersion"`
	// Version is the version the change proposes (greater than
	// BaseVersion).
	Version int64 `json:"version"`
	// UpdatedAt is the entity's UpdatedAt after the change (ms since the
	// Unix epoch), a hybrid clock per entity: later than the UpdatedAt of
	// every state of the entity the device had seen. With ID it is the
	// op's Stamp in the field-level merge (see Merge).
	UpdatedAt int64 `json:"updatedAt"`
	// Fields names what an update changed (see ChangedFields): the server
	// writes those fields of Data and keeps the others as they are. An
	// update that names none, and every create, writes all fields.
	Fields []string `json:"fields,omitempty"`
	Tab    string   `json:"tab"`  // the tab that made it, for diagnostics
	Time   int64    `json:"time"` // when the op was made, ms
}

// AckStatus is the outcome of one op.
type AckStatus string

// Ack statuses.
const (
	// Applied: the op's state is now the server's.
	Applied AckStatus = "applied"
	// Superseded: the op changed nothing: every field it wrote had been
	// written later, or the entity is deleted; Current holds the server's
	// state (nil Data and Deleted for a deletion).
	Superseded AckStatus = "superseded"
	// Rejected: the op can never apply (Error says why, Version is 0):
	// its entity id names another kind of entity or belongs to another
	// workflow on the server. The client parks it and reports it.
	Rejected AckStatus = "rejected"
)

// Ack answers one op.
type Ack struct {
	OpID   string    `json:"opId"`
	Status AckStatus `json:"status"`
	// Version is the entity's authoritative version after the op.
	Version int64 `json:"version"`
	// Current is the server's state when the op was superseded, or when
	// it applied beside fields of other writes (see Merged.Mixed): the
	// state the op's device adopts.
	Current *Change `json:"current,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Change is the server state of one entity after an applied write.
type Change struct {
	Seq        int64  `json:"seq"` // position in the workspace's change sequence
	Entity     Entity `json:"entity"`
	EntityID   string `json:"entityId"`
	WorkflowID string `json:"workflowId"`
	// Version is the authoritative version: it grows with every write the
	// entity takes, so a client holding an older one knows it is behind.
	Version int64 `json:"version"`
	// Proposed is the version the last op that wrote it proposed, for
	// diagnostics. It is at most Version.
	Proposed int64 `json:"proposed"`
	// UpdatedAt is the latest stamp of the entity's fields (see Merge).
	UpdatedAt int64           `json:"updatedAt"`
	OpID      string          `json:"opId"` // the last op that wrote it
	Deleted   bool            `json:"deleted,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // absent when deleted
	// Overwrote lists the ops whose writes this one replaced without
	// having seen them: concurrent writes that lost although they had been
	// applied (or a node or edge deleted along with its workflow or node).
	// The device that made one of them learns from it, when it pulls this
	// change, that its write was overwritten. Empty when the write was
	// made on the state it replaced. It carries on the list of the write
	// it replaced, so writes overwritten one after the other are all
	// named, the oldest first, at most MaxOverwrote of them.
	Overwrote []string `json:"overwrote,omitempty"`
	// Clocks are the stamps of the entity's fields, which the server keeps
	// with its state for Merge; never sent.
	Clocks Clocks `json:"-"`
}

// MaxOverwrote bounds Change.Overwrote.
const MaxOverwrote = 16

// Overwriting returns the Overwrote list of a write that replaces prev
// without having seen it: prev's list and prev's op, the oldest dropped
// past MaxOverwrote.
func Overwriting(prev *Change) []string {
	out := make([]string, 0, len(prev.Overwrote)+1)
	for _, id := range prev.Overwrote {
		if id != prev.OpID {
			out = append(out, id)
		}
	}
	out = append(out, prev.OpID)
	if len(out) > MaxOverwrote {
		out = out[len(out)-MaxOverwrote:]
	}
	return out
}

// MaxSafeInt is the largest version, sequence number, cursor or time the
// protocol carries: 2^53-1, JavaScript's Number.MAX_SAFE_INTEGER, the
// largest integer every client can represent exactly.
const MaxSafeInt = 1<<53 - 1

// NextVersion returns v+1, or an error matching errs.ErrInvalid when that
// is above MaxSafeInt.
func NextVersion(v int64) (int64, error) {
	if v >= MaxSafeInt {
		return 0, bad("version", "the entity is at the largest version, 2^53-1, and cannot change any more")
	}
	return v + 1, nil
}

// Limits the server enforces and the client respects.
const (
	MaxOpsPerPush  = 500
	MaxPushBytes   = 4 << 20 // a push request body
	MaxDataBytes   = 3 << 20 // one op's Data
	MaxPullLimit   = 1000
	DefaultPullMax = 200
	MaxCheckHashes = 1000 // hashes in one BlobCheckRequest
)

func bad(field, reason string) error {
	return &errs.ValidationError{Entity: "op", Field: field, Reason: reason}
}

// Validate checks an op's form: ids, kinds, versions (at most
// MaxSafeInt), and that Data is the entity it claims to be (valid, same id
// and workflow). It does not decide whether the op applies.
func (o *Op) Validate() error {
	if !graph.ValidID(o.ID) {
		return bad("id", "must be a canonical UUID")
	}
	if !graph.ValidID(o.EntityID) {
		return bad("entityId", "must be a canonical UUID")
	}
	if !graph.ValidID(o.WorkflowID) {
		return bad("workflowId", "must be a canonical UUID")
	}
	switch o.Kind {
	case OpCreate, OpUpdate, OpDelete:
	default:
		return bad("kind", fmt.Sprintf("unknown kind %q", o.Kind))
	}
	if o.BaseVersion < 0 || o.Version <= o.BaseVersion {
		return bad("version", "must be greater than baseVersion, which must not be negative")
	}
	if o.Version > MaxSafeInt {
		return bad("version", "must be at most 2^53-1")
	}
	if o.UpdatedAt > MaxSafeInt || o.UpdatedAt < -MaxSafeInt {
		return bad("updatedAt", "must be within ±(2^53-1)")
	}
	if err := o.checkFields(); err != nil {
		return err
	}
	if o.Kind == OpDelete {
		if len(o.Data) != 0 {
			return bad("data", "a delete carries no data")
		}
		if o.Entity == EntityWorkflow && o.WorkflowID != o.EntityID {
			return bad("workflowId", "a workflow's workflowId is its own id")
		}
		return o.checkEntity()
	}
	if len(o.Data) == 0 {
		return bad("data", "missing")
	}
	if len(o.Data) > MaxDataBytes {
		return bad("data", "larger than 3 MiB")
	}
	if err := CheckText(o.Data); err != nil {
		return bad("data", err.Error())
	}
	return o.checkData()
}

func (o *Op) checkEntity() error {
	switch o.Entity {
	case EntityWorkflow, EntityNode, EntityEdge:
		return nil
	}
	return bad("entity", fmt.Sprintf("unknown entity %q", o.Entity))
}

// checkData decodes Data as the entity and checks it against the op.
func (o *Op) checkData() error {
	if err := o.checkEntity(); err != nil {
		return err
	}
	return checkEntity(o.Entity, o.EntityID, o.WorkflowID, o.Data)
}

// checkEntity decodes data as an entity of kind e and checks it, and that
// it has the id and workflow given.
func checkEntity(e Entity, entityID, workflowID string, data json.RawMessage) error {
	var id, wf string
	var err error
	switch e {
	case EntityWorkflow:
		var w graph.Workflow
		if err = json.Unmarshal(data, &w); err == nil {
			err = w.Validate()
		}
		id, wf = w.ID, w.ID
	case EntityNode:
		var n graph.Node
		if err = json.Unmarshal(data, &n); err == nil {
			err = n.Validate()
		}
		id, wf = n.ID, n.WorkflowID
	case EntityEdge:
		var ed graph.Edge
		if err = json.Unmarshal(data, &ed); err == nil {
			err = ed.Validate()
		}
		id, wf = ed.ID, ed.WorkflowID
	default:
		return bad("entity", fmt.Sprintf("unknown entity %q", e))
	}
	if err != nil {
		return bad("data", err.Error())
	}
	if id != entityID || wf != workflowID {
		return bad("data", "id or workflowId differs from the op's")
	}
	return nil
}

// CheckText reports, with an error, whether the JSON text b is other
// than valid UTF-8 with no lone surrogate escaped in its strings (like
// "\ud800"): text that decodes to exactly what it says. Go's decoder
// would replace such bytes and escapes with U+FFFD, so a server that
// checked a decoded copy and stored the text would store what it never
// checked; JSON (RFC 8259) must be UTF-8 between systems anyway.
func CheckText(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("not valid UTF-8")
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character: skipped whatever it is
		if i >= len(b) || b[i] != 'u' {
			continue
		}
		r, ok := hex4(b[i+1:])
		if !ok {
			continue // not JSON: the decoder refuses it
		}
		i += 4
		if !utf16.IsSurrogate(r) {
			continue
		}
		if r < 0xdc00 && i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
			if lo, ok := hex4(b[i+3:]); ok && 0xdc00 <= lo && lo <= 0xdfff {
				i += 6
				continue
			}
		}
		return fmt.Errorf("a lone surrogate \\u%04x", r)
	}
	return nil
}

// hex4 decodes the four hex digits that b starts with.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// PushRequest is the body of a push.
type PushRequest struct {
	Ops []Op `json:"ops"`
}

// Validate checks a whole batch: the server rejects a batch with any
// invalid op, or repeated op ids, as a whole (nothing is applied).
func (p *PushRequest) Validate() error {
	if len(p.Ops) == 0 {
		return bad("ops", "empty batch")
	}
	if len(p.Ops) > MaxOpsPerPush {
		return bad("ops", fmt.Sprintf("more than %d ops", MaxOpsPerPush))
	}
	seen := make(map[string]bool, len(p.Ops))
	for i := range p.Ops {
		if err := p.Ops[i].Validate(); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
		if seen[p.Ops[i].ID] {
			return fmt.Errorf("op %d: %w", i, bad("id", "repeated in the batch"))
		}
		seen[p.Ops[i].ID] = true
	}
	return nil
}

// PushResponse answers a push: one ack per op, in the order of the ops.
type PushResponse struct {
	Acks []Ack `json:"acks"`
}

// PullResponse is a page of changes after a cursor. It holds the latest
// state of each entity changed since the cursor (once, in the order of its
// last change), not every intermediate write; so the Seq values of a page
// may have gaps.
type PullResponse struct {
	Changes []Change `json:"changes"`
	Cursor  int64    `json:"cursor"` // the Seq of the last change, to ask for the next page
	More    bool     `json:"more"`   // whether more changes follow this page
}

// BlobCheckRequest asks which of the hashes the server lacks.
type BlobCheckRequest struct {
	Hashes []string `json:"hashes"` // "sha256-…" (SRI form), at most MaxCheckHashes
}

// BlobCheckResponse lists the hashes the server does not have.
type BlobCheckResponse struct {
	Missing []string `json:"missing"`
}

// BlobURLRequest asks for a signed URL to upload (with the content's size
// and type) or download a blob. Asking to upload a blob the workspace
// already has is answered 409 with code "Exists".
type BlobURLRequest struct {
	Hash string `json:"hash"`
	// Bytes is the size of the content to upload; the signed URL accepts
	// exactly that many bytes. 0 (or absent) is valid only for the hash of
	// empty content.
	Bytes int64  `json:"bytes,omitempty"`
	MIME  string `json:"mime,omitempty"`
}

// BlobURLResponse is a time-limited signed URL (PUT for uploads, GET for
// downloads), usable without the bearer token, as S3 presigned URLs are.
// The URL may be the sync server's own or an object store's (a presigned
// S3 URL), and the client treats both alike:
//
//   - Headers, when present, must be sent with the request to URL as
//     they are (for an S3 PUT, the x-amz-checksum-sha256 the URL's
//     signature covers, with which the store refuses other bytes).
//   - Commit, when present on an upload, is a URL to POST to, with no
//     body and no token, once the PUT succeeded: the server then checks
//     what arrived and only from its 204 on does the workspace have the
//     blob. A 400 "Invalid" means the stored bytes were not the declared
//     ones: upload again.
//
// Without them (the server's own URLs) the PUT's 204 is all there is.
//
// Parts, when present on an upload, says the blob goes up in parts (see
// BlobParts); URL is then not a PUT URL but the one to ask for the URL of
// each part at, and Commit is always present.
type BlobURLResponse struct {
	URL       string            `json:"url"`
	ExpiresAt int64             `json:"expiresAt"` // ms since the Unix epoch
	Headers   map[string]string `json:"headers,omitempty"`
	Commit    string            `json:"commit,omitempty"`
	Parts     *BlobParts        `json:"parts,omitempty"`
}

// BlobParts is the grant of an upload in parts, which a server gives for
// blobs larger than a threshold of its own (64 MiB by default), so that
// an upload that broke off resumes where it stopped instead of from zero.
//
// The blob is cut into Count parts, numbered from 1, of Size bytes each
// but the last, which has the rest. For each part not in Stored the
// client POSTs a BlobPartRequest (with no token) to the URL of the
// BlobURLResponse, and PUTs the part's bytes to the URL of the
// BlobPartResponse, with its headers; a 2xx answer means the part is
// stored. When all parts are stored it POSTs to Commit (no body, no
// token): the server then joins the parts, checks the whole blob's size
// and SHA-256, and only from its 204 on does the workspace have the blob.
//
// The server keeps no state of its own for the upload: asking again for
// an upload URL of the same blob in the same workspace (after a reload, a
// lost connection or an expired grant) answers the same upload, with the parts stored so far in
// Stored, and the client sends only the others. Parts of an upload never
// committed are removed by the store after a while (a day or more).
//
// Errors: a part PUT whose bytes are not the part's declared size and
// hash is refused (400 "Invalid", nothing stored); a commit before all
// parts are stored is answered 409 "Incomplete" (ask for the upload URL
// again and send the missing ones); a commit whose joined bytes are not
// the declared blob is answered 400 "Invalid" and the upload is dropped
// (upload again from the first part). Committing a blob the workspace
// has already is answered 204.
type BlobParts struct {
	Size   int64 `json:"size"`   // bytes of each part but the last
	Count  int   `json:"count"`  // number of parts
	Stored []int `json:"stored"` // numbers of the parts stored already
}

// BlobPartRequest asks for the URL to PUT one part of a blob to
// (BlobParts). Hash is the SHA-256 of the part's bytes, in the form of
// blob hashes ("sha256-…"); the URL accepts only those bytes.
type BlobPartRequest struct {
	Part int    `json:"part"` // 1 to BlobParts.Count
	Hash string `json:"hash"`
}

// BlobPartResponse is the URL to PUT a part to, with the headers to send
// as they are, as BlobURLResponse's.
type BlobPartResponse struct {
	URL       string            `json:"url"`
	ExpiresAt int64             `json:"expiresAt"` // ms since the Unix epoch
	Headers   map[string]string `json:"headers,omitempty"`
}

// Routes, relative to the server's base URL. {ws} is the workspace; the
// bearer token must belong to it (401 without a valid token, 403 for
// another workspace).
const (
	RoutePush         = "/v1/workspaces/{ws}/push"           // POST PushRequest -> PushResponse
	RoutePull         = "/v1/workspaces/{ws}/pull"           // GET ?cursor=N&limit=M -> PullResponse
	RouteBlobCheck    = "/v1/workspaces/{ws}/blobs/check"    // POST BlobCheckRequest -> BlobCheckResponse
	RouteBlobUpload   = "/v1/workspaces/{ws}/blobs/upload"   // POST BlobURLRequest -> BlobURLResponse (PUT the bytes there)
	RouteBlobDownload = "/v1/workspaces/{ws}/blobs/download" // POST BlobURLRequest -> BlobURLResponse (GET the bytes there)
	RouteWatch        = "/v1/workspaces/{ws}/watch"          // GET ?after=N&wait=MS -> WatchResponse, once changes follow N (a long poll)
)

// The protocol's version travels in a header of every push, pull and
// watch, request and answer. A server answers a request without it, or
// with another version, 426 with code "Protocol"; a client stops syncing
// with a clear error when an answer lacks it. A client and a server of
// different versions would otherwise misread each other's ops: a server of
// the first version, which settled writes by whole entities, would take an
// update naming its fields as a replacement of the entity.
const (
	ProtocolHeader = "Atelier-Sync"
	Protocol       = "2"
)

// Watch limits: how long the server holds a watch request open when the
// client does not say (wait=MS), and at most.
const (
	DefaultWatchWait = 25 * 1000 // ms
	MaxWatchWait     = 55 * 1000 // ms
)

// WatchResponse answers a watch: the server holds the request until the
// workspace has a change after the cursor the client gave, or until the
// wait is over. Seq is then the sequence number of a change after that
// cursor (the client pulls to get it), or the cursor itself when none came
// in time (the client asks again).
type WatchResponse struct {
	Seq int64 `json:"seq"`
}

// ErrorResponse is the body of every 4xx/5xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
	// Code is one of "Unauthorized" (401), "Forbidden" (403), "Invalid"
	// (400, or 405 for a method a route does not take), "NotFound" (404),
	// "Timeout" (408: the request body arrived too slowly), "Exists"
	// (409), "Resync" (409, CodeResync), "TooLarge" (413), "Protocol" (426: the request is not of
	// this protocol version, see ProtocolHeader), "Unavailable" (503: the server is shutting
	// down or has too many connections; try again), "Internal" (5xx).
	Code string `json:"code"`
}

// CodeResync is the ErrorResponse code (status 409) of a push that holds
// an op the server may have forgotten: the workspace keeps the ack of
// each op (what makes a replay idempotent) for a retention period only,
// and the op, unknown to it, is older than that (by the time in its
// UUIDv7 id, with a margin for clock skew). The server cannot tell
// whether it applied the op, so it applies none of the push.
//
// A client then pulls the whole workspace again, from cursor 0, so that
// it has every change, and parks those ops (it reports them to the app
// as rejected, with a reason that ResyncReason makes) rather than pushing
// them again as they are. Other ops of the batch are pushed again without
// them. When the app retries them, the client sends them as new ops (new
// ids) that the server decides afresh: safe, as the field merge goes by
// the stamps the server keeps for every entity and an op keeps its
// UpdatedAt. If the op had applied, each field it writes was last written
// by the op itself (written again with the same value, at most a new
// version) or by a later write (which wins again); a delete or create
// goes by the stamp of the entity's last creation or deletion the same
// way. If it had not, it is decided as it would have been on arrival.
// Either way nothing written after the op is undone. A device is only concerned after being offline,
// with operations not acknowledged, for longer than the server's
// retention (30 days by default).
const CodeResync = "Resync"

// ResyncReason is the reason a client parks an op with when a push of it
// was answered CodeResync, msg being the server's message.
func ResyncReason(msg string) string { return CodeResync + ": " + msg }

// IsResyncReason reports whether reason, a parked op's, is one that
// ResyncReason made: the op is to be sent again under a new id.
func IsResyncReason(reason string) bool { return strings.HasPrefix(reason, CodeResync+": ") }
