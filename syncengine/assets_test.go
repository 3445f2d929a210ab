package syncengine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

// memSource is an AssetSource over a map, as the asset library is over
// the registry.
type memSource struct {
	mu       sync.Mutex
	assets   map[string]*memAsset
	uploaded map[string]bool
	marks    int
}

type memAsset struct {
	data  []byte
	here  bool // the bytes are on this device
	used  bool
	made  int64
	mime  string
	reads int
}

func newSource() *memSource {
	return &memSource{assets: map[string]*memAsset{}, uploaded: map[string]bool{}}
}

func (s *memSource) add(data string, here, used bool, made int64) string {
	h := assetref.HashBytes([]byte(data))
	s.mu.Lock()
	s.assets[h] = &memAsset{data: []byte(data), here: here, used: used, made: made, mime: "image/png"}
	s.mu.Unlock()
	return h
}

func (s *memSource) PendingUploads(context.Context) ([]PendingAsset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PendingAsset
	for h, a := range s.assets {
		if !s.uploaded[h] {
			out = append(out, PendingAsset{Hash: h, Bytes: int64(len(a.data)), Used: a.used, Created: a.made})
		}
	}
	// Map order: the uploader must sort.
	return out, nil
}

type memContent struct {
	data   []byte
	mime   string
	closed *bool
}

func (c memContent) Size() int64  { return int64(len(c.data)) }
func (c memContent) MIME() string { return c.mime }
func (c memContent) Close() error { *c.closed = true; return nil }

func (s *memSource) UploadContent(_ context.Context, hash string) (Content, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.assets[hash]
	if a == nil || !a.here {
		return nil, fmt.Errorf("asset %s: %w", hash, errs.ErrNotFound)
	}
	a.reads++
	return memContent{data: a.data, mime: a.mime, closed: new(bool)}, nil
}

func (s *memSource) MarkUploaded(_ context.Context, hashes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks++
	for _, h := range hashes {
		s.uploaded[h] = true
	}
	return nil
}

func (s *memSource) isUploaded(h string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploaded[h]
}

// blobServer is a BlobTransport over a map, with faults to order.
type blobServer struct {
	mu      sync.Mutex
	blobs   map[string][]byte
	checks  int
	uploads []string // hashes, in order
	fail    []error  // errors for the next requests, first first
	perm    map[string]error
}

func newBlobServer() *blobServer {
	return &blobServer{blobs: map[string][]byte{}, perm: map[string]error{}}
}

func (m *blobServer) nextFault() error {
	if len(m.fail) == 0 {
		return nil
	}
	err := m.fail[0]
	m.fail = m.fail[1:]
	return err
}

func (m *blobServer) MissingBlobs(_ context.Context, hashes []string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checks++
	if err := m.nextFault(); err != nil {
		return nil, err
	}
	var out []string
	for _, h := range hashes {
		if _, ok := m.blobs[h]; !ok {
			out = append(out, h)
		}
	}
	return out, nil
}

func (m *blobServer) UploadBlob(_ context.Context, hash string, c Content, progress func(sent, total int64)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.nextFault(); err != nil {
		return err
	}
	if err := m.perm[hash]; err != nil {
		return err
	}
	mc := c.(memContent)
	if assetref.HashBytes(mc.data) != hash {
		return &HTTPError{Status: 400, Code: "Invalid", Msg: "hash mismatch"}
	}
	if progress != nil {
		progress(c.Size()/2, c.Size())
		progress(c.Size(), c.Size())
	}
	m.uploads = append(m.uploads, hash)
	m.blobs[hash] = mc.data
	return nil
}

func (m *blobServer) uploaded() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.uploads...)
}

func TestUploaderChecksThenUploadsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, srv := newSource(), newBlobServer()
	used := src.add("used by a node", true, true, 20)
	old := src.add("stored first", true, false, 10)
	young := src.add("stored last", true, false, 30)
	already := src.add("on the server already", true, true, 5)
	srv.blobs[already] = []byte("on the server already")

	var progress [][2]int64
	u := NewUploader(src, srv, &UploaderOptions{OnStatus: func(s UploadStatus) {
		if s.Current != "" {
			progress = append(progress, [2]int64{s.Sent, s.Total})
		}
	}})
	if err := u.Round(ctx); err != nil {
		t.Fatal(err)
	}
	// Used assets first, then by age; the one the server has is not sent.
	if got, want := srv.uploaded(), []string{used, old, young}; !reflect.DeepEqual(got, want) {
		t.Fatalf("upload order %v, want %v", got, want)
	}
	for _, h := range []string{used, old, young, already} {
		if !src.isUploaded(h) {
			t.Errorf("%s not marked uploaded", h)
		}
	}
	if st := u.Status(); st.Uploaded != 3 || st.Pending != 0 || st.Current != "" {
		t.Errorf("status %+v", st)
	}
	if len(progress) == 0 || progress[len(progress)-1][0] != progress[len(progress)-1][1] {
		t.Errorf("progress %v", progress)
	}

	// A second pass finds nothing to do: no check, no upload.
	checks := srv.checks
	if err := u.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.checks != checks || len(srv.uploaded()) != 3 {
		t.Fatalf("second pass: %d checks (was %d), uploads %v", srv.checks, checks, srv.uploaded())
	}
}

