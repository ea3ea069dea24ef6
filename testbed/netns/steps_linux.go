package netns

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/o7s/ouroboros/testbed/topo"
)

// A deploy's steps (Steps) run as many at once as their order allows,
// which matters at a hundred nodes and more (each step is a request to a
// node, most of them quick): the shim layers side by side, each member's
// steps in order; then each unicast or broadcast layer, after the layers
// before it, in two phases: every member's IPCP, names and bindings side
// by side, then each member's registrations, bootstrap or enrollment and
// adjacencies, side by side except that an enrollment waits for the
// member it enrolls through to be in the layer, and an adjacency for its
// peer; then the nodes' names, side by side. A failed step stops the
// others and is the error. Progress lines come as steps finish.

// stepWorkers bounds the steps in flight at once.
const stepWorkers = 8

func (d *deployer) runSteps(ctx context.Context, all []Step, ids map[string]uint32) error {
	upper := map[string]bool{}
	for _, ly := range d.t.Layers {
		upper[ly.Name] = ly.Upper()
	}
	for i := 0; i < len(all); {
		j := i + 1
		var err error
		switch s := all[i]; {
		case s.Layer == "": // the nodes' names: the rest
			j = len(all)
			err = d.chains(ctx, group(all[i:j], byNode), ids, nil)
		case !upper[s.Layer]: // a run of shim layers
			for j < len(all) && all[j].Layer != "" && !upper[all[j].Layer] {
				j++
			}
			err = d.chains(ctx, group(all[i:j], byLayerNode), ids, nil)
		default:
			for j < len(all) && all[j].Layer == s.Layer {
				j++
			}
			err = d.upperLayer(ctx, all[i:j], ids)
		}
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}

func byNode(s Step) string      { return s.Node }
func byLayerNode(s Step) string { return s.Layer + "/" + s.Node }

// group splits steps into chains by key, each in the steps' order, the
// chains in the order of their first step.
func group(steps []Step, key func(Step) string) [][]Step {
	at := map[string]int{}
	var chains [][]Step
	for _, s := range steps {
		k := key(s)
		i, ok := at[k]
		if !ok {
			i = len(chains)
			at[k] = i
			chains = append(chains, nil)
		}
		chains[i] = append(chains[i], s)
	}
	return chains
}

// upperLayer runs a unicast or broadcast layer's steps: every member's
// IPCP, names and bindings, then each member's chain, its enrollment and
// adjacencies waiting for the members they go to.
func (d *deployer) upperLayer(ctx context.Context, steps []Step, ids map[string]uint32) error {
	var setup, rest []Step
	for _, s := range steps {
		switch s.Op {
		case OpCreate, OpName, OpBind:
			setup = append(setup, s)
		default:
			rest = append(rest, s)
		}
	}
	if err := d.chains(ctx, group(setup, byNode), ids, nil); err != nil {
		return err
	}
	// member is the layer's IPCP on a step's node (a registration's IPCP
	// is the lower layer's).
	member := func(s Step) string { return topo.IPCPName(s.Layer, s.Node) }
	in := map[string]chan struct{}{} // member IPCP -> closed once it is in the layer
	for _, s := range rest {
		if in[member(s)] == nil {
			in[member(s)] = make(chan struct{})
		}
	}
	gate := func(ctx context.Context, s Step) error {
		if s.Op != OpEnroll && s.Op != OpConnect {
			return nil
		}
		c := in[s.Dst]
		if c == nil {
			return nil // not one of this deploy's members: there already
		}
		select {
		case <-c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A member is in once it enrolled (its names in the lower layers are
	// registered before), or, bootstrapping, once its chain is done (its
	// registrations come after).
	booted := map[string]bool{}
	var mu sync.Mutex
	done := func(s Step, last bool) {
		mu.Lock()
		defer mu.Unlock()
		m := member(s)
		switch {
		case s.Op == OpEnroll:
			close(in[m])
		case s.Op == OpBootstrap && !last:
			booted[m] = true
		case s.Op == OpBootstrap || last && booted[m]:
			close(in[m])
			delete(booted, m)
		}
	}
	return d.chains(ctx, group(rest, byNode), ids, &hooks{gate, done})
}

// hooks: gate is called before a step (it may wait), done after it
// succeeded (last: it was its chain's last).
type hooks struct {
	gate func(context.Context, Step) error
	done func(s Step, last bool)
}

// chains runs each chain's steps in order, the chains side by side (at
// most stepWorkers steps at once); the first error stops them all.
func (d *deployer) chains(ctx context.Context, chains [][]Step, ids map[string]uint32, h *hooks) error {
	if len(chains) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, stepWorkers)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	fail := func(err error) {
		once.Do(func() {
			first = err
			cancel(err)
		})
	}
	for _, chain := range chains {
		wg.Go(func() {
			for i, s := range chain {
				if h != nil {
					if err := h.gate(ctx, s); err != nil {
						return // stopped by another chain's failure
					}
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				err := d.run1(ctx, s, ids)
				<-sem
				if err != nil {
					fail(err)
					return
				}
				if h != nil {
					h.done(s, i == len(chain)-1)
				}
			}
		})
	}
	wg.Wait()
	return first
}

// run1 runs one step and prints its progress line, if it has one.
func (d *deployer) run1(ctx context.Context, s Step, ids map[string]uint32) error {
	start := time.Now()
	if err := d.exec(ctx, s, ids); err != nil {
		return d.step(s.Node, s.String(), err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.Op == OpEnroll {
		d.enrolled[s.Node+"/"+s.IPCP] = time.Since(start)
	}
	if s.Done != "" {
		fmt.Fprintln(d.o.Out, s.Done+d.took(s))
	}
	return nil
}

// startNodes starts every node's onode: those in namespaces side by side
// (at most stepWorkers at once; each is up when its socket answers), then
// containers and other implementations one by one, through their engine.
func (d *deployer) startNodes(ctx context.Context) error {
	var later []*topo.Node
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(stepWorkers)
	for _, n := range d.t.Nodes {
		if n.Kind != topo.KindNode {
			continue
		}
		if ns := d.l.Nodes[n.Name]; ns.InContainer() || ns.Foreign() {
			later = append(later, n)
			continue
		}
		if gctx.Err() != nil {
			break // one failed: start no more
		}
		g.Go(func() error { return d.startNode(gctx, n) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, n := range later {
		if err := d.startNode(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
