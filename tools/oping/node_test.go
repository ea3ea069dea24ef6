package oping

import (
	"context"
	"sync"
	"testing"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/tooltest"
)

type testNode = tooltest.Node

// startNode starts an in-process node with a server bound to "oping".
func startNode(tb testing.TB, local bool) *testNode { return tooltest.Start(tb, "oping", local) }

func attach(tb testing.TB, sock string) *dev.Client { return tooltest.Attach(tb, sock, "oping") }

// serve runs Serve in the background and stops it at the end of the test.
func serve(tb testing.TB, cfg Config, c *dev.Client) (*tooltest.Buffer, func() error) {
	tb.Helper()
	out := &tooltest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, cfg, c, out) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	tb.Cleanup(func() { stop() })
	out.WaitFor(tb, "Ouroboros ping server started.")
	return out, stop
}
