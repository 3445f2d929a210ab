//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/syncengine"
	"github.com/atelierstore/atelier/syncproto"
)

func (h *handle) bindSync(o js.Value) {
	d, engine, status := h.d, h.engine, h.status
	// syncNow() asks for a sync round at once (in the leading tab).
	h.method(o, "syncNow", func(context.Context, []js.Value) (any, error) {
		if engine == nil {
			return nil, &atelier.ValidationError{Entity: "sync", Reason: "not configured: pass sync to open"}
		}
		engine.Flush()
		return nil, nil
	})
	// syncStatus() resolves to the status of sync, which the leading tab
	// runs (in any tab: see syncStatus), or null without sync.
	h.method(o, "syncStatus", func(context.Context, []js.Value) (any, error) {
		if engine == nil {
			return js.Null(), nil
		}
		return status.current(), nil
	})
	h.method(o, "parkedOps", func(ctx context.Context, _ []js.Value) (any, error) {
		cs, err := d.ParkedOps(ctx)
		return conflictsJSON(cs), err
	})
	// retryParked(ids?) puts parked operations (all, or those with the
	// given op ids) back in the outbox.
	h.method(o, "retryParked", func(ctx context.Context, args []js.Value) (any, error) {
		var ids []string
		if !absent(arg(args, 0)) {
			if err := arrayArg(args, 0, "opIds", &ids); err != nil {
				return nil, err
			}
			if len(ids) == 0 {
				return nil, nil // an empty list retries none, not all
			}
		}
		err := d.RetryParked(ctx, ids...)
		if err == nil && engine != nil {
			engine.Flush()
		}
		return nil, err
	})
}

// uploadStatusJSON is the asset uploader's status as the page sees it.
func uploadStatusJSON(s syncengine.UploadStatus) map[string]any {
	out := map[string]any{"state": string(s.State), "pending": s.Pending, "waiting": s.Waiting,
		"held": s.Held, "uploaded": s.Uploaded, "failures": s.Failures, "lastError": s.LastError}
	if s.Current != "" {
		out["current"] = s.Current
		out["sent"] = s.Sent
		out["total"] = s.Total
	}
	if !s.RetryAt.IsZero() {
		out["retryAt"] = s.RetryAt.UnixMilli()
	}
	return out
}

// statusJSON is a sync status as the page sees it.
func statusJSON(s syncengine.Status) map[string]any {
	out := map[string]any{"state": string(s.State), "pending": s.Pending, "parked": s.Parked,
		"failures": s.Failures, "lastError": s.LastError}
	if !s.RetryAt.IsZero() {
		out["retryAt"] = s.RetryAt.UnixMilli()
	}
	return out
}

// conflict is idb.Conflict as the page sees it.
type conflict struct {
	Lost   syncproto.Op      `json:"lost"`
	Winner *syncproto.Change `json:"winner"`
	Reason string            `json:"reason,omitempty"`
}

func conflictsJSON(cs []idb.Conflict) []conflict {
	out := make([]conflict, len(cs))
	for i, c := range cs {
		out[i] = conflict{Lost: c.Lost, Winner: c.Winner, Reason: c.Reason}
	}
	return out
}
