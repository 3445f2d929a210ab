package graph

import (
	"encoding/json"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/jsonvalid"
)

// Limits that Validate enforces. They keep hostile or buggy input from
// bloating records that every tab reads.
const (
	MaxNameLen        = 200     // workflow name, in characters
	MaxTitleLen       = 500     // node title, in characters
	MaxTypeLen        = 64      // node type, in bytes
	MaxStatusLen      = 32      // node status, in bytes
	MaxHandleLen      = 128     // edge handle ids, in bytes
	MaxTextBytes      = 1 << 20 // Result.Text
	MaxJSONBytes      = 1 << 20 // Node.Config, Result.Data, Workflow.Meta, each
	MaxThumbnailBytes = 16 << 10
)

func invalid(entity, id, field, reason string) error {
	return &errs.ValidationError{Entity: entity, ID: id, Field: field, Reason: reason}
}

// Validate checks the workflow's own fields. An empty ID is accepted (stores
// assign one); anything else must be a canonical UUID.
func (w *Workflow) Validate() error {
	const e = "workflow"
	if w.ID != "" && !ValidID(w.ID) {
		return invalid(e, w.ID, "id", "must be a canonical UUID")
	}
	if err := checkName(e, w.ID, "name", w.Name, MaxNameLen); err != nil {
		return err
	}
	if err := w.Viewport.validate(e, w.ID); err != nil {
		return err
	}
	return checkJSON(e, w.ID, "meta", w.Meta)
}

// Validate checks the viewport: finite coordinates and a positive, finite
// zoom.
func (v Viewport) Validate() error { return v.validate("viewport", "") }

func (v Viewport) validate(entity, id string) error {
	if err := checkFinite(entity, id, "viewport.x", v.X); err != nil {
		return err
	}
	if err := checkFinite(entity, id, "viewport.y", v.Y); err != nil {
		return err
	}
	if err := checkFinite(entity, id, "viewport.zoom", v.Zoom); err != nil {
		return err
	}
	if v.Zoom <= 0 {
		return invalid(entity, id, "viewport.zoom", "must be positive")
	}
	return nil
}

// Validate checks the position: both coordinates finite.
func (p Position) Validate() error { return p.validate("node", "") }

func (p Position) validate(entity, id string) error {
	if err := checkFinite(entity, id, "position.x", p.X); err != nil {
		return err
	}
	return checkFinite(entity, id, "position.y", p.Y)
}

// Validate checks the size: finite and not negative.
func (s Size) Validate() error { return s.validate("node", "") }

func (s Size) validate(entity, id string) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"size.width", s.Width}, {"size.height", s.Height}} {
		if err := checkFinite(entity, id, f.name, f.v); err != nil {
			return err
		}
		if f.v < 0 {
			return invalid(entity, id, f.name, "must not be negative")
		}
	}
	return nil
}

// Validate checks the node's own fields. An empty ID or WorkflowID is
// accepted (stores fill them in); anything else must be a canonical UUID.
func (n *Node) Validate() error {
	const e = "node"
	if n.ID != "" && !ValidID(n.ID) {
		return invalid(e, n.ID, "id", "must be a canonical UUID")
	}
	if n.WorkflowID != "" && !ValidID(n.WorkflowID) {
		return invalid(e, n.ID, "workflowId", "must be a canonical UUID")
	}
	if err := checkToken(e, n.ID, "type", n.Type, MaxTypeLen, true); err != nil {
		return err
	}
	if err := checkText(e, n.ID, "title", n.Title, MaxTitleLen); err != nil {
		return err
	}
	if err := checkToken(e, n.ID, "status", n.Status, MaxStatusLen, false); err != nil {
		return err
	}
	if err := n.Position.validate(e, n.ID); err != nil {
		return err
	}
	if n.Size != nil {
		if err := n.Size.validate(e, n.ID); err != nil {
			return err
		}
	}
	if err := checkJSON(e, n.ID, "config", n.Config); err != nil {
		return err
	}
	if n.Result != nil {
		return n.Result.validate(e, n.ID)
	}
	return nil
}

// Validate checks a node result: text size, the asset reference, the
// thumbnail (a data: URL within MaxThumbnailBytes) and the JSON data.
func (r *Result) Validate() error { return r.validate("result", "") }

