package pack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/internal/errs"
)

// badCase is a package that Import must reject with the Problem want,
// leaving the store as it was.
type badCase struct {
	name string
	pkg  func(t testing.TB, u *unpacked, valid []byte) []byte // u is the valid package, taken apart, for changing
	opts *ImportOptions
	want error
}

func ptr[T any](v T) *T { return &v }

// edited returns a pkg function that edits the unpacked package and
// reassembles it.
func edited(edit func(t testing.TB, u *unpacked)) func(testing.TB, *unpacked, []byte) []byte {
	return func(t testing.TB, u *unpacked, _ []byte) []byte {
		edit(t, u)
		return u.zip(t)
	}
}

func withEntry(name string, data []byte) func(testing.TB, *unpacked, []byte) []byte {
	return edited(func(t testing.TB, u *unpacked) {
		u.names = append(u.names, name)
		u.files[name] = data
	})
}

func without(name func(t testing.TB, u *unpacked) string) func(testing.TB, *unpacked, []byte) []byte {
	return edited(func(t testing.TB, u *unpacked) {
		n := name(t, u)
		i := indexOf(u.names, n)
		u.names = append(u.names[:i], u.names[i+1:]...)
		delete(u.files, n)
	})
}

func indexOf(names []string, n string) int {
	for i, x := range names {
		if x == n {
			return i
		}
	}
	panic("no entry " + n)
}

// embeddedFile returns the file name of the package's first embedded
// asset.
func embeddedFile(t testing.TB, u *unpacked) string {
	return firstEmbedded(u.manifest(t))["file"].(string)
}

func manifestEdit(edit func(m map[string]any)) func(testing.TB, *unpacked, []byte) []byte {
	return edited(func(t testing.TB, u *unpacked) { u.editManifest(t, edit) })
}

func workflowEdit(edit func(g map[string]any)) func(testing.TB, *unpacked, []byte) []byte {
	return edited(func(t testing.TB, u *unpacked) { u.editWorkflow(t, edit) })
}

func nodesOf(g map[string]any) []any { return g["nodes"].([]any) }

func nodeAsset(g map[string]any, i int) map[string]any {
	return nodesOf(g)[i].(map[string]any)["result"].(map[string]any)["asset"].(map[string]any)
}

// patchCentral changes the central directory record of the entry name in
// a zip archive written by assemble.
func patchCentral(t testing.TB, data []byte, name string, patch func(rec []byte)) []byte {
	data = bytes.Clone(data)
	for i := 0; i+centralLen <= len(data); i++ {
		if binary.LittleEndian.Uint32(data[i:]) != sigCentral {
			continue
		}
		n := int(binary.LittleEndian.Uint16(data[i+28:]))
		if i+centralLen+n <= len(data) && string(data[i+centralLen:i+centralLen+n]) == name {
			patch(data[i:])
			return data
		}
	}
	t.Fatalf("no central record for %s", name)
	return nil
}

func localOffset(rec []byte) uint32 { return binary.LittleEndian.Uint32(rec[42:]) }

// bigZeros is the content of the compression bomb cases.
const bigZeros = 16 << 20

