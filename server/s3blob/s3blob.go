package s3blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/atelierstore/atelier/internal/errs"
	"github.com/atelierstore/atelier/server"
	"github.com/atelierstore/atelier/server/internal/ctxio"
)

// Part sizes of uploads. S3 takes parts of 5 MiB to 5 GiB, and at most
// 10,000 of them: 16 MiB parts allow blobs of up to 156 GiB.
const (
	DefaultPartSize = 16 << 20
	MinPartSize     = 5 << 20
	MaxPartSize     = 5 << 30
)

// Config says where the blobs are kept and how to reach them.
type Config struct {
	// Endpoint is the store's URL, like "https://s3.eu-west-1.amazonaws.com"
	// or "http://127.0.0.1:8333": a scheme (http or https) and a host,
	// nothing after it. Required.
	Endpoint string
	// Bucket is the bucket's name; it must exist. Required.
	Bucket string
	// Region is the bucket's region; empty lets the client ask the store.
	Region string
	// AccessKey and SecretKey sign the requests; both empty sends them
	// unsigned (a public bucket), one without the other is an error.
	AccessKey, SecretKey string
	// PathStyle addresses the bucket in the path (http://host/bucket/key)
	// instead of the host name (http://bucket.host/key), as most
	// self-hosted stores need.
	PathStyle bool
	// Prefix is put before every key, so that one bucket can hold several
	// stores or other data too. A non-empty prefix that does not end in
	// "/" gets one.
	Prefix string
	// PartSize is the size of the parts of uploads, between MinPartSize
	// and MaxPartSize; 0 means DefaultPartSize. It bounds the memory an
	// upload holds and, times 10,000, the largest blob.
	PartSize int64
	// Transport, if not nil, carries the requests (http.DefaultTransport's
	// settings otherwise).
	Transport http.RoundTripper
}

// ConfigError is returned by Open for a Config that cannot work. Nothing
// has been sent to the store when it is.
type ConfigError struct {
	Field   string // the Config field at fault, like "Endpoint"
	Problem string
}

func (e *ConfigError) Error() string {
	return "s3blob: bad configuration: " + e.Field + ": " + e.Problem
}

// ErrNoBucket is returned, wrapped, by Open when the bucket does not exist.
var ErrNoBucket = errors.New("s3blob: no such bucket")

// abortTimeout bounds the abort of a failed multipart upload.
const abortTimeout = 30 * time.Second

// Store is a server.BlobStore in an S3 bucket. Create it with Open; it is
// safe for concurrent use.
type Store struct {
	c        *minio.Client
	core     minio.Core
	bucket   string
	prefix   string
	partSize int64
}

var _ server.BlobStore = (*Store)(nil)

// Open checks cfg and returns the Store it describes, after checking that
// the bucket exists (ErrNoBucket) and the credentials are accepted.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	host, secure, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Bucket == "":
		return nil, &ConfigError{"Bucket", "required"}
	case (cfg.AccessKey == "") != (cfg.SecretKey == ""):
		return nil, &ConfigError{"SecretKey", "the access key and the secret key go together: give both or neither"}
	case cfg.PartSize != 0 && (cfg.PartSize < MinPartSize || cfg.PartSize > MaxPartSize):
		return nil, &ConfigError{"PartSize", fmt.Sprintf("%d is not between %d and %d", cfg.PartSize, MinPartSize, MaxPartSize)}
	}
	prefix, err := cleanPrefix(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	opts := &minio.Options{Secure: secure, Region: cfg.Region, Transport: cfg.Transport, BucketLookup: minio.BucketLookupAuto}
	if cfg.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	if cfg.AccessKey != "" {
		opts.Creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		opts.Creds = credentials.New(&credentials.Static{Value: credentials.Value{SignerType: credentials.SignatureAnonymous}})
	}
	c, err := minio.New(host, opts)
	if err != nil {
		return nil, &ConfigError{"Endpoint", err.Error()}
	}
	s := &Store{c: c, core: minio.Core{Client: c}, bucket: cfg.Bucket, prefix: prefix, partSize: cfg.PartSize}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3blob: open bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s at %s", ErrNoBucket, cfg.Bucket, cfg.Endpoint)
	}
	return s, nil
}

// parseEndpoint splits an endpoint URL into the host and whether it is
// https.
func parseEndpoint(e string) (host string, secure bool, err error) {
	if e == "" {
		return "", false, &ConfigError{"Endpoint", "required"}
	}
	u, err := url.Parse(e)
	if err != nil {
		return "", false, &ConfigError{"Endpoint", err.Error()}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, &ConfigError{"Endpoint", fmt.Sprintf("%q: want a URL like https://s3.example.com (http or https)", e)}
	case u.Host == "":
		return "", false, &ConfigError{"Endpoint", fmt.Sprintf("%q has no host", e)}
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", false, &ConfigError{"Endpoint", fmt.Sprintf("%q: want only a scheme and a host (the bucket is Bucket, a key prefix Prefix)", e)}
	}
	return u.Host, u.Scheme == "https", nil
}

