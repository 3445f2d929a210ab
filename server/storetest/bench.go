package storetest

import (
	"math/rand"
	"testing"

	"github.com/atelierstore/atelier/graph"
	"github.com/atelierstore/atelier/syncproto"
)

// Bench runs the benchmarks on the Store that newDB creates: pushes of
// full batches (new entities, and updates of existing ones) and pulls of
// full pages, through the HTTP handler. Each reports ops/s or changes/s.
func Bench(b *testing.B, newDB NewDB) {
	b.Run("Push500New", func(b *testing.B) {
		e := newEnv(b, newDB(b))
		wf := graph.NewID()
		batches := make([][]syncproto.Op, b.N)
		for i := range batches {
			for j := 0; j < syncproto.MaxOpsPerPush; j++ {
				batches[i] = append(batches[i], nodeOp(wf, graph.NewID(), 0, 1, int64(j), "node"))
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e.pushRaw("alpha", batches[i]...)
		}
		b.ReportMetric(float64(b.N*syncproto.MaxOpsPerPush)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("Push500Updates", func(b *testing.B) {
		e := newEnv(b, newDB(b))
		wf := graph.NewID()
		ids := make([]string, 2000)
		version := make(map[string]int64, len(ids))
		var create []syncproto.Op
		for i := range ids {
			ids[i] = graph.NewID()
			create = append(create, nodeOp(wf, ids[i], 0, 1, 1, "node"))
			version[ids[i]] = 1
		}
		for len(create) > 0 {
			e.pushRaw("alpha", create[:syncproto.MaxOpsPerPush]...)
			create = create[syncproto.MaxOpsPerPush:]
		}
		// Every batch updates 500 of the entities at once, a quarter of
		// them from a stale base so they are superseded.
		rng := rand.New(rand.NewSource(1))
		batches := make([][]syncproto.Op, b.N)
		for i := range batches {
			for _, k := range rng.Perm(len(ids))[:syncproto.MaxOpsPerPush] {
				id := ids[k]
				v := version[id]
				if rng.Intn(4) == 0 {
					batches[i] = append(batches[i], nodeOp(wf, id, 0, 1, 0, "stale"))
					continue
				}
				batches[i] = append(batches[i], nodeOp(wf, id, v, v+1, int64(i), "moved"))
				version[id] = v + 1
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e.pushRaw("alpha", batches[i]...)
		}
		b.ReportMetric(float64(b.N*syncproto.MaxOpsPerPush)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("PullPage1000", func(b *testing.B) {
		e := newEnv(b, newDB(b))
		wf := graph.NewID()
		const total = 5000
		for i := 0; i < total/syncproto.MaxOpsPerPush; i++ {
			var ops []syncproto.Op
			for j := 0; j < syncproto.MaxOpsPerPush; j++ {
				ops = append(ops, nodeOp(wf, graph.NewID(), 0, 1, int64(j), "node"))
			}
			e.pushRaw("alpha", ops...)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			cursor := int64(i%(total/syncproto.MaxPullLimit)) * syncproto.MaxPullLimit
			if p := e.pull("alpha", "limit=1000&cursor="+itoa(cursor)); len(p.Changes) != syncproto.MaxPullLimit {
				b.Fatalf("page of %d", len(p.Changes))
			}
		}
		b.ReportMetric(float64(b.N*syncproto.MaxPullLimit)/b.Elapsed().Seconds(), "changes/s")
	})
}
