package graph

import (
	"bytes"
	"encoding/json"

	"github.com/atelierstore/atelier/internal/errs"
)

// Coordinates decoded from JSON must be numbers. JavaScript's
// JSON.stringify writes NaN and ±Infinity as null, which encoding/json
// would silently decode as 0; rejecting null (and a missing coordinate)
// turns that into an error instead of a node quietly moved to the origin.

// UnmarshalJSON decodes {"x": <number>, "y": <number>}.
func (p *Position) UnmarshalJSON(b []byte) error {
	var v struct{ X, Y *float64 }
	if err := decodeCoords("position", b, &v); err != nil {
		return err
	}
	if err := need("position.x", v.X); err != nil {
		return err
	}
	if err := need("position.y", v.Y); err != nil {
		return err
	}
	*p = Position{X: *v.X, Y: *v.Y}
	return nil
}

// UnmarshalJSON decodes {"width": <number>, "height": <number>}.
func (s *Size) UnmarshalJSON(b []byte) error {
	var v struct{ Width, Height *float64 }
	if err := decodeCoords("size", b, &v); err != nil {
		return err
	}
	if err := need("size.width", v.Width); err != nil {
		return err
	}
	if err := need("size.height", v.Height); err != nil {
		return err
	}
	*s = Size{Width: *v.Width, Height: *v.Height}
	return nil
}

// UnmarshalJSON decodes {"x": <number>, "y": <number>, "zoom": <number>}.
func (vp *Viewport) UnmarshalJSON(b []byte) error {
	var v struct{ X, Y, Zoom *float64 }
	if err := decodeCoords("viewport", b, &v); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		p    *float64
	}{{"viewport.x", v.X}, {"viewport.y", v.Y}, {"viewport.zoom", v.Zoom}} {
		if err := need(f.name, f.p); err != nil {
			return err
		}
	}
	*vp = Viewport{X: *v.X, Y: *v.Y, Zoom: *v.Zoom}
	return nil
}

func decodeCoords(field string, b []byte, v any) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return &errs.ValidationError{Entity: "json", Field: field, Reason: "must be an object, not null"}
	}
	return json.Unmarshal(b, v)
}

func need(field string, f *float64) error {
	if f == nil {
		return &errs.ValidationError{Entity: "json", Field: field,
			Reason: "must be a finite number (NaN and Infinity arrive as null or nothing)"}
	}
	return nil
}
