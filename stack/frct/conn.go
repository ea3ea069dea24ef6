package frct

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// Constants of the protocol (spec APP §4.3).
const (
	RQSize      = 256                    // reorder queue slots, and the receiver's window
	StartWindow = 64                     // the sender's window at the start of a run
	TickTime    = 5 * time.Millisecond   // the reference's timer tick
	RTOMin      = 250 * time.Microsecond // the floor of the retransmission timeout
	RTOInit     = time.Second            // the timeout before the first RTT sample
	DefaultA    = 10 * time.Second       // the longest a receiver takes to acknowledge
	DefaultR    = 120 * time.Second      // the longest a sender retransmits
	RdvInterval = 100 * time.Millisecond // between two rendezvous PDUs
	// AckDelay is how long a receiver holds an acknowledgement back (the
	// reference's delayed-ACK wheel fires 10 to 15 ms after the data).
	AckDelay = 2 * TickTime
	// ackEvery is how many unacknowledged PDUs make a receiver acknowledge
	// at once, and how far its window may move before it says so.
	ackEvery = RQSize / 8
	// maxAckDelay is the longest a receiver may hold an acknowledgement
	// back: the reference's delayed-ACK wheel fires 10 to 15 ms after
	// the data.
	maxAckDelay = 3 * TickTime
	maxRTO      = 1 << 36 // ns, the reference's wheel's reach (about 68.7 s)
)

// Sender flags (the reference's FRCTFRTX, FRCTFRESCNTL, FRCTFLINGER).
const (
	RTX     uint16 = 01 // retransmission; fixed when the flow is made
	ResCntl uint16 = 02 // honour the receiver's window
	Linger  uint16 = 04 // on close, wait until every SDU is acknowledged
)

// Config sets up one flow's FRCT.
type Config struct {
	// MPL is the maximum packet lifetime of the flow's layer.
	MPL time.Duration
	// Reliable turns on retransmission (the QoS allows no loss).
	Reliable bool
	// A and R are the Delta-t bounds; zero means DefaultA and DefaultR.
	A, R time.Duration
	// Output sends a PDU that FRCT makes on its own: an acknowledgement, a
	// window update, a rendezvous or a retransmission. It is called with
	// the Conn's lock held, must not block and must not keep pdu.
	Output func(pdu []byte)
	// ISN returns the first sequence number of a run; nil means random.
	ISN func() uint32
}

// Stats counts what a Conn did.
type Stats struct {
	DataSent     uint64 // data PDUs prepared by Send
	Retransmits  uint64 // data PDUs sent again
	Received     uint64 // PDUs handed to Receive
	Delivered    uint64 // SDUs taken by Next
	Duplicates   uint64 // data PDUs received twice (dropped)
	OutOfOrder   uint64 // data PDUs that arrived before one sent earlier
	Late         uint64 // unreliable data older than what was delivered (dropped)
	OutOfWindow  uint64 // data beyond the advertised window (dropped)
	NoRun        uint64 // data outside a run (dropped)
	Malformed    uint64 // PDUs too short for the header (dropped)
	AcksSent     uint64 // standalone acknowledgements and window updates
	RdvsSent     uint64 // rendezvous PDUs sent
	RdvsReceived uint64
	RTTSamples   uint64
}

// record is one direction's connection record (spec APP §4.4).
type record struct {
	lwe, rwe, seqno uint32
	act, inact      int64 // ns
	run             bool  // a run has started (the receiver's fields mean something)
}

type sdu struct {
	b    []byte
	full bool
}

type rtxEntry struct {
	pdu       []byte
	t0, tx    int64 // first and last transmission
	due       int64
	live, rtx bool
}

// Conn is one flow's FRCT state. Its methods are safe for concurrent use;
// one lock guards the state.
type Conn struct {
	mu    sync.Mutex
	cfg   Config
	a, r  int64
	flags uint16
	snd   record
	rcv   record

	srtt, mdev, rto int64
	rtoInit         int64

	wclosed  bool // a send found the window closed
	trdvs    int64
	ack      uint32 // the next seqno expected in order (acknowledged so far)
	adv      uint32 // the right edge last advertised
	stored   int    // SDUs in the reorder queue
	hi       uint32 // unreliable: the highest seqno stored
	ackDue   int64
	rtxDue   int64
	lastRtx  int64 // when the lowest unacknowledged PDU was last sent again
	dups     int   // acknowledgements in a row for the lowest unacknowledged PDU
	err      error
	rq       [RQSize]sdu
	rtx      []rtxEntry // RQSize entries for a reliable flow
	ctl      [PCILen]byte
	rbuf     []byte
	stats    Stats
	readable chan struct{}
	writable chan struct{}
	failed   chan struct{}
	failOnce sync.Once
}

