package graph

import (
	"bytes"
	"encoding/json"
)

// WorkflowPatch changes some fields of a workflow; nil fields stay as they
// are.
type WorkflowPatch struct {
	Name     *string         `json:"name,omitempty"`
	Viewport *Viewport       `json:"viewport,omitempty"`
	Meta     json.RawMessage `json:"meta,omitempty"`
}

// Apply changes w in place. It does not validate; call w.Validate after.
func (p *WorkflowPatch) Apply(w *Workflow) {
	if p.Name != nil {
		w.Name = *p.Name
	}
	if p.Viewport != nil {
		w.Viewport = *p.Viewport
	}
	if p.Meta != nil {
		w.Meta = cloneRaw(p.Meta)
	}
}

// Empty reports whether the patch changes nothing.
func (p *WorkflowPatch) Empty() bool {
	return p.Name == nil && p.Viewport == nil && p.Meta == nil
}

// NodePatch changes some fields of a node; nil fields stay as they are.
// Position and Size change together in one write, so a node is never seen
// moved but not resized.
type NodePatch struct {
	Type     *string         `json:"type,omitempty"`
	Title    *string         `json:"title,omitempty"`
	Status   *string         `json:"status,omitempty"`
	Position *Position       `json:"position,omitempty"`
	Size     *Size           `json:"size,omitempty"`
	Config   json.RawMessage `json:"config,omitempty"` // JSON null removes it
	Result   *Result         `json:"result,omitempty"`
	// ClearSize and ClearResult remove the size or the result.
	ClearSize   bool `json:"clearSize,omitempty"`
	ClearResult bool `json:"clearResult,omitempty"`
}

// Apply changes n in place. It does not validate; call n.Validate after.
func (p *NodePatch) Apply(n *Node) {
	if p.Type != nil {
		n.Type = *p.Type
	}
	if p.Title != nil {
		n.Title = *p.Title
	}
	if p.Status != nil {
		n.Status = *p.Status
	}
	if p.Position != nil {
		n.Position = *p.Position
	}
	if p.ClearSize {
		n.Size = nil
	}
	if p.Size != nil {
		s := *p.Size
		n.Size = &s
	}
	if p.Config != nil {
		n.Config = cloneRaw(p.Config)
		if t := bytes.TrimSpace(n.Config); len(t) == 0 || string(t) == "null" {
			n.Config = nil // JSON null (or nothing) removes it
		}
	}
	if p.ClearResult {
		n.Result = nil
	}
	if p.Result != nil {
		n.Result = p.Result.Clone()
	}
}

// Empty reports whether the patch changes nothing.
func (p *NodePatch) Empty() bool {
	return p.Type == nil && p.Title == nil && p.Status == nil && p.Position == nil &&
		p.Size == nil && p.Config == nil && p.Result == nil && !p.ClearSize && !p.ClearResult
}

// Clone returns a deep copy of r.
func (r *Result) Clone() *Result {
	if r == nil {
		return nil
	}
	c := *r
	if r.Asset != nil {
		a := *r.Asset
		c.Asset = &a
	}
	c.Data = cloneRaw(r.Data)
	return &c
}

func cloneRaw(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return append(json.RawMessage{}, b...)
}
