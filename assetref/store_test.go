package assetref

import (
	"errors"
	"testing"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/google/uuid"
)

func TestHintNormalize(t *testing.T) {
	t.Parallel()
	h, err := Hint{}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if h.MIME != DefaultMIME {
		t.Errorf("MIME = %q, want %q", h.MIME, DefaultMIME)
	}
	if id, err := uuid.Parse(h.ID); err != nil || id.Version() != 7 || id.String() != h.ID {
		t.Errorf("ID = %q, want a UUIDv7 in canonical form (%v)", h.ID, err)
	}

	given := Hint{MIME: "image/svg+xml", ID: "cat.svg"}
	if h, err := given.Normalize(); err != nil || h != given {
		t.Errorf("Normalize(%+v) = %+v, %v; want it unchanged", given, h, err)
	}

	for _, tt := range []struct {
		hint  Hint
		field string
	}{
		{Hint{MIME: "image"}, "mime"},
		{Hint{MIME: "image/*"}, "mime"},
		{Hint{ID: "a/b"}, "id"},
		{Hint{ID: ".."}, "id"},
		{Hint{ID: "a\x00"}, "id"},
		{Hint{ID: string(make([]byte, MaxIDLen+1))}, "id"},
	} {
		_, err := tt.hint.Normalize()
		if !errors.Is(err, errs.ErrInvalid) || errors.Is(err, errs.ErrInvalidRef) {
			t.Errorf("Normalize(%#v) = %v, want an error matching ErrInvalid only", tt.hint, err)
		}
		var ve *errs.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field || ve.Entity != "asset hint" {
			t.Errorf("Normalize(%#v) = %#v, want a ValidationError for asset hint field %s", tt.hint, err, tt.field)
		}
	}
}
