//go:build js && wasm

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"syscall/js"

	"github.com/atelierstore/atelier"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/internal/jsoncodec"
	"github.com/atelierstore/atelier/internal/jsutil"
)

// Arguments are checked strictly: a value of the wrong type, a missing
// required argument or an unknown key in an options or patch object
// rejects with Invalid before anything is read or written. Entities
// (nodes, edges, graphs) may carry keys of the app's own, which are
// ignored, so objects an app keeps in its state can be passed as they are.

var jsArray = js.Global().Get("Array")

// argError is the error for argument name.
func argError(name, reason string) error {
	return &atelier.ValidationError{Entity: "argument", Field: name, Reason: reason}
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func absent(v js.Value) bool { return v.IsUndefined() || v.IsNull() }

// describe names the type of v as a message would: "a number", "null".
func describe(v js.Value) string {
	switch v.Type() {
	case js.TypeUndefined:
		return "undefined"
	case js.TypeNull:
		return "null"
	case js.TypeBoolean:
		return "a boolean"
	case js.TypeNumber:
		return "a number"
	case js.TypeString:
		return "a string"
	case js.TypeSymbol:
		return "a symbol"
	case js.TypeFunction:
		return "a function"
	}
	if isArray(v) {
		return "an array"
	}
	return "an object"
}

// stringArg returns argument i, which must be a string.
func stringArg(args []js.Value, i int, name string) (string, error) {
	v := arg(args, i)
	if v.Type() != js.TypeString {
		return "", argError(name, "must be a string, not "+describe(v))
	}
	return v.String(), nil
}

// optionalStringArg returns argument i, a string, or "" when it is
// undefined or null.
func optionalStringArg(args []js.Value, i int, name string) (string, error) {
	if absent(arg(args, i)) {
		return "", nil
	}
	return stringArg(args, i, name)
}

// callbackArg returns argument i, which must be a function.
func callbackArg(args []js.Value, i int, name string) (js.Value, error) {
	v := arg(args, i)
	if v.Type() != js.TypeFunction {
		return js.Value{}, argError(name, "must be a function, not "+describe(v))
	}
	return v, nil
}

// isPlainObject reports whether v is an object that is not an array or a
// function.
func isPlainObject(v js.Value) bool { return v.Type() == js.TypeObject && !isArray(v) }

// isArray reports whether v is an array. A revoked Proxy, on which
// Array.isArray throws, is not (JSON.stringify rejects it later).
func isArray(v js.Value) (ok bool) {
	_ = jsutil.Try(func() { ok = jsArray.Call("isArray", v).Bool() })
	return ok
}

// getProp reads o[key] with Reflect.get. Unlike js.Value.Get it is safe
// on app objects: an exception from a getter or a Proxy trap becomes an
// error, where through Get it would unwind the wasm stack and end the
// module.
func getProp(o js.Value, key string) (v js.Value, err error) {
	err = jsutil.Try(func() { v = reflectGet.Invoke(o, key) })
	return v, err
}

var reflectGet = js.Global().Get("Reflect").Get("get")

// optionsArg checks that argument i is an options object or absent. It
// checks that the keys named in callbacks hold functions (or nothing), and
// decodes the data keys into v, rejecting any key that neither v nor
// callbacks has. It returns the callbacks present.
func optionsArg(args []js.Value, i int, name string, v any, callbacks ...string) (map[string]js.Value, error) {
	cbs := map[string]js.Value{}
	o := arg(args, i)
	if absent(o) {
		return cbs, nil
	}
	if !isPlainObject(o) {
		return nil, argError(name, "must be an object, not "+describe(o))
	}
	for _, k := range callbacks {
		if k == "signal" { // not a function: signalArg reads it
			continue
		}
		cb, err := getProp(o, k)
		switch {
		case err != nil:
			return nil, argError(name+"."+k, "reading it threw "+err.Error())
		case absent(cb):
		case cb.Type() != js.TypeFunction:
			return nil, argError(name+"."+k, "must be a function, not "+describe(cb))
		default:
			cbs[k] = cb
		}
	}
	if v == nil {
		v = &struct{}{}
	}
	if slices.Contains(callbacks, "signal") {
		// An AbortSignal is an object, which JSON would show as {}: the
		// options are decoded without it.
		if err := jsutil.Try(func() {
			o = jsObject.Call("assign", jsObject.New(), o)
			o.Delete("signal")
		}); err != nil {
			return nil, argError(name, "reading it threw "+err.Error())
		}
	}
	if err := decodeValue(o, name, v, true, callbacks...); err != nil {
		return nil, err
	}
	return cbs, nil
}

// objectArg decodes argument i, which must be an object, into v; strict
// rejects keys v does not have (for patches, where a misspelt key would
// otherwise be a silent no-op).
func objectArg(args []js.Value, i int, name string, v any, strict bool) error {
	o := arg(args, i)
	if !isPlainObject(o) {
		return argError(name, "must be an object, not "+describe(o))
	}
	return decodeValue(o, name, v, strict)
}

// arrayArg decodes argument i, which must be an array, into v (a pointer
// to a slice).
func arrayArg(args []js.Value, i int, name string, v any) error {
	a := arg(args, i)
	if a.Type() != js.TypeObject || !isArray(a) {
		return argError(name, "must be an array, not "+describe(a))
	}
	return decodeValue(a, name, v, false)
}

// jsonArg decodes argument i, any JSON value, into v. It must be present.
func jsonArg(args []js.Value, i int, name string, v any) error {
	a := arg(args, i)
	if a.IsUndefined() {
		return argError(name, "required")
	}
	return decodeValue(a, name, v, false)
}

// decodeValue decodes a JavaScript value into v by way of JSON.stringify.
// strict rejects keys of an object that v (a pointer to a struct) has no
// field for, matched exactly (encoding/json alone would match "ifversion"
// to ifVersion), other than those in extra; keys of nested objects are
// checked by encoding/json's rules.
func decodeValue(val js.Value, name string, v any, strict bool, extra ...string) error {
	var s js.Value
	if err := jsutil.Try(func() { s = jsJSON.Call("stringify", val) }); err != nil {
		// A cycle, a BigInt, or a getter or toJSON that throws.
		return argError(name, "cannot be converted to JSON: "+err.Error())
	}
	if s.Type() != js.TypeString {
		return argError(name, "must be a JSON value, not "+describe(val))
	}
	return decodeText(s.String(), name, v, strict, extra...)
}

// decodeText is decodeValue for the JSON text of the value.
func decodeText(text, name string, v any, strict bool, extra ...string) error {
	if strict {
		var keys map[string]json.RawMessage
		if json.Unmarshal([]byte(text), &keys) == nil {
			known := jsonKeys(v)
			for k := range keys {
				if !known[k] && !slices.Contains(extra, k) {
					return argError(name, fmt.Sprintf("unknown key %q", k))
				}
			}
		}
	}
	// Nodes, edges and graphs, which come in thousands, go through the
	// fast decoder, which gives encoding/json's exact result or gives up;
	// encoding/json then decodes, and gives the error for bad input.
	if !strict && jsoncodec.Unmarshal([]byte(text), v) {
		return nil
	}
	d := json.NewDecoder(strings.NewReader(text))
	if strict {
		d.DisallowUnknownFields()
	}
	if err := d.Decode(v); err != nil {
		return jsonError(name, err)
	}
	return nil
}

// jsonKeys returns the JSON keys of the struct v points to.
func jsonKeys(v any) map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return keys
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
		case "":
			keys[f.Name] = true
		default:
			keys[name] = true
		}
	}
	return keys
}

