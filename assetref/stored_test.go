package assetref

import "testing"

// TestOldRecordsHaveNoSyncState: records written without the sync
// properties (by builds before them) read as not uploaded, local, unused.
func TestOldRecordsHaveNoSyncState(t *testing.T) {
	a := &Record{Hash: "sha256-x", Ref: Ref{Kind: KindOPFS, Path: "atelier/assets/image/x", MIME: "image/png", Bytes: 3, Hash: HashBytes([]byte("old"))}, CreatedAt: 5}
	props, body, err := StoredRecord(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"up", "remote", "used"} {
		if _, ok := props[k]; ok {
			t.Errorf("a record without sync state has property %q", k)
		}
	}
	a.Uploaded, a.Remote, a.UsedAt = 7, true, 9
	if props, body, err = StoredRecord(a); err != nil {
		t.Fatal(err)
	}
	back, err := RecordFromStored(props, body)
	if err != nil || back.Uploaded != 7 || !back.Remote || back.UsedAt != 9 || back.LastUse() != 9 {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

// Users survive the stored form, sorted; workflows list each once.
func TestStoredRecordUsers(t *testing.T) {
	wf, n1, n2 := "0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002", "0190a000-0000-7000-8000-000000000003"
	a := &Record{Hash: "sha256-y", Ref: Ref{Kind: KindIDB, BlobKey: "k", MIME: "image/png", Bytes: 1, Hash: HashBytes([]byte("y"))},
		Users: []User{{wf, n2}, {wf, n1}}}
	props, body, err := StoredRecord(a)
	if err != nil {
		t.Fatal(err)
	}
	if wfs := props["workflows"].([]any); len(wfs) != 1 || wfs[0] != wf {
		t.Fatalf("workflows %v", wfs)
	}
	back, err := RecordFromStored(props, body)
	if err != nil || len(back.Users) != 2 || back.Users[0].NodeID != n1 || back.Users[1].NodeID != n2 {
		t.Fatalf("users %+v %v", back.Users, err)
	}
	if _, err := RecordFromStored(props, []byte{0xc1}); err == nil {
		t.Fatal("a body that does not decode was accepted")
	}
}

func TestUsage(t *testing.T) {
	wf := "0190a000-0000-7000-8000-000000000001"
	u1 := User{wf, "0190a000-0000-7000-8000-000000000002"}
	u2 := User{wf, "0190a000-0000-7000-8000-000000000003"}
	ref := Ref{Kind: KindOPFS, Path: "p", MIME: "image/png", Bytes: 1, Hash: "sha256-a"}
	var u Usage
	u.Change("", "sha256-a", u1, &ref)
	u.Change("", "sha256-a", u2, &ref)
	u.Change("sha256-b", "", u1, nil)
	u.Change("sha256-c", "sha256-c", u1, nil) // no change
	if got := u.Hashes(); len(got) != 2 || got[0] != "sha256-a" || got[1] != "sha256-b" {
		t.Fatalf("hashes %v", got)
	}
	rec := u.Apply("sha256-a", nil, 42, true)
	if rec == nil || !rec.Remote || rec.CreatedAt != 42 || len(rec.Users) != 2 || rec.Ref != ref {
		t.Fatalf("new record %+v", rec)
	}
	if u.Apply("sha256-b", nil, 1, false) != nil {
		t.Fatal("a removal from an unknown asset made a record")
	}
	b := &Record{Hash: "sha256-b", Users: []User{u1, u2}}
	if rec := u.Apply("sha256-b", b, 1, false); len(rec.Users) != 1 || rec.Users[0] != u2 {
		t.Fatalf("after removal %+v", rec)
	}
}
