package browsertest_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/browsertest"
)

// TestPackageOfMediaThroughTheJSAPI: a workflow whose media assets take
// the Blob paths of exportWorkflow and importPackage (stored entries: a
// video and an image of a few MiB) travels to another profile
// byte-identical, the package passes unzip -t and Python's zipfile, and
// the same package with one byte of the video changed is refused with an
// InvalidPackage error that leaves the other profile as it was.
func TestPackageOfMediaThroughTheJSAPI(t *testing.T) {
	b := browsertest.Start(t, nil)
	a := b.NewTab(t, "A")
	a.Open(t, "media")
	type made struct {
		ID     string            `json:"id"`
		Hashes map[string]string `json:"hashes"` // by node title
		Zip    string            `json:"zip"`
	}
	m := browsertest.Eval[made](t, a, `async (put) => {
		const w = await db.createWorkflow("Media");
		const video = await (eval(put))((3 << 20) + 7, 11, "video/mp4");
		const image = await (eval(put))((1 << 20) + 5, 12, "image/webp");
		await db.setNodes(w.id, [
			{ type: "video", title: "video", position: { x: 0, y: 0 }, result: { asset: video } },
			{ type: "image", title: "image", position: { x: 300, y: 0 }, result: { asset: image } },
		]);
		const zip = new Uint8Array(await (await db.exportWorkflow(w.id)).arrayBuffer());
		let s = "";
		for (let i = 0; i < zip.length; i += 0x8000) s += String.fromCharCode(...zip.subarray(i, i + 0x8000));
		return { id: w.id, hashes: { video: video.hash, image: image.hash }, zip: btoa(s) };
	}`, putBytes)
	data, err := base64.StdEncoding.DecodeString(m.Zip)
	if err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "media.genaiw.zip")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("unzip", "-t", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	py := `import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.exit(1 if z.testzip() else 0)`
	if out, err := exec.Command("python3", "-c", py, file).CombinedOutput(); err != nil {
		t.Fatalf("python zipfile: %v\n%s", err, out)
	}

	// The video's entry is stored: change one byte in the middle of it.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Assets []struct {
			MIME  string `json:"mime"`
			File  string `json:"file"`
			Bytes int64  `json:"bytes"`
		} `json:"assets"`
	}
	corrupt := bytes.Clone(data)
	for _, f := range zr.File {
		if f.Name != "manifest.json" {
			continue
		}
		rc, _ := f.Open()
		raw, _ := io.ReadAll(rc)
		rc.Close()
		if err := json.Unmarshal(raw, &manifest); err != nil {
			t.Fatal(err)
		}
	}
	changed := false
	for _, asset := range manifest.Assets {
		if asset.MIME != "video/mp4" {
			continue
		}
		for _, f := range zr.File {
			if f.Name == asset.File && f.Method == zip.Store {
				at, err := f.DataOffset()
				if err != nil {
					t.Fatal(err)
				}
				corrupt[at+asset.Bytes/2] ^= 0x40
				changed = true
			}
		}
	}
	if !changed {
		t.Fatalf("no stored video entry in %+v", manifest)
	}
	b.AddFile(t, "/media.genaiw.zip", data)
	b.AddFile(t, "/corrupt.genaiw.zip", corrupt)

	other := b.NewProfile(t).NewTab(t, "B")
	other.Open(t, "media")
	stored := `async () => JSON.stringify([(await db.listWorkflows()).length, (await db.listAssets()).length, await (eval(files))()])`
	empty := browsertest.Eval[string](t, other, `(files) => (`+stored+`)()`, opfsFiles)
	_, err = browsertest.TryEval[any](t.Context(), other, `async () => db.importPackage(await (await fetch("/corrupt.genaiw.zip")).blob())`)
	if browsertest.ErrorName(err) != "InvalidPackage" {
		t.Fatalf("importing the corrupt package: %v; want an InvalidPackage error", err)
	}
	if after := browsertest.Eval[string](t, other, `(files) => (`+stored+`)()`, opfsFiles); after != empty {
		t.Fatalf("a refused import changed the profile: before %s, after %s", empty, after)
	}

	got := browsertest.Eval[map[string]string](t, other, `async (id) => {
		await db.importPackage(await (await fetch("/media.genaiw.zip")).blob());
		const g = await db.loadWorkflow(id);
		const out = {};
		for (const n of g.nodes) {
			const blob = await db.assetBlob(n.result.asset);
			const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
			out[n.title] = "sha256-" + btoa(String.fromCharCode(...d));
		}
		return out;
	}`, m.ID)
	for title, want := range m.Hashes {
		if got[title] != want {
			t.Errorf("imported %s hashes to %s, want %s", title, got[title], want)
		}
	}
}
