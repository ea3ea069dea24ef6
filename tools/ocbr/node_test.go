package ocbr

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/tools/tooltest"
)

type testNode = tooltest.Node

// startNode starts an in-process node with a server bound to "ocbr";
// flows go through a local IPCP when local is set.
func startNode(tb testing.TB, local bool) *testNode { return tooltest.Start(tb, "ocbr", local) }

// serverConfig is a server reporting every interval and ending a test
// after timeout.
func serverConfig(interval, timeout time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Listen, cfg.Interval, cfg.Timeout = true, interval, timeout
	return cfg
}

// clientConfig is a client of the ocbr server.
func clientConfig(d time.Duration, size int, rate int64) Config {
	cfg := DefaultConfig()
	cfg.Name, cfg.Duration, cfg.Size, cfg.Rate = "ocbr", d, size, rate
	return cfg
}

// serve runs Serve on tn.Srv in the background and stops it at the end of
// the test; stop returns what Serve returned.
func serve(tb testing.TB, tn *testNode, cfg Config) (*tooltest.Buffer, func() error) {
	tb.Helper()
	out := &tooltest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, cfg, tn.Srv, out) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	tb.Cleanup(func() { stop() })
	out.WaitFor(tb, "Server started, ")
	return out, stop
}