func TestUploaderSkipsAssetsOnOtherDevices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, srv := newSource(), newBlobServer()
	elsewhere := src.add("bytes on another device", false, true, 1)
	here := src.add("bytes here", true, true, 2)
	u := NewUploader(src, srv, nil)
	if err := u.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if got := srv.uploaded(); !reflect.DeepEqual(got, []string{here}) {
		t.Fatalf("uploads %v", got)
	}
	if src.isUploaded(elsewhere) {
		t.Fatal("an asset whose bytes are elsewhere was marked uploaded")
	}
	if st := u.Status(); st.Waiting != 1 {
		t.Fatalf("status %+v", st)
	}
	// Once the other device uploads it, the check marks it.
	srv.blobs[elsewhere] = []byte("bytes on another device")
	if err := u.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if !src.isUploaded(elsewhere) || len(srv.uploaded()) != 1 {
		t.Fatalf("uploaded %v, uploads %v", src.isUploaded(elsewhere), srv.uploaded())
	}
}

func TestUploaderHoldsRefusedAssets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, srv := newSource(), newBlobServer()
	bad := src.add("too large", true, true, 1)
	good := src.add("fine", true, true, 2)
	srv.perm[bad] = &HTTPError{Status: 413, Code: "TooLarge", Msg: "blob larger than 1 bytes"}
	now := time.Unix(1000, 0)
	u := NewUploader(src, srv, &UploaderOptions{Hold: time.Minute, now: func() time.Time { return now }})
	if err := u.Round(ctx); err != nil {
		t.Fatalf("a refused asset fails the pass: %v", err)
	}
	st := u.Status()
	if got := srv.uploaded(); !reflect.DeepEqual(got, []string{good}) || st.Held != 1 {
		t.Fatalf("uploads %v, status %+v", got, st)
	}
	if st.LastError == "" {
		t.Fatal("no error reported for the refused asset")
	}
	reads := src.assets[bad].reads
	if err := u.Round(ctx); err != nil || src.assets[bad].reads != reads {
		t.Fatalf("held asset read again within Hold: %v", err)
	}
	now = now.Add(2 * time.Minute)
	delete(srv.perm, bad)
	if err := u.Round(ctx); err != nil || !src.isUploaded(bad) {
		t.Fatalf("after Hold: %v, uploaded %v", err, src.isUploaded(bad))
	}
}

func TestUploaderTreatsExistsAsDone(t *testing.T) {
	t.Parallel()
	src, srv := newSource(), newBlobServer()
	h := src.add("raced", true, true, 1)
	srv.fail = []error{nil, &HTTPError{Status: 409, Code: "Exists", Msg: "the workspace already has it"}}
	u := NewUploader(src, srv, nil)
	if err := u.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !src.isUploaded(h) {
		t.Fatal("not marked uploaded after 409 Exists")
	}
}

