// Command generation-job is server code in the story the sync server is
// built for: a generation job that reads the data the browser synced and
// writes its result back, which every open editor then shows without a
// reload.
//
// It connects to a running sync server (make sync-server) with a
// workspace's token, waits for nodes whose status is "queued", reads their
// config.prompt, makes a picture for it (a PNG drawn from the prompt),
// uploads it as an asset, and sets the node's result (the asset and a
// thumbnail) and its status to "done":
//
//	go run ./examples/generation-job -server http://127.0.0.1:8787 -workspace dev -token dev-token
//
// It hears of new queued nodes at once through the server's watch route,
// and every write it makes carries an op id, so a restarted job that
// repeats one changes nothing twice. -once processes what is queued now
// and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8787", "the sync server's base URL")
	workspace := flag.String("workspace", "dev", "the workspace")
	token := flag.String("token", "dev-token", "a bearer token of the workspace")
	once := flag.Bool("once", false, "process the nodes queued now, then exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	j := &job{base: *server, ws: *workspace, token: *token, log: log.New(os.Stderr, "generation-job: ", log.LstdFlags)}
	var err error
	if *once {
		_, err = j.runOnce(ctx)
	} else {
		err = j.run(ctx)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "generation-job:", err)
		os.Exit(1)
	}
}
