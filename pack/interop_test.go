package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kzip "github.com/klauspost/compress/zip"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
)

// needTool skips the test unless the command is installed.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if runtime.GOOS == "js" {
		t.Skipf("%s: the browser runs no processes; this interoperability test runs on the host", name)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed, so this interoperability test cannot run (Debian: apt-get install %s)", name, pkg)
	}
	return path
}

var samples struct {
	once sync.Once
	pkgs map[string][]byte
}

// samplePackages returns archives to check with other zip readers: an
// export, one written from parts (PartSource, PartWriter), an export with an abandoned entry (a url original that broke
// half way), archives of the zip writer with zip64 records forced, and
// one with more entries than the classic end record can count. They are
// built once.
func samplePackages(t *testing.T) map[string][]byte {
	t.Helper()
	samples.once.Do(func() { samples.pkgs = buildSamples(t) })
	if samples.pkgs == nil {
		t.Fatal("building the sample packages failed")
	}
	return samples.pkgs
}

func buildSamples(t *testing.T) map[string][]byte {
	f := newFixture(t)
	plain, _ := f.export(t, nil)

	g := urlFixture(t, "ok.jpg", "broken.jpg")
	var abandoned bytes.Buffer
	res, err := Export(context.Background(), &abandoned, g, memstore.New(),
		&ExportOptions{IncludeOriginals: true, KeepFailedAsURL: true, Fetch: server(noise(40000, 11))})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.KeptAsURL) != 1 {
		t.Fatalf("kept as url: %+v", res.KeptAsURL)
	}

	zip64 := func(abort bool) []byte {
		var buf bytes.Buffer
		zw := newZipWriter(&buf, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
		zw.zip64 = true
		for i, e := range []struct {
			name    string
			data    []byte
			deflate bool
		}{
			{"assets/a.bin", noise(70000, 1), false},
			{"assets/b.txt", bytes.Repeat([]byte("zip64 "), 5000), true},
			{"empty.txt", nil, true},
		} {
			ew, err := zw.create(e.name, e.deflate)
			if err != nil {
				t.Fatal(err)
			}
			ew.Write(e.data)
			if abort && i == 1 {
				ew.abort()
				continue
			}
			if err := ew.close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.finish(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	var parts partBuffer
	if _, err := Export(context.Background(), &parts, &f.g, &partSource{Store: f.src}, nil); err != nil {
		t.Fatal(err)
	}
	if parts.parts == 0 {
		t.Fatal("the part export wrote no part")
	}
	pkgs := map[string][]byte{
		"export.genaiw.zip":          plain,
		"export-parts.genaiw.zip":    parts.Bytes(),
		"abandoned-entry.genaiw.zip": abandoned.Bytes(),
		"zip64.zip":                  zip64(false),
		"zip64-abandoned-entry.zip":  zip64(true),
		"with-original.genaiw.zip":   exportWithOriginal(t),
	}
	// Reading 66000 entries three times over is slow in the browser, and
	// what it checks does not depend on where it runs.
	if runtime.GOOS != "js" {
		pkgs["many-entries.zip"] = manyEntries(t)
	}
	return pkgs
}

// exportWithOriginal exports the fixture with its url asset embedded.
func exportWithOriginal(t *testing.T) []byte {
	f := newFixture(t)
	data, _ := f.export(t, &ExportOptions{IncludeOriginals: true, Fetch: func(ctx context.Context, url string) (*Fetched, error) {
		return &Fetched{Body: io.NopCloser(bytes.NewReader(noise(12345, 8))), MIME: "image/jpeg", Size: 12345}, nil
	}})
	return data
}

// manyEntries writes more than 65535 entries, which needs the zip64 end
// records for real.
func manyEntries(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := newZipWriter(&buf, time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	for i := range 66000 {
		ew, err := zw.create("e/"+strconv.Itoa(i), false)
		if err != nil {
			t.Fatal(err)
		}
		ew.Write([]byte{byte(i)})
		if err := ew.close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.finish(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i%10)) + hex.EncodeToString([]byte{byte(i >> 16), byte(i >> 8), byte(i)}))
}

// contents reads every entry with a reader that is not this package's and
// returns the SHA-256 of each, hex.
func contents(t *testing.T, data []byte, which string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	add := func(name string, rc io.ReadCloser, err error) {
		if err != nil {
			t.Fatalf("%s: %s: %v", which, name, err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			t.Fatalf("%s: %s: %v", which, name, err)
		}
		rc.Close()
		sums[name] = hex.EncodeToString(h.Sum(nil))
	}
	switch which {
	case "archive/zip":
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", which, err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			add(f.Name, rc, err)
		}
	case "klauspost/compress/zip":
		zr, err := kzip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", which, err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			add(f.Name, rc, err)
		}
	case "pack":
		z, err := openZip(bytes.NewReader(data), int64(len(data)), 100000)
		if err != nil {
			t.Fatalf("%s: %v", which, err)
		}
		for i := range z.files {
			rc, err := z.open(&z.files[i], 64<<10)
			add(z.files[i].name, rc, err)
		}
	}
	return sums
}

// TestOtherReadersAgree: Go's archive/zip, klauspost's zip and this
// package's reader see the same entries with the same content.
func TestOtherReadersAgree(t *testing.T) {
	for name, data := range samplePackages(t) {
		t.Run(name, func(t *testing.T) {
			want := contents(t, data, "archive/zip")
			for _, which := range []string{"klauspost/compress/zip", "pack"} {
				if got := contents(t, data, which); len(got) != len(want) || !mapsEqual(got, want) {
					t.Errorf("%s sees %d entries, archive/zip %d, or different content", which, len(got), len(want))
				}
			}
			wantNames := map[string][]string{
				"abandoned-entry.genaiw.zip": {WorkflowFile, ManifestFile},
				"zip64-abandoned-entry.zip":  {"assets/a.bin", "empty.txt"},
			}[name]
			if wantNames != nil && len(want) != len(wantNames)+strings.Count(name, "genaiw") {
				t.Errorf("entries %v; want %v and, for an export, the one embedded asset", want, wantNames)
			}
			for _, n := range wantNames {
				if _, ok := want[n]; !ok {
					t.Errorf("entry %s missing", n)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUnzipT: Info-ZIP's unzip -t finds no errors in what Export writes.
func TestUnzipT(t *testing.T) {
	unzip := needTool(t, "unzip", "unzip")
	dir := t.TempDir()
	for name, data := range samplePackages(t) {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(unzip, "-t", writeTemp(t, dir, name, data)).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("No errors detected")) {
				t.Fatalf("unzip -t: %v\n%s", err, tail(out))
			}
		})
	}
}

// TestPythonZipfile: Python's zipfile opens what Export writes, testzip
// checks every entry's CRC-32, and the content it reads is what Go's
// readers read.
func TestPythonZipfile(t *testing.T) {
	python := needTool(t, "python3", "python3")
	const script = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    sums = {i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}
print(json.dumps({"bad": bad, "sums": sums}))
`
	dir := t.TempDir()
	for name, data := range samplePackages(t) {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(python, "-c", script, writeTemp(t, dir, name, data)).Output()
			if err != nil {
				t.Fatalf("python3: %v\n%s", err, tail(out))
			}
			var res struct {
				Bad  *string
				Sums map[string]string
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%v: %s", err, tail(out))
			}
			if res.Bad != nil {
				t.Errorf("testzip reports a bad entry: %s", *res.Bad)
			}
			if want := contents(t, data, "pack"); !mapsEqual(res.Sums, want) {
				t.Errorf("python reads other entries or content than pack")
			}
		})
	}
}

// TestZipCommandPackage: a package put together by Info-ZIP's zip from a
// manifest, workflow.json and assets/ imports, in several of zip's
// modes.
func TestZipCommandPackage(t *testing.T) {
	zipCmd := needTool(t, "zip", "zip")
	f := newFixture(t)
	data, _ := f.export(t, nil)
	_, files := entries(t, data)
	src := t.TempDir()
	for name, content := range files {
		writeTemp(t, src, name, content)
	}
	for _, flags := range [][]string{
		{"-r", "-X"},       // directory entry assets/, deflated
		{"-r", "-X", "-D"}, // no directory entries
		{"-r", "-X", "-0"}, // everything stored
		{"-r", "-X", "-9"},
		{"-r", "-X", "-fz"}, // zip64 records forced
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "cli.genaiw.zip")
			args := append(append([]string{}, flags...), out, ManifestFile, WorkflowFile, "assets")
			cmd := exec.Command(zipCmd, args...)
			cmd.Dir = src
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("zip %v: %v\n%s", args, err, msg)
			}
			pkg, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			dst := memstore.NewKind(assetref.KindIDB)
			res, err := importBytes(t, pkg, FromStore(dst), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, f, &f.g, res, dst)
		})
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