// New returns a flow's FRCT, both records expired so that the first PDU
// each way starts a run.
func New(cfg Config) *Conn {
	if cfg.A == 0 {
		cfg.A = DefaultA
	}
	if cfg.R == 0 {
		cfg.R = DefaultR
	}
	if cfg.ISN == nil {
		cfg.ISN = randomISN
	}
	c := &Conn{cfg: cfg, a: int64(cfg.A), r: int64(cfg.R), flags: ResCntl,
		mdev: int64(10 * time.Millisecond), rto: int64(RTOInit), rtoInit: int64(RTOInit),
		readable: make(chan struct{}, 1), writable: make(chan struct{}, 1), failed: make(chan struct{})}
	if cfg.Reliable {
		c.flags |= RTX | Linger
		c.rtx = make([]rtxEntry, RQSize)
	}
	sec := int64(time.Second)
	mpl := int64(cfg.MPL)
	if mpl > 0 {
		// Before the first RTT sample: no round trip takes longer than
		// twice the layer's maximum packet lifetime and an ACK's delay
		// (215 ms in a unicast or Ethernet layer, 1 ms direct), so the
		// first PDUs of a run that are lost wait that, not the
		// reference's 1 s.
		c.rtoInit = min(int64(RTOInit), 2*mpl+int64(maxAckDelay))
		c.rto = c.rtoInit
	}
	c.snd.inact = ((3*mpl+c.a+c.r)/sec + 1) * sec
	c.rcv.inact = ((2*mpl+c.a+c.r)/sec + 1) * sec
	return c
}

func randomISN() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// Flags returns the sender flags.
func (c *Conn) Flags() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flags
}

// SetFlags sets ResCntl and Linger; RTX stays as the flow was made.
func (c *Conn) SetFlags(f uint16) {
	c.mu.Lock()
	c.flags = c.flags&RTX | f&^RTX
	c.mu.Unlock()
}

// Stats returns the counters.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// RTO returns the current retransmission timeout, and the smoothed RTT
// (zero before the first sample).
func (c *Conn) RTO() (rto, srtt time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.rto), time.Duration(c.srtt)
}

// Readable is signalled when an SDU may be ready for Next, or the Conn
// failed.
func (c *Conn) Readable() <-chan struct{} { return c.readable }

// Writable is signalled when the window may have opened, or the Conn
// failed.
func (c *Conn) Writable() <-chan struct{} { return c.writable }

// Failed is closed when the Conn failed (see Err).
func (c *Conn) Failed() <-chan struct{} { return c.failed }

// Err returns ErrFailed once a PDU went unacknowledged for R.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (c *Conn) fail() {
	c.err = ErrFailed
	c.failOnce.Do(func() { close(c.failed) })
	signal(c.readable)
	signal(c.writable)
}

// windowOpen tells whether the next data PDU may go; c.mu is held.
func (c *Conn) windowOpen() bool {
	if c.rtx != nil && c.snd.seqno-c.snd.lwe >= RQSize {
		return false // no room to keep it for retransmission
	}
	return c.flags&ResCntl == 0 || before(c.snd.seqno, c.snd.rwe)
}

// WindowOpen tells whether Send would take a PDU now.
func (c *Conn) WindowOpen(now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == nil && (c.runExpired(now) || c.windowOpen())
}

func (c *Conn) runExpired(now int64) bool {
	return !c.snd.run || now-c.snd.act > c.snd.inact
}

