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
// browser's fetch does the networking.
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
		case "net", "net/http", "crypto/tls", "net/http/httptrace", "mime/multipart":
			t.Errorf("atelier.wasm imports %s", pkg)
		}
	}
}
