//go:build js && wasm

package tabs

import (
	"errors"
	"strconv"
	"sync"
	"syscall/js"
	"time"

	"github.com/atelierstore/atelier/internal/jsutil"
)

// Bus carries string messages to the other tabs of the origin that opened
// a Bus with the same name. A tab does not receive its own messages.
type Bus struct {
	name      string
	transport string // "broadcastchannel" or "storage"
	ch        js.Value
	fn        js.Func
	mu        sync.Mutex
	recv      func(string)
	closed    bool
	seq       int
}

// Open opens the bus named name; recv is called, from a browser event, for
// every message another tab posts (it must not block). It uses a
// BroadcastChannel, or localStorage's storage event when BroadcastChannel
// is missing; with neither it fails.
func Open(name string, recv func(string)) (*Bus, error) {
	b := &Bus{name: name, recv: recv}
	if bc := js.Global().Get("BroadcastChannel"); bc.Type() == js.TypeFunction {
		b.transport = "broadcastchannel"
		b.fn = js.FuncOf(func(_ js.Value, args []js.Value) any {
			if d := args[0].Get("data"); d.Type() == js.TypeString {
				b.deliver(d.String())
			}
			return nil
		})
		if err := jsutil.Try(func() {
			b.ch = bc.New(name)
			b.ch.Set("onmessage", b.fn)
		}); err != nil {
			b.fn.Release()
			return nil, err
		}
		return b, nil
	}
	ls := localStorage()
	if ls.IsUndefined() {
		return nil, errors.New("tabs: neither BroadcastChannel nor localStorage is available")
	}
	b.transport = "storage"
	b.fn = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := args[0]
		if ev.Get("key").Type() != js.TypeString || ev.Get("key").String() != b.key() {
			return nil
		}
		if v := ev.Get("newValue"); v.Type() == js.TypeString {
			// Values carry a sequence prefix so that repeated messages
			// still change the value (and fire the event).
			s := v.String()
			for i := 0; i < len(s); i++ {
				if s[i] == ' ' {
					b.deliver(s[i+1:])
					break
				}
			}
		}
		return nil
	})
	js.Global().Call("addEventListener", "storage", b.fn)
	return b, nil
}

func localStorage() (ls js.Value) {
	// Reading localStorage throws where storage is disabled.
	if jsutil.Try(func() { ls = js.Global().Get("localStorage") }) != nil || !ls.Truthy() {
		return js.Undefined()
	}
	return ls
}

func (b *Bus) key() string { return "atelier-bus:" + b.name }

// Transport names the mechanism in use: "broadcastchannel" or "storage".
func (b *Bus) Transport() string { return b.transport }

func (b *Bus) deliver(msg string) {
	b.mu.Lock()
	recv, closed := b.recv, b.closed
	b.mu.Unlock()
	if !closed && recv != nil {
		recv(msg)
	}
}

// Post sends msg to the other tabs.
func (b *Bus) Post(msg string) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errors.New("tabs: bus closed")
	}
	b.seq++
	seq := b.seq
	b.mu.Unlock()
	if b.transport == "broadcastchannel" {
		return jsutil.Try(func() { b.ch.Call("postMessage", msg) })
	}
	return jsutil.Try(func() {
		localStorage().Call("setItem", b.key(), strconv.FormatInt(time.Now().UnixNano(), 36)+"."+strconv.Itoa(seq)+" "+msg)
	})
}

// Close stops delivery and releases the callback.
func (b *Bus) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	_ = jsutil.Try(func() {
		if b.transport == "broadcastchannel" {
			b.ch.Set("onmessage", js.Null())
			b.ch.Call("close")
		} else {
			js.Global().Call("removeEventListener", "storage", b.fn)
		}
	})
	b.fn.Release()
}
