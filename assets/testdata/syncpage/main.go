//go:build js && wasm

// Command syncpage is the page program of browsertest's asset sync tests:
// a workflow store with its asset library, the op sync engine and the
// asset uploader, wired as an app wires them, behind a small JavaScript
// surface (globalThis.assetsync). Every method returns a promise of a
// JSON string; failures reject with an Error whose name is the sentinel's
// (NotFound, QuotaExceeded, ...).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/assets/registry"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/fsx"
	"github.com/atelierstore/atelier/internal/tabs"
	"github.com/atelierstore/atelier/outbox"
	"github.com/atelierstore/atelier/syncengine"
)

type page struct {
	db       *idb.DB
	reg      *registry.Registry
	lib      *assets.Library
	engine   *syncengine.Engine
	uploader *syncengine.Uploader
	statuses []stamped // every status the uploader reported, with when
}

type stamped struct {
	s  syncengine.UploadStatus
	at time.Time
}

type openOptions struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Workspace      string `json:"workspace"`
	Token          string `json:"token"`
	PullMs         int    `json:"pullMs"`
	BackoffMs      int    `json:"backoffMs"`
	BackoffCapMs   int    `json:"backoffCapMs"`
	IntervalMs     int    `json:"intervalMs"`
	FetchWaitMs    int    `json:"fetchWaitMs"`
	EvictIdleMs    int    `json:"evictIdleMs"`
	NoUploader     bool   `json:"noUploader"`
	NoFollowOnline bool   `json:"noFollowOnline"`
}

