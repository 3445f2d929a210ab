package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atelierstore/atelier/syncproto"
)

// Defaults and bounds of Options, and limits of requests syncproto does
// not fix.
const (
	// DefaultURLTTL is how long signed blob URLs work by default.
	DefaultURLTTL = time.Hour
	// DefaultMaxBlobBytes is the default bound on one blob: 2 GiB.
	DefaultMaxBlobBytes = 2 << 30
	// DefaultMaxPullBytes is the default bound on the Data in one pull
	// page, beyond its first change: 8 MiB.
	DefaultMaxPullBytes = 8 << 20
	// MaxCheckHashes is the most hashes one blob check may ask about;
	// more are answered 400.
	MaxCheckHashes = 1000

	maxCheckBody = 128 << 10
	maxURLBody   = 16 << 10
	maxMIME      = 255
)

// Options configure a Server. The zero value (or nil) is a server that
// knows no token, so it answers every request but a signed URL with 401.
type Options struct {
	// Tokens maps bearer tokens to workspaces. Nil knows no token.
	Tokens *Tokens

	// Secret signs blob URLs; at least 32 bytes. Nil means a random secret
	// of this Server, so its URLs stop working when the process ends.
	Secret []byte

	// AllowedOrigins are the origins (like "http://localhost:8080") whose
	// pages may call the server, signed URLs included. Nil, or a "*"
	// among them, allows every origin: no cookies are used, the bearer
	// token is the credential.
	AllowedOrigins []string

	// URLTTL is how long signed URLs work; 0 means DefaultURLTTL.
	URLTTL time.Duration

	// BaseURL, like "https://sync.example.com", is put in front of signed
	// URLs. Empty means the scheme and Host of the request asking for one.
	BaseURL string

	// PresignBlobs, when the BlobStore is a Presigner, hands out its
	// presigned URLs for uploads and downloads, so that blob bytes go
	// straight between clients and the store. Clients must then commit
	// their uploads (syncproto.BlobURLResponse.Commit), which clients of
	// this module do; older ones do not, and their uploads never reach
	// the workspace. The server's own URLs stay valid.
	PresignBlobs bool

	// MaxBlobBytes bounds a blob's size; 0 means DefaultMaxBlobBytes.
	MaxBlobBytes int64

	// PartThreshold is the size above which a blob goes up in parts
	// (syncproto.BlobParts), when the BlobStore is a PartStore, so that a
	// broken upload resumes; 0 means DefaultPartThreshold, negative never.
	PartThreshold int64

	// PartSize is the size of those parts, between MinPartSize and
	// MaxPartSize; 0 means DefaultPartSize.
	PartSize int64

	// MaxPullBytes bounds the Data in a pull page (a page has at least one
	// change whatever its size); 0 means DefaultMaxPullBytes.
	MaxPullBytes int

	// WatchPoll is how often a waiting watch request (syncproto.RouteWatch)
	// reads the store again, to hear of changes other server processes
	// write to a shared database; 0 means DefaultWatchPoll. Changes pushed
	// through this Server wake its watchers at once, and so do those of
	// other processes when the store is an Announcer (while its listener
	// is connected).
	WatchPoll time.Duration

	// StallTimeout is how long a request body may take to start arriving
	// or may stall between two reads, and how long one write of a
	// response may take beyond what MinRate allows; past it the request
	// is answered 408 ("Timeout"), or its connection closed. 0 means
	// DefaultStallTimeout.
	StallTimeout time.Duration

	// MinRate is the slowest average rate, in bytes per second, at which
	// a request body must arrive once its first StallTimeout has passed,
	// and at which a response must be taken; a slower body is answered
	// 408 ("Timeout"). It is what bounds a large upload, where a single
	// timeout would be too short for some and too long for others. 0 means
	// DefaultMinRate; negative means none (StallTimeout still applies).
	MinRate int64

	// Logger receives one line per request and the errors behind 500s.
	// Nil means slog.Default().
	Logger *slog.Logger

	// Now is the clock for URL expiry; nil means time.Now.
	Now func() time.Time
}

// Server serves the syncproto routes over a Store and a BlobStore. It is
// an http.Handler; create it with New.
type Server struct {
	store     Store
	blobs     BlobStore
	presign   Presigner // nil unless Options.PresignBlobs and blobs is one
	tokens    *Tokens
	sign      signer
	origins   map[string]bool // nil: any origin
	ttl       time.Duration
	base      string
	maxBlob   int64
	maxPull   int
	hub       hub
	ending    sync.Once
	ended     chan struct{}      // closed by EndWatches
	unlisten  context.CancelFunc // ends listen (see Announcer)
	watchPoll time.Duration
	stall     time.Duration
	minRate   int64
	log       *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux

	reading  sync.Map // *pacer: the requests whose bodies are arriving
	draining atomic.Bool
	groups   groups

	// Uploads in parts (see PartStore).
	parts         PartStore     // nil unless blobs is one
	partPresign   PartPresigner // nil unless Options.PresignBlobs and blobs is one
	partThreshold int64
	partSize      int64
}

