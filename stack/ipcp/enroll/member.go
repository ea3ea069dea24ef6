package enroll

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/ipcp/connmgr"
	"github.com/o7s/ouroboros/stack/qos"
)

// Join is the enrollee's whole side, as IPCP self of type want: a flow to
// dst in a lower layer, the CEP exchange with its Enrollment component,
// the OEP exchange, then start with the configuration learnt; the ack
// carries start's outcome. The flow is released at the end.
func Join(ctx context.Context, lower ipcp.Lower, self uint32, dst string, want ipcp.Type, log *slog.Logger, start func(Conf) error) (Conf, error) {
	lf, err := lower.LowerAlloc(ctx, self, dst, qos.Raw)
	if err != nil {
		return Conf{}, fmt.Errorf("no flow to %s in a lower layer: %w", dst, err)
	}
	defer connmgr.Release(lower, self, lf)
	if _, err := connmgr.Initiate(lf.Conn, connmgr.Enrollment); err != nil {
		return Conf{}, fmt.Errorf("%s does not answer as an enroller: %w", dst, err)
	}
	c, id, skew, err := Request(lf.Conn, want)
	if err != nil {
		return Conf{}, err
	}
	if skew > ClockWarn {
		log.Warn("clock offset above threshold", "offset", skew)
	}
	if err := start(c); err != nil {
		Ack(lf.Conn, id, -1)
		return Conf{}, err
	}
	if err := Ack(lf.Conn, id, 0); err != nil {
		log.Warn("enrollment ack not sent", "err", err)
	}
	return c, nil
}

// ServeFlow runs the enroller's side on an accepted Enrollment flow, logs
// the outcome as the reference does, and releases the flow.
func ServeFlow(lower ipcp.Lower, self uint32, lf ipcp.LowerFlow, conf Conf, log *slog.Logger) {
	res, err := Serve(lf.Conn, conf)
	switch {
	case err != nil:
		log.Warn("enrollment failed", "flow", lf.ID, "err", err)
	case res != 0:
		log.Warn("enrollment failed at remote", "flow", lf.ID, "result", res)
	default:
		log.Info("enrollment completed", "flow", lf.ID)
	}
	connmgr.Release(lower, self, lf)
}