func main() {
	p := &page{}
	api := js.Global().Get("Object").New()
	method(api, "open", func(ctx context.Context, args []js.Value) (any, error) {
		var o openOptions
		if err := json.Unmarshal([]byte(args[0].String()), &o); err != nil {
			return nil, err
		}
		return nil, p.open(ctx, o)
	})
	// put(blob) stores a Blob and returns its ref.
	method(api, "put", func(ctx context.Context, args []js.Value) (any, error) {
		b, err := fsx.WrapAssetBlob(args[0])
		if err != nil {
			return nil, err
		}
		return p.lib.PutBlob(ctx, b, assetref.Hint{})
	})
	// createNode(ref) makes a workflow with one node whose result is ref.
	method(api, "createNode", func(ctx context.Context, args []js.Value) (any, error) {
		var ref assetref.Ref
		if err := json.Unmarshal([]byte(args[0].String()), &ref); err != nil {
			return nil, err
		}
		w, err := p.db.CreateWorkflow(ctx, "Assets")
		if err != nil {
			return nil, err
		}
		nodes, err := p.db.SetNodes(ctx, w.ID, []graph.Node{{Type: "image", Title: "Picture", Result: &graph.Result{Asset: &ref}}})
		if err != nil {
			return nil, err
		}
		p.engine.Flush()
		return map[string]string{"workflowId": w.ID, "nodeId": nodes[0].ID}, nil
	})
	method(api, "loadWorkflow", func(ctx context.Context, args []js.Value) (any, error) {
		return p.db.LoadWorkflow(ctx, args[0].String())
	})
	method(api, "listWorkflows", func(ctx context.Context, args []js.Value) (any, error) {
		return p.db.ListWorkflows(ctx)
	})
	// read(ref) reads the asset through Library.Open and returns its
	// size and hash as computed here.
	method(api, "read", func(ctx context.Context, args []js.Value) (any, error) {
		var ref assetref.Ref
		if err := json.Unmarshal([]byte(args[0].String()), &ref); err != nil {
			return nil, err
		}
		rc, err := p.lib.Open(ctx, ref)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		var h assetref.Hasher
		if _, err := io.Copy(&h, rc); err != nil {
			return nil, err
		}
		return map[string]any{"size": h.Size(), "hash": h.Sum()}, nil
	})
	// blob(ref) returns the asset through Library.Blob: its size and the
	// hash the browser computes of it.
	method(api, "blobSize", func(ctx context.Context, args []js.Value) (any, error) {
		var ref assetref.Ref
		if err := json.Unmarshal([]byte(args[0].String()), &ref); err != nil {
			return nil, err
		}
		b, err := p.lib.Blob(ctx, ref)
		if err != nil {
			return nil, err
		}
		return b.Size(), nil
	})
	method(api, "record", func(ctx context.Context, args []js.Value) (any, error) {
		rec, err := p.reg.Asset(ctx, args[0].String())
		if err != nil {
			return nil, err
		}
		return map[string]any{"ref": rec.Ref, "uploaded": rec.Uploaded, "remote": rec.Remote, "usedAt": rec.UsedAt, "users": len(rec.Users)}, nil
	})
	// local(hash) reports whether the bytes of the asset are on this
	// device, without fetching.
	method(api, "local", func(ctx context.Context, args []js.Value) (any, error) {
		rec, err := p.reg.Asset(ctx, args[0].String())
		if err != nil {
			return nil, err
		}
		if rec.Remote {
			return false, nil
		}
		_, err = p.lib.Stat(ctx, assetref.Ref{Kind: rec.Ref.Kind, Path: rec.Ref.Path, BlobKey: rec.Ref.BlobKey, HandleID: rec.Ref.HandleID})
		if errors.Is(err, errs.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	method(api, "evict", func(ctx context.Context, args []js.Value) (any, error) {
		return p.lib.Evict(ctx, int64(args[0].Float()))
	})
	method(api, "uploadStatus", func(ctx context.Context, args []js.Value) (any, error) {
		return statusJSON(p.uploader.Status(), time.Now()), nil
	})
	method(api, "uploadStatuses", func(ctx context.Context, args []js.Value) (any, error) {
		out := make([]map[string]any, len(p.statuses))
		for i, s := range p.statuses {
			out[i] = statusJSON(s.s, s.at)
		}
		return out, nil
	})
	method(api, "syncStatus", func(ctx context.Context, args []js.Value) (any, error) {
		s := p.engine.Status()
		return map[string]any{"state": s.State, "pending": s.Pending, "parked": s.Parked}, nil
	})
	method(api, "syncNow", func(ctx context.Context, args []js.Value) (any, error) {
		p.engine.Flush()
		if p.uploader != nil {
			p.uploader.Flush()
		}
		return nil, nil
	})
	js.Global().Set("assetsync", api)
	js.Global().Call("assetsyncReady")
	select {}
}

// statusJSON is a status as the page sees it; retryInMs is the delay
// before the next try, as of at.
func statusJSON(s syncengine.UploadStatus, at time.Time) map[string]any {
	out := map[string]any{"state": s.State, "pending": s.Pending, "waiting": s.Waiting, "held": s.Held,
		"uploaded": s.Uploaded, "current": s.Current, "sent": s.Sent, "total": s.Total,
		"failures": s.Failures, "lastError": s.LastError}
	if !s.RetryAt.IsZero() {
		out["retryInMs"] = s.RetryAt.Sub(at).Milliseconds()
	}
	return out
}

func (p *page) open(ctx context.Context, o openOptions) error {
	// The parts atelier.Open assembles, with the tests' own settings.
	db, err := idb.Open(ctx, o.Name, nil)
	if err != nil {
		return err
	}
	reg, ob := registry.Open(db), outbox.Open(db)
	lead, _ := tabs.Lead("atelier:"+o.Name+":leader", nil)
	ao := &assets.Options{CollectEvery: -1, FetchWait: ms(o.FetchWaitMs), EvictIdle: ms(o.EvictIdleMs), EvictAbove: -1}
	lib, err := assets.Open(ctx, db, reg, lead, ao)
	if err != nil {
		return err
	}
	if _, err := ob.RecordUnsynced(ctx); err != nil {
		return err
	}
	tr := syncengine.NewHTTP(o.URL, o.Workspace, o.Token)
	lib.SetRemote(tr)
	p.db, p.reg, p.lib = db, reg, lib
	p.engine = syncengine.New(ob, tr, &syncengine.Options{PullInterval: ms(o.PullMs)})
	syncengine.FollowOnline(p.engine)
	lead.RunOnLeader("sync", func(ctx context.Context) { _ = p.engine.Run(ctx) })
	if o.NoUploader {
		return nil
	}
	p.uploader = syncengine.NewUploader(lib, tr, &syncengine.UploaderOptions{
		BackoffBase: ms(o.BackoffMs), BackoffCap: ms(o.BackoffCapMs), Interval: ms(o.IntervalMs),
		OnStatus: func(s syncengine.UploadStatus) { p.statuses = append(p.statuses, stamped{s, time.Now()}) },
	})
	if !o.NoFollowOnline {
		p.uploader.FollowOnline()
	}
	lead.RunOnLeader("assets-upload", func(ctx context.Context) { _ = p.uploader.Run(ctx) })
	return nil
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// method sets o[name] to a function returning a promise of fn's result as
// a JSON string.
func method(o js.Value, name string, fn func(ctx context.Context, args []js.Value) (any, error)) {
	o.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any {
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, pa []js.Value) any {
			resolve, reject := pa[0], pa[1]
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				v, err := fn(ctx, args)
				if err != nil {
					e := js.Global().Get("Error").New(err.Error())
					e.Set("name", errName(err))
					reject.Invoke(e)
					return
				}
				b, err := json.Marshal(v)
				if err != nil {
					reject.Invoke(js.Global().Get("Error").New(err.Error()))
					return
				}
				resolve.Invoke(string(b))
			}()
			return nil
		}))
	}))
}

func errName(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{errs.ErrNotFound, "NotFound"}, {errs.ErrInvalidRef, "InvalidRef"}, {errs.ErrInvalid, "Invalid"},
		{errs.ErrQuotaExceeded, "QuotaExceeded"}, {errs.ErrClosed, "Closed"}, {errs.ErrUnsupported, "Unsupported"},
		{errs.ErrPermission, "Permission"}, {assetref.ErrInUse, "InUse"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "Error"
}