// Send fills in the header of a data PDU: pdu holds PCILen bytes of room
// and then the SDU. It returns ErrWindowClosed when the peer's window does
// not allow the PDU yet (FRCT then sends rendezvous PDUs from Tick until
// the window opens), or the Conn's failure. The caller writes the PDU.
func (c *Conn) Send(pdu []byte, now int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.runExpired(now) { // a new run: nothing is unacknowledged
		s := c.cfg.ISN()
		c.snd = record{lwe: s, rwe: s + StartWindow, seqno: s, inact: c.snd.inact, run: true}
		c.wclosed = false
		for i := range c.rtx {
			c.rtx[i].live = false
		}
	}
	if !c.windowOpen() {
		// Rendezvous only when the peer's window is what is closed: PDUs
		// waiting for their acknowledgement wait for retransmission, not
		// for a window update.
		if !c.wclosed && (c.flags&ResCntl != 0 && !before(c.snd.seqno, c.snd.rwe)) {
			c.wclosed, c.trdvs = true, now
		}
		return ErrWindowClosed
	}
	h := PCI{Flags: FlagData, Seqno: c.snd.seqno}
	if c.snd.seqno == c.snd.lwe {
		h.Flags |= FlagDRF
	}
	if c.rcv.run && now-c.rcv.act < c.rcv.inact {
		h.Flags |= FlagFC
		h.Window = c.rcv.rwe
		c.adv = c.rcv.rwe
	}
	if c.rtx == nil {
		c.snd.lwe++ // nothing to acknowledge
	} else {
		if c.rcv.run && now-c.rcv.act <= c.a {
			h.Flags |= FlagACK
			h.Ackno = c.ack
			c.rcv.seqno = c.ack
			c.ackDue = 0
		}
	}
	h.Put(pdu)
	if c.rtx != nil {
		e := &c.rtx[c.snd.seqno%RQSize]
		e.pdu = append(e.pdu[:0], pdu...)
		e.t0, e.tx, e.due, e.live, e.rtx = now, now, now+c.rto, true, false
		if c.rtxDue == 0 || e.due < c.rtxDue {
			c.rtxDue = e.due
		}
	}
	c.snd.seqno++
	c.snd.act = now
	c.stats.DataSent++
	return nil
}

// Deadline returns when Tick has work next (ns, on the caller's clock), or
// 0 when it has none.
func (c *Conn) Deadline() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0
	}
	d := c.ackDue
	if c.rtxDue != 0 && (d == 0 || c.rtxDue < d) {
		d = c.rtxDue
	}
	if c.wclosed {
		if r := c.trdvs + int64(RdvInterval); d == 0 || r < d {
			d = r
		}
	}
	return d
}

// RunTimers runs Tick whenever a deadline is due, until done is closed
// or the Conn fails. kick wakes it when a deadline may have come earlier
// (after Send or Receive); now is the caller's clock, as for every call.
func (c *Conn) RunTimers(now func() int64, kick, done <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var tc <-chan time.Time
		if d := c.Deadline(); d != 0 {
			t.Reset(time.Duration(d - now()))
			tc = t.C
		}
		select {
		case <-tc:
		case <-kick:
		case <-c.failed:
			return
		case <-done:
			return
		}
		c.Tick(now())
	}
}

// Tick does what is due: retransmissions, a delayed acknowledgement, a
// rendezvous while the window stays closed.
func (c *Conn) Tick(now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if c.ackDue != 0 && now >= c.ackDue {
		c.ackDue = 0
		c.sendAck(now, false)
	}
	if c.wclosed && now-c.trdvs >= int64(RdvInterval) {
		c.trdvs = now
		c.ctlPDU(PCI{Flags: FlagRDVS})
		c.stats.RdvsSent++
		// Waiting on a closed window is activity: the run must not
		// expire while the receiver's record, kept alive by these
		// rendezvous, stays in it (it would take the new run's PDUs for
		// old ones and drop them for good).
		c.snd.act = now
	}
	if c.rtxDue != 0 && now >= c.rtxDue {
		c.retransmit(now)
	}
}

// retransmit sends the lowest unacknowledged PDU again when its timer
// expired; the PDUs above it whose timers expired wait for that one's
// acknowledgement (most of them arrived: the acknowledgement is cumulative
// and says which did not). c.mu is held.
func (c *Conn) retransmit(now int64) {
	c.rtxDue = 0
	var low *rtxEntry
	for s := c.snd.lwe; before(s, c.snd.seqno); s++ {
		e := &c.rtx[s%RQSize]
		if !e.live {
			continue
		}
		if now-e.t0 > c.r {
			c.fail()
			return
		}
		if low == nil {
			low = e
			if e.due <= now {
				// A timeout: back off, but not beyond what the path
				// makes plausible (the reference doubles up to its
				// wheel's 68.7 s; a PDU lost twice in a row on a lossy
				// path of 1 ms then stalled the flow for seconds).
				c.rto = min(c.rto+c.rto, c.maxBackoff())
				c.resend(s, e, now)
			}
		} else if e.due <= now {
			e.due = low.due
		}
		if c.rtxDue == 0 || e.due < c.rtxDue {
			c.rtxDue = e.due
		}
	}
}

