//go:build js && wasm

package syncengine

import (
	"errors"
	"fmt"
	"syscall/js"
	"testing"

	"github.com/atelierstore/atelier/syncproto"
)

// fakeFetch replaces globalThis.fetch for the rest of the test with one
// that records each request (method, URL, its Atelier-Sync header) and
// answers with status and body, and with the Atelier-Sync header version
// unless it is "". It returns the requests recorded so far.
func fakeFetch(t *testing.T, status int, version, body string) (fetched func() [][3]string) {
	t.Helper()
	var got [][3]string
	serveFetch(t, func(url string, init js.Value) answer {
		got = append(got, [3]string{method(init), url, fmt.Sprint(reqHeader(init, syncproto.ProtocolHeader))})
		return answer{status: status, body: body, version: &version}
	})
	return func() [][3]string { return got }
}

var onePush = &syncproto.PushRequest{Ops: []syncproto.Op{}}

// A server of the first protocol version names none: the transport
// refuses it before its first push, so nothing is pushed to it.
func TestHTTPRefusesAServerOfAnotherVersion(t *testing.T) {
	fetched := fakeFetch(t, 200, "", `{"changes":[],"cursor":0,"more":false}`)
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
	fetched := fakeFetch(t, 200, syncproto.Protocol, `{"acks":[],"changes":[],"cursor":0,"more":false}`)
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
