package idb

import (
	"errors"
	"reflect"
	"testing"
)

var latest = len(migrations)

func TestLibraryMigrationsAreValid(t *testing.T) {
	if err := checkMigrations(migrations); err != nil {
		t.Fatal(err)
	}
	stores, err := allStores(migrations)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{storeWorkflows, storeNodes, storeEdges, storeAssets, storeKV, storeBlobs, storeBlobMeta, storeHandles, storeOplog}
	if !reflect.DeepEqual(stores, want) {
		t.Fatalf("stores %v, want %v", stores, want)
	}
	rec := &schemaRecorder{}
	for _, m := range migrations {
		if err := m.Structure(rec); err != nil {
			t.Fatal(err)
		}
	}
	for s, ix := range map[string][]string{
		storeNodes:    {indexWorkflowID},
		storeEdges:    {indexWorkflowID},
		storeBlobMeta: {indexHash},
		storeAssets:   {indexWorkflows},
		storeOplog:    {indexEntity},
	} {
		if !reflect.DeepEqual(rec.indexes[s], ix) {
			t.Errorf("%s indexes %v, want %v", s, rec.indexes[s], ix)
		}
	}
}

func TestCheckMigrations(t *testing.T) {
	step := func(Schema) error { return nil }
	for _, tc := range []struct {
		name string
		ms   []Migration
		ok   bool
	}{
		{"empty", nil, false},
		{"one", []Migration{{Version: 1, Structure: step}}, true},
		{"gap", []Migration{{Version: 1, Structure: step}, {Version: 3, Structure: step}}, false},
		{"starts at 2", []Migration{{Version: 2, Structure: step}}, false},
		{"out of order", []Migration{{Version: 2, Structure: step}, {Version: 1, Structure: step}}, false},
		{"no steps", []Migration{{Version: 1}}, false},
		{"data only", []Migration{{Version: 1, Structure: step}, {Version: 2, Data: func(RecordTx) error { return nil }}}, true},
	} {
		if err := checkMigrations(tc.ms); (err == nil) != tc.ok {
			t.Errorf("%s: checkMigrations = %v", tc.name, err)
		}
	}
}

func TestPlanning(t *testing.T) {
	s := func(Schema) error { return nil }
	d := func(RecordTx) error { return nil }
	ms := []Migration{
		{Version: 1, Structure: s},
		{Version: 2, Structure: s, Data: d},
		{Version: 3, Data: d},
		{Version: 4, Structure: s},
	}
	versions := func(ms []Migration) []int {
		var out []int
		for _, m := range ms {
			out = append(out, m.Version)
		}
		return out
	}
	for _, tc := range []struct {
		from, to int
		want     []int
	}{
		{0, 4, []int{1, 2, 4}},
		{1, 4, []int{2, 4}},
		{2, 3, nil},
		{4, 4, nil},
	} {
		if got := versions(structural(ms, tc.from, tc.to)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("structural(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	for _, tc := range []struct {
		done, to int
		want     []int
	}{
		{0, 4, []int{2, 3}},
		{2, 4, []int{3}},
		{3, 4, nil},
		{1, 2, []int{2}},
	} {
		if got := versions(pendingData(ms, tc.done, tc.to)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("pendingData(%d, %d) = %v, want %v", tc.done, tc.to, got, tc.want)
		}
	}
}

func TestAllStoresFollowsHistory(t *testing.T) {
	ms := append([]Migration(nil), migrations...)
	ms = append(ms,
		Migration{Version: latest + 1, Structure: func(s Schema) error { return s.CreateStore("extra", "key") }},
		Migration{Version: latest + 2, Structure: func(s Schema) error { return s.DeleteStore(storeHandles) }},
	)
	stores, err := allStores(ms)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{storeWorkflows, storeNodes, storeEdges, storeAssets, storeKV, storeBlobs, storeBlobMeta, storeOplog, "extra"}
	if !reflect.DeepEqual(stores, want) {
		t.Fatalf("stores %v, want %v", stores, want)
	}
	bad := append(ms, Migration{Version: latest + 3, Structure: func(s Schema) error { return s.CreateStore("extra", "") }})
	if _, err := allStores(bad); err == nil {
		t.Fatal("creating an existing store was not caught")
	}
	boom := errors.New("boom")
	if _, err := allStores([]Migration{{Version: 1, Structure: func(Schema) error { return boom }}}); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}
