package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/syncproto"
)

// job talks to one workspace of a sync server over its HTTP routes.
type job struct {
	base, ws, token string
	log             *log.Logger
	client          http.Client
}

// run processes queued nodes, then waits for the next change and looks
// again, until ctx ends. Failures are logged and retried after a pause.
func (j *job) run(ctx context.Context) error {
	for ctx.Err() == nil {
		seq, err := j.runOnce(ctx)
		if err == nil {
			_, err = j.watch(ctx, seq)
		}
		if err != nil && ctx.Err() == nil {
			j.log.Printf("%v; again in 2 s", err)
			select {
			case <-time.After(2 * time.Second):
			case <-ctx.Done():
			}
		}
	}
	return ctx.Err()
}

// runOnce processes every node queued now and returns the workspace's
// sequence number as it read it.
func (j *job) runOnce(ctx context.Context) (int64, error) {
	var list struct {
		Workflows []graph.Workflow `json:"workflows"`
		Seq       int64            `json:"seq"`
	}
	if err := j.call(ctx, "GET", "/workflows", nil, nil, &list); err != nil {
		return 0, err
	}
	for _, wf := range list.Workflows {
		var g graph.Graph
		if err := j.call(ctx, "GET", "/workflows/"+wf.ID, nil, nil, &g); err != nil {
			return 0, err
		}
		for _, n := range g.Nodes {
			if n.Status != "queued" {
				continue
			}
			if err := j.generate(ctx, n); err != nil {
				return 0, fmt.Errorf("node %s: %w", n.ID, err)
			}
		}
	}
	return list.Seq, nil
}

// watch waits until the workspace changes after seq (or the server's wait
// ends).
func (j *job) watch(ctx context.Context, seq int64) (int64, error) {
	var w syncproto.WatchResponse
	err := j.call(ctx, "GET", "/watch?after="+strconv.FormatInt(seq, 10), nil, nil, &w)
	return w.Seq, err
}

// generate makes the picture of one queued node and sets it as the node's
// result. Its writes have op ids derived from the node's version, so
// processing the same queued state twice writes once.
func (j *job) generate(ctx context.Context, n graph.Node) error {
	var config struct {
		Prompt string `json:"prompt"`
	}
	if len(n.Config) > 0 {
		json.Unmarshal(n.Config, &config)
	}
	if config.Prompt == "" {
		config.Prompt = n.Title
	}
	j.log.Printf("generating %q for node %s", config.Prompt, n.ID)
	full, thumb := picture(config.Prompt, 512), picture(config.Prompt, 64)
	ref, err := j.upload(ctx, full, "image/png")
	if err != nil {
		return err
	}
	patch := graph.NodePatch{
		Status: ptr("done"),
		Result: &graph.Result{Asset: &ref, Text: config.Prompt,
			Thumbnail: "data:image/png;base64," + base64.StdEncoding.EncodeToString(thumb)},
	}
	return j.call(ctx, "PATCH", "/nodes/"+n.ID, map[string]string{"Idempotency-Key": opID(n, "done")}, patch, nil)
}

// upload stores content as a blob of the workspace unless it has it, and
// returns the AssetRef a node's result points at: clients fetch the bytes
// by the hash on first read.
func (j *job) upload(ctx context.Context, content []byte, mime string) (assetref.Ref, error) {
	hash := assetref.HashBytes(content)
	sum := sha256.Sum256(content)
	ref := assetref.Ref{Kind: assetref.KindOPFS, Path: fmt.Sprintf("atelier/assets/generated/%x", sum[:8]),
		MIME: mime, Bytes: int64(len(content)), Hash: hash}
	var check syncproto.BlobCheckResponse
	if err := j.call(ctx, "POST", "/blobs/check", nil, syncproto.BlobCheckRequest{Hashes: []string{hash}}, &check); err != nil {
		return ref, err
	}
	if len(check.Missing) == 0 {
		return ref, nil
	}
	var u syncproto.BlobURLResponse
	if err := j.call(ctx, "POST", "/blobs/upload", nil, syncproto.BlobURLRequest{Hash: hash, Bytes: int64(len(content)), MIME: mime}, &u); err != nil {
		return ref, err
	}
	req, err := http.NewRequestWithContext(ctx, "PUT", u.URL, bytes.NewReader(content))
	if err != nil {
		return ref, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return ref, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return ref, fmt.Errorf("upload: %s: %s", resp.Status, b)
	}
	return ref, nil
}

// call sends a request to a route of the workspace (relative to
// /v1/workspaces/{ws}) and decodes the JSON answer into out.
func (j *job) call(ctx context.Context, method, path string, header map[string]string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := strings.TrimRight(j.base, "/") + "/v1/workspaces/" + url.PathEscape(j.ws) + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+j.token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// picture draws a size×size PNG from the prompt: colours from its hash, a
// diagonal gradient between them.
func picture(prompt string, size int) []byte {
	h := sha256.Sum256([]byte(prompt))
	a := color.RGBA{h[0], h[1], h[2], 255}
	b := color.RGBA{h[3], h[4], h[5], 255}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			t := float64(x+y) / float64(2*size-2)
			mix := func(p, q uint8) uint8 { return uint8(float64(p)*(1-t) + float64(q)*t) }
			img.SetRGBA(x, y, color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// opID is a UUID made from the node's id, version and the step, so that
// the same step on the same state has the same op id.
func opID(n graph.Node, step string) string {
	h := sha256.Sum256([]byte(n.ID + "/" + strconv.FormatInt(n.Version, 10) + "/" + step))
	h[6] = h[6]&0x0f | 0x80 // version 8: custom
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func ptr[T any](v T) *T { return &v }
