package ovpn

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/vishvananda/netns"

	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/tools/internal/tool"
	"github.com/o7s/ouroboros/tools/internal/toolio"
	"github.com/o7s/ouroboros/tunnels"
)

// The client's wait before it allocates again after its flow went down:
// firstBackoff, doubled after each failure, up to maxBackoff (variables
// for tests).
var (
	firstBackoff = time.Second
	maxBackoff   = 30 * time.Second
)

// Main is the ovpn command: it runs the command line args (without the
// program name) and returns the exit status.
func Main(args []string) int {
	listen := func(cfg Config) bool { return cfg.Name == "" }
	return tool.Command[Config]{Name: "ovpn", Usage: Usage, Parse: Parse, Listen: listen, Serve: Serve, Run: Run}.Main(args)
}

// open makes the device for flows that carry maxSDU bytes.
func open(cfg Config, maxSDU int) (*tunnels.Tunnel, error) {
	d, err := tunnels.OpenDevice(tunnels.DeviceConfig{
		TAP: cfg.TAP, Name: cfg.Dev, NS: netns.NsHandle(cfg.NS), MTU: tunnels.MTU(maxSDU, cfg.TAP),
		IP4: cfg.IP4, IP6: cfg.IP6, Routes: cfg.Routes, Bridge: cfg.Bridge,
	})
	if err != nil {
		return nil, err
	}
	return tunnels.New(d, cfg.TAP, cfg.IP4.Addr(), cfg.IP6.Addr()), nil
}

// Run is the client: it allocates a flow to cfg.Name, makes the device and
// carries packets until ctx ends, allocating again whenever the flow goes
// down. A failure of the first allocation or of the device ends it.
func Run(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	p := toolio.NewPrinter(out)
	defer p.Close()
	p.Printf("Allocating a flow to %s.\n", cfg.Name)
	f, err := c.Alloc(ctx, cfg.Name, cfg.QoS)
	if err != nil {
		p.Printf("Failed to allocate flow.\n")
		return err
	}
	p.Printf("Flow allocated.\n")
	t, err := open(cfg, f.MaxSDU())
	if err != nil {
		p.Printf("Failed to open tunnel device.\n")
		f.Close()
		return err
	}
	p.Printf("Tunnel device name is %s.\n", t.Name())
	p.Printf("Starting read/write threads.\n")
	for f != nil {
		err := t.Serve(ctx, f)
		f.Close()
		f = nil
		if ctx.Err() != nil {
			break
		}
		p.Printf("Flow down (%v); allocating a new one.\n", err)
		f = realloc(ctx, cfg, c, p)
	}
	p.Printf("Shutting down...\n")
	t.Close()
	p.Printf("%s", t.Stats())
	return nil
}

// realloc allocates a flow to cfg.Name with backoff until it succeeds
// (the flow) or ctx ends (nil).
func realloc(ctx context.Context, cfg Config, c *dev.Client, p *toolio.Printer) *dev.Flow {
	wait := firstBackoff
	for {
		tool.Sleep(ctx, wait)
		if ctx.Err() != nil {
			return nil
		}
		p.Printf("Allocating a flow to %s.\n", cfg.Name)
		f, err := c.Alloc(ctx, cfg.Name, cfg.QoS)
		if err == nil {
			p.Printf("Flow allocated.\n")
			return f
		}
		if ctx.Err() != nil {
			return nil
		}
		wait = min(2*wait, maxBackoff)
		p.Printf("Failed to allocate flow (%v); trying again in %s.\n", err, wait)
	}
}

// Serve is the server: it accepts a flow, makes the device, and then
// serves every flow it accepts on that device, until ctx ends.
func Serve(ctx context.Context, cfg Config, c *dev.Client, out io.Writer) error {
	p := toolio.NewPrinter(out)
	defer p.Close()
	p.Printf("Waiting for a new flow...\n")
	f, err := c.Accept(ctx)
	if err != nil {
		if ctx.Err() != nil {
			p.Printf("Shutting down...\n")
			return nil
		}
		p.Printf("Failed to accept flow.\n")
		return err
	}
	p.Printf("Flow allocated.\n")
	t, err := open(cfg, f.MaxSDU())
	if err != nil {
		p.Printf("Failed to open tunnel device.\n")
		f.Close()
		return err
	}
	p.Printf("Tunnel device name is %s.\n", t.Name())
	p.Printf("Starting read/write threads.\n")
	var wg sync.WaitGroup
	for f != nil {
		ff := f
		wg.Go(func() { serveFlow(ctx, t, ff, p) })
		f = accept(ctx, c, p)
	}
	p.Printf("Shutting down...\n")
	t.Close()
	wg.Wait()
	p.Printf("%s", t.Stats())
	return nil
}

// accept accepts the next flow; nil when ctx ended.
func accept(ctx context.Context, c *dev.Client, p *toolio.Printer) *dev.Flow {
	for {
		f, err := c.Accept(ctx)
		switch {
		case err == nil:
			p.Printf("Flow allocated.\n")
			return f
		case ctx.Err() != nil:
			return nil
		}
		p.Printf("Failed to accept flow (%v).\n", err)
		tool.Sleep(ctx, 100*time.Millisecond)
	}
}

func serveFlow(ctx context.Context, t *tunnels.Tunnel, f *dev.Flow, p *toolio.Printer) {
	defer f.Close()
	err := t.Serve(ctx, f)
	if err != nil && !errors.Is(err, tunnels.ErrClosed) {
		p.Printf("Flow %d down (%v); %d flows left.\n", f.ID(), err, t.Sessions())
	}
}
