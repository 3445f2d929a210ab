//go:build js && wasm

package registry

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/internal/idbcheck"
	"github.com/atelierstore/atelier/internal/idbtest"
)

// opfsRef is a tracked ref to bytes that would be in OPFS.
func opfsRef(content string) assetref.Ref {
	return assetref.Ref{Kind: assetref.KindOPFS, Path: "atelier/assets/image/" + graph.NewID(),
		MIME: "image/png", Bytes: int64(len(content)), Hash: assetref.HashBytes([]byte(content))}
}

// checked checks the asset records too.
var checked = func() idbcheck.Decoders { d := idbtest.Decoders; d.Assets = true; return d }()

// store is a workflow store with its registry.
type store struct {
	*idb.DB
	*Registry
}

func newStore(t *testing.T) store {
	d := idbtest.OpenChecked(t, idbtest.Name(t), nil, checked)
	r := Open(d)
	return store{d, r}
}

func users(t *testing.T, d store, hash string) []string {
	t.Helper()
	a, err := d.Asset(idbtest.Ctx(t), hash)
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, u := range a.Users {
		out = append(out, u.String())
	}
	return out
}

func TestAssetUsageFollowsNodes(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := newStore(t)
	w := idbtest.Workflow(t, d.DB, "Assets")
	nodes, err := d.SetNodes(ctx, w.ID, idbtest.Nodes(3))
	if err != nil {
		t.Fatal(err)
	}
	a, b := opfsRef("a"), opfsRef("b")

	rec, existed, err := d.RegisterAsset(ctx, a)
	if err != nil || existed || rec.Hash != a.Hash || len(rec.Users) != 0 {
		t.Fatalf("RegisterAsset: %+v %v %v", rec, existed, err)
	}
	// Same bytes elsewhere: the first registration wins.
	again := a
	again.Path = "atelier/assets/image/" + graph.NewID()
	rec, existed, err = d.RegisterAsset(ctx, again)
	if err != nil || !existed || rec.Ref.Path != a.Path {
		t.Fatalf("second RegisterAsset: %+v %v %v", rec, existed, err)
	}

	user := func(i int) string { return w.ID + "/" + nodes[i].ID }
	if _, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Result: &graph.Result{Asset: &a}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UpdateNode(ctx, w.ID, nodes[1].ID, graph.NodePatch{Result: &graph.Result{Asset: &a, Text: "same image"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := users(t, d, a.Hash), sorted(user(0), user(1)); !reflect.DeepEqual(got, want) {
		t.Fatalf("users of a: %v, want %v", got, want)
	}
	// An asset never registered gets a record when a node uses it.
	if _, err := d.UpdateNode(ctx, w.ID, nodes[1].ID, graph.NodePatch{Result: &graph.Result{Asset: &b}}); err != nil {
		t.Fatal(err)
	}
	if got := users(t, d, a.Hash); !reflect.DeepEqual(got, []string{user(0)}) {
		t.Fatalf("after switching node 1 to b, users of a: %v", got)
	}
	if got := users(t, d, b.Hash); !reflect.DeepEqual(got, []string{user(1)}) {
		t.Fatalf("users of b: %v", got)
	}
	// In use: cannot be forgotten.
	if _, err := d.ForgetAsset(ctx, a.Hash); !errors.Is(err, assetref.ErrInUse) {
		t.Fatalf("ForgetAsset of a used asset: %v", err)
	}
	// Clearing the result releases; so does removing the node via SetNodes.
	if _, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{ClearResult: true}); err != nil {
		t.Fatal(err)
	}
	if got := users(t, d, a.Hash); len(got) != 0 {
		t.Fatalf("users of a after clearing: %v", got)
	}
	g, _ := d.LoadWorkflow(ctx, w.ID)
	if _, err := d.SetNodes(ctx, w.ID, []graph.Node{g.Nodes[0], g.Nodes[2]}); err != nil {
		t.Fatal(err)
	}
	if got := users(t, d, b.Hash); len(got) != 0 {
		t.Fatalf("users of b after its node was removed: %v", got)
	}
	forgotten, err := d.ForgetAsset(ctx, a.Hash)
	if err != nil || forgotten.Ref.Path != a.Path {
		t.Fatalf("ForgetAsset: %+v %v", forgotten, err)
	}
	if _, err := d.Asset(ctx, a.Hash); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("forgotten asset: %v", err)
	}
}

func sorted(s ...string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestDeletingReleasesAssets(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := newStore(t)
	w1 := idbtest.Workflow(t, d.DB, "one")
	w2 := idbtest.Workflow(t, d.DB, "two")
	shared := opfsRef("shared")
	in := idbtest.Nodes(2)
	for i := range in {
		in[i].Result = &graph.Result{Asset: &shared}
	}
	n1, err := d.SetNodes(ctx, w1.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	n2, err := d.SetNodes(ctx, w2.ID, in[:1])
	if err != nil {
		t.Fatal(err)
	}
	if got := users(t, d, shared.Hash); len(got) != 3 {
		t.Fatalf("users %v", got)
	}
	if err := d.DeleteNodes(ctx, w1.ID, n1[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := users(t, d, shared.Hash); len(got) != 2 {
		t.Fatalf("after DeleteNodes: %v", got)
	}
	if err := d.DeleteWorkflow(ctx, w1.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := users(t, d, shared.Hash), []string{w2.ID + "/" + n2[0].ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after DeleteWorkflow: %v, want %v", got, want)
	}
	// Managed transactions keep usage too.
	err = d.Update(ctx, func(tx *idb.Tx) error { return tx.DeleteNode(n2[0].ID) })
	if err != nil {
		t.Fatal(err)
	}
	if got := users(t, d, shared.Hash); len(got) != 0 {
		t.Fatalf("after Tx.DeleteNode: %v", got)
	}
	// url refs are not tracked.
	url := assetref.Ref{Kind: assetref.KindURL, URL: "https://example.com/x.png", Hash: assetref.HashBytes([]byte("u"))}
	if _, err := d.PutNodes(ctx, w2.ID, []graph.Node{{Type: "x", Result: &graph.Result{Asset: &url}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Asset(ctx, url.Hash); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("url asset tracked: %v", err)
	}
	if _, _, err := d.RegisterAsset(ctx, url); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("RegisterAsset(url): %v", err)
	}
}

// TestAssetSyncState: the upload, eviction and fetch state of an asset
// record, and the transitions that guard it.
func TestAssetSyncState(t *testing.T) {
	ctx := idbtest.Ctx(t)
	d := newStore(t)
	w := idbtest.Workflow(t, d.DB, "Sync state")
	nodes, err := d.SetNodes(ctx, w.ID, idbtest.Nodes(1))
	if err != nil {
		t.Fatal(err)
	}
	a := opfsRef("sync state")
	rec, _, err := d.RegisterAsset(ctx, a)
	if err != nil || rec.Uploaded != 0 || rec.Remote || rec.UsedAt != 0 {
		t.Fatalf("new record %+v %v", rec, err)
	}
	// Not on the server: the only copy may not be evicted.
	if _, err := d.EvictAsset(ctx, a.Hash, a); !errors.Is(err, assetref.ErrNotUploaded) {
		t.Fatalf("evicting a copy the server lacks: %v", err)
	}
	unknown := assetref.HashBytes([]byte("unknown"))
	if err := d.MarkAssetsUploaded(ctx, []string{a.Hash, unknown}); err != nil {
		t.Fatal(err)
	}
	rec, err = d.Asset(ctx, a.Hash)
	if err != nil || rec.Uploaded == 0 {
		t.Fatalf("after MarkAssetsUploaded: %+v %v", rec, err)
	}
	if _, err := d.Asset(ctx, unknown); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("MarkAssetsUploaded made a record for an unknown hash: %v", err)
	}
	up := rec.Uploaded
	// Node writes rewrite the record (users): the sync state survives.
	if _, err := d.UpdateNode(ctx, w.ID, nodes[0].ID, graph.NodePatch{Result: &graph.Result{Asset: &a}}); err != nil {
		t.Fatal(err)
	}
	if err := d.TouchAsset(ctx, a.Hash, time.Hour); err != nil {
		t.Fatal(err)
	}
	rec, _ = d.Asset(ctx, a.Hash)
	if rec.Uploaded != up || rec.UsedAt == 0 || len(rec.Users) != 1 {
		t.Fatalf("after a node write and a touch: %+v", rec)
	}
	used := rec.UsedAt
	if err := d.TouchAsset(ctx, a.Hash, time.Hour); err != nil {
		t.Fatal(err)
	}
	if rec, _ = d.Asset(ctx, a.Hash); rec.UsedAt != used {
		t.Fatalf("a touch within the granularity wrote: %d -> %d", used, rec.UsedAt)
	}
	if err := d.TouchAsset(ctx, unknown, 0); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("touching an unknown asset: %v", err)
	}

	// Evicting names the location the caller checked.
	elsewhere := a
	elsewhere.Path = "atelier/assets/image/" + graph.NewID()
	if _, err := d.EvictAsset(ctx, a.Hash, elsewhere); !errors.Is(err, errs.ErrVersionConflict) {
		t.Fatalf("evicting another location: %v", err)
	}
	rec, err = d.EvictAsset(ctx, a.Hash, a)
	if err != nil || !rec.Remote || rec.Ref != a {
		t.Fatalf("EvictAsset: %+v %v", rec, err)
	}
	if _, err := d.EvictAsset(ctx, a.Hash, a); !errors.Is(err, errs.ErrVersionConflict) {
		t.Fatalf("evicting twice: %v", err)
	}

	// Fetched back, to another location: the record follows.
	fetched := a
	fetched.Path = "atelier/assets/image/" + graph.NewID()
	rec, moved, err := d.AssetFetched(ctx, fetched, a)
	if err != nil || !moved || rec.Remote || rec.Ref != fetched || rec.Uploaded < up || len(rec.Users) != 1 {
		t.Fatalf("AssetFetched: %+v moved %v %v", rec, moved, err)
	}
	// A second tab that fetched at the same time, expecting the old
	// location, finds the record moved: it keeps the first copy.
	late := a
	late.Path = "atelier/assets/image/" + graph.NewID()
	rec, moved, err = d.AssetFetched(ctx, late, a)
	if err != nil || moved || rec.Ref != fetched {
		t.Fatalf("a late AssetFetched: %+v moved %v %v", rec, moved, err)
	}
	// A fetched asset with no record gets one, uploaded.
	b := opfsRef("fetched without a record")
	rec, moved, err = d.AssetFetched(ctx, b, assetref.Ref{})
	if err != nil || !moved || rec.Uploaded == 0 || rec.Remote {
		t.Fatalf("AssetFetched of an unknown asset: %+v %v %v", rec, moved, err)
	}

	// Registering bytes of a remote asset makes the new copy its location.
	if _, err := d.EvictAsset(ctx, b.Hash, b); err != nil {
		t.Fatal(err)
	}
	again := b
	again.Path = "atelier/assets/image/" + graph.NewID()
	rec, existed, err := d.RegisterAsset(ctx, again)
	if err != nil || !existed || rec.Ref != again || rec.Remote {
		t.Fatalf("RegisterAsset over a remote record: %+v %v %v", rec, existed, err)
	}
	if _, _, err := d.AssetFetched(ctx, assetref.Ref{Kind: assetref.KindURL, URL: "https://example.com/a.png", Hash: b.Hash}, b); !errors.Is(err, errs.ErrInvalidRef) {
		t.Fatalf("AssetFetched of a url ref: %v", err)
	}
	idbcheck.Check(t, d.Name(), checked)
}
