//go:build js && wasm

package syncengine

import (
	"errors"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/syncproto"
)

// fakeFetch replaces globalThis.fetch for the rest of the test with one
// that records each request (method, URL, its Atelier-Sync header) in
// globalThis.fetched and answers with status and body, and with the
// Atelier-Sync header version unless it is "".
func fakeFetch(t *testing.T, status int, version, body string) {
	t.Helper()
	old := js.Global().Get("fetch")
	f := js.Global().Get("Function").New("status", "version", "body", `
		globalThis.fetched = [];
		return async (url, init) => {
			const h = new Headers(init && init.headers);
			fetched.push([init.method || "GET", String(url), h.get("Atelier-Sync")]);
			const headers = { "Content-Type": "application/json" };
			if (version) headers["Atelier-Sync"] = version;
			return new Response(body, { status, headers });
		};`).Invoke(status, version, body)
	js.Global().Set("fetch", f)
	t.Cleanup(func() { js.Global().Set("fetch", old) })
}

func fetched() [][3]string {
	v := js.Global().Get("fetched")
	out := make([][3]string, v.Length())
	for i := range out {
		r := v.Index(i)
		out[i] = [3]string{r.Index(0).String(), r.Index(1).String(), r.Index(2).String()}
	}
	return out
}

var onePush = &syncproto.PushRequest{Ops: []syncproto.Op{}}

// A server of the first protocol version names none: the transport
// refuses it before its first push, so nothing is pushed to it.
func TestHTTPRefusesAServerOfAnotherVersion(t *testing.T) {
	fakeFetch(t, 200, "", `{"changes":[],"cursor":0,"more":false}`)
	h := NewHTTP("https://sync.example", "ws", "tok")
	_, err := h.Push(t.Context(), onePush)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Server != "" || permanent(err) {
		t.Fatalf("Push to a server of protocol 1: %v", err)
	}
	for _, r := range fetched() {
		if r[0] != "GET" {
			t.Fatalf("%s %s sent to a server of another protocol", r[0], r[1])
		}
	}
	if _, err := h.Pull(t.Context(), 0, 10); !errors.As(err, &pe) {
		t.Fatalf("Pull from a server of protocol 1: %v", err)
	}
	// A newer server refuses this client with 426.
	fakeFetch(t, 426, "3", `{"error":"update the client","code":"Protocol"}`)
	if _, err := h.Pull(t.Context(), 0, 10); !errors.As(err, &pe) || pe.Server != "3" || pe.Status != 426 {
		t.Fatalf("Pull from a server of protocol 3: %v", err)
	}
}

func TestHTTPSpeaksItsVersion(t *testing.T) {
	fakeFetch(t, 200, syncproto.Protocol, `{"acks":[],"changes":[],"cursor":0,"more":false}`)
	h := NewHTTP("https://sync.example", "ws", "tok")
	if _, err := h.Push(t.Context(), onePush); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Push(t.Context(), onePush); err != nil {
		t.Fatal(err)
	}
	got := fetched()
	// One check of the version, then the pushes.
	if len(got) != 3 || got[0][0] != "GET" || got[1][0] != "POST" || got[2][0] != "POST" {
		t.Fatalf("requests %v", got)
	}
	for _, r := range got {
		if r[2] != syncproto.Protocol {
			t.Fatalf("%s %s sent %s %q", r[0], r[1], syncproto.ProtocolHeader, r[2])
		}
	}
}
