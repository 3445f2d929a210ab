package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/atelierstore/atelier/server/s3blob"
)

// s3Flags are the -s3-... flags, which put the blobs in an S3 bucket
// instead of DATA/blobs.
type s3Flags struct {
	endpoint, bucket, region, prefix *string
	accessKey, secretKeyFile         *string
	pathStyle, presign               *bool
}

func addS3Flags(fl *flag.FlagSet) *s3Flags {
	return &s3Flags{
		endpoint:      fl.String("s3-endpoint", "", "URL of an S3-compatible store to keep blobs in instead of DATA/blobs, like https://s3.eu-west-1.amazonaws.com"),
		bucket:        fl.String("s3-bucket", "", "the bucket of -s3-endpoint that holds the blobs (it must exist)"),
		region:        fl.String("s3-region", "", "the bucket's region (default: asked of the store)"),
		prefix:        fl.String("s3-prefix", "", "key prefix of the blobs in the bucket, like atelier/"),
		pathStyle:     fl.Bool("s3-path-style", false, "address the bucket in the URL's path rather than its host name (most self-hosted stores)"),
		accessKey:     fl.String("s3-access-key", "", "S3 access key id (default $AWS_ACCESS_KEY_ID)"),
		presign:       fl.Bool("s3-presign", false, "hand out presigned URLs of the bucket, so that blob bytes go straight between clients and the store (the bucket needs CORS for the app's origin)"),
		secretKeyFile: fl.String("s3-secret-key-file", "", "file holding the S3 secret access key (default $AWS_SECRET_ACCESS_KEY)"),
	}
}

// presigned reports whether -s3-presign was given.
func (f *s3Flags) presigned() bool { return *f.presign }

// config returns the s3blob.Config the flags describe, or ok false when
// no -s3-... flag asks for S3. Credentials come from the flags or, in
// their absence, the environment (getenv).
func (f *s3Flags) config(getenv func(string) string) (cfg s3blob.Config, ok bool, err error) {
	if *f.endpoint == "" {
		if *f.bucket != "" || *f.region != "" || *f.prefix != "" || *f.pathStyle || *f.accessKey != "" || *f.secretKeyFile != "" || *f.presign {
			return cfg, false, errors.New("the -s3-... flags need -s3-endpoint")
		}
		return cfg, false, nil
	}
	if *f.bucket == "" {
		return cfg, false, errors.New("-s3-endpoint needs -s3-bucket")
	}
	cfg = s3blob.Config{Endpoint: *f.endpoint, Bucket: *f.bucket, Region: *f.region, Prefix: *f.prefix, PathStyle: *f.pathStyle,
		AccessKey: *f.accessKey, SecretKey: getenv("AWS_SECRET_ACCESS_KEY")}
	if cfg.AccessKey == "" {
		cfg.AccessKey = getenv("AWS_ACCESS_KEY_ID")
	}
	if *f.secretKeyFile != "" {
		b, err := os.ReadFile(*f.secretKeyFile)
		if err != nil {
			return cfg, false, fmt.Errorf("-s3-secret-key-file: %w", err)
		}
		cfg.SecretKey = strings.TrimSpace(string(b))
		if cfg.SecretKey == "" {
			return cfg, false, fmt.Errorf("-s3-secret-key-file %s is empty", *f.secretKeyFile)
		}
	}
	return cfg, true, nil
}
