//go:build !(js && wasm)

package assets

import (
	"context"

	"github.com/atelierstore/atelier/assetref"
)

// Outside the browser no store has a browser Blob path.

func putBrowserBlob(context.Context, assetref.Store, assetref.Blob, assetref.Hint) (assetref.Ref, bool, error) {
	return assetref.Ref{}, false, nil
}

func browserBlob(context.Context, assetref.Store, assetref.Ref) (assetref.Blob, bool, error) {
	return nil, false, nil
}
