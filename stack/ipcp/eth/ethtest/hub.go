// Package ethtest is an in-memory Ethernet for tests: a switch joining any
// number of ports, each of which is an eth.Link.
//
// Delivery is synchronous and deterministic: WriteBatch copies each frame
// into the receive queue of every port it goes to, in the order the ports
// were made, before it returns. Unicast frames go to the port with the
// destination address (and to promiscuous ports), group frames to every
// other port. Frames shorter than 60 bytes are padded with zeros, as on the
// wire. A full receive queue drops the frame, as a NIC does; the hub counts
// each kind of drop.
//
// A port can lose frames without its carrier going: Cut loses what it sends
// and what would reach it, Mute only what it sends (a shaper on its egress
// that lets nothing through). Neither says anything to the IPCP; SetCarrier
// does that.
package ethtest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

const (
	ethHdrLen = 14
	minFrame  = 60
	// QueueLen is how many frames a port holds before it drops.
	QueueLen = 1024
)

// ErrFrameTooLong is returned by WriteBatch for a frame longer than the
// port's MTU allows, as the kernel's EMSGSIZE.
var ErrFrameTooLong = errors.New("ethtest: frame longer than 14 + MTU")

// ErrFrameTooShort is returned by WriteBatch for a frame shorter than the
// Ethernet header.
var ErrFrameTooShort = errors.New("ethtest: frame shorter than 14 bytes")

var errClosed = fmt.Errorf("ethtest: port closed: %w", net.ErrClosed)

// Stats counts what the hub did.
type Stats struct {
	Delivered    atomic.Uint64 // frame copies queued at a port
	DropNoPort   atomic.Uint64 // unicast to an address no port has
	DropFull     atomic.Uint64 // a receive queue was full
	DropTooLong  atomic.Uint64 // refused at WriteBatch
	DropTooShort atomic.Uint64 // refused at WriteBatch
	DropMuted    atomic.Uint64 // sent by a muted port
}

// Hub is an in-memory Ethernet switch.
type Hub struct {
	Stats Stats

	mu    sync.RWMutex // guards ports, next
	ports []*Port
	next  int
}

// NewHub returns a hub with no ports.
func NewHub() *Hub { return &Hub{} }

// NewPort attaches a port with the next address, 02:00:00:00:hh:ll
// counting from 1, and the given MTU.
func (h *Hub) NewPort(name string, mtu int) *Port {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	return h.attach(name, net.HardwareAddr{0x02, 0, 0, 0, byte(h.next >> 8), byte(h.next)}, mtu)
}

// Reopen attaches a new port with p's name, address and MTU in place of
// p, which it closes: the interface of a system that restarted, which a
// new program opens. Frames queued at p are lost.
func (p *Port) Reopen() *Port {
	p.Close()
	h := p.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attach(p.name, p.mac, p.mtu)
}

// attach makes a port and adds it to the hub; h.mu is held.
func (h *Hub) attach(name string, mac net.HardwareAddr, mtu int) *Port {
	p := &Port{hub: h, name: name, mac: mac, mtu: mtu, wake: make(chan struct{}, 1), done: make(chan struct{}), carrier: make(chan bool, 16)}
	// The queue's buffers, each 14 + MTU long, are made as the queue
	// first reaches them, and the queue starts at the first again each
	// time it empties: a port holds buffers for the most frames it has
	// held at once (a full queue of 1500-byte frames is 1.5 MiB), and
	// frames up to its MTU are queued without allocating after that.
	p.slot = max(minFrame, ethHdrLen+mtu)
	p.ring = make([][]byte, QueueLen)
	h.ports = append(h.ports, p)
	return p
}

// deliver queues frame at every port it goes to, except from.
func (h *Hub) deliver(from *Port, frame []byte) {
	if from.muted.Load() {
		h.Stats.DropMuted.Add(1)
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	group := frame[0]&1 != 0
	hit := false
	for _, p := range h.ports {
		if p == from {
			continue
		}
		mine := string(frame[:6]) == string(p.mac)
		hit = hit || mine
		if (group || mine || p.promisc.Load()) && !p.cut.Load() && !from.cut.Load() {
			p.enqueue(frame)
		}
	}
	if !group && !hit {
		h.Stats.DropNoPort.Add(1)
	}
}

func (h *Hub) detach(p *Port) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, q := range h.ports {
		if q == p {
			h.ports = append(h.ports[:i], h.ports[i+1:]...)
			return
		}
	}
}

