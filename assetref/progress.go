package assetref

import "context"

// ProgressFunc receives how far a long store operation has come: done of
// total bytes.
type ProgressFunc func(done, total int64)

type progressKey struct{}

// WithProgress returns a context that carries f: stores that write in
// steps (a Blob put into OPFS or IndexedDB) report to it after each step,
// and once more when all the bytes are written.
func WithProgress(ctx context.Context, f ProgressFunc) context.Context {
	if f == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, f)
}

// ThenOnProgress returns a context whose ProgressFunc calls ctx's (if
// any), then f.
func ThenOnProgress(ctx context.Context, f ProgressFunc) context.Context {
	prev, _ := ctx.Value(progressKey{}).(ProgressFunc)
	if prev == nil {
		return WithProgress(ctx, f)
	}
	return WithProgress(ctx, func(done, total int64) {
		prev(done, total)
		f(done, total)
	})
}

// ReportProgress calls the ProgressFunc that ctx carries, if any.
func ReportProgress(ctx context.Context, done, total int64) {
	if f, ok := ctx.Value(progressKey{}).(ProgressFunc); ok {
		f(done, total)
	}
}