func badCases() []badCase {
	return []badCase{
		// Not a zip, or not all of one.
		{name: "not a zip/text", want: ErrNotZip,
			pkg: func(testing.TB, *unpacked, []byte) []byte { return []byte("this is not a zip archive at all") }},
		{name: "not a zip/empty", want: ErrNotZip,
			pkg: func(testing.TB, *unpacked, []byte) []byte { return nil }},
		{name: "not a zip/png", want: ErrNotZip,
			pkg: func(testing.TB, *unpacked, []byte) []byte {
				return append([]byte("\x89PNG\r\n\x1a\n"), noise(5000, 9)...)
			}},
		{name: "truncated/half", want: ErrTruncated,
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return v[:len(v)/2] }},
		{name: "truncated/end record cut", want: ErrTruncated,
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return v[:len(v)-5] }},
		{name: "truncated/header only", want: ErrTruncated,
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return v[:10] }},
		{name: "corrupt/bytes cut from the middle", want: ErrCorruptZip,
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return append(bytes.Clone(v[:100]), v[300:]...) }},
		{name: "corrupt/trailing data", want: ErrCorruptZip,
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return append(bytes.Clone(v), "junk"...) }},
		{name: "corrupt/leading data", want: ErrCorruptZip,
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return append([]byte("junk"), v...) }},

		// Entry names.
		{name: "unsafe name/dot dot", want: ErrUnsafeName, pkg: withEntry("../evil.json", []byte("{}"))},
		{name: "unsafe name/dot dot inside", want: ErrUnsafeName, pkg: withEntry("assets/../../evil.json", []byte("{}"))},
		{name: "unsafe name/dot", want: ErrUnsafeName, pkg: withEntry("./x.json", []byte("{}"))},
		{name: "unsafe name/absolute", want: ErrUnsafeName, pkg: withEntry("/etc/passwd", []byte("root"))},
		{name: "unsafe name/backslash", want: ErrUnsafeName, pkg: withEntry(`assets\evil.png`, []byte("x"))},
		{name: "unsafe name/backslash dot dot", want: ErrUnsafeName, pkg: withEntry(`..\evil.png`, []byte("x"))},
		{name: "unsafe name/drive letter", want: ErrUnsafeName, pkg: withEntry("C:/evil.png", []byte("x"))},
		{name: "unsafe name/empty segment", want: ErrUnsafeName, pkg: withEntry("assets//evil.png", []byte("x"))},
		{name: "unsafe name/control character", want: ErrUnsafeName, pkg: withEntry("assets/\x01.png", []byte("x"))},
		{name: "unsafe name/invalid UTF-8", want: ErrUnsafeName, pkg: withEntry("assets/\xff.png", []byte("x"))},
		{name: "symlink/workflow", want: ErrSymlink, pkg: withMode(func(testing.TB, *unpacked) string { return WorkflowFile }, os.ModeSymlink|0o777)},
		{name: "symlink/asset", want: ErrSymlink, pkg: withMode(embeddedFile, os.ModeSymlink|0o777)},
		{name: "symlink/manifest", want: ErrSymlink, pkg: withMode(func(testing.TB, *unpacked) string { return ManifestFile }, os.ModeSymlink|0o644)},
		{name: "duplicate entry/workflow", want: ErrDuplicateEntry,
			pkg: edited(func(t testing.TB, u *unpacked) { u.names = append(u.names, WorkflowFile) })},
		{name: "duplicate entry/asset", want: ErrDuplicateEntry,
			pkg: edited(func(t testing.TB, u *unpacked) { u.names = append(u.names, embeddedFile(t, u)) })},
		{name: "unlisted entry/readme", want: ErrUnlistedEntry, pkg: withEntry("README.txt", []byte("hi"))},
		{name: "unlisted entry/asset", want: ErrUnlistedEntry,
			pkg: withEntry("assets/0190f5a4-8f3c-7cc1-9a57-3c1f6a6c2a10.png", []byte("x"))},
		{name: "unlisted entry/directory", want: ErrUnlistedEntry, pkg: withEntry("other/", nil)},
		{name: "missing entry/manifest", want: ErrMissingEntry,
			pkg: without(func(testing.TB, *unpacked) string { return ManifestFile })},
		{name: "missing entry/workflow", want: ErrMissingEntry,
			pkg: without(func(testing.TB, *unpacked) string { return WorkflowFile })},
		{name: "missing entry/asset", want: ErrMissingEntry,
			pkg: without(embeddedFile)},

		// Sizes and hashes.
		{name: "size mismatch/manifest bytes", want: ErrSizeMismatch, pkg: edited(func(t testing.TB, u *unpacked) {
			u.editManifest(t, func(m map[string]any) { a := firstEmbedded(m); a["bytes"] = a["bytes"].(float64) + 1 })
			u.editWorkflow(t, func(g map[string]any) { delete(nodeAsset(g, 1), "bytes") })
		})},
		{name: "size mismatch/content longer than declared", want: ErrSizeMismatch, pkg: lyingSize(-1, 0)},
		{name: "size mismatch/content shorter than declared", want: ErrSizeMismatch, pkg: lyingSize(+10, 0)},
		{name: "size mismatch/bomb behind a small declared size", want: ErrSizeMismatch, pkg: lyingSize(0, bigZeros)},
		{name: "size mismatch/workflow longer than declared", want: ErrSizeMismatch,
			pkg: func(t testing.TB, u *unpacked, _ []byte) []byte {
				var es []rawEntry
				for _, n := range u.names {
					e := rawEntry{name: n, data: u.files[n]}
					if n == WorkflowFile {
						e.usize = ptr(uint64(10))
					}
					es = append(es, e)
				}
				return assemble(t, es)
			}},
		{name: "hash mismatch/content", want: ErrHashMismatch, pkg: edited(func(t testing.TB, u *unpacked) {
			f := embeddedFile(t, u)
			u.files[f] = noise(len(u.files[f]), 77)
		})},
		{name: "hash mismatch/manifest", want: ErrHashMismatch, pkg: edited(func(t testing.TB, u *unpacked) {
			other := assetref.HashBytes([]byte("other"))
			u.editManifest(t, func(m map[string]any) { firstEmbedded(m)["hash"] = other })
			u.editWorkflow(t, func(g map[string]any) { nodeAsset(g, 1)["hash"] = other; nodeAsset(g, 2)["hash"] = other })
		})},
		{name: "crc mismatch", want: ErrCorruptZip, pkg: func(t testing.TB, u *unpacked, _ []byte) []byte {
			var es []rawEntry
			for _, n := range u.names {
				e := rawEntry{name: n, data: u.files[n]}
				if n == WorkflowFile {
					e.crc = ptr(uint32(1234))
				}
				es = append(es, e)
			}
			return assemble(t, es)
		}},
		{name: "crc mismatch/stored asset", want: ErrCorruptZip, pkg: func(t testing.TB, u *unpacked, _ []byte) []byte {
			data := u.zip(t)
			file := embeddedFile(t, u)
			if !u.stored[file] {
				t.Fatalf("%s is not stored", file)
			}
			data[storedDataAt(t, data, file)+100] ^= 1
			return data
		}},

		// The manifest.
		{name: "version/2", want: ErrUnsupportedVersion, pkg: manifestEdit(func(m map[string]any) { m["packageVersion"] = 2 })},
		{name: "version/0", want: ErrUnsupportedVersion, pkg: manifestEdit(func(m map[string]any) { m["packageVersion"] = 0 })},
		{name: "version/-1", want: ErrUnsupportedVersion, pkg: manifestEdit(func(m map[string]any) { m["packageVersion"] = -1 })},
		{name: "version/2 with another schema", want: ErrUnsupportedVersion,
			pkg: edited(func(t testing.TB, u *unpacked) {
				u.files[ManifestFile] = []byte(`{"packageVersion":2,"contents":["x"]}`)
			})},
		{name: "version/string", want: ErrInvalidManifest, pkg: manifestEdit(func(m map[string]any) { m["packageVersion"] = "1" })},
		{name: "version/fraction", want: ErrInvalidManifest, pkg: manifestEdit(func(m map[string]any) { m["packageVersion"] = 1.5 })},
		{name: "version/missing", want: ErrInvalidManifest, pkg: manifestEdit(func(m map[string]any) { delete(m, "packageVersion") })},
		{name: "manifest over 1 MiB", want: ErrTooLarge,
			pkg: manifestEdit(func(m map[string]any) { m["padding"] = strings.Repeat("x", MaxManifestBytes) })},
		{name: "manifest/malformed JSON", want: ErrMalformedJSON,
			pkg: edited(func(t testing.TB, u *unpacked) { u.files[ManifestFile] = []byte(`{"packageVersion": 1,`) })},
		{name: "manifest/not an object", want: ErrInvalidManifest,
			pkg: edited(func(t testing.TB, u *unpacked) { u.files[ManifestFile] = []byte(`[1]`) })},
		{name: "manifest/app missing", want: ErrInvalidManifest, pkg: manifestEdit(func(m map[string]any) { delete(m, "app") })},
		{name: "manifest/createdAt not RFC 3339", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { m["createdAt"] = "yesterday" })},
		{name: "manifest/workflow id malformed", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { m["workflow"].(map[string]any)["id"] = "wf-1" })},
		{name: "manifest/workflow file", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { m["workflow"].(map[string]any)["file"] = "../workflow.json" })},
		{name: "manifest/asset id malformed", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { firstEmbedded(m)["id"] = "../x" })},
		{name: "manifest/asset file not its id", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { firstEmbedded(m)["file"] = "assets/other.png" })},
		{name: "manifest/asset origin unknown", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { firstEmbedded(m)["origin"] = "local" })},
		{name: "manifest/embedded without hash", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { delete(firstEmbedded(m), "hash") })},
		{name: "manifest/malformed hash", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { firstEmbedded(m)["hash"] = "sha256:abc" })},
		{name: "manifest/negative bytes", want: ErrInvalidManifest,
			pkg: manifestEdit(func(m map[string]any) { firstEmbedded(m)["bytes"] = -5 })},
		{name: "manifest/duplicate asset ids", want: ErrInvalidManifest, pkg: manifestEdit(func(m map[string]any) {
			as := assetsOf(m)
			as[1].(map[string]any)["id"] = as[0].(map[string]any)["id"]
		})},
		{name: "manifest/asset count over MaxAssets", want: ErrTooLarge, opts: &ImportOptions{MaxAssets: 1},
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return v }},
		{name: "manifest/entry count over MaxAssets", want: ErrTooLarge, opts: &ImportOptions{MaxAssets: 1},
			pkg: edited(func(t testing.TB, u *unpacked) {
				for i := range 5 {
					n := "assets/x" + string(rune('a'+i))
					u.names = append(u.names, n)
					u.files[n] = []byte("x")
				}
			})},
		{name: "embedded assets over MaxTotalBytes", want: ErrTooLarge, opts: &ImportOptions{MaxTotalBytes: 1000},
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return v }},
		{name: "compression ratio bomb", want: ErrCompressionRatio, pkg: ratioBomb},

		// URLs.
		{name: "url/ftp in the manifest", want: ErrUnsupportedURL, pkg: edited(func(t testing.TB, u *unpacked) {
			u.editManifest(t, func(m map[string]any) { urlAsset(m)["url"] = "ftp://cdn.example.com/cat.jpg" })
		})},
		{name: "url/blob in the manifest", want: ErrUnsupportedURL, pkg: edited(func(t testing.TB, u *unpacked) {
			u.editManifest(t, func(m map[string]any) { urlAsset(m)["url"] = "blob:https://app.example/0190f5a4" })
		})},
		{name: "url/file in the manifest", want: ErrUnsupportedURL, pkg: edited(func(t testing.TB, u *unpacked) {
			u.editManifest(t, func(m map[string]any) { urlAsset(m)["url"] = "file:///etc/passwd" })
		})},
		{name: "url/javascript in the workflow", want: ErrUnsupportedURL,
			pkg: workflowEdit(func(g map[string]any) { nodeAsset(g, 4)["url"] = "javascript:alert(1)" })},
		{name: "url/data in the workflow", want: ErrUnsupportedURL,
			pkg: workflowEdit(func(g map[string]any) { nodeAsset(g, 4)["url"] = "data:image/png;base64,iVBORw0KGgo=" })},
		{name: "url/blob in the workflow", want: ErrUnsupportedURL,
			pkg: workflowEdit(func(g map[string]any) { nodeAsset(g, 4)["url"] = "blob:https://app.example/0190f5a4" })},

		// workflow.json.
		{name: "workflow over MaxWorkflowBytes", want: ErrTooLarge, opts: &ImportOptions{MaxWorkflowBytes: 256},
			pkg: func(_ testing.TB, _ *unpacked, v []byte) []byte { return v }},
		{name: "workflow over the default limit", want: ErrTooLarge, pkg: edited(func(t testing.TB, u *unpacked) {
			u.files[WorkflowFile] = append(bytes.Repeat([]byte(" "), DefaultMaxWorkflowBytes), u.files[WorkflowFile]...)
		})},
		{name: "workflow/malformed JSON", want: ErrMalformedJSON,
			pkg: edited(func(t testing.TB, u *unpacked) { u.files[WorkflowFile] = []byte(`{"workflow": `) })},
		{name: "workflow/not an object", want: ErrInvalidGraph,
			pkg: edited(func(t testing.TB, u *unpacked) { u.files[WorkflowFile] = []byte(`[]`) })},
		{name: "workflow/flat workflow object", want: ErrInvalidGraph, pkg: edited(flatWorkflow)},
		{name: "workflow/nodes not an array", want: ErrInvalidGraph,
			pkg: workflowEdit(func(g map[string]any) { g["nodes"] = map[string]any{} })},
		{name: "workflow/wrong type", want: ErrInvalidGraph,
			pkg: workflowEdit(func(g map[string]any) { g["workflow"].(map[string]any)["name"] = 5 })},
		{name: "graph/dangling edge", want: ErrInvalidGraph,
			pkg: workflowEdit(func(g map[string]any) { g["edges"].([]any)[0].(map[string]any)["target"] = graph.NewID() })},
		{name: "graph/bad node id", want: ErrInvalidGraph,
			pkg: workflowEdit(func(g map[string]any) { nodesOf(g)[0].(map[string]any)["id"] = "node-1" })},
		{name: "graph/duplicate node id", want: ErrInvalidGraph, pkg: workflowEdit(func(g map[string]any) {
			nodesOf(g)[1].(map[string]any)["id"] = nodesOf(g)[0].(map[string]any)["id"]
		})},
		{name: "graph/NaN position", want: ErrInvalidGraph,
			pkg: workflowEdit(func(g map[string]any) { nodesOf(g)[0].(map[string]any)["position"] = map[string]any{"x": nil, "y": 0} })},
		{name: "graph/workflow id differs from the manifest", want: ErrInvalidGraph,
			pkg: manifestEdit(func(m map[string]any) { m["workflow"].(map[string]any)["id"] = graph.NewID() })},
		{name: "graph/workflow name differs from the manifest", want: ErrInvalidGraph,
			pkg: manifestEdit(func(m map[string]any) { m["workflow"].(map[string]any)["name"] = "Other" })},

		// Refs against the manifest.
		{name: "refs/unknown embedded id", want: ErrRefMismatch,
			pkg: workflowEdit(func(g map[string]any) { nodeAsset(g, 1)["id"] = "nope" })},
		{name: "refs/bytes differ", want: ErrRefMismatch,
			pkg: workflowEdit(func(g map[string]any) { a := nodeAsset(g, 1); a["bytes"] = a["bytes"].(float64) + 1 })},
		{name: "refs/local kind", want: ErrRefMismatch, pkg: workflowEdit(func(g map[string]any) {
			nodesOf(g)[1].(map[string]any)["result"].(map[string]any)["asset"] = map[string]any{"kind": "opfs", "path": "atelier/assets/x"}
		})},
		{name: "refs/url not in the manifest", want: ErrRefMismatch,
			pkg: workflowEdit(func(g map[string]any) { nodeAsset(g, 4)["url"] = "https://elsewhere.example/x.jpg" })},
		{name: "refs/manifest asset unused", want: ErrRefMismatch,
			pkg: workflowEdit(func(g map[string]any) { delete(nodesOf(g)[4].(map[string]any), "result") })},

		// Structure.
		{name: "zip/encrypted entry", want: ErrCorruptZip, pkg: func(t testing.TB, u *unpacked, _ []byte) []byte {
			var es []rawEntry
			for _, n := range u.names {
				e := rawEntry{name: n, data: u.files[n]}
				if n == WorkflowFile {
					e.flags = flagEncrypted
				}
				es = append(es, e)
			}
			return assemble(t, es)
		}},
		{name: "zip/unsupported method", want: ErrCorruptZip, pkg: func(t testing.TB, u *unpacked, _ []byte) []byte {
			data := u.zip(t)
			return patchCentral(t, data, WorkflowFile, func(rec []byte) { binary.LittleEndian.PutUint16(rec[10:], 12) })
		}},
		{name: "zip/overlapping entries", want: ErrCorruptZip, pkg: func(t testing.TB, u *unpacked, _ []byte) []byte {
			data := u.zip(t)
			var first uint32
			patchCentral(t, data, u.names[0], func(rec []byte) { first = localOffset(rec) })
			return patchCentral(t, data, WorkflowFile, func(rec []byte) { binary.LittleEndian.PutUint32(rec[42:], first) })
		}},
		{name: "zip/local header names another file", want: ErrCorruptZip, pkg: func(t testing.TB, u *unpacked, _ []byte) []byte {
			data := u.zip(t)
			var off uint32
			patchCentral(t, data, WorkflowFile, func(rec []byte) { off = localOffset(rec) })
			copy(data[off+localLen:], "WORKFLOW.JSON")
			return data
		}},
		{name: "zip/entry count lies", want: ErrCorruptZip, pkg: func(t testing.TB, u *unpacked, v []byte) []byte {
			data := bytes.Clone(v)
			end := len(data) - endLen
			binary.LittleEndian.PutUint16(data[end+8:], 2)
			binary.LittleEndian.PutUint16(data[end+10:], 2)
			return data
		}},
	}
}