// New returns a Server over store and blobs. It fails with an error
// matching errs.ErrInvalid when opts hold a Secret shorter than 32
// bytes, a malformed BaseURL or a negative bound. The Server does not own
// store and blobs: close them after the last request. When store is an
// Announcer, the Server listens to it until EndWatches is called or the
// store is closed.
func New(store Store, blobs BlobStore, opts *Options) (*Server, error) {
	if store == nil || blobs == nil {
		return nil, errors.New("server: New needs a Store and a BlobStore")
	}
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{
		store: store, blobs: blobs, tokens: opts.Tokens,
		ttl: opts.URLTTL, base: strings.TrimSuffix(opts.BaseURL, "/"),
		maxBlob: opts.MaxBlobBytes, maxPull: opts.MaxPullBytes, watchPoll: opts.WatchPoll,
		stall: opts.StallTimeout, minRate: opts.MinRate,
		log: opts.Logger, now: opts.Now, ended: make(chan struct{}),
	}
	if p, ok := blobs.(Presigner); ok && opts.PresignBlobs {
		s.presign = p
	}
	if p, ok := blobs.(PartStore); ok {
		s.parts = p
	}
	if p, ok := blobs.(PartPresigner); ok && opts.PresignBlobs {
		s.partPresign = p
	}
	s.partThreshold, s.partSize = opts.PartThreshold, opts.PartSize
	if s.partThreshold == 0 {
		s.partThreshold = DefaultPartThreshold
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if s.partSize < MinPartSize || s.partSize > MaxPartSize {
		return nil, invalid("options", fmt.Sprintf("PartSize must be between %d and %d", MinPartSize, MaxPartSize))
	}
	switch {
	case opts.Secret == nil:
		s.sign.key = make([]byte, 32)
		rand.Read(s.sign.key)
	case len(opts.Secret) < 32:
		return nil, invalid("secret", "must be at least 32 bytes")
	default:
		s.sign.key = append([]byte(nil), opts.Secret...)
	}
	if s.ttl < 0 || s.maxBlob < 0 || s.maxPull < 0 || s.watchPoll < 0 || s.stall < 0 {
		return nil, invalid("options", "URLTTL, MaxBlobBytes, MaxPullBytes, WatchPoll and StallTimeout must not be negative")
	}
	if s.watchPoll == 0 {
		s.watchPoll = DefaultWatchPoll
	}
	if s.base != "" && !strings.HasPrefix(s.base, "http://") && !strings.HasPrefix(s.base, "https://") {
		return nil, invalid("baseURL", "must start with http:// or https://")
	}
	if s.ttl == 0 {
		s.ttl = DefaultURLTTL
	}
	if s.maxBlob == 0 {
		s.maxBlob = DefaultMaxBlobBytes
	}
	if s.maxPull == 0 {
		s.maxPull = DefaultMaxPullBytes
	}
	if s.stall == 0 {
		s.stall = DefaultStallTimeout
	}
	if s.minRate == 0 {
		s.minRate = DefaultMinRate
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, o := range opts.AllowedOrigins {
		if o == "*" {
			s.origins = nil
			break
		}
		if s.origins == nil {
			s.origins = map[string]bool{}
		}
		s.origins[strings.TrimSuffix(o, "/")] = true
	}

	m := http.NewServeMux()
	m.HandleFunc("POST "+syncproto.RoutePush, s.authed(speaks(s.push)))
	m.HandleFunc("GET "+syncproto.RoutePull, s.authed(speaks(s.pull)))
	m.HandleFunc("GET "+syncproto.RouteWatch, s.authed(speaks(s.watch)))
	s.dataRoutes(m)
	m.HandleFunc("POST "+syncproto.RouteBlobCheck, s.authed(s.blobCheck))
	m.HandleFunc("POST "+syncproto.RouteBlobUpload, s.authed(s.blobUploadURL))
	m.HandleFunc("POST "+syncproto.RouteBlobDownload, s.authed(s.blobDownloadURL))
	m.HandleFunc("PUT "+blobPath+"{ws}/{digest}", s.blobPut)
	m.HandleFunc("GET "+blobPath+"{ws}/{digest}", s.blobGet)
	m.HandleFunc("POST "+blobPath+"{ws}/{digest}", s.blobCommit)
	m.HandleFunc("POST "+partPath+"{ws}/{digest}", s.blobPartURL)
	m.HandleFunc("PUT "+partPath+"{ws}/{digest}", s.blobPartPut)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.mux = m
	s.unlisten = func() {}
	if a, ok := store.(Announcer); ok {
		ctx, cancel := context.WithCancel(context.Background())
		s.unlisten = cancel
		go s.listen(ctx, a)
	}
	return s, nil
}

// ServeHTTP answers CORS preflights, adds CORS headers, holds the request
// to the transfer bounds, routes it and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	p := s.pace(w, r, start)
	rec := &recorder{ResponseWriter: w, status: http.StatusOK, p: p}
	defer func() {
		if !rec.wrote {
			p.beforeHeader(rec.Header())
		}
		p.done()
		// The query is left out: it holds URL signatures.
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
			slog.Duration("took", time.Since(start)))
	}()
	defer func() {
		v := recover()
		if v == nil || v == http.ErrAbortHandler {
			if v != nil {
				panic(v)
			}
			return
		}
		s.log.LogAttrs(r.Context(), slog.LevelError, "request panicked",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
		if rec.wrote {
			panic(http.ErrAbortHandler) // too late for an answer: net/http drops the connection
		}
		writeError(rec, http.StatusInternalServerError, "Internal", "internal server error")
	}()
	if !s.cors(rec, r) {
		return
	}
	if !canonical(r.URL.Path) {
		// ServeMux would redirect to the cleaned path.
		writeError(rec, http.StatusBadRequest, "Invalid", "the path is not in canonical form (no . or .. segments, no repeated /)")
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(rec, r)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// canonical reports whether p is a path ServeMux routes as it is, rather
// than redirecting to a cleaned one: no "." or ".." segments, no
// repeated slashes. No client of the protocol sends such a path, so it is
// refused rather than redirected.
func canonical(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// noRoute answers a request that no route matches with what the ServeMux
// would answer, in the protocol's JSON shape: 404, or 405 with Allow.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	c := &capture{header: http.Header{}}
	h.ServeHTTP(c, r)
	switch {
	case c.status == http.StatusMethodNotAllowed:
		w.Header().Set("Allow", c.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, "Invalid",
			fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, c.header.Get("Allow")))
	default:
		writeError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	}
}

// capture is a ResponseWriter that keeps the status and header of the
// ServeMux's own answers and drops their plain-text bodies.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *capture) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(p), nil
}

// authed wraps h with the bearer token check: 401 without a known token,
// 403 when the token's workspace is not the {ws} of the path.
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, ws string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		ws, known := s.tokens.Workspace(strings.TrimSpace(tok))
		if !strings.EqualFold(scheme, "Bearer") || !known {
			w.Header().Set("WWW-Authenticate", `Bearer realm="atelier"`)
			writeError(w, http.StatusUnauthorized, "Unauthorized", "missing or unknown bearer token")
			return
		}
		if r.PathValue("ws") != ws {
			writeError(w, http.StatusForbidden, "Forbidden", "the token is not valid for this workspace")
			return
		}
		h(w, r, ws)
	}
}

