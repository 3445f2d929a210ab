package browsertest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// opfsFiles lists the files under atelier/ in the tab's OPFS.
const opfsFiles = `async () => {
	const out = [];
	const walk = async (dir, path) => {
		for await (const [name, h] of dir.entries()) {
			if (h.kind === "directory") await walk(h, path + name + "/");
			else out.push(path + name);
		}
	};
	const root = await navigator.storage.getDirectory();
	try { await walk(await root.getDirectoryHandle("atelier"), ""); } catch (e) { if (e.name !== "NotFoundError") throw e; }
	return out;
}`

// putBytes stores n pseudo-random bytes as an asset and returns its ref.
const putBytes = `async (n, seed, mime) => {
	const b = new Uint8Array(n);
	let s = seed;
	for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; b[i] = s >>> 24; }
	return db.putAsset(new Blob([b], { type: mime }));
}`

type assetRef struct {
	Kind  string `json:"kind"`
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
	Hash  string `json:"hash"`
	MIME  string `json:"mime"`
}

// TestAssetWriteOverQuota: an asset larger than what the quota leaves is
// refused with QuotaExceeded, leaves no file behind, and the database goes
// on working; with the quota back, the same write succeeds.
func TestAssetWriteOverQuota(t *testing.T) {
	b := browsertest.Start(t, nil)
	tab := b.NewTab(t, "A")
	tab.Open(t, "assetquota")
	small := browsertest.Eval[assetRef](t, tab, putBytes, 10_000, 1, "image/png")
	before := browsertest.Eval[[]string](t, tab, opfsFiles)

	b.OverrideQuota(t, b.Origin(), 1)
	_, err := browsertest.TryEval[assetRef](t.Context(), tab, putBytes, 4<<20, 2, "video/mp4")
	if browsertest.ErrorName(err) != "QuotaExceeded" {
		t.Fatalf("a 4 MiB asset over the quota: got %v, want QuotaExceeded", err)
	}
	after := browsertest.Eval[[]string](t, tab, opfsFiles)
	if strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("files before the failed write %v, after %v", before, after)
	}
	// The database is still usable (IndexedDB notices the override only
	// later), and the asset stored before is intact.
	browsertest.Eval[workflow](t, tab, `db.createWorkflow("still works")`)
	n := browsertest.Eval[int](t, tab, `async (ref) => (await db.assetBlob(ref)).size`, small)
	if n != 10_000 {
		t.Fatalf("the earlier asset reads %d bytes", n)
	}

	b.ClearQuota(t, b.Origin())
	big := browsertest.Eval[assetRef](t, tab, putBytes, 4<<20, 2, "video/mp4")
	if big.Bytes != 4<<20 || big.Kind != "opfs" {
		t.Fatalf("after the quota came back: %+v", big)
	}
}

// exportedWorkflow makes a workflow with an image asset in the tab and
// returns its id, the asset's ref and the exported package's bytes.
func exportedWorkflow(t *testing.T, tab *browsertest.Tab) (string, assetRef, []byte) {
	t.Helper()
	type made struct {
		ID  string   `json:"id"`
		Ref assetRef `json:"ref"`
		Zip string   `json:"zip"`
	}
	m := browsertest.Eval[made](t, tab, `async (put) => {
		const w = await db.createWorkflow("Travelling workflow");
		const ref = await (eval(put))(300000, 7, "image/png");
		const [a, b] = await db.setNodes(w.id, [
			{ type: "image-gen", title: "Render", position: { x: 10, y: 20 }, result: { asset: ref } },
			{ type: "upscale", title: "Upscale", position: { x: 300, y: 20 }, config: { factor: 2 } },
		]);
		await db.setEdges(w.id, [{ source: a.id, target: b.id }]);
		const zip = await db.exportWorkflow(w.id);
		const bytes = new Uint8Array(await zip.arrayBuffer());
		let s = "";
		for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
		return { id: w.id, ref, zip: btoa(s) };
	}`, putBytes)
	data, err := base64.StdEncoding.DecodeString(m.Zip)
	if err != nil {
		t.Fatal(err)
	}
	return m.ID, m.Ref, data
}

