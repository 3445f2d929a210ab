// Package ctxio has the io helpers the server's packages share.
package ctxio

import (
	"context"
	"io"
)

// Reader reads from R until Ctx is done, then fails with Ctx's error.
type Reader struct {
	Ctx context.Context
	R   io.Reader
}

func (c Reader) Read(p []byte) (int, error) {
	if err := c.Ctx.Err(); err != nil {
		return 0, err
	}
	return c.R.Read(p)
}
