package browsertest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atelierstore/atelier/browsertest"
)

// packageFiles is what the npm package ships, and all it ships: the
// modules, the declarations, the wasm module and its precompressed copies,
// Go's runtime support as a module, the bridge, and the licenses of the
// code it includes.
var packageFiles = []string{
	"LICENSE.golang", "LICENSE.hash-wasm", "README.md", "atelier-bridge.js", "atelier.d.ts",
	"atelier.mjs", "atelier.wasm", "atelier.wasm.br", "atelier.wasm.gz", "client.mjs",
	"engine.mjs", "errors.mjs", "package.json", "wasm_exec.mjs", "worker.mjs",
}

// TestNPMPackage builds the npm package with make package, checks what it
// ships, installs the packed tarball into a small app outside the checkout
// (testdata/npmapp: Vite and esbuild pinned in its package-lock.json),
// builds the app with Vite and with esbuild, and runs each build from its
// own origin in Chromium, with the engine in its worker and in the page: the
// first visit stores a workflow, a node and an asset, the reload reads them
// back. It fails if a bundle cannot find the wasm module or the worker. The
// same app also loads the package unbundled from another origin, as from a
// CDN, and the README's JavaScript quick start runs as written in both
// builds.
func TestNPMPackage(t *testing.T) {
	for _, tool := range []string{"make", "node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the npm package test needs %s on PATH (make test installs Node.js and npm: scripts/deps.sh node)", tool)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	start := time.Now()
	build := filepath.Join(dir, "build")
	run(t, root, "make", "--no-print-directory", "-s", "package", "BUILD="+build)
	tarballs, _ := filepath.Glob(filepath.Join(build, "atelierstore-atelier-*.tgz"))
	if len(tarballs) != 1 {
		t.Fatalf("make package left %d tarballs in %s, want 1", len(tarballs), build)
	}
	t.Logf("make package: %v", time.Since(start).Round(time.Millisecond))

	t.Run("files", func(t *testing.T) {
		out := run(t, filepath.Join(build, "npm"), "npm", "pack", "--dry-run", "--json", "--loglevel=error")
		var packs []struct {
			Files []struct {
				Path string `json:"path"`
				Size int    `json:"size"`
			} `json:"files"`
			Size         int `json:"size"`
			UnpackedSize int `json:"unpackedSize"`
		}
		if err := json.Unmarshal(out, &packs); err != nil || len(packs) != 1 {
			t.Fatalf("npm pack --dry-run --json: %v\n%s", err, out)
		}
		var got []string
		for _, f := range packs[0].Files {
			got = append(got, f.Path)
		}
		slices.Sort(got)
		if !slices.Equal(got, packageFiles) {
			t.Errorf("the package ships\n  %v\nwant\n  %v", got, packageFiles)
		}
		t.Logf("tarball %d bytes, unpacked %d", packs[0].Size, packs[0].UnpackedSize)
	})

	// The app, outside the checkout, with the pinned bundlers and the
	// tarball installed as an app installs a package.
	app := filepath.Join(dir, "app")
	if err := os.CopyFS(app, os.DirFS(filepath.Join("testdata", "npmapp"))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "quickstart.js"), readmeQuickStart(t, root), 0o644); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	run(t, app, "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error")
	run(t, app, "npm", "install", "--no-save", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarballs[0])
	t.Logf("npm ci and install: %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	run(t, app, "node", "node_modules/vite/bin/vite.js", "build", "--outDir", "dist-vite", "--emptyOutDir")
	t.Logf("vite build: %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	run(t, app, "node", "esbuild.mjs", "dist-esbuild")
	t.Logf("esbuild: %v", time.Since(start).Round(time.Millisecond))

	// Vite shipped the module and the worker as its own files.
	viteFiles := listFiles(t, filepath.Join(app, "dist-vite"))
	for _, want := range []string{`^assets/atelier-[^/]*\.wasm$`, `^assets/worker-[^/]*\.js$`, `^assets/atelier-bridge-[^/]*\.js$`} {
		if !slices.ContainsFunc(viteFiles, regexp.MustCompile(want).MatchString) {
			t.Errorf("vite build: no file matches %s in %v", want, viteFiles)
		}
	}

	pkgDir := filepath.Join(app, "node_modules", "@atelierstore", "atelier")
	cdn := httptest.NewServer(withCORS(staticFiles(pkgDir)))
	t.Cleanup(cdn.Close)
	origins := map[string]*httptest.Server{
		"vite":    httptest.NewServer(staticFiles(filepath.Join(app, "dist-vite"))),
		"esbuild": httptest.NewServer(staticFiles(filepath.Join(app, "dist-esbuild"))),
		"cdn":     httptest.NewServer(cdnPage(app, cdn.URL)),
	}
	for _, s := range origins {
		t.Cleanup(s.Close)
	}

	b := browsertest.Start(t, nil)
	for _, build := range []string{"vite", "esbuild", "cdn"} {
		for _, mode := range []string{"worker", "page"} {
			t.Run(build+"/"+mode, func(t *testing.T) {
				tab := b.NewTab(t, build+"-"+mode)
				defer tab.Close()
				page := origins[build].URL + "/index.html?mode=" + mode
				tab.Navigate(t, page)
				wrote := appResult(t, tab)
				if !wrote.OK || wrote.Step != "wrote" {
					t.Fatalf("first visit: %+v", wrote)
				}
				tab.Reload(t)
				read := appResult(t, tab)
				if !read.OK || read.Step != "read" {
					t.Fatalf("after the reload: %+v", read)
				}
				if read.Workflow != "Bundled" || !slices.Equal(read.Nodes, []string{"Idea"}) ||
					read.AssetBytes != 70000 || !read.AssetSame || read.Missing != "NotFound" {
					t.Errorf("after the reload, read back %+v", read)
				}
				if mode == "page" {
					// The page fetched the module itself: from where the build put it.
					if !slices.ContainsFunc(read.Fetched, func(u string) bool { return strings.Contains(u, ".wasm") }) {
						t.Errorf("the page fetched no .wasm: %v", read.Fetched)
					}
				}
			})
		}
	}

	for _, build := range []string{"vite", "esbuild"} {
		t.Run(build+"/readme", func(t *testing.T) {
			tab := b.NewTab(t, build+"-readme")
			defer tab.Close()
			tab.Navigate(t, origins[build].URL+"/quickstart.html")
			want := []string{"Storyboard 2 nodes, 1 edge", "asset: <svg/>", "package: application/zip"}
			tab.WaitFor(t, `(want) => want.every((w) => globalThis.logged?.includes(w)) || globalThis.logged?.some((l) => l.startsWith("error:"))`,
				time.Minute, want)
			logged := browsertest.Eval[[]string](t, tab, `globalThis.logged`)
			for _, w := range want {
				if !slices.Contains(logged, w) {
					t.Errorf("the README quick start logged %q, want a line %q", logged, w)
				}
			}
			if !slices.Contains(logged, "live: Idea, Hero shot") {
				t.Errorf("the README quick start's live query logged %q, want a line %q", logged, "live: Idea, Hero shot")
			}
		})
	}
}

// npmAppResult is what testdata/npmapp/main.js resolves globalThis.appResult to.
type npmAppResult struct {
	OK         bool     `json:"ok"`
	Error      string   `json:"error"`
	Step       string   `json:"step"`
	Workflow   string   `json:"workflow"`
	Nodes      []string `json:"nodes"`
	AssetBytes int      `json:"assetBytes"`
	AssetSame  bool     `json:"assetSame"`
	Missing    string   `json:"missing"`
	Fetched    []string `json:"fetched"`
}

func appResult(t *testing.T, tab *browsertest.Tab) npmAppResult {
	t.Helper()
	return browsertest.Eval[npmAppResult](t, tab, `globalThis.appResult`)
}

// readmeQuickStart returns the first js block of README.md's JavaScript
// section, as a user would paste it.
func readmeQuickStart(t *testing.T, root string) []byte {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := bytes.Cut(readme, []byte("\n## JavaScript\n"))
	if !ok {
		t.Fatal("README.md has no JavaScript section")
	}
	_, block, ok := bytes.Cut(section, []byte("\n```js\n"))
	if !ok {
		t.Fatal("README.md's JavaScript section has no js block")
	}
	code, _, ok := bytes.Cut(block, []byte("\n```\n"))
	if !ok {
		t.Fatal("README.md's js block does not end")
	}
	if !bytes.Contains(code, []byte(`from "@atelierstore/atelier"`)) {
		t.Fatal("README.md's quick start does not import the package")
	}
	return append(code, '\n')
}

// run runs name with args in dir and returns its standard output; it fails
// the test with both outputs if the command fails.
func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s%s", name, strings.Join(args, " "), dir, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// staticFiles serves dir as a static host would, with the types a browser
// needs for modules and streaming compilation.
func staticFiles(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path.Ext(r.URL.Path) {
		case ".js", ".mjs":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		case ".wasm":
			w.Header().Set("Content-Type", "application/wasm")
		}
		w.Header().Set("Cache-Control", "no-store")
		files.ServeHTTP(w, r)
	})
}

// withCORS lets pages of any origin fetch and import what h serves, as a
// CDN does.
func withCORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h.ServeHTTP(w, r)
	})
}

// cdnPage serves the app unbundled, with an import map that resolves the
// package to its directory on the CDN origin.
func cdnPage(app, cdnURL string) http.Handler {
	files := staticFiles(app)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/index.html" {
			files.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>atelier from a CDN</title><link rel="icon" href="data:,">
<script type="importmap">{"imports": {"@atelierstore/atelier": %q}}</script>
<script type="module" src="./main.js"></script>
</head><body><p id="out">running…</p></body></html>
`, cdnURL+"/atelier.mjs")
	})
}
