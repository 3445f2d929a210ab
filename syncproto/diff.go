package syncproto

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"

	"github.com/atelierstore/atelier/graph"
)

// Fields returns the fields (see Merge) in which two states of one entity
// differ, sorted: what an update from before to after names in Op.Fields.
// before and after are both *graph.Workflow, *graph.Node or *graph.Edge.
// It gives what ChangedFields gives for their JSON, comparing the structs
// instead of encoding and decoding them: clients call it for every update
// they record.
func Fields(before, after any) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	switch a := after.(type) {
	case *graph.Node:
		b := before.(*graph.Node)
		add("type", a.Type != b.Type)
		add("title", a.Title != b.Title)
		add("status", a.Status != b.Status)
		add("position", a.Position != b.Position)
		add("size", !reflect.DeepEqual(a.Size, b.Size))
		add("result", !sameResult(a.Result, b.Result))
		out = append(out, objectFields("config", b.Config, a.Config)...)
	case *graph.Workflow:
		b := before.(*graph.Workflow)
		add("name", a.Name != b.Name)
		add("viewport", a.Viewport != b.Viewport)
		out = append(out, objectFields("meta", b.Meta, a.Meta)...)
	case *graph.Edge:
		b := before.(*graph.Edge)
		add("source", a.Source != b.Source)
		add("target", a.Target != b.Target)
		add("sourceHandle", a.SourceHandle != b.SourceHandle)
		add("targetHandle", a.TargetHandle != b.TargetHandle)
	}
	sort.Strings(out)
	return out
}

func sameResult(a, b *graph.Result) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Text != b.Text || a.Thumbnail != b.Thumbnail || !bytes.Equal(a.Data, b.Data) && !same(a.Data, b.Data) {
		return false
	}
	if a.Asset == nil || b.Asset == nil {
		return a.Asset == b.Asset
	}
	ja, _ := json.Marshal(a.Asset)
	jb, _ := json.Marshal(b.Asset)
	return bytes.Equal(ja, jb)
}

// objectFields is the fields of the per-key property p (an omitempty
// json.RawMessage) that differ between a and b.
func objectFields(p string, a, b json.RawMessage) []string {
	if bytes.Equal(a, b) {
		return nil
	}
	ma, mb := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	if len(a) > 0 {
		ma[p] = a
	}
	if len(b) > 0 {
		mb[p] = b
	}
	e := EntityNode
	if p == perKey[EntityWorkflow] {
		e = EntityWorkflow
	}
	return changed(e, ma, mb)
}
