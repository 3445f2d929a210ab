package assetref

import (
	"context"
	"testing"
)

func TestProgressTravelsInTheContext(t *testing.T) {
	ReportProgress(context.Background(), 1, 2) // no func: nothing happens
	if ctx := WithProgress(context.Background(), nil); ctx != context.Background() {
		t.Fatal("WithProgress(nil) made a new context")
	}
	var got [][2]int64
	ctx := WithProgress(context.Background(), func(done, total int64) { got = append(got, [2]int64{done, total}) })
	ReportProgress(ctx, 5, 10)
	ReportProgress(context.WithValue(ctx, struct{}{}, 1), 10, 10) // survives derived contexts
	if len(got) != 2 || got[0] != [2]int64{5, 10} || got[1] != [2]int64{10, 10} {
		t.Fatalf("reported %v", got)
	}
}
