package atelier_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestModuleLeavesOutNet keeps packages that weigh hundreds of kilobytes
// and that a browser module has no use for out of atelier.wasm: net/http
// alone (pulled in once by a status constant) added 407 KB gzipped. The
// browser's fetch does the networking. The others were taken out to bring
// the module under 1.5 MB brotli-compressed (docs/BENCHMARKS.md, make
// size): a msgpack library for one map (86 KB brotli), klauspost/compress
// (44 KB), the mime package for one parameter check (22 KB) and
// google/uuid with crypto/md5 and crypto/sha1 (12 KB).
func TestModuleLeavesOutNet(t *testing.T) {
	if runtime.GOOS == "js" {
		t.Skip("runs go list, on the host")
	}
	cmd := exec.Command("go", "list", "-deps", "./wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "net", "net/http", "crypto/tls", "net/http/httptrace", "mime/multipart",
			"mime", "crypto/md5", "crypto/sha1", "github.com/google/uuid":
			t.Errorf("atelier.wasm imports %s", pkg)
		}
		for _, prefix := range []string{"github.com/vmihailenco/msgpack/", "github.com/klauspost/compress/"} {
			if strings.HasPrefix(pkg, prefix) {
				t.Errorf("atelier.wasm imports %s", pkg)
			}
		}
	}
}