// withMode gives the entry name returns the Unix mode mode (in the
// central directory's external attributes, made by Unix), as zip
// --symlinks writes a symbolic link.
func withMode(name func(t testing.TB, u *unpacked) string, mode os.FileMode) func(testing.TB, *unpacked, []byte) []byte {
	return func(t testing.TB, u *unpacked, _ []byte) []byte {
		n := name(t, u)
		es := make([]rawEntry, len(u.names))
		for i, x := range u.names {
			es[i] = rawEntry{name: x, data: u.files[x], store: u.stored[x]}
			if x == n {
				es[i].mode = mode
			}
		}
		return assemble(t, es)
	}
}

// flatWorkflow rewrites workflow.json as one workflow object with its
// nodes and edges beside its id, a layout apps commonly write, instead of
// the graph's {"workflow", "nodes", "edges"}.
func flatWorkflow(t testing.TB, u *unpacked) {
	u.editWorkflow(t, func(g map[string]any) {
		w := g["workflow"].(map[string]any)
		delete(g, "workflow")
		maps.Copy(g, w)
	})
}

func urlAsset(m map[string]any) map[string]any {
	for _, a := range assetsOf(m) {
		if a := a.(map[string]any); a["origin"] == "url" {
			return a
		}
	}
	panic("no url asset")
}