// resend writes a kept PDU again with the current acknowledgement and
// window, and backs its timer off. c.mu is held.
func (c *Conn) resend(seq uint32, e *rtxEntry, now int64) {
	c.rbuf = append(c.rbuf[:0], e.pdu...)
	h, _ := Parse(c.rbuf)
	if c.rcv.run && now-c.rcv.act <= c.a {
		h.Flags |= FlagACK
		h.Ackno = c.ack
		c.rcv.seqno = c.ack
	}
	if h.Flags&FlagFC != 0 || c.rcv.run {
		h.Flags |= FlagFC
		h.Window = c.rcv.rwe
	}
	h.Put(c.rbuf)
	c.cfg.Output(c.rbuf)
	c.stats.Retransmits++
	e.tx, e.due, e.rtx = now, now+c.rto, true
	// Sending again is activity: the run must not expire under
	// retransmissions (a new run would start at a seqno the receiver,
	// still in the old one, takes for old).
	c.snd.act = now
	c.lastRtx = now
}

// ctlPDU sends a control PDU; c.mu is held.
func (c *Conn) ctlPDU(h PCI) {
	h.Put(c.ctl[:])
	c.cfg.Output(c.ctl[:])
}

// sendAck sends a standalone acknowledgement (reliable) or window update
// when there is something new to say, or when force asks for one. c.mu is
// held.
func (c *Conn) sendAck(now int64, force bool) {
	if !c.rcv.run || now-c.rcv.act > c.a {
		return
	}
	newAck := c.rtx != nil && after(c.ack, c.rcv.seqno)
	newWnd := after(c.rcv.rwe, c.adv+ackEvery-1)
	if !force && !newAck && !newWnd {
		return
	}
	h := PCI{Flags: FlagFC, Window: c.rcv.rwe}
	if c.cfg.Reliable {
		h.Flags |= FlagACK
		h.Ackno = c.ack
		c.rcv.seqno = c.ack
	}
	c.adv = c.rcv.rwe
	c.ackDue = 0
	c.ctlPDU(h)
	c.stats.AcksSent++
}

// Receive processes one PDU from the peer: its SDU, if it carries one, is
// kept for Next (copied: pdu stays the caller's).
func (c *Conn) Receive(pdu []byte, now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Received++
	h, err := Parse(pdu)
	if err != nil {
		c.stats.Malformed++
		return
	}
	if now-c.rcv.act > c.rcv.inact || !c.rcv.run {
		if h.Flags&FlagDRF != 0 && h.Flags&FlagData != 0 {
			c.newRun(h.Seqno)
		} else if h.Flags&FlagData != 0 {
			c.stats.NoRun++
			return
		}
	}
	c.rcv.act = now
	if h.Flags&FlagRDVS != 0 {
		c.stats.RdvsReceived++
		if c.rcv.run {
			c.adv = c.rcv.rwe
		}
		c.ctlPDU(PCI{Flags: FlagFC, Window: c.rcv.rwe})
		return
	}
	if h.Flags&FlagACK != 0 {
		c.acked(h.Ackno, now)
	}
	if h.Flags&FlagFC != 0 {
		c.window(h.Window)
	}
	if h.Flags&FlagData == 0 {
		return
	}
	c.data(h.Seqno, pdu[PCILen:], now)
}

func (c *Conn) newRun(seq uint32) {
	for i := range c.rq {
		c.rq[i].full = false
	}
	c.stored = 0
	c.rcv.lwe, c.rcv.rwe, c.rcv.seqno, c.rcv.run = seq, seq+RQSize, seq, true
	c.ack, c.adv, c.hi = seq, seq+RQSize, seq-1
}

