package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/syncproto"
)

// Read routes for server code and tools, beside the syncproto routes and
// with the same bearer tokens: what Workspace offers in Go, as JSON.
// Entities carry the server's authoritative version.
const (
	RouteWorkflows = "/v1/workspaces/{ws}/workflows"      // GET -> WorkflowsResponse
	RouteGraph     = "/v1/workspaces/{ws}/workflows/{id}" // GET -> graph.Graph
	RouteNode      = "/v1/workspaces/{ws}/nodes/{id}"     // GET -> graph.Node; PATCH graph.NodePatch -> graph.Node (Workspace.UpdateNode; Idempotency-Key: an op id)
	RouteEdge      = "/v1/workspaces/{ws}/edges/{id}"     // GET -> graph.Edge
	RouteAsset     = "/v1/workspaces/{ws}/assets/{hash}"  // GET -> the bytes; hash as hex digits or "sha256-…" (escaped)
)

// WorkflowsResponse answers RouteWorkflows.
type WorkflowsResponse struct {
	Workflows []graph.Workflow `json:"workflows"`
	// Seq is the workspace's last sequence number when it was read.
	Seq int64 `json:"seq"`
}

func (s *Server) dataRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+RouteWorkflows, s.authed(s.getWorkflows))
	m.HandleFunc("GET "+RouteGraph, s.authed(s.getGraph))
	m.HandleFunc("GET "+RouteNode, s.authed(s.getNode))
	m.HandleFunc("PATCH "+RouteNode, s.authed(s.patchNode))
	m.HandleFunc("GET "+RouteEdge, s.authed(s.getEdge))
	m.HandleFunc("GET "+RouteAsset, s.authed(s.getAsset))
}

// dataError answers a Workspace read's error.
func (s *Server) dataError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errs.ErrNotFound):
		writeError(w, http.StatusNotFound, "NotFound", err.Error())
	case errors.Is(err, errs.ErrInvalid):
		writeError(w, http.StatusBadRequest, "Invalid", err.Error())
	case r.Context().Err() != nil:
		// The client went away: nothing to answer.
	default:
		s.internal(w, r, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
	}
}

func (s *Server) getWorkflows(w http.ResponseWriter, r *http.Request, ws string) {
	d := &Workspace{s: s, ws: ws}
	var resp WorkflowsResponse
	var err error
	if resp.Seq, err = d.Seq(r.Context()); err == nil {
		resp.Workflows, err = d.Workflows(r.Context())
	}
	if err != nil {
		s.dataError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &resp)
}

func (s *Server) getGraph(w http.ResponseWriter, r *http.Request, ws string) {
	serveRead(s, w, r, ws, (*Workspace).Graph)
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request, ws string) {
	serveRead(s, w, r, ws, (*Workspace).Node)
}

func (s *Server) getEdge(w http.ResponseWriter, r *http.Request, ws string) {
	serveRead(s, w, r, ws, (*Workspace).Edge)
}

// serveRead answers with what read returns for the request's {id}.
func serveRead[T any](s *Server, w http.ResponseWriter, r *http.Request, ws string, read func(*Workspace, context.Context, string) (T, error)) {
	v, err := read(&Workspace{s: s, ws: ws}, r.Context(), r.PathValue("id"))
	if err != nil {
		s.dataError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &v)
}

func (s *Server) patchNode(w http.ResponseWriter, r *http.Request, ws string) {
	body, ok := readBody(w, r, syncproto.MaxDataBytes+64<<10)
	if !ok {
		return
	}
	var p graph.NodePatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid", "malformed node patch: "+err.Error())
		return
	}
	n, err := (&Workspace{s: s, ws: ws}).UpdateNode(r.Context(), r.PathValue("id"), p, r.Header.Get("Idempotency-Key"))
	if err != nil {
		s.dataError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, &n)
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request, ws string) {
	hash := r.PathValue("hash")
	if b, err := hex.DecodeString(hash); err == nil && len(b) == 32 {
		hash = assetref.FormatHash([32]byte(b))
	}
	f, info, err := (&Workspace{s: s, ws: ws}).Asset(r.Context(), hash)
	if err != nil {
		s.dataError(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", info.MIME)
	h.Set("ETag", strconv.Quote(info.Hash))
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", time.Time{}, f)
}
