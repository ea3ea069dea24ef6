package connmgr

import (
	"context"
	"log/slog"
	"time"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// What the unicast and broadcast IPCPs share in handling their flows in
// the layers below.

// DrainTimeout bounds the wait for the lower layer to take what was
// written on a flow before it is released.
const DrainTimeout = time.Second

// Release lets go of lower flow lf of IPCP self once the layer below has
// read what was written on it (or DrainTimeout has passed).
func Release(lower ipcp.Lower, self uint32, lf ipcp.LowerFlow) {
	for deadline := time.Now().Add(DrainTimeout); lf.Conn.Unsent() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	lf.Conn.Close()
	lower.LowerDealloc(self, lf.ID)
}

// AcceptLoop takes the lower flows that arrive for the names bound to IPCP
// self until ctx ends, and hands each to handle, which must not block (it
// starts the flow's exchange in a goroutine of its own).
func AcceptLoop(ctx context.Context, lower ipcp.Lower, self uint32, log *slog.Logger, handle func(ipcp.LowerFlow)) {
	for {
		lf, err := lower.LowerAccept(ctx, self)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Debug("accept", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		handle(lf)
	}
}
