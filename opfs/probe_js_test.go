//go:build js && wasm

package opfs

import (
	"context"
	"errors"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

// TestProbe: the probe writes the way Put would and leaves nothing
// behind; where the browser has OPFS but cannot write a file (WebKit:
// no createWritable, and here no helper worker to fall back on) it fails
// with ErrUnsupported, and so does Put.
func TestProbe(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []WriteMode{WriteAuto, WriteStream, WriteWorker} {
		s := openOPFS(t, Options{WriteMode: mode})
		if err := s.Probe(ctx); err != nil {
			t.Fatalf("%s: Probe: %v", mode, err)
		}
		wantLayout(t, s)
	}

	// Without createWritable, the helper worker's sync handles still write.
	patch(t, "FileSystemFileHandle", "createWritable", js.Undefined())
	s := openOPFS(t, Options{WriteMode: WriteWorker})
	if err := s.Probe(ctx); err != nil {
		t.Fatalf("worker without createWritable: Probe: %v", err)
	}
	wantLayout(t, s)

	s = openOPFS(t, Options{WriteMode: WriteStream})
	if err := s.Probe(ctx); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("no createWritable: Probe = %v, want ErrUnsupported", err)
	}
	wantLayout(t, s)
	if _, err := s.Put(ctx, newStream(10, 1), assetref.Hint{}); !errors.Is(err, errs.ErrUnsupported) {
		t.Fatalf("no createWritable: Put = %v, want ErrUnsupported like the probe", err)
	}
}
