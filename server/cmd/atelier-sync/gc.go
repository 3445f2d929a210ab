package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/atelierstore/atelier/server"
)

// gcFlags are the flags of garbage collection, shared by atelier-sync gc
// and the server's -gc-every.
type gcFlags struct {
	grace     *time.Duration
	retention *time.Duration
}

func addGCFlags(fl *flag.FlagSet) *gcFlags {
	return &gcFlags{
		grace: fl.Duration("gc-grace", server.DefaultGCGrace,
			"garbage collection: how long a blob stays after it was first found unreferenced, after it was recorded, and after an upload URL of it expired"),
		retention: fl.Duration("ack-retention", server.DefaultAckRetention,
			"garbage collection: how long acks (the record that makes replayed ops idempotent) are kept; clients offline longer are told to resynchronise (negative: forever)"),
	}
}

func (f *gcFlags) check() error {
	if *f.grace <= 0 || *f.retention == 0 {
		return errors.New("-gc-grace must be positive and -ack-retention not 0")
	}
	return nil
}

func (f *gcFlags) options(dryRun bool, now func() time.Time) *server.GCOptions {
	return &server.GCOptions{Grace: *f.grace, AckRetention: *f.retention, DryRun: dryRun, Now: now}
}

// runGC is atelier-sync gc: one collection over the database and blobs
// the server flags name, a dry run unless -apply, its report printed to
// out.
func runGC(ctx context.Context, args []string, out io.Writer, now func() time.Time) error {
	fl := flag.NewFlagSet("atelier-sync gc", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), "usage: atelier-sync gc [-apply] [-data DIR | -postgres DSN] [-s3-…] [-gc-grace D] [-ack-retention D]")
		fmt.Fprintln(fl.Output(), "Prints what garbage collection would delete; deletes it with -apply.")
		fl.PrintDefaults()
	}
	data := fl.String("data", "atelier-sync-data", "data directory: sync.db and blobs/, as the server's")
	pg := fl.String("postgres", "", "PostgreSQL DSN, as the server's")
	s3 := addS3Flags(fl)
	gcf := addGCFlags(fl)
	apply := fl.Bool("apply", false, "delete what is printed (without it, nothing is changed)")
	verbose := fl.Bool("v", false, "list every blob record deleted")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	if err := gcf.check(); err != nil {
		return err
	}
	s3cfg, useS3, err := s3.config(os.Getenv)
	if err != nil {
		return err
	}
	if *pg == "" {
		if _, err := os.Stat(*data); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	store, blobs, _, err := openStores(ctx, *data, *pg, s3cfg, useS3)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := server.GC(ctx, store, blobs, gcf.options(!*apply, now))
	if rep != nil {
		printReport(out, rep, *verbose)
	}
	return err
}

// printReport writes a GC report for people.
func printReport(w io.Writer, r *server.GCReport, verbose bool) {
	verb := "deleted"
	if r.DryRun {
		verb = "would delete"
		fmt.Fprintln(w, "dry run: nothing is deleted (give -apply to delete)")
	}
	fmt.Fprintf(w, "workspaces: %d\n", r.Workspaces)
	fmt.Fprintf(w, "blob records %s: %d (%d bytes)\n", verb, r.BlobRecords, r.RecordBytes)
	fmt.Fprintf(w, "blob bytes %s: %d blobs (%d bytes)\n", verb, r.Blobs, r.BlobBytes)
	fmt.Fprintf(w, "acks %s: %d (%d bytes)\n", verb, r.Acks, r.AckBytes)
	if r.DryRun {
		fmt.Fprintf(w, "blob records found unreferenced, to be deleted after the grace: %d\n", r.Marked)
	} else {
		fmt.Fprintf(w, "blob records found unreferenced (marked): %d\n", r.Marked)
	}
	if verbose {
		wss := make([]string, 0, len(r.Deleted))
		for ws := range r.Deleted {
			wss = append(wss, ws)
		}
		sort.Strings(wss)
		for _, ws := range wss {
			for _, h := range r.Deleted[ws] {
				fmt.Fprintf(w, "%s %s\n", ws, h)
			}
		}
	}
}

// collectEvery runs a collection every d until ctx is done, logging what
// each deleted. A failed one is logged and the next runs on time.
func collectEvery(ctx context.Context, d time.Duration, store server.Store, blobs server.BlobStore, opts *server.GCOptions, log *slog.Logger) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		rep, err := server.GC(ctx, store, blobs, opts)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("garbage collection failed", "err", err)
			}
			continue
		}
		log.Info("garbage collected", "workspaces", rep.Workspaces, "blobRecords", rep.BlobRecords,
			"blobs", rep.Blobs, "blobBytes", rep.BlobBytes, "acks", rep.Acks, "marked", rep.Marked,
			"took", time.Since(start).Round(time.Millisecond))
	}
}
