//go:build js && wasm

// Command wasm is the library side of `make bench`: loaded by
// bench/index.html (and, for the worker scenarios, by bench/worker.js in a
// dedicated worker), it runs each scenario through the library's public Go
// API and, in the same loop, the JavaScript baselines of bench/baselines.mjs
// (raw IndexedDB, Dexie.js, raw OPFS, BroadcastChannel), alternating the
// contenders every iteration so that drift on a busy machine hits them
// alike. It installs globalThis.benchLib.run(name, optionsJSON), which
// resolves to the scenario's samples as JSON; the host driver (bench/driver)
// turns them into medians and ratios.
//
// The baselines time themselves with performance.now() inside JavaScript;
// the library is timed here around the Go call, so the figures on both sides
// cover the same work: from the call until the data is stored (or loaded)
// and usable by the caller.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall/js"
	"time"
)

func main() {
	api := js.Global().Get("Object").New()
	api.Set("run", js.FuncOf(func(_ js.Value, args []js.Value) any {
		name, opts := "", "{}"
		if len(args) > 0 {
			name = args[0].String()
		}
		if len(args) > 1 && args[1].Type() == js.TypeString {
			opts = args[1].String()
		}
		return promise(func(ctx context.Context) (any, error) {
			out, err := run(ctx, name, []byte(opts))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			b, err := json.Marshal(out)
			return string(b), err
		})
	}))
	js.Global().Set("benchLib", api)
	if ready := js.Global().Get("__benchReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(api)
	}
	select {}
}

// Options are what the driver passes to a scenario; each uses the fields it
// needs.
type Options struct {
	Runs    int     `json:"runs"`    // measured iterations (after one warm-up)
	Samples int     `json:"samples"` // samples per run, for latency scenarios
	N       int     `json:"n"`       // records
	Bytes   int     `json:"bytes"`   // asset size
	Parts   int     `json:"parts"`   // assets in a package
	GapMS   float64 `json:"gapMs"`   // pause between latency samples
	Name    string  `json:"name"`    // database name
	Key     float64 `json:"key"`     // first position used by a latency run
	WF      string  `json:"wf"`
	Node    string  `json:"node"`
}

// Result is a scenario's measurements: for each series (contender and
// operation, e.g. "library.write"), the samples in milliseconds of every
// measured run. Bytes is the size each sample moved, for throughput.
type Result struct {
	Series map[string][][]float64 `json:"series,omitempty"`
	Bytes  int64                  `json:"bytes,omitempty"`
	Info   map[string]any         `json:"info,omitempty"`
}

func newResult() *Result { return &Result{Series: map[string][][]float64{}, Info: map[string]any{}} }

// add appends one sample to the current run of series s.
func (r *Result) add(s string, run int, ms float64) {
	for len(r.Series[s]) <= run {
		r.Series[s] = append(r.Series[s], nil)
	}
	r.Series[s][run] = append(r.Series[s][run], ms)
}

func run(ctx context.Context, name string, raw []byte) (any, error) {
	var o Options
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	if o.Runs <= 0 {
		o.Runs = 5
	}
	out, err := scenario(ctx, name, o)
	if r, ok := out.(*Result); ok && err == nil {
		r.Info["crossOriginIsolated"] = js.Global().Get("crossOriginIsolated").Truthy()
	}
	return out, err
}