// Port is one port of a hub; it implements eth.Link.
type Port struct {
	hub     *Hub
	name    string
	mac     net.HardwareAddr
	mtu     int
	promisc atomic.Bool
	cut     atomic.Bool   // Cut: frames from and to the port are lost
	muted   atomic.Bool   // Mute: frames from the port are lost
	wake    chan struct{} // a frame was queued (capacity 1)
	done    chan struct{} // closed by Close
	once    sync.Once
	carrier chan bool // SetCarrier's changes, to Carrier's reader

	mu     sync.Mutex // guards the queue
	ring   [][]byte   // frame buffers, reused; nil until first used
	slot   int        // the size of each
	head   int
	n      int
	closed bool
}

// Name is the port's name (an interface name for the IPCP).
func (p *Port) Name() string { return p.name }

// MAC implements eth.Link.
func (p *Port) MAC() net.HardwareAddr { return p.mac }

// MTU implements eth.Link.
func (p *Port) MTU() int { return p.mtu }

// SetPromisc makes the port receive every frame on the hub, like a
// mirror port.
func (p *Port) SetPromisc(on bool) { p.promisc.Store(on) }

func (p *Port) enqueue(frame []byte) {
	p.mu.Lock()
	if p.closed || p.n == len(p.ring) {
		p.mu.Unlock()
		if !p.closed {
			p.hub.Stats.DropFull.Add(1)
		}
		return
	}
	i := (p.head + p.n) % len(p.ring)
	if p.ring[i] == nil {
		p.ring[i] = make([]byte, 0, p.slot)
	}
	b := append(p.ring[i][:0], frame...)
	for len(b) < minFrame {
		b = append(b, 0)
	}
	p.ring[i] = b
	p.n++
	p.mu.Unlock()
	p.hub.Stats.Delivered.Add(1)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// ReadBatch implements eth.Link.
func (p *Port) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return 0, errClosed
		}
		n := 0
		for ; n < len(bufs) && n < len(sizes) && p.n > 0; n++ {
			f := p.ring[p.head]
			copy(bufs[n], f)
			sizes[n] = len(f)
			p.head = (p.head + 1) % len(p.ring)
			p.n--
		}
		if p.n == 0 {
			p.head = 0 // the buffers made already come first
		}
		p.mu.Unlock()
		if n > 0 || len(bufs) == 0 {
			return n, nil
		}
		select {
		case <-p.wake:
		case <-p.done:
		}
	}
}

// WriteBatch implements eth.Link.
func (p *Port) WriteBatch(frames [][]byte) (int, error) {
	select {
	case <-p.done:
		return 0, errClosed
	default:
	}
	for i, f := range frames {
		switch {
		case len(f) < ethHdrLen:
			p.hub.Stats.DropTooShort.Add(1)
			return i, ErrFrameTooShort
		case len(f) > ethHdrLen+p.mtu:
			p.hub.Stats.DropTooLong.Add(1)
			return i, ErrFrameTooLong
		}
		p.hub.deliver(p, f)
	}
	return len(frames), nil
}

// Cut makes the port lose every frame it sends or would receive (true),
// as a broken cable does, or carry them again (false). It says nothing to
// the IPCP: SetCarrier does that.
func (p *Port) Cut(cut bool) { p.cut.Store(cut) }

// Mute makes the port lose every frame it sends (true), as a traffic
// shaper on its egress that lets nothing through (tc tbf at a rate far
// below the traffic) does, while frames to it still arrive; or send them
// again (false). Like Cut, it leaves the carrier up.
func (p *Port) Mute(mute bool) { p.muted.Store(mute) }

// Carrier reports the changes SetCarrier makes (eth.Carrier).
func (p *Port) Carrier() <-chan bool { return p.carrier }

// SetCarrier reports the port's carrier going down or up, as a cable pulled
// or plugged in; frames still pass (the test decides what to do with them).
func (p *Port) SetCarrier(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	select {
	case p.carrier <- up:
	default: // nobody reads 16 changes: drop, as a flapping link would
	}
}

// Close detaches the port; blocked and later calls return net.ErrClosed.
func (p *Port) Close() error {
	p.once.Do(func() {
		p.hub.detach(p)
		p.mu.Lock()
		p.closed = true
		close(p.carrier)
		p.mu.Unlock()
		close(p.done)
	})
	return nil
}
