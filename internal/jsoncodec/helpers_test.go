package jsoncodec

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/atelierstore/atelier/graph"
)

// realisticNodes returns n nodes of the shape the JavaScript API bench
// (bench/jsbench.mjs) passes to setNodes, about 450 bytes each as JSON;
// stored adds what the store sets (updatedAt, version), as loadWorkflow
// returns them.
func realisticNodes(n int, stored bool) []graph.Node {
	wf := "0190f5a2-7c1e-7d3a-9b8e-2f4c6a8e0b1d"
	out := make([]graph.Node, n)
	for i := range out {
		out[i] = graph.Node{
			ID:         fmt.Sprintf("0190f5a2-7c1e-7d3a-9b8e-%012x", i),
			WorkflowID: wf,
			Type:       "image-generation",
			Title:      fmt.Sprintf("Render pass %d", i),
			Status:     "idle",
			Position:   graph.Position{X: float64(i%100) * 260, Y: float64(i/100) * 180.5},
			Size:       &graph.Size{Width: 240, Height: 160},
			Config: json.RawMessage(fmt.Sprintf(`{"model":"sdxl-1.0","prompt":"a lighthouse on a cliff at dusk, volumetric light, %d",`+
				`"negative":"blurry, low quality","steps":30,"cfg":7.5,"seed":%d,"sampler":"dpmpp_2m"}`, i, 1000+i)),
		}
		if stored {
			out[i].UpdatedAt = 1765000000000 + int64(i)
			out[i].Version = 1
		}
	}
	return out
}

// realisticJSON is realisticNodes as JSON.stringify gives it.
func realisticJSON(tb testing.TB, n int) []byte {
	tb.Helper()
	b, err := json.Marshal(realisticNodes(n, false))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// targets are the types Unmarshal decodes, each as a function that makes
// a fresh pointer to a zero value.
var targets = []struct {
	name string
	new  func() any
}{
	{"[]Node", func() any { return new([]graph.Node) }},
	{"[]Edge", func() any { return new([]graph.Edge) }},
	{"Graph", func() any { return new(graph.Graph) }},
}

// checkDecode decodes data both ways into fresh values of each target
// type and fails unless the fast path gave up (leaving its value zero) or
// agreed exactly with encoding/json. It returns, by target name, whether
// the fast path decoded.
func checkDecode(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	took := map[string]bool{}
	for _, tg := range targets {
		fast, std := tg.new(), tg.new()
		ok := Unmarshal(data, fast)
		err := json.Unmarshal(data, std)
		took[tg.name] = ok
		switch {
		case !ok:
			if !reflect.ValueOf(fast).Elem().IsZero() {
				t.Errorf("%s %.200q: gave up but changed the value to %+v", tg.name, data, fast)
			}
		case err != nil:
			t.Errorf("%s %.200q: fast path decoded, encoding/json failed: %v", tg.name, data, err)
		default:
			if d := diff(reflect.ValueOf(fast), reflect.ValueOf(std), ""); d != "" {
				t.Errorf("%s %.200q: fast path differs from encoding/json at %s", tg.name, data, d)
			}
		}
	}
	return took
}

// checkEncode encodes v both ways and fails unless the fast path gave up
// or returned exactly json.Marshal's bytes. It reports whether the fast
// path encoded.
func checkEncode(t *testing.T, v any) bool {
	t.Helper()
	fast, ok := Marshal(v)
	std, err := json.Marshal(v)
	switch {
	case !ok:
		return false
	case err != nil:
		t.Errorf("%#v: fast path encoded %s, encoding/json failed: %v", v, fast, err)
	case string(fast) != string(std):
		t.Errorf("fast path differs from encoding/json:\n fast %s\n std  %s", fast, std)
	}
	return true
}

// diff is reflect.DeepEqual that also tells -0 from 0 and nil from empty,
// and says where two values differ; "" when they do not.
func diff(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return path + ": kinds differ"
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil and not nil"
			}
			return ""
		}
		return diff(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: nil and not nil (%d and %d elements)", path, a.Len(), b.Len())
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d and %d elements", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := diff(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if d := diff(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
	case reflect.Float32, reflect.Float64:
		if math.Float64bits(a.Float()) != math.Float64bits(b.Float()) {
			return fmt.Sprintf("%s: %v and %v", path, a.Float(), b.Float())
		}
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Sprintf("%s: %q and %q", path, a.String(), b.String())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if a.Int() != b.Int() {
			return fmt.Sprintf("%s: %d and %d", path, a.Int(), b.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if a.Uint() != b.Uint() {
			return fmt.Sprintf("%s: %d and %d", path, a.Uint(), b.Uint())
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return fmt.Sprintf("%s: %v and %v", path, a.Bool(), b.Bool())
		}
	default:
		return path + ": unexpected kind " + a.Kind().String()
	}
	return ""
}

// repeat is strings.Repeat for tables.
func repeat(s string, n int) string { return strings.Repeat(s, n) }