func scenario(ctx context.Context, name string, o Options) (any, error) {
	switch name {
	case "S1":
		return s1(ctx, o)
	case "S2":
		return s2(ctx, o)
	case "S3":
		return s3(ctx, o)
	case "S4":
		return s4(ctx, o)
	case "S5":
		return s5(ctx, o)
	case "S6.setup":
		return s6Setup(ctx, o)
	case "S6.watch":
		return s6Watch(ctx, o)
	case "S6.update":
		return s6Update(ctx, o)
	case "S6.seen":
		return s6Seen(), nil
	case "S7":
		return s7(ctx, o)
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// order returns the contenders rotated by i, so that each goes first, second
// and last equally often.
func order(i int, cs ...string) []string {
	out := make([]string, len(cs))
	for j := range cs {
		out[j] = cs[(i+j)%len(cs)]
	}
	return out
}

// ms is the time since t0 in milliseconds.
func ms(t0 time.Time) float64 { return float64(time.Since(t0).Microseconds()) / 1000 }

// baselines is the object holding the JavaScript baselines: the module
// bench/baselines.mjs on the page, globalThis.rawWorker in the worker.
func baselines() js.Value {
	if b := js.Global().Get("baselines"); b.Truthy() {
		return b
	}
	return js.Global().Get("rawWorker")
}

// call calls a baseline and awaits its promise.
func call(ctx context.Context, fn string, args ...any) (js.Value, error) {
	b := baselines()
	if b.Get(fn).Type() != js.TypeFunction {
		return js.Undefined(), fmt.Errorf("no baseline %s", fn)
	}
	var p js.Value
	if err := catch(func() { p = b.Call(fn, args...) }); err != nil {
		return js.Undefined(), fmt.Errorf("%s: %w", fn, err)
	}
	v, err := await(ctx, p)
	if err != nil {
		return v, fmt.Errorf("%s: %w", fn, err)
	}
	return v, nil
}

// timed calls a baseline that resolves to the milliseconds it measured.
func timed(ctx context.Context, fn string, args ...any) (float64, error) {
	v, err := call(ctx, fn, args...)
	if err != nil {
		return 0, err
	}
	if v.Type() != js.TypeNumber {
		return 0, fmt.Errorf("%s resolved to %s, not a duration", fn, v.Type())
	}
	return v.Float(), nil
}

// await waits for a promise (or returns a non-promise value as it is).
func await(ctx context.Context, p js.Value) (js.Value, error) {
	if p.Type() != js.TypeObject || p.Get("then").Type() != js.TypeFunction {
		return p, nil
	}
	type settled struct {
		v   js.Value
		err error
	}
	ch := make(chan settled, 1)
	var ok, fail js.Func
	ok = js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- settled{v: arg(a)}
		return nil
	})
	fail = js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- settled{err: jsError(arg(a))}
		return nil
	})
	p.Call("then", ok, fail)
	select {
	case s := <-ch:
		ok.Release()
		fail.Release()
		return s.v, s.err
	case <-ctx.Done():
		go func() { <-ch; ok.Release(); fail.Release() }()
		return js.Undefined(), ctx.Err()
	}
}

func arg(a []js.Value) js.Value {
	if len(a) == 0 {
		return js.Undefined()
	}
	return a[0]
}

// jsError turns a thrown JavaScript value into a Go error.
func jsError(v js.Value) error {
	if v.Type() == js.TypeObject && v.Get("message").Type() == js.TypeString {
		return fmt.Errorf("%s: %s", v.Get("name").String(), v.Get("message").String())
	}
	return fmt.Errorf("%s", js.Global().Call("String", v).String())
}

// catch runs fn, turning a JavaScript exception (a js.Error panic) into an
// error.
func catch(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			var je js.Error
			if e, ok := r.(error); ok && errors.As(e, &je) {
				err = jsError(je.Value)
				return
			}
			panic(r)
		}
	}()
	fn()
	return nil
}

// promise runs fn in a goroutine and returns a Promise of its result; an
// error rejects it with an Error carrying the message.
func promise(fn func(ctx context.Context) (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, a []js.Value) any {
		resolve, reject := a[0], a[1]
		go func() {
			defer executor.Release()
			defer func() {
				if r := recover(); r != nil {
					reject.Invoke(js.Global().Get("Error").New(fmt.Sprint("panic: ", r)))
				}
			}()
			v, err := fn(context.Background())
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}

// perfNow is the page's high-resolution time on a clock that tabs of one
// browser share (performance.timeOrigin + performance.now()), in ms.
func perfNow() float64 {
	p := js.Global().Get("performance")
	return p.Get("timeOrigin").Float() + p.Call("now").Float()
}

// sleep pauses for d (a setTimeout), letting the page's event loop run.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
