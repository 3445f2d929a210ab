package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/assetref/memstore"
	"github.com/atelierstore/atelier/internal/errs"
)

func Example() {
	ctx := context.Background()
	s := memstore.New()

	ref, err := s.Put(ctx, strings.NewReader("<svg/>"), assetref.Hint{MIME: "image/svg+xml", ID: "logo"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ref.Kind, ref.ID, ref.MIME, ref.Bytes, ref.Hash)

	// The same bytes again: stored once, the first ref comes back.
	again, err := s.Put(ctx, strings.NewReader("<svg/>"), assetref.Hint{ID: "logo-copy"})
	fmt.Println(again == ref, err)

	rc, err := s.Open(ctx, ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	fmt.Println(string(b), err)

	if err := s.Delete(ctx, ref); err != nil {
		fmt.Println(err)
		return
	}
	_, err = s.Stat(ctx, ref)
	fmt.Println(errors.Is(err, errs.ErrNotFound))
	// Output:
	// embedded logo image/svg+xml 6 sha256-1NxWZpFDA08xqjCWNdQRPZrXagKxc52iLJZe0gSb6eY=
	// true <nil>
	// <svg/> <nil>
	// true
}

func ExampleNewKind() {
	// A stand-in for the IndexedDB blob store in a host test.
	s := memstore.NewKind(assetref.KindIDB)
	ref, err := s.Put(context.Background(), strings.NewReader("x"), assetref.Hint{ID: "blob-1"})
	fmt.Println(ref.Kind, ref.BlobKey, err)

	// Refs of another kind are not this store's to answer for.
	_, err = s.Stat(context.Background(), assetref.Ref{Kind: assetref.KindEmbedded, ID: "blob-1"})
	fmt.Println(errors.Is(err, errs.ErrInvalidRef))
	// Output:
	// idb blob-1 <nil>
	// true
}
