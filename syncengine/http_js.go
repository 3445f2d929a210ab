//go:build js && wasm

package syncengine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/atelierstore/atelier/internal/jsnet"
	"github.com/atelierstore/atelier/syncproto"
)

// HTTP is the Transport to a sync server over fetch.
type HTTP struct {
	base, workspace, token string
	// spoken is set once the server has answered with this protocol's
	// version (syncproto.ProtocolHeader).
	spoken atomic.Bool
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
	return h.send(ctx, method, u, false, in, out)
}

// send is do; a request of a sync route (versioned) also fails with a
// *ProtocolError when the answer is not of this protocol's version.
func (h *HTTP) send(ctx context.Context, method, u string, versioned bool, in, out any) error {
	req := jsnet.Request{Method: method, URL: u,
		Header: map[string]string{"Authorization": "Bearer " + h.token, "Content-Type": "application/json",
			syncproto.ProtocolHeader: syncproto.Protocol}}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		req.Body = string(b)
	}
	resp, err := jsnet.Fetch(ctx, req)
	if err != nil {
		return fmt.Errorf("sync server unreachable: %w", err)
	}
	defer resp.Close()
	if versioned {
		if v, _ := resp.Header(syncproto.ProtocolHeader); v != syncproto.Protocol || resp.Status == 426 {
			return &ProtocolError{Server: v, Status: resp.Status}
		}
		h.spoken.Store(true)
	}
	text, err := resp.Text(ctx)
	if err != nil {
		return fmt.Errorf("reading the sync server's answer: %w", err)
	}
	if !resp.OK() {
		var e syncproto.ErrorResponse
		_ = json.Unmarshal([]byte(text), &e)
		if e.Error == "" {
			e.Error = resp.StatusText
		}
		return &HTTPError{Status: resp.Status, Code: e.Code, Msg: e.Error}
	}
	if err := json.Unmarshal([]byte(text), out); err != nil {
		return fmt.Errorf("sync server answered %s %s with something that is not its JSON: %w", method, u, err)
	}
	return nil
}

// Push implements Transport. Before the first push it checks, with an
// empty pull, that the server speaks this protocol's version: a server of
// another version would apply the ops by its own rules before the answer
// told.
func (h *HTTP) Push(ctx context.Context, req *syncproto.PushRequest) (*syncproto.PushResponse, error) {
	if !h.spoken.Load() {
		if _, err := h.Pull(ctx, syncproto.MaxSafeInt, 1); err != nil {
			return nil, err
		}
	}
	var out syncproto.PushResponse
	return &out, h.send(ctx, "POST", h.url(syncproto.RoutePush), true, req, &out)
}

// Pull implements Transport.
func (h *HTTP) Pull(ctx context.Context, cursor int64, limit int) (*syncproto.PullResponse, error) {
	var out syncproto.PullResponse
	u := h.url(syncproto.RoutePull) + "?cursor=" + strconv.FormatInt(cursor, 10) + "&limit=" + strconv.Itoa(limit)
	return &out, h.send(ctx, "GET", u, true, nil, &out)
}

// Watch implements Watcher: a long poll of syncproto.RouteWatch, held by
// the server up to syncproto.DefaultWatchWait.
func (h *HTTP) Watch(ctx context.Context, after int64) (int64, error) {
	var out syncproto.WatchResponse
	u := h.url(syncproto.RouteWatch) + "?after=" + strconv.FormatInt(after, 10)
	if err := h.send(ctx, "GET", u, true, nil, &out); err != nil {
		return 0, err
	}
	return out.Seq, nil
}

// FollowOnline pauses the engine while the browser reports being offline
// and resumes it (with a round at once) when it comes back. The returned
// function stops following.
func FollowOnline(e *Engine) (stop func()) { return jsnet.FollowOnline(e.SetOnline) }