// acked takes a cumulative acknowledgement; c.mu is held.
func (c *Conn) acked(ackno uint32, now int64) {
	if ackno == c.snd.lwe && c.rtx != nil && c.snd.lwe != c.snd.seqno {
		c.dupAck(now)
		return
	}
	if !after(ackno, c.snd.lwe) || after(ackno, c.snd.seqno) {
		return // old, or for data never sent
	}
	c.dups = 0
	if c.rtx != nil {
		var rtxAcked, fresh bool
		for s := c.snd.lwe; s != ackno; s++ {
			e := &c.rtx[s%RQSize]
			rtxAcked = rtxAcked || e.rtx
			fresh = fresh || e.rtx && e.tx == c.lastRtx
			e.live = false
		}
		c.snd.lwe = ackno
		// An RTT sample from the PDU this acknowledgement answers: the one
		// last sent again, or a PDU sent once after any retransmission
		// (an older one may have waited at the receiver for a gap to
		// fill). Without the first kind, when the first PDU of a run is
		// lost and every PDU is sent again, the RTO would only grow.
		if e := &c.rtx[(ackno-1)%RQSize]; fresh {
			c.sample(now - c.lastRtx)
		} else if !e.rtx && e.t0 > c.lastRtx {
			c.sample(now - e.t0)
		}
		// The lowest PDU still unacknowledged went before a retransmission
		// that arrived: it is lost, not late. Send it again now.
		if e := &c.rtx[ackno%RQSize]; rtxAcked && e.live && e.tx < c.lastRtx && ackno != c.snd.seqno {
			c.resend(ackno, e, now)
		}
	} else {
		c.snd.lwe = ackno
	}
	signal(c.writable)
}

// dupAck counts acknowledgements that repeat the lowest unacknowledged
// PDU: the third one in a row sends it again at once (fast retransmit),
// unless it went again within the last RTT. c.mu is held.
func (c *Conn) dupAck(now int64) {
	c.dups++
	if c.dups != 3 {
		return
	}
	e := &c.rtx[c.snd.lwe%RQSize]
	if e.live && now-e.tx > c.srtt {
		c.resend(c.snd.lwe, e, now)
	}
}

// window takes the peer's advertised right edge; c.mu is held.
func (c *Conn) window(w24 uint32) {
	w := w24 | c.snd.rwe&0xFF000000
	if before(w, c.snd.rwe) && c.snd.rwe-w > 0x7FFFFF {
		w += 0x1000000
	}
	c.snd.rwe = w
	if c.wclosed && c.windowOpen() {
		c.wclosed = false
	}
	signal(c.writable)
}

// maxBackoff bounds the RTO's doubling: the initial RTO, or eight
// times the smoothed RTT plus the acknowledgement delay if that is more.
func (c *Conn) maxBackoff() int64 {
	return min(max(c.rtoInit, 8*c.srtt+int64(maxAckDelay)), maxRTO)
}

// sample feeds one RTT measurement to the estimator (spec APP §4.7).
func (c *Conn) sample(m int64) {
	c.stats.RTTSamples++
	if c.srtt == 0 {
		c.srtt, c.mdev = m, m/2
	} else {
		d := m - c.srtt
		c.srtt += d >> 3
		if d < 0 {
			d = -d
		}
		d = (d - c.mdev) >> 2
		if d < 0 {
			d >>= 3
		}
		c.mdev += d
	}
	c.srtt = max(1000, c.srtt)
	c.mdev = max(100, c.mdev)
	// The reference's RTO is srtt + 4 mdev, as low as 250 µs; but a
	// receiver holds an acknowledgement back for up to 15 ms (its delayed-
	// ACK wheel), so a timeout below srtt + that fires before the ACK of
	// a PDU that arrived (3.8% of the PDUs to a reference receiver were
	// sent again so, on a lossless link). Wait for it.
	c.rto = min(max(int64(RTOMin), c.srtt+max(c.mdev<<2, int64(maxAckDelay))), maxRTO)
}

// data takes a data PDU's SDU; c.mu is held.
func (c *Conn) data(seq uint32, b []byte, now int64) {
	if before(seq, c.rcv.lwe) {
		if c.rtx != nil {
			c.stats.Duplicates++
			c.sendAck(now, true) // our acknowledgement was lost
		} else {
			c.stats.Late++
		}
		return
	}
	if c.rtx != nil {
		c.reliable(seq, b, now)
		return
	}
	if !before(seq, c.rcv.lwe+RQSize) { // the window moves on: the oldest go
		for ; !before(seq, c.rcv.lwe+RQSize); c.rcv.lwe++ {
			if s := &c.rq[c.rcv.lwe%RQSize]; s.full {
				s.full = false
				c.stored--
				c.stats.Late++
			}
		}
		c.rcv.rwe = c.rcv.lwe + RQSize
	}
	s := &c.rq[seq%RQSize]
	if s.full {
		c.stats.Duplicates++
		return
	}
	if seq != c.hi+1 {
		c.stats.OutOfOrder++
	}
	c.store(s, b)
	if after(seq, c.hi) {
		c.hi = seq
	}
}

func (c *Conn) store(s *sdu, b []byte) {
	s.b = append(s.b[:0], b...)
	s.full = true
	c.stored++
	signal(c.readable)
}

