package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestImportSaysWhatIsWrong checks that a rejected package's error names
// the entry and the reason, and that its message says what is wrong in
// words a user can act on.
func TestImportSaysWhatIsWrong(t *testing.T) {
	f := newFixture(t)
	valid, _ := f.export(t, nil)
	base := unpack(t, valid)
	file := embeddedFile(t, base)
	for _, tc := range []struct {
		name   string
		pkg    func(t testing.TB, u *unpacked, valid []byte) []byte
		reason string
		entry  string
		says   []string // substrings of the message
	}{
		{"flat workflow object", edited(flatWorkflow), "InvalidGraph", WorkflowFile,
			[]string{`not in the graph layout`, `expected an object {"workflow": {...}, "nodes": [...], "edges": [...]}`,
				`found an object with the keys "createdAt", "edges", "id", "name", "nodes", "updatedAt", "version", "viewport"`}},
		{"array", edited(func(t testing.TB, u *unpacked) { u.files[WorkflowFile] = []byte(` [{"id": 1}]`) }), "InvalidGraph", WorkflowFile,
			[]string{`not in the graph layout`, `found an array`}},
		{"empty object", edited(func(t testing.TB, u *unpacked) { u.files[WorkflowFile] = []byte(`{}`) }), "InvalidGraph", WorkflowFile,
			[]string{`not in the graph layout`, `found an empty object`}},
		{"many keys", edited(func(t testing.TB, u *unpacked) {
			u.files[WorkflowFile] = []byte(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}`)
		}), "InvalidGraph", WorkflowFile, []string{`found an object with the keys "a", "b", "c", "d", "e", "f", "g", "h", …`}},
		{"nodes an object", workflowEdit(func(g map[string]any) { g["nodes"] = map[string]any{} }), "InvalidGraph", WorkflowFile,
			[]string{`expected "nodes" to be an array`, `found an object`}},
		{"workflow a string", workflowEdit(func(g map[string]any) { g["workflow"] = "wf" }), "InvalidGraph", WorkflowFile,
			[]string{`expected "workflow" to be an object`, `found a string`}},
		{"graph layout, bad id", workflowEdit(func(g map[string]any) { g["workflow"].(map[string]any)["id"] = "wf-1" }), "InvalidGraph", WorkflowFile,
			[]string{`id: must be a canonical UUID`}},
		{"hash mismatch", edited(func(t testing.TB, u *unpacked) { u.files[file] = noise(len(u.files[file]), 77) }), "HashMismatch", file,
			[]string{`hash does not match the manifest`}},
		{"symlink", withMode(embeddedFile, os.ModeSymlink|0o777), "Symlink", file, []string{`entry is a symbolic link`}},
		{"unsafe name", withEntry("../evil.json", []byte("{}")), "UnsafeName", "../evil.json", []string{`dot segment`}},
		{"not a zip", func(testing.TB, *unpacked, []byte) []byte { return []byte("text") }, "NotZip", "", []string{`not a zip archive`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := tc.pkg(t, base.clone(), valid)
			_, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), FromStore(destination(t, f)), nil)
			var pe *PackageError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *PackageError", err)
			}
			if pe.Reason() != tc.reason || pe.Entry != tc.entry {
				t.Errorf("reason %q, entry %q; want %q, %q (%v)", pe.Reason(), pe.Entry, tc.reason, tc.entry, err)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not say %q", err, s)
				}
			}
			if strings.Contains(tc.says[0], "graph layout") && strings.Contains(err.Error(), "UUID") {
				t.Errorf("message %q talks about a field of the graph layout", err)
			}
		})
	}
}

// TestImportRefusesSymlinkFromArchiveZip builds the package with the
// standard library's writer, as `zip --symlinks` stores a link: an entry
// whose content is the link's target and whose external attributes carry
// the mode lrwxrwxrwx. Import and ReadManifest refuse it as a link, and
// nothing is stored.
func TestImportRefusesSymlinkFromArchiveZip(t *testing.T) {
	f := newFixture(t)
	valid, _ := f.export(t, nil)
	u := unpack(t, valid)
	link := embeddedFile(t, u)
	for _, target := range []string{link, ManifestFile} {
		t.Run(target, func(t *testing.T) {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, n := range u.names {
				fh := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
				fh.SetMode(0o644)
				content := u.files[n]
				if n == target {
					fh.SetMode(os.ModeSymlink | 0o777)
					content = []byte("../../../../etc/passwd")
				}
				w, err := zw.CreateHeader(fh)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(content); err != nil {
					t.Fatal(err)
				}
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()

			dst := destination(t, f)
			before := listStore(t, dst)
			res, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), FromStore(dst), nil)
			if err == nil {
				t.Fatalf("Import succeeded: %+v", res.Manifest)
			}
			var pe *PackageError
			if !errors.Is(err, ErrSymlink) || !errors.Is(err, ErrInvalidPackage) || !errors.As(err, &pe) || pe.Entry != target || pe.Reason() != "Symlink" {
				t.Fatalf("Import: %v; want a *PackageError for the link %s", err, target)
			}
			if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
				t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
			}
			if _, err := ReadManifest(context.Background(), bytes.NewReader(data), int64(len(data)), nil); !errors.Is(err, ErrSymlink) {
				t.Errorf("ReadManifest: %v; want ErrSymlink", err)
			}
		})
	}
	// The same writer's regular files import: the mode is what is refused.
	t.Run("regular", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range u.names {
			fh := &zip.FileHeader{Name: n, Method: zip.Deflate}
			fh.SetMode(0o644)
			w, err := zw.CreateHeader(fh)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(u.files[n])
		}
		zw.Close()
		if _, err := Import(context.Background(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), FromStore(destination(t, f)), nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReasonsMatchTypeScript keeps PackageError.Reason's names and
// atelier.d.ts's PackageErrorReason union the same set, and the names
// distinct, one per problem.
func TestReasonsMatchTypeScript(t *testing.T) {
	var reasons []string
	seenErr := map[error]bool{}
	for _, p := range problems {
		if seenErr[p.err] {
			t.Errorf("%v listed twice", p.err)
		}
		seenErr[p.err] = true
		if got := (&PackageError{Problem: p.err}).Reason(); got != p.reason {
			t.Errorf("Reason of %v = %q; want %q", p.err, got, p.reason)
		}
		reasons = append(reasons, p.reason)
	}
	if r := (&PackageError{Problem: errors.New("other")}).Reason(); r != "" {
		t.Errorf("Reason of a foreign problem = %q", r)
	}
	src, err := os.ReadFile("../wasm/atelier.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	ts := unionMembers(t, string(src), "PackageErrorReason")
	slices.Sort(reasons)
	if len(slices.Compact(slices.Clone(reasons))) != len(reasons) {
		t.Errorf("duplicate reasons in %v", reasons)
	}
	if !slices.Equal(reasons, ts) {
		t.Errorf("reasons in Go %v\nin atelier.d.ts  %v", reasons, ts)
	}
}

// unionMembers returns, sorted, the string literals of the TypeScript
// union `export type name = | "A" | "B" ...;` in src.
func unionMembers(t *testing.T, src, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)export type ` + name + ` =(.*?);`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("no type %s in atelier.d.ts", name)
	}
	// Drop comments, which may quote other strings.
	body := regexp.MustCompile(`//[^\n]*`).ReplaceAllString(m[1], "")
	var out []string
	for _, lit := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, lit[1])
	}
	slices.Sort(out)
	return out
}