// lyingSize declares the first embedded asset's size as its real size plus
// delta, in the manifest and the central directory, and appends extra
// zero bytes to the deflated content (beyond the declared size).
func lyingSize(delta int, extra int) func(testing.TB, *unpacked, []byte) []byte {
	return func(t testing.TB, u *unpacked, _ []byte) []byte {
		file := embeddedFile(t, u)
		content := u.files[file]
		declared := uint64(len(content) + delta)
		u.editManifest(t, func(m map[string]any) { firstEmbedded(m)["bytes"] = declared })
		u.editWorkflow(t, func(g map[string]any) { delete(nodeAsset(g, 1), "bytes"); delete(nodeAsset(g, 2), "bytes") })
		var es []rawEntry
		for _, n := range u.names {
			e := rawEntry{name: n, data: u.files[n]}
			if n == file {
				e.data = append(bytes.Clone(content), make([]byte, extra)...)
				e.usize = &declared
				e.crc = ptr(crc32IEEE(content))
			}
			es = append(es, e)
		}
		return assemble(t, es)
	}
}

// ratioBomb adds a 16 MiB asset of zeros, correctly declared, which
// deflates about a thousandfold.
func ratioBomb(t testing.TB, u *unpacked, _ []byte) []byte {
	zeros := make([]byte, bigZeros)
	id := graph.NewID()
	file := AssetDir + id + ".bin"
	ref := map[string]any{"kind": "embedded", "id": id, "mime": "application/octet-stream", "bytes": bigZeros, "hash": assetref.HashBytes(zeros)}
	u.editManifest(t, func(m map[string]any) {
		m["assets"] = append(assetsOf(m), map[string]any{"id": id, "origin": "embedded", "mime": "application/octet-stream",
			"bytes": bigZeros, "hash": ref["hash"], "file": file})
	})
	u.editWorkflow(t, func(g map[string]any) {
		n := nodesOf(g)[0].(map[string]any)
		n["result"] = map[string]any{"asset": ref}
	})
	u.names = append(u.names, file)
	u.files[file] = zeros
	return u.zip(t)
}

