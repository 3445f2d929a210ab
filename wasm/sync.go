//go:build js && wasm

package main

import (
	"context"
	"syscall/js"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/syncengine"
	"github.com/atelierstore/atelier/syncproto"
)

func (h *handle) bindSync(o js.Value) {
	ws := h.ws
	// syncNow({signal}) asks the leading tab for a sync round at once and
	// resolves when one has finished; it rejects with Unavailable when the
	// browser is offline or the round failed (see Workspace.SyncNow).
	h.method(o, "syncNow", func(ctx context.Context, args []js.Value) (any, error) {
		if _, err := optionsArg(args, 0, "options", &struct{}{}, "signal"); err != nil {
			return nil, err
		}
		signal, err := signalArg(args, 0, "options")
		if err != nil {
			return nil, err
		}
		return abortable(ctx, signal, func(ctx context.Context) (any, error) {
			return nil, ws.SyncNow(ctx)
		})
	})
	// syncStatus() resolves to the status of sync, which the leading tab
	// runs (in any tab: see atelier.Workspace.SyncStatus), or null without
	// sync.
	h.method(o, "syncStatus", func(context.Context, []js.Value) (any, error) {
		st, ok := ws.SyncStatus()
		if !ok {
			return js.Null(), nil
		}
		return syncStatusJSON(st), nil
	})
	h.method(o, "parkedOps", func(ctx context.Context, _ []js.Value) (any, error) {
		cs, err := ws.ParkedOps(ctx)
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
		return nil, ws.RetryParked(ctx, ids...)
	})
}

// syncStatusJSON is a workspace's sync status as the page sees it.
func syncStatusJSON(s atelier.SyncStatus) map[string]any {
	out := statusJSON(s.Status)
	out["assets"] = uploadStatusJSON(s.Assets)
	out["leader"] = s.Leader
	return out
}

// invokeJSON calls cb with v converted through JSON, as promise results
// are; a value that does not convert is dropped.
func invokeJSON(cb js.Value, v any) {
	out, err := toJS(v)
	if err != nil {
		return
	}
	invoke(cb, out)
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
	out := map[string]any{"state": string(s.State), "pending": s.Pending, "parked": s.Parked, "resyncs": s.Resyncs,
		"failures": s.Failures, "lastError": s.LastError, "live": s.Live}
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

func conflictsJSON(cs []syncproto.Conflict) []conflict {
	out := make([]conflict, len(cs))
	for i, c := range cs {
		out[i] = conflict{Lost: c.Lost, Winner: c.Winner, Reason: c.Reason}
	}
	return out
}