func (r *Result) validate(entity, id string) error {
	if len(r.Text) > MaxTextBytes {
		return invalid(entity, id, "result.text", "longer than 1 MiB")
	}
	if !utf8.ValidString(r.Text) {
		return invalid(entity, id, "result.text", "not valid UTF-8")
	}
	if r.Asset != nil {
		if err := r.Asset.Validate(); err != nil {
			return invalid(entity, id, "result.asset", err.Error())
		}
	}
	if r.Thumbnail != "" {
		if len(r.Thumbnail) > MaxThumbnailBytes {
			return invalid(entity, id, "result.thumbnail", "larger than 16 KiB: store the image as an asset")
		}
		if !strings.HasPrefix(r.Thumbnail, "data:image/") {
			return invalid(entity, id, "result.thumbnail", "must be a data:image/ URL")
		}
	}
	return checkJSON(entity, id, "result.data", r.Data)
}

// Validate checks the edge's own fields: ids, and handle lengths. Whether
// Source and Target exist is a property of the whole graph; see
// Graph.Validate.
func (e *Edge) Validate() error {
	const ent = "edge"
	if e.ID != "" && !ValidID(e.ID) {
		return invalid(ent, e.ID, "id", "must be a canonical UUID")
	}
	if e.WorkflowID != "" && !ValidID(e.WorkflowID) {
		return invalid(ent, e.ID, "workflowId", "must be a canonical UUID")
	}
	if !ValidID(e.Source) {
		return invalid(ent, e.ID, "source", "must be a canonical UUID")
	}
	if !ValidID(e.Target) {
		return invalid(ent, e.ID, "target", "must be a canonical UUID")
	}
	if err := checkToken(ent, e.ID, "sourceHandle", e.SourceHandle, MaxHandleLen, false); err != nil {
		return err
	}
	return checkToken(ent, e.ID, "targetHandle", e.TargetHandle, MaxHandleLen, false)
}

// Validate checks a whole graph: every entity, ids unique, every node and
// edge belonging to the workflow, and every edge connecting two nodes of
// the graph. Unlike the entity validators it requires all ids to be set.
func (g *Graph) Validate() error {
	w := &g.Workflow
	if !ValidID(w.ID) {
		return invalid("workflow", w.ID, "id", "must be a canonical UUID")
	}
	if err := w.Validate(); err != nil {
		return err
	}
	nodes := make(map[string]struct{}, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if err := n.Validate(); err != nil {
			return err
		}
		if n.ID == "" {
			return invalid("node", "", "id", "missing")
		}
		if n.WorkflowID != w.ID {
			return invalid("node", n.ID, "workflowId", "does not match the workflow")
		}
		if _, dup := nodes[n.ID]; dup {
			return invalid("node", n.ID, "id", "duplicate")
		}
		nodes[n.ID] = struct{}{}
	}
	edges := make(map[string]struct{}, len(g.Edges))
	for i := range g.Edges {
		e := &g.Edges[i]
		if err := e.Validate(); err != nil {
			return err
		}
		if e.ID == "" {
			return invalid("edge", "", "id", "missing")
		}
		if e.WorkflowID != w.ID {
			return invalid("edge", e.ID, "workflowId", "does not match the workflow")
		}
		if _, dup := edges[e.ID]; dup {
			return invalid("edge", e.ID, "id", "duplicate")
		}
		edges[e.ID] = struct{}{}
		if _, ok := nodes[e.Source]; !ok {
			return invalid("edge", e.ID, "source", "no such node in the workflow")
		}
		if _, ok := nodes[e.Target]; !ok {
			return invalid("edge", e.ID, "target", "no such node in the workflow")
		}
	}
	return nil
}

func checkFinite(entity, id, field string, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return invalid(entity, id, field, "must be finite")
	}
	return nil
}

// checkName: required, printable text of at most max characters.
func checkName(entity, id, field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return invalid(entity, id, field, "must not be empty")
	}
	return checkText(entity, id, field, s, max)
}

// checkText: optional text of at most max characters, valid UTF-8, no
// control characters.
func checkText(entity, id, field, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(entity, id, field, "not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > max {
		return invalid(entity, id, field, "too long")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalid(entity, id, field, "contains control characters")
		}
	}
	return nil
}

// checkToken: a short identifier-like string (node type, status, handle id):
// printable ASCII without spaces, at most max bytes.
func checkToken(entity, id, field, s string, max int, required bool) error {
	if s == "" {
		if required {
			return invalid(entity, id, field, "must not be empty")
		}
		return nil
	}
	if len(s) > max {
		return invalid(entity, id, field, "too long")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return invalid(entity, id, field, "must be printable ASCII without spaces")
		}
	}
	return nil
}

func checkJSON(entity, id, field string, raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	if len(raw) > MaxJSONBytes {
		return invalid(entity, id, field, "larger than 1 MiB")
	}
	if !jsonvalid.Valid(raw) {
		return invalid(entity, id, field, "not valid JSON")
	}
	return nil
}
