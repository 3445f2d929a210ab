package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// JSError is an exception thrown, or a promise rejected, in a page: the
// JavaScript Error's name, code and message as the page saw them. The
// library's rejections have Name and Code "NotFound", "Invalid",
// "VersionConflict", "Closed", "QuotaExceeded", ...; a DOMException has its
// DOM name ("QuotaExceededError") and its numeric legacy code.
type JSError struct {
	Tab     string // the tab's name
	Name    string // e.g. "NotFound", "TypeError"; "" when a non-Error was thrown
	Code    string // the error's code property, if any
	Message string
	Stack   string
}

// Error returns "TAB: NAME: MESSAGE".
func (e *JSError) Error() string {
	name := e.Name
	if name == "" {
		name = "thrown"
	}
	return fmt.Sprintf("%s: %s: %s", e.Tab, name, e.Message)
}

// ErrorName returns the Name of the JSError in err's chain, or "" when err is
// not (or does not wrap) a JSError: a failed navigation, a closed tab, a
// timeout.
func ErrorName(err error) string {
	var je *JSError
	if errors.As(err, &je) {
		return je.Name
	}
	return ""
}

// Evaluator is a page that Eval runs scripts in: a Chromium *Tab, or a
// *Page of Firefox or WebKit (StartRemote).
type Evaluator interface {
	Name() string
	evaluate(ctx context.Context, js string, args []any) (json.RawMessage, error)
}

// Eval evaluates js in tab's page and returns its result, decoded from JSON
// into T. It fails the test on any error, with the JavaScript error's name
// and message; use TryEval to inspect the error.
//
// js is a JavaScript expression. When it evaluates to a function, the
// function is called with args (each encoded as JSON); either way a promise is
// awaited. Globals of the page, such as db and atelier on AppPath, are in
// scope:
//
//	n := browsertest.Eval[int](t, tab, "1 + 2")
//	w := browsertest.Eval[Workflow](t, tab, `name => db.createWorkflow(name)`, "Storyboard")
//	ids := browsertest.Eval[[]string](t, tab, `async (wf) => {
//		const g = await db.loadWorkflow(wf);
//		return g.nodes.map((n) => n.id);
//	}`, wf.ID)
//
// A result of undefined decodes as null (the zero T). Use T = any or
// json.RawMessage when the shape does not matter.
func Eval[T any](tb testing.TB, tab Evaluator, js string, args ...any) T {
	tb.Helper()
	v, err := TryEval[T](tb.Context(), tab, js, args...)
	if err != nil {
		tb.Fatalf("Eval %s: %v", abbrev(js), err)
	}
	return v
}

// TryEval is Eval returning the error instead of failing the test, so it
// may be called from any goroutine. A JavaScript exception or rejection is a
// *JSError (see ErrorName); a closed tab, a navigation in the middle of the
// evaluation, or the end of ctx or of the browser's timeout is another error.
func TryEval[T any](ctx context.Context, tab Evaluator, js string, args ...any) (T, error) {
	var zero T
	raw, err := tab.evaluate(ctx, js, args)
	if err != nil {
		return zero, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return zero, fmt.Errorf("%s: decoding the result %s into %T: %w", tab.Name(), abbrev(string(raw)), zero, err)
	}
	return v, nil
}

// evalWrapper runs the caller's expression and reports its outcome as a JSON
// string, so results never depend on DevTools' object serialization and
// exceptions keep name, code and message. %[1]s is the expression, %[2]s the
// JSON array of arguments.
const evalWrapper = `(async () => {
	try {
		let v = (
%[1]s
		);
		if (typeof v === "function") v = v(...%[2]s);
		else if (%[2]s.length > 0) throw new TypeError("browsertest: arguments given, but the expression is not a function");
		v = await v;
		return JSON.stringify({ ok: true, value: v === undefined ? null : v });
	} catch (e) {
		const o = e !== null && typeof e === "object";
		return JSON.stringify({
			ok: false,
			name: o && e.name != null ? String(e.name) : "",
			code: o && e.code != null ? String(e.code) : "",
			message: o && e.message != null ? String(e.message) : String(e),
			stack: o && e.stack != null ? String(e.stack) : "",
		});
	}
})()`

// eval runs js in the page and returns the JSON of its result.
func (t *Tab) evaluate(ctx context.Context, js string, args []any) (json.RawMessage, error) {
	if t.crashed.Load() {
		return nil, fmt.Errorf("%s: %w", t.name, ErrCrashed)
	}
	argv, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding the arguments: %w", t.name, err)
	}
	if args == nil {
		argv = []byte("[]")
	}
	cctx, cancel := t.b.bound(t.ctx, ctx)
	defer cancel()
	yes := true
	res, err := chromedp.Call(cctx, runtime.Evaluate, runtime.EvaluateParams{
		Expression:    fmt.Sprintf(evalWrapper, js, argv),
		AwaitPromise:  &yes,
		ReturnByValue: &yes,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: evaluating %s: %w", t.name, abbrev(js), err)
	}
	if d := res.ExceptionDetails; d != nil {
		// The expression did not parse, so the wrapper's catch never ran.
		je := &JSError{Tab: t.name, Message: d.Text}
		if d.Exception != nil {
			je.Name = d.Exception.ClassName
			je.Message, _, _ = strings.Cut(d.Exception.Description, "\n")
			je.Message = strings.TrimPrefix(je.Message, je.Name+": ")
		}
		return nil, je
	}
	var s string
	if res.Result == nil || json.Unmarshal(res.Result.Value, &s) != nil {
		return nil, fmt.Errorf("%s: evaluating %s: unexpected result %+v", t.name, abbrev(js), res.Result)
	}
	return unwrap(t.name, js, s)
}

// unwrap decodes s, what evalWrapper returned for js in the page called
// name.
func unwrap(name, js, s string) (json.RawMessage, error) {
	var out struct {
		OK      bool            `json:"ok"`
		Value   json.RawMessage `json:"value"`
		Name    string          `json:"name"`
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Stack   string          `json:"stack"`
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("%s: evaluating %s: %w", name, abbrev(js), err)
	}
	if !out.OK {
		return nil, &JSError{Tab: name, Name: out.Name, Code: out.Code, Message: out.Message, Stack: out.Stack}
	}
	return out.Value, nil
}

// abbrev shortens js for messages.
func abbrev(js string) string {
	js = strings.Join(strings.Fields(js), " ")
	if len(js) > 80 {
		js = js[:77] + "..."
	}
	return js
}