// jsonError turns a decoding error into a ValidationError that names the
// argument and the field in JavaScript terms. Errors that already are
// typed (a ValidationError from a coordinate, a RefError from an asset
// ref) pass through.
func jsonError(name string, err error) error {
	var ve *atelier.ValidationError
	if errors.As(err, &ve) {
		return ve
	}
	if errors.Is(err, atelier.ErrInvalidRef) {
		return err
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := name
		if te.Field != "" {
			field += "." + te.Field
		}
		return argError(field, "must be "+jsType(te.Type)+", not "+jsValueName(te.Value))
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return argError(name, "unknown key "+f)
	}
	return argError(name, strings.TrimPrefix(msg, "json: "))
}

// jsType names what a Go type holds, as JavaScript sees it.
func jsType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsType(t.Elem())
	}
	return "an object"
}

// jsValueName turns encoding/json's description of a value ("number 1.5",
// "string", "object") into words.
func jsValueName(v string) string {
	switch {
	case strings.HasPrefix(v, "number"):
		return "a " + v
	case v == "object" || v == "array":
		return "an " + v
	case v == "":
		return "something else"
	}
	return "a " + v
}

// writeOptions reads {ifVersion} from argument i: a positive integer makes
// the write compare-and-set.
func writeOptions(args []js.Value, i int) ([]idb.WriteOption, error) {
	var o struct {
		IfVersion *int64 `json:"ifVersion"`
	}
	if _, err := optionsArg(args, i, "options", &o); err != nil {
		return nil, err
	}
	if o.IfVersion == nil {
		return nil, nil
	}
	if *o.IfVersion <= 0 {
		return nil, argError("options.ifVersion", "must be a positive integer")
	}
	return []idb.WriteOption{idb.IfVersion(*o.IfVersion)}, nil
}

// object makes a JavaScript object with the keys in the order given (as
// key, value pairs), where js.ValueOf of a map would order them at random.
func object(kv ...any) js.Value {
	o := jsObject.New()
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// isNull reports whether b is JSON null.
func isNull(b json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }
