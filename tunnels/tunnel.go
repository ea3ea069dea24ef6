package tunnels

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/o7s/ouroboros/stack/dev"
)

// Offset is the headroom in front of every packet handed to a Device: the
// tun device puts its virtio-net header there.
const Offset = 16

// MaxMTU is the largest device MTU the tunnel sets, whatever the flow
// carries: the common Ethernet MTU, so that what leaves the tunnel fits the
// links behind it.
const MaxMTU = 1500

// flowBatch bounds how many SDUs a session reads from its flow before it
// writes them to the device in one batch; each buffer holds a whole SDU,
// room for the device to coalesce (GRO) what follows into it.
const flowBatch = 32

// maxLearned bounds the switch table; when full it starts again.
const maxLearned = 4096

// Device is a tun or tap device as the tunnel uses it: batch-shaped, each
// packet at offset in its buffer (offset ≥ Offset).
type Device interface {
	// Read reads at least one packet into bufs, sets its length in
	// sizes, and returns how many; a read deadline that passed is
	// os.ErrDeadlineExceeded, after Close it is os.ErrClosed.
	Read(bufs [][]byte, sizes []int, offset int) (int, error)
	// Write writes the packets in bufs, each from offset on.
	Write(bufs [][]byte, offset int) (int, error)
	BatchSize() int
	Name() string
	Close() error
}

// Flow is what a session needs of a flow; *dev.Flow has it.
type Flow interface {
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	MaxSDU() int
	SetReadDeadline(t time.Time) error
}

// flagged is a flow whose reads can be made non-blocking (a *dev.Flow):
// its session then reads what is queued after one blocking read, and
// writes it to the device as a batch.
type flagged interface {
	Flags() uint32
	SetFlags(fl uint32) error
}

var _ Flow = (*dev.Flow)(nil)
var _ flagged = (*dev.Flow)(nil)

// ErrClosed is returned by Serve on a closed tunnel.
var ErrClosed = errors.New("tunnel closed")

// MTU is the device MTU for flows that carry at most maxSDU bytes: all of
// it for tun, all but the Ethernet header for tap, and at most MaxMTU.
func MTU(maxSDU int, tap bool) int {
	if tap {
		maxSDU -= EthHeaderLen
	}
	return min(maxSDU, MaxMTU)
}

// Tunnel bridges one device and any number of flows.
type Tunnel struct {
	dev        Device
	tap        bool
	src4, src6 netip.Addr // ICMP errors come from these
	c          counters

	mu   sync.Mutex // guards writes of tab
	tab  atomic.Pointer[table]
	sess sync.WaitGroup

	// learned is the switch: the session each address came from last
	learnMu sync.RWMutex
	learned map[key]*session

	closed    atomic.Bool
	closeOnce sync.Once
	reader    sync.WaitGroup

	// the device reader's own
	icmpBuf  []byte
	icmpBufs [][]byte
}

// table is the sessions. It is replaced whole, never changed in place, so
// the workers read it without a lock.
type table struct {
	list []*session
}

type session struct {
	f      Flow
	maxSDU int
}

// New starts a tunnel on d, a tap device if tap. ICMP errors it makes come
// from src4 and src6 where valid (the device's own addresses), otherwise
// from the destination of the packet they answer.
func New(d Device, tap bool, src4, src6 netip.Addr) *Tunnel {
	t := &Tunnel{dev: d, tap: tap, src4: src4, src6: src6}
	t.tab.Store(&table{})
	t.learned = map[key]*session{}
	t.icmpBuf = make([]byte, Offset+maxICMPv6)
	t.icmpBufs = make([][]byte, 1)
	t.reader.Go(t.readDevice)
	return t
}

// Name is the device's name.
func (t *Tunnel) Name() string { return t.dev.Name() }

// Stats returns the counters.
func (t *Tunnel) Stats() Stats { return t.c.snapshot() }

// Sessions is the number of flows the tunnel is serving.
func (t *Tunnel) Sessions() int { return len(t.tab.Load().list) }

// Close stops the workers, closes the device (which removes it) and ends
// every Serve.
func (t *Tunnel) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		t.mu.Lock()
		for _, s := range t.tab.Load().list {
			s.f.SetReadDeadline(time.Unix(1, 0))
		}
		t.mu.Unlock()
		err = t.dev.Close()
		t.reader.Wait()
		t.sess.Wait()
	})
	return err
}

// Serve carries packets between the device and f until f fails, ctx ends
// or the tunnel closes. It returns the flow's error, or nil when ctx or
// Close stopped it; it does not close f.
func (t *Tunnel) Serve(ctx context.Context, f Flow) error {
	s := &session{f: f, maxSDU: f.MaxSDU()}
	if !t.add(s) {
		return ErrClosed
	}
	defer t.sess.Done()
	defer t.remove(s)
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	err := t.readFlow(s)
	if ctx.Err() != nil || t.closed.Load() {
		return nil
	}
	return err
}

func (t *Tunnel) add(s *session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return false
	}
	t.sess.Add(1)
	old := t.tab.Load()
	t.tab.Store(&table{list: append(old.list[:len(old.list):len(old.list)], s)})
	return true
}

func (t *Tunnel) remove(s *session) {
	t.mu.Lock()
	old := t.tab.Load()
	nt := &table{}
	for _, o := range old.list {
		if o != s {
			nt.list = append(nt.list, o)
		}
	}
	t.tab.Store(nt)
	t.mu.Unlock()
	t.learnMu.Lock()
	for k, o := range t.learned {
		if o == s {
			delete(t.learned, k)
		}
	}
	t.learnMu.Unlock()
}

// learn notes that k came from s. The common case, nothing new, is one
// lookup under the read lock.
func (t *Tunnel) learn(s *session, k key) {
	t.learnMu.RLock()
	o := t.learned[k]
	t.learnMu.RUnlock()
	if o == s {
		return
	}
	t.learnMu.Lock()
	if len(t.learned) >= maxLearned {
		clear(t.learned)
	}
	t.learned[k] = s
	t.learnMu.Unlock()
}

// lookup is the session k was learned from, or nil.
func (t *Tunnel) lookup(k key) *session {
	t.learnMu.RLock()
	s := t.learned[k]
	t.learnMu.RUnlock()
	return s
}

// readDevice is the device worker: it reads batches and sends each packet
// to its flow, until the device closes.
func (t *Tunnel) readDevice() {
	n := max(t.dev.BatchSize(), 1)
	bufs, sizes := make([][]byte, n), make([]int, n)
	// the first buffer takes any packet, the rest the segments of a
	// GSO packet, which are at most the device MTU
	bufs[0] = make([]byte, Offset+dev.MaxSDU)
	for i := 1; i < n; i++ {
		bufs[i] = make([]byte, Offset+MaxMTU+EthHeaderLen)
	}
	for {
		k, err := t.dev.Read(bufs, sizes, Offset)
		for i := range k {
			t.fromDevice(bufs[i][Offset : Offset+sizes[i]])
		}
		switch {
		case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
		case t.closed.Load() || errors.Is(err, os.ErrClosed):
			return
		default:
			t.c.drop(DropDevRead)
		}
	}
}

// fromDevice sends p, read from the device, to the flow it is for.
func (t *Tunnel) fromDevice(p []byte) {
	t.c.devRxPkts.Add(1)
	t.c.devRxBytes.Add(uint64(len(p)))
	var k key
	var multi bool
	if t.tap {
		if d := CheckFrame(p); d != DropNone {
			t.c.drop(d)
			return
		}
		k, multi = macDst(p)
	} else {
		n, d := CheckIP(p)
		if d != DropNone {
			t.c.drop(d)
			return
		}
		p = p[:n]
		k, multi = ipDst(p)
	}
	tab := t.tab.Load()
	if len(tab.list) == 0 {
		t.c.drop(DropNoFlow)
		return
	}
	if !multi {
		s := t.lookup(k)
		if s == nil && len(tab.list) == 1 {
			s = tab.list[0]
		}
		if s != nil {
			t.send(s, p)
			return
		}
		if !t.tap {
			t.c.drop(DropNoRoute)
			return
		}
	}
	for _, s := range tab.list { // broadcast, multicast, or a frame to an unknown MAC
		t.send(s, p)
	}
}

func (t *Tunnel) send(s *session, p []byte) {
	if len(p) > s.maxSDU {
		t.tooBig(p, s.maxSDU)
		return
	}
	if _, err := s.f.Write(p); err != nil {
		t.c.drop(DropFlowWrite)
		return
	}
	t.c.flowTxPkts.Add(1)
	t.c.flowTxBytes.Add(uint64(len(p)))
}

// tooBig answers p, too large for a flow that carries mtu bytes, with an
// ICMP error on the device, or drops it where there is no answer.
func (t *Tunnel) tooBig(p []byte, mtu int) {
	if t.tap {
		t.c.drop(DropTooBigNoICMP)
		return
	}
	src := t.src4
	if p[0]>>4 == 6 {
		src = t.src6
	}
	m, ok := AppendTooBig(t.icmpBuf[:Offset], p, mtu, src)
	if !ok {
		t.c.drop(DropTooBigNoICMP)
		return
	}
	t.c.drop(DropTooBig)
	t.icmpBufs[0] = m
	if _, err := t.dev.Write(t.icmpBufs, Offset); err != nil {
		t.c.drop(DropDevWrite)
		return
	}
	t.c.icmp.Add(1)
}

// readFlow is a session's worker: it reads s's flow and writes what comes
// to the device, until the flow fails.
func (t *Tunnel) readFlow(s *session) error {
	n := 1
	fl, batch := s.f.(flagged)
	if batch {
		n = min(max(t.dev.BatchSize(), 1), flowBatch)
		fl.SetFlags(fl.Flags() | dev.FlagRNoPart)
	}
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, Offset+dev.MaxSDU)
	}
	out := make([][]byte, 0, n)
	for {
		out = out[:0]
		k, err := s.f.Read(bufs[0][Offset:])
		if err != nil {
			return err
		}
		out = t.fromFlow(s, bufs[0], k, out)
		if n > 1 {
			out = t.readQueued(s, fl, bufs, out)
		}
		if len(out) > 0 {
			t.writeDevice(out)
		}
	}
}

// readQueued reads what is queued on the flow, without waiting, into
// bufs[1:]; an error is left for the next blocking read to see.
func (t *Tunnel) readQueued(s *session, fl flagged, bufs [][]byte, out [][]byte) [][]byte {
	flags := fl.Flags()
	fl.SetFlags(flags | dev.FlagRNoBlock)
	for i := 1; i < len(bufs); i++ {
		k, err := s.f.Read(bufs[i][Offset:])
		if err != nil {
			break
		}
		out = t.fromFlow(s, bufs[i], k, out)
	}
	fl.SetFlags(flags)
	return out
}

// fromFlow checks the packet of n bytes at Offset in buf, read from s's
// flow, learns its source and appends it to out.
func (t *Tunnel) fromFlow(s *session, buf []byte, n int, out [][]byte) [][]byte {
	p := buf[Offset : Offset+n]
	t.c.flowRxPkts.Add(1)
	t.c.flowRxBytes.Add(uint64(n))
	if t.tap {
		if d := CheckFrame(p); d != DropNone {
			t.c.drop(d)
			return out
		}
		t.learn(s, macSrc(p))
	} else {
		tot, d := CheckIP(p)
		if d != DropNone {
			t.c.drop(d)
			return out
		}
		n = tot
		t.learn(s, ipSrc(p))
	}
	return append(out, buf[:Offset+n])
}

// writeDevice writes a batch. A batch that fails counts one drop: the
// device does not say which of its packets failed.
func (t *Tunnel) writeDevice(out [][]byte) {
	var bytes int
	for _, b := range out {
		bytes += len(b) - Offset
	}
	if _, err := t.dev.Write(out, Offset); err != nil {
		if t.closed.Load() {
			return
		}
		t.c.drop(DropDevWrite)
		if len(out) == 1 {
			return
		}
	}
	t.c.devTxPkts.Add(uint64(len(out)))
	t.c.devTxBytes.Add(uint64(bytes))
}

// CheckMTU says whether a device of mtu bytes can carry what cfg asks.
func CheckMTU(mtu int, ip6 bool) error {
	switch {
	case mtu < 68:
		return fmt.Errorf("the flow carries packets of at most %d bytes, too few for IP", mtu)
	case ip6 && mtu < MinIPv6MTU:
		return fmt.Errorf("IPv6 needs an MTU of at least %d bytes; the flow carries packets of at most %d", MinIPv6MTU, mtu)
	}
	return nil
}