// speaks wraps the handler of a route of the sync protocol (push, pull,
// watch): it answers with the protocol's version, and refuses a request
// of another version (or of none: a client of the first version) with 426
// and code "Protocol", before reading its body.
func speaks(h func(w http.ResponseWriter, r *http.Request, ws string)) func(w http.ResponseWriter, r *http.Request, ws string) {
	return func(w http.ResponseWriter, r *http.Request, ws string) {
		w.Header().Set(syncproto.ProtocolHeader, syncproto.Protocol)
		if v := r.Header.Get(syncproto.ProtocolHeader); v != syncproto.Protocol {
			if v == "" {
				v = "1 (no " + syncproto.ProtocolHeader + " header)"
			}
			writeError(w, http.StatusUpgradeRequired, "Protocol", "this server speaks sync protocol "+syncproto.Protocol+
				" (header "+syncproto.ProtocolHeader+": "+syncproto.Protocol+"); the request is of protocol "+v+": update the client")
			return
		}
		h(w, r, ws)
	}
}

// cors adds the CORS headers for an allowed origin and answers
// preflights. It reports whether the request still needs handling.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	allowed := origin != "" && (s.origins == nil || s.origins[origin])
	if allowed {
		if s.origins == nil {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag, WWW-Authenticate, "+syncproto.ProtocolHeader)
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return true
	}
	if allowed {
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", "600")
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
	return false
}

// writeError answers with a syncproto.ErrorResponse.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, syncproto.ErrorResponse{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the types of this package are written; they always encode.
		panic(err)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// statusClientGone is the status logged for a request whose client went
// away (or whose server is going) before the answer: nginx's 499. Nobody
// receives it.
const statusClientGone = 499

// internal logs err and answers 500 without its details. When the
// request's context is done, the error is the client's leaving (or the
// server's shutting down), not the server's failure: it is logged at
// debug level and the request as 499.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "request canceled",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		writeError(w, statusClientGone, "Canceled", "the request was canceled")
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	writeError(w, http.StatusInternalServerError, "Internal", "internal server error")
}

// recorder remembers the status and size of a response for the log, and
// lets the pacer bound each write.
type recorder struct {
	http.ResponseWriter
	p      *pacer
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
		r.p.beforeHeader(r.Header())
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	r.p.beforeWrite(len(p))
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