// cleanPrefix checks a key prefix and ends it with "/".
func cleanPrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", &ConfigError{"Prefix", fmt.Sprintf("%q: want path segments like a/b/, without empty, . or .. ones", p)}
		}
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "", &ConfigError{"Prefix", fmt.Sprintf("%q has a control character or a backslash", p)}
		}
	}
	return p, nil
}

// Key returns the object key of the blob with digest sum.
func (s *Store) Key(sum [32]byte) string {
	return s.prefix + "sha256/" + hex.EncodeToString(sum[:])
}

// Bucket returns the name of the bucket.
func (s *Store) Bucket() string { return s.bucket }

// Put implements server.BlobStore.
func (s *Store) Put(ctx context.Context, sum [32]byte, r io.Reader) error {
	if err := s.put(ctx, sum, ctxio.Reader{Ctx: ctx, R: r}); err != nil {
		return fmt.Errorf("s3blob: put %x: %w", sum, err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, sum [32]byte, r io.Reader) error {
	key := s.Key(sum)
	switch _, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); {
	case err == nil:
		// Same digest, same bytes: keep the object there is, but read r
		// to its end as the contract asks (its checks run there).
		_, err := io.Copy(io.Discard, r)
		return err
	case !isNotFound(err):
		return err
	}
	buf := make([]byte, s.partSize)
	n, err := io.ReadFull(r, buf)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		// The whole blob, read without error: one PUT.
		part := buf[:n]
		ps := sha256.Sum256(part)
		_, err := s.core.PutObject(ctx, s.bucket, key, bytes.NewReader(part), int64(n), "", hex.EncodeToString(ps[:]),
			minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(ps[:])}})
		return err
	case nil:
		return s.putMultipart(ctx, key, buf, r)
	default:
		return err
	}
}

// putMultipart uploads first (a whole part) and the rest of r as a
// multipart upload, aborted unless r ends without error.
func (s *Store) putMultipart(ctx context.Context, key string, first []byte, r io.Reader) (err error) {
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// The context may be what failed: abort all the same.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			if aerr := s.core.AbortMultipartUpload(actx, s.bucket, key, id); aerr != nil && !isNotFound(aerr) {
				err = fmt.Errorf("%w (and aborting the multipart upload failed: %v)", err, aerr)
			}
		}
	}()
	var parts []minio.CompletePart
	buf, n, last := first, len(first), false
	for num := 1; ; num++ {
		if num > 10_000 {
			return fmt.Errorf("more than 10,000 parts of %d bytes", s.partSize)
		}
		ps := sha256.Sum256(buf[:n])
		p, err := s.core.PutObjectPart(ctx, s.bucket, key, id, num, bytes.NewReader(buf[:n]), int64(n),
			minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(ps[:])})
		if err != nil {
			return err
		}
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
		if last {
			break
		}
		// The next part; a short one is the last, none means r ended.
		n, err = io.ReadFull(r, buf)
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF {
			last = true
		} else if err != nil {
			return err
		}
	}
	_, err = s.core.CompleteMultipartUpload(ctx, s.bucket, key, id, parts, minio.PutObjectOptions{})
	return err
}

// Open implements server.BlobStore. The reader fetches the object's bytes
// as they are read, with ctx.
func (s *Store) Open(ctx context.Context, sum [32]byte) (io.ReadSeekCloser, error) {
	obj, err := s.c.GetObject(ctx, s.bucket, s.Key(sum), minio.GetObjectOptions{})
	if err == nil {
		// GetObject sends nothing until the first read: Stat asks now, so
		// that a missing blob fails here.
		_, err = obj.Stat()
		if err != nil {
			obj.Close()
		}
	}
	if isNotFound(err) {
		return nil, fmt.Errorf("s3blob: blob %x: %w", sum, errs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("s3blob: open %x: %w", sum, err)
	}
	return obj, nil
}

// Delete implements server.BlobStore: it removes the object of the blob.
func (s *Store) Delete(ctx context.Context, sum [32]byte) error {
	err := s.c.RemoveObject(ctx, s.bucket, s.Key(sum), minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("s3blob: delete %x: %w", sum, err)
	}
	return nil
}

// isNotFound reports whether err is the store's answer that an object (or
// a multipart upload) does not exist.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NoSuchUpload", "NotFound":
		return true
	}
	return false
}
