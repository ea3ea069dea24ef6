package netns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/o7s/ouroboros/testbed/topo"
)

// ErrNotReady is the error of a lab that is up but not ready yet.
var ErrNotReady = errors.New("not ready")

// Ready says whether a lab is ready for traffic: every node is up with its
// onode answering; every member of every unicast and broadcast layer is
// enrolled, with each of its adjacencies up; and every member of a unicast
// layer has a route to every other member. The error names what lags.
func Ready(ctx context.Context, lab string, o Options) error {
	return ready(ctx, lab, o, false)
}

// ready is Ready; butStopped leaves out the nodes that otb node stop
// stopped, as if they were not in the lab.
func ready(ctx context.Context, lab string, o Options, butStopped bool) error {
	r, err := Inspect(ctx, lab, o)
	if err != nil {
		return err
	}
	var lag []string
	stopped := map[string]bool{}
	for _, n := range r.Nodes {
		switch {
		case n.Stopped && butStopped:
			stopped[n.Name] = true
		case n.Stopped:
			lag = append(lag, fmt.Sprintf("node %s is stopped (otb node start %s)", n.Name, n.Name))
		case !n.Up:
			lag = append(lag, "node "+n.Name+" is down")
		case n.Error != "":
			lag = append(lag, fmt.Sprintf("node %s: %s", n.Name, n.Error))
		}
	}
	for _, ly := range r.Layers {
		if len(stopped) > 0 {
			var sts []IPCPStatus
			for _, st := range ly.Status {
				if !stopped[st.Node] {
					sts = append(sts, st)
				}
			}
			ly.Status = sts
		}
		for _, st := range ly.Status {
			if s := st.lag(ly); s != "" {
				lag = append(lag, ly.Name+": "+s)
			}
		}
	}
	if len(lag) == 0 {
		return nil
	}
	const most = 8
	more := ""
	if len(lag) > most {
		more = fmt.Sprintf("; and %d more", len(lag)-most)
		lag = lag[:most]
	}
	return fmt.Errorf("%w: %s%s", ErrNotReady, strings.Join(lag, "; "), more)
}

// lag says what a member still lacks, or "".
func (st IPCPStatus) lag(ly LayerReport) string {
	if !st.Enrolled {
		return fmt.Sprintf("%s is %s", st.IPCP, st.State)
	}
	if st.Impl != "" {
		return "" // another implementation's: its node is up, no more is known
	}
	members, foreign := map[string]bool{}, map[string]bool{}
	for _, m := range ly.Status {
		members[m.Addr] = true
		if m.Impl != "" {
			foreign[m.IPCP] = true
		}
	}
	for _, nb := range st.Neighbours {
		// A down adjacency to an address no member has is to an IPCP that
		// is gone (a node restarted under a new address): the layer does
		// not wait for it. Another implementation's members have no
		// address here: an adjacency made to one by name is waited for.
		if !nb.GetUp() && (ly.Type != topo.LayerUnicast || members[nb.GetAddr()] || foreign[nb.GetDst()]) {
			return fmt.Sprintf("%s's adjacency to %s (%s) is down", st.IPCP, nb.GetDst(), nb.GetComp())
		}
	}
	if want := len(ly.Status) - 1; ly.Type == topo.LayerUnicast && len(st.Routes) < want {
		return fmt.Sprintf("%s has routes to %d of %d members", st.IPCP, len(st.Routes), want)
	}
	return ""
}

// WaitReady polls Ready until the lab is ready or timeout has passed, and
// returns how long it took.
func WaitReady(ctx context.Context, lab string, o Options, timeout time.Duration) (time.Duration, error) {
	return waitReady(ctx, lab, o, timeout, false)
}

// waitReadyRunning is WaitReady for the nodes that are not stopped.
func waitReadyRunning(ctx context.Context, lab string, o Options, timeout time.Duration) (time.Duration, error) {
	return waitReady(ctx, lab, o, timeout, true)
}

func waitReady(ctx context.Context, lab string, o Options, timeout time.Duration, butStopped bool) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := ready(ctx, lab, o, butStopped)
		if err == nil || !errors.Is(err, ErrNotReady) && ctx.Err() == nil {
			return time.Since(start), err
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("lab %s is not ready after %v: %w", lab, timeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