// TestUploaderRetriesWithBackoff: while the server fails, passes are
// retried after growing, jittered delays; once it answers, everything is
// uploaded exactly once.
func TestUploaderRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	src, srv := newSource(), newBlobServer()
	h1 := src.add("one", true, true, 1)
	h2 := src.add("two", true, true, 2)
	unreachable := errors.New("sync server unreachable: TypeError: Failed to fetch")
	srv.fail = []error{
		unreachable,      // check of pass 1
		nil, unreachable, // pass 2: check, first upload
		&HTTPError{Status: 503, Code: "Internal"}, // pass 3: check
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu     sync.Mutex
		delays []time.Duration
	)
	done := make(chan struct{})
	u := NewUploader(src, srv, &UploaderOptions{
		BackoffBase: time.Second, BackoffCap: 4 * time.Second, Interval: time.Hour,
		sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			delays = append(delays, d)
			n := len(delays)
			mu.Unlock()
			if n == 4 {
				close(done)
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		},
	})
	errc := make(chan error, 1)
	go func() { errc <- u.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("uploader did not get to its idle wait")
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// Three failed passes: delays in [0.5, 1] s, [1, 2] s, [2, 4] s; then
	// success and the idle interval.
	bounds := [][2]time.Duration{{500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}, {2 * time.Second, 4 * time.Second}}
	for i, b := range bounds {
		if delays[i] < b[0] || delays[i] > b[1] {
			t.Errorf("delay %d = %v, want in [%v, %v]", i+1, delays[i], b[0], b[1])
		}
	}
	if delays[3] != time.Hour {
		t.Errorf("idle wait %v", delays[3])
	}
	got := srv.uploaded()
	sort.Strings(got)
	want := []string{h1, h2}
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("uploads %v, want each once: %v", got, want)
	}
	if st := u.Status(); st.State != Synced || st.Failures != 0 || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}
}

// TestUploaderOffline: going offline pauses without backoff; coming back
// kicks a pass at once.
func TestUploaderOffline(t *testing.T) {
	t.Parallel()
	src, srv := newSource(), newBlobServer()
	h := src.add("offline", true, true, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slept := make(chan time.Duration, 10)
	u := NewUploader(src, srv, &UploaderOptions{Interval: time.Hour, sleep: func(ctx context.Context, d time.Duration) error {
		slept <- d
		<-ctx.Done()
		return ctx.Err()
	}})
	u.SetOnline(false)
	go u.Run(ctx)
	if d := <-slept; d != time.Hour {
		t.Fatalf("offline wait %v", d)
	}
	if len(srv.uploaded()) != 0 || u.Status().State != Offline {
		t.Fatalf("uploaded while offline: %v %+v", srv.uploaded(), u.Status())
	}
	u.SetOnline(true)
	<-slept
	if !src.isUploaded(h) {
		t.Fatal("not uploaded after coming online")
	}
}

// TestUploaderKickedOnStore: a source that announces new assets kicks the
// uploader out of its idle wait.
func TestUploaderKickedOnStore(t *testing.T) {
	t.Parallel()
	src := &notifyingSource{memSource: newSource()}
	srv := newBlobServer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	passes := make(chan struct{}, 10)
	u := NewUploader(src, srv, &UploaderOptions{Interval: time.Hour, OnStatus: func(s UploadStatus) {
		if s.State == Synced {
			select {
			case passes <- struct{}{}:
			default:
			}
		}
	}})
	go u.Run(ctx)
	<-passes
	h := src.add("new", true, true, 1)
	src.notify()
	select {
	case <-passes:
	case <-time.After(10 * time.Second):
		t.Fatal("no pass after OnStored fired")
	}
	if !src.isUploaded(h) {
		t.Fatal("not uploaded")
	}
}

type notifyingSource struct {
	*memSource
	mu sync.Mutex
	fs []func()
}

func (s *notifyingSource) OnStored(f func()) {
	s.mu.Lock()
	s.fs = append(s.fs, f)
	s.mu.Unlock()
}

func (s *notifyingSource) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fs {
		f()
	}
}

// TestUploaderStoreDuringBackoffWaits: while the uploader backs off after
// a failure, a newly stored asset does not start a pass (the server is
// failing); Kick still does.
func TestUploaderStoreDuringBackoffWaits(t *testing.T) {
	t.Parallel()
	src := &notifyingSource{memSource: newSource()}
	srv := newBlobServer()
	srv.fail = []error{errors.New("503")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	states := make(chan State, 100)
	u := NewUploader(src, srv, &UploaderOptions{Interval: time.Hour, BackoffBase: time.Hour, BackoffCap: time.Hour,
		OnStatus: func(s UploadStatus) { states <- s.State }})
	src.add("first", true, true, 1)
	go u.Run(ctx)
	for s := range states {
		if s == Failing {
			break
		}
	}
	checks := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.checks
	}
	before := checks()
	src.add("second", true, true, 2)
	src.notify()
	time.Sleep(200 * time.Millisecond)
	if got := checks(); got != before {
		t.Fatalf("a store during the backoff started a pass (%d checks, was %d)", got, before)
	}
	u.Flush()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-states:
			if s == Synced {
				if u.Status().Pending != 0 {
					t.Fatalf("after the kicked pass: %+v", u.Status())
				}
				return
			}
		case <-deadline:
			t.Fatal("Kick did not end the backoff")
		}
	}
}
