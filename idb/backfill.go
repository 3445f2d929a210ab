package idb

import (
	"fmt"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/recbody"
)

// nodeAsset is the hash of the tracked asset a node's result uses, or "":
// the plain property a of node records, which the asset registry follows.
func nodeAsset(n *graph.Node) string {
	if n.Result == nil {
		return ""
	}
	h, _ := assetref.Tracked(n.Result.Asset)
	return h
}

// backfillAssetUsage is the data step of schema v2: it marks every node
// record with the hash of the asset its result uses (the plain property a,
// which later writes compare without decoding the body) and builds the
// asset records from the nodes that exist.
func backfillAssetUsage(tx RecordTx) error {
	c := recbody.New()
	nodes, err := tx.Records(storeNodes)
	if err != nil {
		return err
	}
	recs, err := tx.Records(storeAssets)
	if err != nil {
		return err
	}
	existing := map[string]*assetref.Record{}
	for _, r := range recs {
		a, err := assetref.RecordFromStored(r.Props, r.Body)
		if err != nil {
			return &CorruptError{Store: storeAssets, Key: a.Hash, Err: err}
		}
		existing[a.Hash] = &a
	}
	var u assetref.Usage
	for _, r := range nodes {
		var n graph.Node
		if err := c.DecodeNode(r.Body, &n); err != nil {
			return &CorruptError{Store: storeNodes, Key: fmt.Sprint(r.Props["id"]), Err: err}
		}
		h := nodeAsset(&n)
		if h == "" || r.Props["a"] == h {
			continue
		}
		r.Props["a"] = h
		if err := tx.PutRecord(storeNodes, r); err != nil {
			return err
		}
		u.Change("", h, assetref.User{WorkflowID: n.WorkflowID, NodeID: n.ID}, n.Result.Asset)
	}
	for _, h := range u.Hashes() {
		// A record made here gets CreatedAt 0: it is in use, and once it is
		// not, nothing argues for keeping it.
		a := u.Apply(h, existing[h], 0, false)
		if a == nil {
			continue
		}
		props, body, err := assetref.StoredRecord(a)
		if err != nil {
			return err
		}
		if err := tx.PutRecord(storeAssets, Record{Props: props, Body: body}); err != nil {
			return err
		}
	}
	return nil
}
