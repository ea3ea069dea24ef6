package dev

import (
	"context"
	"net"
)

// Listener is a net.Listener over Accept: it returns the flows allocated to
// the names this process is bound to.
type Listener struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelFunc
}

var _ net.Listener = (*Listener)(nil)

// Listen returns a listener for this process's flows. Bind the process (or
// its program) to a name with irm first.
func (c *Client) Listen() *Listener {
	ctx, cancel := context.WithCancel(context.Background())
	return &Listener{c: c, ctx: ctx, cancel: cancel}
}

// Accept waits for the next flow.
func (l *Listener) Accept() (net.Conn, error) {
	f, err := l.c.Accept(l.ctx)
	if err != nil {
		if l.ctx.Err() != nil {
			return nil, net.ErrClosed
		}
		return nil, err
	}
	return f, nil
}

// Close stops Accept; flows already accepted stay open. It is idempotent.
func (l *Listener) Close() error {
	l.cancel()
	return nil
}

// Addr is the process's program name.
func (l *Listener) Addr() net.Addr { return Addr(l.c.prog) }
