package assetref_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/atelierstore/atelier/assetref"
	"github.com/atelierstore/atelier/internal/errs"
)

func Example() {
	data := []byte("\x89PNG...")
	ref := assetref.Ref{
		Kind:  assetref.KindOPFS,
		Path:  "atelier/assets/image/0190a5c8-7b3e-7d2a-9f1e-3c4b5a6d7e8f",
		MIME:  "image/png",
		Bytes: int64(len(data)),
		Hash:  assetref.HashBytes(data),
	}
	b, err := json.Marshal(ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))

	var back assetref.Ref
	if err := json.Unmarshal(b, &back); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back == ref)
	// Output:
	// {"kind":"opfs","path":"atelier/assets/image/0190a5c8-7b3e-7d2a-9f1e-3c4b5a6d7e8f","mime":"image/png","bytes":7,"hash":"sha256-ILtSJnvjNlREZu7ZeBjalfphPIbu5Q1DzwxAPCXFQrQ="}
	// true
}

func ExampleRef_Validate() {
	refs := []assetref.Ref{
		{Kind: assetref.KindURL, URL: "https://cdn.example.com/cat.png"},
		{Kind: assetref.KindURL, URL: "data:image/png;base64,iVBORw0KGgo="},
		{Kind: assetref.KindOPFS, Path: "atelier/../../secrets"},
		{Kind: assetref.KindIDB, BlobKey: "k", Path: "atelier/a"},
	}
	for _, r := range refs {
		err := r.Validate()
		fmt.Println(errors.Is(err, errs.ErrInvalidRef), err)
	}
	// Output:
	// false <nil>
	// true invalid asset reference: url: scheme must be http, https or blob
	// true invalid asset reference: path: must not contain . or .. segments
	// true invalid asset reference: path: not allowed for kind idb
}

func ExampleRef_UnmarshalJSON() {
	// A record from a newer version, with a key this one does not know.
	in := `{"kind":"embedded","id":"cat.png","mime":"image/png","width":640}`
	var r assetref.Ref
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s %s\n", r.Kind, r.ID, r.MIME)

	err := json.Unmarshal([]byte(`{"kind":"url","url":"javascript:alert(1)"}`), &r)
	fmt.Println(err)
	// Output:
	// embedded cat.png image/png
	// invalid asset reference: url: scheme must be http, https or blob
}

func ExampleHasher() {
	var h assetref.Hasher
	if _, err := io.Copy(&h, strings.NewReader("hello")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Size(), h.Sum())
	fmt.Println(h.Sum() == assetref.HashBytes([]byte("hello")))
	// Output:
	// 5 sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=
	// true
}

func ExampleParseHash() {
	sum, err := assetref.ParseHash("sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
	fmt.Printf("%x %v\n", sum[:4], err)

	_, err = assetref.ParseHash("sha256:2cf24dba")
	fmt.Println(err)
	// Output:
	// 2cf24dba <nil>
	// invalid asset reference: hash: must be "sha256-" and the padded standard base64 of a 32-byte digest
}