// TestPackageTravelsToAnotherProfile: a workflow exported in one profile
// is a valid zip file for the usual tools, and imported into a fresh
// profile it is the same workflow with byte-identical assets.
func TestPackageTravelsToAnotherProfile(t *testing.T) {
	b := browsertest.Start(t, nil)
	a := b.NewTab(t, "A")
	a.Open(t, "travel")
	id, ref, zip := exportedWorkflow(t, a)

	file := filepath.Join(t.TempDir(), "workflow.genaiw.zip")
	if err := os.WriteFile(file, zip, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("unzip", "-t", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	py := `import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); bad = z.testzip(); print(sorted(z.namelist())); sys.exit(1 if bad else 0)`
	if out, err := exec.Command("python3", "-c", py, file).CombinedOutput(); err != nil {
		t.Fatalf("python zipfile: %v\n%s", err, out)
	}

	b.AddFile(t, "/travel.genaiw.zip", zip)
	other := b.NewProfile(t).NewTab(t, "B")
	other.Open(t, "travel")
	if n := browsertest.Eval[int](t, other, `async () => (await db.listWorkflows()).length`); n != 0 {
		t.Fatalf("the fresh profile already has %d workflows", n)
	}
	type imported struct {
		Workflow workflow `json:"workflow"`
		NewIDs   bool     `json:"newIds"`
	}
	var progress int
	got := browsertest.Eval[imported](t, other, `async () => {
		const file = await (await fetch("/travel.genaiw.zip")).blob();
		let calls = 0;
		const r = await db.importPackage(file, { onProgress: () => calls++ });
		globalThis.progressCalls = calls;
		return r;
	}`)
	progress = browsertest.Eval[int](t, other, `() => globalThis.progressCalls`)
	if got.Workflow.ID != id || got.NewIDs || progress == 0 {
		t.Fatalf("imported %+v (progress calls %d), want workflow %s with its ids", got, progress, id)
	}
	// The same graph (loaded in both profiles, assets aside) and the same
	// asset bytes.
	strip := `(id) => db.loadWorkflow(id).then((g) => JSON.stringify({
		w: g.workflow.name, n: g.nodes.map((n) => [n.id, n.type, n.title, n.position, n.config ?? null, n.result?.asset?.hash ?? null]),
		e: g.edges.map((e) => [e.id, e.source, e.target]) }))`
	want := browsertest.Eval[string](t, a, strip, id)
	if have := browsertest.Eval[string](t, other, strip, id); have != want {
		t.Fatalf("graph differs:\nexported %s\nimported %s", want, have)
	}
	digest := `async (id) => {
		const g = await db.loadWorkflow(id);
		const blob = await db.assetBlob(g.nodes[0].result.asset);
		const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
		return "sha256-" + btoa(String.fromCharCode(...d));
	}`
	if h := browsertest.Eval[string](t, other, digest, id); h != ref.Hash {
		t.Fatalf("imported asset hashes to %s, want %s", h, ref.Hash)
	}
}

// TestImportOfAPackageMadeWithZip: a package assembled by the zip command
// from a hand-written manifest imports in the browser.
func TestImportOfAPackageMadeWithZip(t *testing.T) {
	if _, err := exec.LookPath("zip"); err != nil {
		t.Skip("the zip command is not installed (apt-get install zip); make test installs it (scripts/deps.sh zip)")
	}
	dir := t.TempDir()
	img := []byte("\x89PNG\r\n\x1a\n not really a PNG, but bytes all the same")
	sum := sha256.Sum256(img)
	hash := "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	wf, n1, n2, e1 := "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2b10", "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2b11", "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2b12", "0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2b13"
	workflowJSON := fmt.Sprintf(`{"workflow":{"id":%q,"name":"Hand made","viewport":{"x":0,"y":0,"zoom":1},"createdAt":1,"updatedAt":1,"version":1},
		"nodes":[{"id":%q,"workflowId":%q,"type":"image","position":{"x":0,"y":0},"result":{"asset":{"kind":"embedded","id":"hero","mime":"image/png","bytes":%d,"hash":%q}},"updatedAt":1,"version":1},
		         {"id":%q,"workflowId":%q,"type":"text","position":{"x":200,"y":0},"updatedAt":1,"version":1}],
		"edges":[{"id":%q,"workflowId":%q,"source":%q,"target":%q,"updatedAt":1,"version":1}]}`,
		wf, n1, wf, len(img), hash, n2, wf, e1, wf, n1, n2)
	manifest, _ := json.Marshal(map[string]any{
		"packageVersion": 1,
		"app":            map[string]any{"name": "hand", "version": "1.0.0"},
		"createdAt":      time.Now().UTC().Format(time.RFC3339),
		"workflow":       map[string]any{"id": wf, "file": "workflow.json", "name": "Hand made"},
		"assets": []any{map[string]any{"id": "hero", "origin": "embedded", "mime": "image/png",
			"bytes": len(img), "hash": hash, "file": "assets/hero.png"}},
	})
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"manifest.json": manifest, "workflow.json": []byte(workflowJSON), "assets/hero.png": img} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("zip", "-q", "-r", "-X", "-D", "hand.genaiw.zip", "manifest.json", "workflow.json", "assets")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, out)
	}
	zipped, err := os.ReadFile(filepath.Join(dir, "hand.genaiw.zip"))
	if err != nil {
		t.Fatal(err)
	}

	b := browsertest.Start(t, nil)
	b.AddFile(t, "/hand.genaiw.zip", zipped)
	tab := b.NewTab(t, "A")
	tab.Open(t, "hand")
	type result struct {
		Name   string   `json:"name"`
		Nodes  int      `json:"nodes"`
		Edges  int      `json:"edges"`
		Asset  assetRef `json:"asset"`
		Length int      `json:"length"`
	}
	r := browsertest.Eval[result](t, tab, `async () => {
		const file = await (await fetch("/hand.genaiw.zip")).blob();
		const g = await db.importPackage(file);
		const loaded = await db.loadWorkflow(g.workflow.id);
		const asset = loaded.nodes[0].result.asset;
		return { name: loaded.workflow.name, nodes: loaded.nodes.length, edges: loaded.edges.length,
			asset, length: (await db.assetBlob(asset)).size };
	}`)
	if r.Name != "Hand made" || r.Nodes != 2 || r.Edges != 1 || r.Asset.Kind != "opfs" || r.Asset.Hash != hash || r.Length != len(img) {
		t.Fatalf("imported %+v", r)
	}
}
