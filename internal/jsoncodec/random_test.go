package jsoncodec

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRandomEdits decodes realistic nodes with random edits of the kinds
// the fast path must notice (keys in another case, repeated or missing keys, nulls,
// numbers out of range or of the wrong kind, unknown keys, broken syntax)
// both ways. Unlike the fuzz tests it runs the same way in the browser,
// where the fast path matters.
func TestRandomEdits(t *testing.T) {
	t.Parallel()
	base := realisticJSON(t, 4)
	edits := [][2]string{
		{`"title"`, `"Title"`},
		{`"id"`, `"ID"`},
		{`"x"`, `"X"`},
		{`"width"`, `"WIDTH"`},
		{`"status":"idle"`, `"status":"idle","status":"done"`},
		{`"position":{`, `"position":{"x":0,`},
		{`,"y":`, `,"why":`},
		{`,"height":`, `,"h":`},
		{`"type":"image-generation"`, `"type":null`},
		{`"size":{"width":240,"height":160}`, `"size":null`},
		{`"position":{"x":`, `"position":{"x":null,"z":`},
		{`"config":{`, `"config":null,"c":{`},
		{`"config":{`, `"config":{"html":"<a href=\"x\">&amp;</a>\u2028",`},
		{`"height":160`, `"height":1e400`},
		{`"height":160`, `"height":-0.0`},
		{`"height":160`, `"height":"160"`},
		{`"seed":`, `"seed":01`},
		{`"negative"`, `"negative\u0000"`},
		{`"prompt"`, `"proMpt"`},
		{`}`, `},`},
		{`"steps":30`, `"steps":30,"extra":{"version":2,"id":[1,{"x":null}]}`},
		{`"title":"Render pass`, `"title":"Render \ud800 pass`},
		{`"title":"Render pass`, `"title":"Render \x01 pass`},
		{`"workflowId"`, `"workflow_id"`},
		{`"status"`, `"ſtatus"`},
		{`{"id"`, `{"version":1.5,"id"`},
		{`{"id"`, `{"result":{"text":"a","asset":null},"id"`},
	}
	r := rand.New(rand.NewPCG(1, 2))
	fast := 0
	for range 2000 {
		b := base
		for range 1 + r.IntN(3) {
			e := edits[r.IntN(len(edits))]
			n := bytes.Count(b, []byte(e[0]))
			if n == 0 {
				continue
			}
			// Replace the k-th occurrence only.
			k, i := r.IntN(n), -1
			for range k + 1 {
				j := bytes.Index(b[i+1:], []byte(e[0]))
				i += j + 1
			}
			b = append(append(append([]byte{}, b[:i]...), e[1]...), b[i+len(e[0]):]...)
		}
		if checkDecode(t, b)["[]Node"] {
			fast++
		}
		if t.Failed() {
			t.Fatalf("after %q", b)
		}
	}
	t.Logf("%d of 2000 edited inputs took the fast path", fast)
	if fast == 0 {
		t.Error("no edited input took the fast path")
	}
}
