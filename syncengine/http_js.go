//go:build js && wasm

package syncengine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"syscall/js"

	"github.com/atelierstore/atelier/internal/jsutil"
	"github.com/atelierstore/atelier/syncproto"
)

// HTTP is the Transport to a sync server over fetch.
type HTTP struct {
	base, workspace, token string
}

// NewHTTP returns a transport to the server at baseURL (e.g.
// "https://sync.example.com"), for one workspace, authenticating with a
// bearer token.
func NewHTTP(baseURL, workspace, token string) *HTTP {
	return &HTTP{base: strings.TrimRight(baseURL, "/"), workspace: workspace, token: token}
}

func (h *HTTP) url(route string) string {
	return h.base + strings.Replace(route, "{ws}", url.PathEscape(h.workspace), 1)
}

// do sends one request and decodes the JSON answer into out. Network
// failures and 5xx answers come back as retryable errors; 4xx answers as
// an *HTTPError.
func (h *HTTP) do(ctx context.Context, method, u string, in, out any) error {
	init := map[string]any{
		"method":  method,
		"headers": map[string]any{"Authorization": "Bearer " + h.token, "Content-Type": "application/json"},
	}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		init["body"] = string(b)
	}
	abort := js.Global().Get("AbortController").New()
	init["signal"] = abort.Get("signal")
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	defer stop()
	resp, err := jsutil.Await(ctx, js.Global().Call("fetch", u, init))
	if err != nil {
		return fmt.Errorf("sync server unreachable: %w", err)
	}
	text, err := jsutil.Await(ctx, resp.Call("text"))
	if err != nil {
		return fmt.Errorf("reading the sync server's answer: %w", err)
	}
	status := resp.Get("status").Int()
	if status < 200 || status > 299 {
		var e syncproto.ErrorResponse
		_ = json.Unmarshal([]byte(text.String()), &e)
		if e.Error == "" {
			e.Error = resp.Get("statusText").String()
		}
		return &HTTPError{Status: status, Code: e.Code, Msg: e.Error}
	}
	if err := json.Unmarshal([]byte(text.String()), out); err != nil {
		return fmt.Errorf("sync server answered %s %s with something that is not its JSON: %w", method, u, err)
	}
	return nil
}

// Push implements Transport.
func (h *HTTP) Push(ctx context.Context, req *syncproto.PushRequest) (*syncproto.PushResponse, error) {
	var out syncproto.PushResponse
	return &out, h.do(ctx, "POST", h.url(syncproto.RoutePush), req, &out)
}

// Pull implements Transport.
func (h *HTTP) Pull(ctx context.Context, cursor int64, limit int) (*syncproto.PullResponse, error) {
	var out syncproto.PullResponse
	u := h.url(syncproto.RoutePull) + "?cursor=" + strconv.FormatInt(cursor, 10) + "&limit=" + strconv.Itoa(limit)
	return &out, h.do(ctx, "GET", u, nil, &out)
}

// FollowOnline pauses the engine while the browser reports being offline
// and resumes it (with a round at once) when it comes back. The returned
// function stops following.
func FollowOnline(e *Engine) (stop func()) {
	nav := js.Global().Get("navigator")
	if on := nav.Get("onLine"); on.Type() == js.TypeBoolean {
		e.SetOnline(on.Bool())
	}
	online := js.FuncOf(func(js.Value, []js.Value) any { e.SetOnline(true); return nil })
	offline := js.FuncOf(func(js.Value, []js.Value) any { e.SetOnline(false); return nil })
	js.Global().Call("addEventListener", "online", online)
	js.Global().Call("addEventListener", "offline", offline)
	return func() {
		js.Global().Call("removeEventListener", "online", online)
		js.Global().Call("removeEventListener", "offline", offline)
		online.Release()
		offline.Release()
	}
}