// destination returns an idb-kind store that already holds the fixture's
// PNG (so that importing it reuses that asset) and an unrelated asset.
func destination(t testing.TB, f *fixture) *memstore.Store {
	t.Helper()
	dst := memstore.NewKind(assetref.KindIDB)
	for _, data := range [][]byte{pngOf(f), []byte("unrelated")} {
		if _, err := dst.Put(context.Background(), bytes.NewReader(data), assetref.Hint{MIME: "image/png"}); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func pngOf(f *fixture) []byte {
	for _, data := range f.assets {
		if bytes.HasPrefix(data, []byte("\x89PNG")) {
			return data
		}
	}
	panic("fixture has no PNG")
}

// TestImportRejectsBadPackages checks every kind of bad input: each is
// rejected with its own Problem, matches ErrInvalidPackage and
// errs.ErrInvalid, and leaves the store as it was.
func TestImportRejectsBadPackages(t *testing.T) {
	f := newFixture(t)
	valid, _ := f.export(t, nil)
	base := unpack(t, valid)
	for _, tc := range badCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := tc.pkg(t, base.clone(), valid)
			dst := destination(t, f)
			before := listStore(t, dst)
			res, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), FromStore(dst), tc.opts)
			if err == nil {
				t.Fatalf("Import succeeded: %+v", res.Manifest)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v; want %v", err, tc.want)
			}
			if !errors.Is(err, ErrInvalidPackage) || !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalidPackage and errs.ErrInvalid", err)
			}
			var pe *PackageError
			if !errors.As(err, &pe) || pe.Problem != tc.want {
				t.Fatalf("error %v is not a *PackageError with Problem %v", err, tc.want)
			}
			if pe.Reason() == "" {
				t.Errorf("error %v has no Reason", err)
			}
			if after := listStore(t, dst); !reflect.DeepEqual(after, before) {
				t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func TestBadCasesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range badCases() {
		if seen[tc.name] {
			t.Errorf("two cases named %q", tc.name)
		}
		seen[tc.name] = true
	}
	// Every problem sentinel has at least one case.
	for _, p := range []error{ErrNotZip, ErrTruncated, ErrCorruptZip, ErrUnsafeName, ErrSymlink, ErrDuplicateEntry, ErrUnlistedEntry,
		ErrMissingEntry, ErrSizeMismatch, ErrHashMismatch, ErrUnsupportedVersion, ErrTooLarge, ErrCompressionRatio,
		ErrUnsupportedURL, ErrMalformedJSON, ErrInvalidManifest, ErrInvalidGraph, ErrRefMismatch} {
		found := false
		for _, tc := range badCases() {
			found = found || tc.want == p
		}
		if !found {
			t.Errorf("no bad case for %v", p)
		}
	}
}
