//go:build js && wasm

package idb

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/idbcheck"
)

// assetUsers reads the users the asset record of hash lists.
func assetUsers(t *testing.T, d *DB, hash string) []string {
	t.Helper()
	var out []string
	err := d.View(testCtx(t), func(tx *Tx) error {
		s, err := tx.Side(StoreAssets)
		if err != nil {
			return err
		}
		recs, err := s.GetRecords([]string{hash})
		if err != nil || recs[0] == nil {
			return err
		}
		a, err := assetref.RecordFromStored(recs[0].Props, recs[0].Body)
		for _, u := range a.Users {
			out = append(out, u.String())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// opfsRef is a tracked ref to bytes that would be in OPFS.
func opfsRef(content string) assetref.Ref {
	return assetref.Ref{Kind: assetref.KindOPFS, Path: "atelier/assets/image/" + graph.NewID(),
		MIME: "image/png", Bytes: int64(len(content)), Hash: assetref.HashBytes([]byte(content))}
}

// TestBackfillAssetUsage: nodes written before schema v2 (no property a,
// no asset records) get both from the v2 data step.
func TestBackfillAssetUsage(t *testing.T) {
	ctx := testCtx(t)
	name := dbName(t)
	defer dropDB(t, name)
	v1 := migrations[:1]
	d, err := open(ctx, name, nil, v1)
	if err != nil {
		t.Fatal(err)
	}
	w, err := d.CreateWorkflow(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	img := opfsRef("old image")
	var ids []string
	// Write node records the way the v1 code did: no property a.
	err = d.Update(ctx, func(tx *Tx) error {
		for i := 0; i < 3; i++ {
			n := graph.Node{ID: graph.NewID(), WorkflowID: w.ID, Type: "image", Version: 1, UpdatedAt: 1}
			if i < 2 {
				n.Result = &graph.Result{Asset: &img}
			}
			body, _ := tx.c.AppendNode(nil, &n)
			ids = append(ids, n.ID)
			if err := tx.PutRecord(storeNodes, Record{Props: map[string]any{"id": n.ID, "workflowId": w.ID, "v": 1.0, "u": 1.0}, Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()

	d, err = Open(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := []string{w.ID + "/" + ids[0], w.ID + "/" + ids[1]}
	sort.Strings(want)
	if got := assetUsers(t, d, img.Hash); !reflect.DeepEqual(got, want) {
		t.Fatalf("backfilled users %v, want %v", got, want)
	}
	err = d.View(ctx, func(tx *Tx) error {
		recs, err := tx.Records(storeNodes)
		if err != nil {
			return err
		}
		for _, r := range recs {
			withAsset := r.Props["id"] == ids[0] || r.Props["id"] == ids[1]
			if a, _ := r.Props["a"].(string); (a == img.Hash) != withAsset {
				return fmt.Errorf("node %v: property a = %v", r.Props["id"], r.Props["a"])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	idbcheck.Check(t, name, decoders)
}
