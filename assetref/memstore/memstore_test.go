package memstore_test

import (
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/assetref/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, kind := range []assetref.Kind{assetref.KindEmbedded, assetref.KindIDB, assetref.KindFSHandle, assetref.KindOPFS} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) assetref.Store {
				s := memstore.NewKind(kind)
				if s.Kind() != kind {
					t.Fatalf("NewKind(%s).Kind() = %s", kind, s.Kind())
				}
				return s
			})
		})
	}
}

func TestNewIsEmbedded(t *testing.T) {
	t.Parallel()
	if k := memstore.New().Kind(); k != assetref.KindEmbedded {
		t.Fatalf("New().Kind() = %s, want embedded", k)
	}
}

func TestNewKindPanics(t *testing.T) {
	t.Parallel()
	for _, kind := range []assetref.Kind{assetref.KindURL, "", "ftp"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewKind(%q) did not panic", kind)
				}
			}()
			memstore.NewKind(kind)
		}()
	}
}