// reliable stores a reliable data PDU and acknowledges; c.mu is held.
func (c *Conn) reliable(seq uint32, b []byte, now int64) {
	if !before(seq, c.rcv.rwe) || !before(seq, c.rcv.lwe+RQSize) {
		c.stats.OutOfWindow++
		c.sendAck(now, true)
		return
	}
	s := &c.rq[seq%RQSize]
	if s.full {
		c.stats.Duplicates++
		c.sendAck(now, true)
		return
	}
	if seq != c.ack {
		c.stats.OutOfOrder++
	}
	c.store(s, b)
	old := c.ack
	for c.ack-c.rcv.lwe < RQSize && c.rq[c.ack%RQSize].full {
		c.ack++
	}
	if c.ack-old > 1 || int(c.ack-c.rcv.lwe) < c.stored {
		// It filled a gap, or a gap remains: the sender is recovering
		// and waits for this acknowledgement to know what is missing.
		// (Out of order, the same acknowledgement again: three of them
		// tell our sender what is lost, as in TCP.)
		c.sendAck(now, true)
		return
	}
	c.maybeAck(now)
}

// maybeAck acknowledges at once when a good part of the window waits for
// it, and otherwise arms the delayed acknowledgement; c.mu is held.
func (c *Conn) maybeAck(now int64) {
	switch {
	case c.rtx != nil && c.ack-c.rcv.seqno >= ackEvery, after(c.rcv.rwe, c.adv+ackEvery-1):
		c.sendAck(now, true)
	case c.rtx != nil && after(c.ack, c.rcv.seqno) && c.ackDue == 0:
		c.ackDue = now + int64(AckDelay)
	}
}

// Next copies the next SDU to deliver into b and returns its length. When
// the SDU is longer than b, Next copies nothing, keeps the SDU and returns
// its length: call again with a larger buffer, or Drop it. ok is false
// when no SDU is ready.
func (c *Conn) Next(b []byte, now int64) (n int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, seq := c.head()
	if s == nil {
		return 0, false
	}
	if len(s.b) > len(b) {
		return len(s.b), true
	}
	n = copy(b, s.b)
	c.pop(s, seq, now)
	return n, true
}

// Drop discards the next SDU to deliver.
func (c *Conn) Drop(now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, seq := c.head(); s != nil {
		c.pop(s, seq, now)
	}
}

// Ready tells whether Next has an SDU.
func (c *Conn) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, _ := c.head()
	return s != nil
}

// head returns the next SDU to deliver and its seqno; c.mu is held.
func (c *Conn) head() (*sdu, uint32) {
	if c.stored == 0 {
		return nil, 0
	}
	if c.rtx != nil {
		s := &c.rq[c.rcv.lwe%RQSize]
		if !s.full {
			return nil, 0
		}
		return s, c.rcv.lwe
	}
	for seq := c.rcv.lwe; !after(seq, c.hi); seq++ { // unreliable: skip the gaps
		if s := &c.rq[seq%RQSize]; s.full {
			return s, seq
		}
	}
	return nil, 0
}

// pop delivers the head; c.mu is held.
func (c *Conn) pop(s *sdu, seq uint32, now int64) {
	s.full = false
	c.stored--
	c.stats.Delivered++
	c.rcv.lwe = seq + 1
	c.rcv.rwe = c.rcv.lwe + RQSize
	c.maybeAck(now)
	if c.stored > 0 {
		signal(c.readable)
	}
}

// Close returns how long the flow id must stay reserved after the flow
// ends (the Delta-t quiet time, spec APP §4.12), and whether the sender
// should linger because SDUs are unacknowledged. It acknowledges what was
// received and not yet acknowledged.
func (c *Conn) Close(now int64) (quiet time.Duration, linger bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rcv.run { // the final ACK, as the reference sends it on every FRCT flow
		edge := c.rcv.lwe
		if c.rtx != nil {
			edge = c.ack
		}
		if edge != c.rcv.seqno {
			c.ctlPDU(PCI{Flags: FlagACK, Ackno: edge})
			c.rcv.seqno = edge
		}
	}
	w := max(0, c.rcv.inact-(now-c.rcv.act), c.snd.inact-(now-c.snd.act))
	if !c.rcv.run && !c.snd.run {
		w = 0
	}
	linger = c.err == nil && c.flags&Linger != 0 && c.rtx != nil && before(c.snd.lwe, c.snd.seqno)
	return time.Duration(w), linger
}
