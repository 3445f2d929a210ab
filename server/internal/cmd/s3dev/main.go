// Command s3dev runs SeaweedFS's S3 gateway for tests outside this module
// (the browser tests): it starts weed as package s3test does, creates a
// bucket, prints the bucket's s3blob.Config as one line of JSON, and stops
// weed when its standard input closes or it is signalled. When weed is not
// on PATH it prints why and exits with status 3.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/atelierstore/atelier/server/internal/s3test"
)

func main() {
	endpoint, err := s3test.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3dev:", err)
		os.Exit(3)
	}
	defer s3test.Stop()
	cfg, err := s3test.NewBucket(endpoint)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3dev:", err)
		s3test.Stop()
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(cfg); err != nil {
		s3test.Stop()
		os.Exit(1)
	}
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
}
