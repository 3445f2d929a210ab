package idb

import (
	"encoding/json"
	"errors"
	"sort"

	"github.com/atelierstore/atelier/graph"
)

// ChangeKind names the kind of entity a change is about.
type ChangeKind string

// Change kinds.
const (
	ChangeWorkflow ChangeKind = "workflow"
	ChangeNode     ChangeKind = "node"
	ChangeEdge     ChangeKind = "edge"
)

// Change is one committed change to one entity.
type Change struct {
	Kind       ChangeKind
	ID         string
	WorkflowID string // for a workflow, its own id
	Version    int64  // the new version; 0 when the entity was deleted
	// Replaced is set when the entity became the sync server's state,
	// whose version may be no higher than the one a reader holds (a local
	// edit the server superseded had counted versions of its own): the
	// reader must read it again all the same.
	Replaced bool
}

// maxChanges is how many changes one message lists. A bigger transaction
// (SetNodes of a large graph, say) is announced as "these workflows
// changed", and receivers re-read them whole: messages stay small.
const maxChanges = 64

// message is the wire form of a committed transaction's changes.
type message struct {
	Tab       string       `json:"t"`
	Changes   []wireChange `json:"c,omitempty"`
	Workflows []string     `json:"w,omitempty"` // changed in ways not listed
}

type wireChange struct {
	Kind string `json:"k"` // "w", "n" or "e"
	ID   string `json:"i"`
	WF   string `json:"f,omitempty"` // omitted for workflows
	V    int64  `json:"v"`
	R    bool   `json:"r,omitempty"` // Change.Replaced
}

var kindCode = map[ChangeKind]string{ChangeWorkflow: "w", ChangeNode: "n", ChangeEdge: "e"}
var codeKind = map[string]ChangeKind{"w": ChangeWorkflow, "n": ChangeNode, "e": ChangeEdge}

// encodeMessage lays out the changes of one transaction for other tabs.
func encodeMessage(tab string, changes []Change) string {
	m := message{Tab: tab}
	if len(changes) > maxChanges {
		seen := map[string]bool{}
		for _, c := range changes {
			if !seen[c.WorkflowID] {
				seen[c.WorkflowID] = true
				m.Workflows = append(m.Workflows, c.WorkflowID)
			}
		}
		sort.Strings(m.Workflows)
	} else {
		m.Changes = make([]wireChange, len(changes))
		for i, c := range changes {
			w := wireChange{Kind: kindCode[c.Kind], ID: c.ID, V: c.Version, R: c.Replaced}
			if c.Kind != ChangeWorkflow {
				w.WF = c.WorkflowID
			}
			m.Changes[i] = w
		}
	}
	b, _ := json.Marshal(m) // plain strings and numbers: cannot fail
	return string(b)
}

var errBadMessage = errors.New("malformed change message")

// decodeMessage reads a message from another tab. Anything malformed is an
// error: the caller ignores the message rather than act on part of it.
func decodeMessage(s string) (tab string, changes []Change, workflows []string, err error) {
	var m message
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return "", nil, nil, errBadMessage
	}
	for _, w := range m.Changes {
		k, ok := codeKind[w.Kind]
		if !ok || !graph.ValidID(w.ID) || w.V < 0 {
			return "", nil, nil, errBadMessage
		}
		c := Change{Kind: k, ID: w.ID, WorkflowID: w.WF, Version: w.V, Replaced: w.R}
		if k == ChangeWorkflow {
			c.WorkflowID = w.ID
		} else if !graph.ValidID(w.WF) {
			return "", nil, nil, errBadMessage
		}
		changes = append(changes, c)
	}
	for _, w := range m.Workflows {
		if !graph.ValidID(w) {
			return "", nil, nil, errBadMessage
		}
	}
	return m.Tab, changes, m.Workflows, nil
}
