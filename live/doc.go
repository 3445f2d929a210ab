// Package live keeps live queries on a workflow store (package idb): a
// watched workflow, or the list of workflows, delivered as a snapshot now
// and again after every change, whether this tab or another one made it.
//
// # Basics
//
// New subscribes once to a store's change sets (idb.DB.Subscribe) and
// serves every watch made through it:
//
//	lv := live.New(db, nil)
//	defer lv.Close()
//	w, err := lv.WatchWorkflow(ctx, id)
//	if err != nil {
//		return err
//	}
//	defer w.Stop()
//	for s := range w.C {
//		if s.Err != nil {
//			// errs.ErrNotFound: the workflow does not exist (yet);
//			// errs.ErrClosed: the store or lv closed, and C closes next.
//			continue
//		}
//		render(s.Graph)
//	}
//
// The watches of one workflow share one model, and so do those of the
// list. A model holds the versions it has read and, when changes are
// announced, re-reads in one read-only transaction only the entities
// announced newer than it holds (or deleted); another tab's large
// transaction, announced as "this workflow changed", is re-read whole.
//
// # Caveats
//
// C holds one snapshot: a reader that falls behind skips to the latest
// state (bursts coalesce), and never gets a backlog. A snapshot taken from
// C after a write of this tab returned includes that write (read your
// writes); one taken while the write runs may not. Another tab's write
// shows once the model has re-read it, shortly after it commits: nothing
// orders it against this tab's calls. A reader that keeps writing faster
// than the model reads gets its snapshot once the writes pause. A watch
// ends when its context ends, on Stop, or when the store or the Live
// closes; in the last two cases it first delivers a snapshot whose Err
// matches errs.ErrClosed.
package live
