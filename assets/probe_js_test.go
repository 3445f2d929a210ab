//go:build js && wasm

package assets

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/idbblob"
)

// TestProbesChooseTheBackend: Open picks where new assets go by what its
// probes found, and says why; each fallback stores and reads back with
// Put and PutBlob. Chromium passes both real probes, so the failures are
// forced (testProbes); the first case runs the real ones.
func TestProbesChooseTheBackend(t *testing.T) {
	refused := errors.New("refused by the test")
	for _, tc := range []struct {
		name        string
		force       *struct{ OPFS, IDBBlobs error }
		backend     Backend
		kind        assetref.Kind
		reason      string // in Capabilities.Reason
		values      string // Capabilities.IDBValues
		valuesWhy   string
		opfsForRead bool // the OPFS store stays, for the assets already in it
	}{
		{"real probes", nil, BackendOPFS, assetref.KindOPFS, "OPFS took a test write", "", "", true},
		{"OPFS refuses", &struct{ OPFS, IDBBlobs error }{OPFS: refused}, BackendIDB, assetref.KindIDB,
			"OPFS refused a test write (refused by the test)", idbblob.ValuesBlob, "", true},
		{"OPFS and IndexedDB Blobs refuse", &struct{ OPFS, IDBBlobs error }{OPFS: refused, IDBBlobs: refused}, BackendIDB, assetref.KindIDB,
			"OPFS refused a test write", idbblob.ValuesBytes, "refused by the test", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			testProbes = tc.force
			_, lib, _ := setup(t, Options{})
			testProbes = nil
			c, err := lib.Capabilities(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Backend != tc.backend || !strings.Contains(c.Reason, tc.reason) || c.IDBValues != tc.values ||
				c.IDBValuesReason != tc.valuesWhy || c.OPFS != tc.opfsForRead {
				t.Fatalf("capabilities %+v", c)
			}
			data := bytesOf(300 << 10)
			ref, err := lib.PutBlob(ctx, jsBlob(data, "image/png"), assetref.Hint{})
			if err != nil || ref.Kind != tc.kind {
				t.Fatalf("PutBlob: %+v %v", ref, err)
			}
			other := bytesOf(200 << 10)
			ref2, err := lib.Put(ctx, bytes.NewReader(other), assetref.Hint{})
			if err != nil || ref2.Kind != tc.kind {
				t.Fatalf("Put: %+v %v", ref2, err)
			}
			for _, x := range []struct {
				ref  assetref.Ref
				want []byte
			}{{ref, data}, {ref2, other}} {
				if got := readAll(t, lib, x.ref); !bytes.Equal(got, x.want) {
					t.Fatalf("read %s back: %d bytes, want %d", x.ref.Kind, len(got), len(x.want))
				}
				b, err := lib.Blob(ctx, x.ref)
				if err != nil || b.Size() != int64(len(x.want)) {
					t.Fatalf("Blob of %s: %v", x.ref.Kind, err)
				}
			}
		})
	}
}
