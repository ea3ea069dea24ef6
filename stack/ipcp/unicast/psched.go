package unicast

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// nCubes is the number of QoS cubes (BE, video, voice).
const nCubes = int(qos.CubeVoice) + 1

// schedQueue bounds the packets of one cube waiting for a worker. A reader
// that finds its cube's queue full waits, so the packets stay in its N-1
// flow, as they do in the reference when its readers fall behind.
const schedQueue = 256

// pktBuf is the size of the pooled buffers packets are handed over in;
// larger packets get a buffer of their own.
const pktBuf = 2048

// psched is the packet scheduler of the N-1 data-transfer flows (spec
// SYSTEM §8.11). Every such flow is in the cube of the QoS it was allocated
// with (irm ipcp connect ... qos voice). The reference reads each cube's
// flows with threads of a higher real-time priority: voice before video
// before best effort. Goroutines have no priorities, so here:
//
//   - while every data-transfer flow is in one cube, there is nothing to
//     put before anything else: each flow's reader handles its packets
//     itself, with no hand-off (the common case costs nothing);
//   - while flows of more than one cube are in use, the readers of the
//     highest cube in use still handle their packets themselves, and those
//     of the lower cubes hand theirs to a queue per cube, which one worker
//     serves, always taking the highest cube that has a packet waiting,
//     and yielding the processor before each packet while a reader of the
//     highest cube is at work. So the highest cube waits in no queue, and
//     the lower ones share one goroutine's worth of processing between
//     them, in order. One worker also keeps each flow's packets in order
//     (the reference's two threads per cube do not).
type psched struct {
	handle func([]byte)
	done   <-chan struct{}
	wg     *sync.WaitGroup

	mu      sync.Mutex
	inUse   [nCubes]int // data-transfer flows per cube
	started bool
	mixed   atomic.Bool  // flows of more than one cube are in use
	top     atomic.Int32 // the highest cube in use
	busy    atomic.Int32 // readers of the highest cube handling a packet

	q    [nCubes]chan *[]byte
	pool sync.Pool
	// handled counts the packets that went through the queues, per cube.
	handled [nCubes]atomic.Uint64
}

func newPsched(handle func([]byte), done <-chan struct{}, wg *sync.WaitGroup) *psched {
	s := &psched{handle: handle, done: done, wg: wg}
	for i := range s.q {
		s.q[i] = make(chan *[]byte, schedQueue)
	}
	s.pool.New = func() any { b := make([]byte, pktBuf); return &b }
	return s
}

// use counts a data-transfer flow in cube c (add) or takes it out.
func (s *psched) use(c qos.Cube, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.inUse[c]++
	} else {
		s.inUse[c]--
	}
	cubes, top := 0, 0
	for c, n := range s.inUse {
		if n > 0 {
			cubes, top = cubes+1, c
		}
	}
	s.top.Store(int32(top))
	if cubes > 1 && !s.started {
		s.started = true
		s.startWorker()
	}
	s.mixed.Store(cubes > 1)
}

// startWorker starts the one worker that serves the queues.
func (s *psched) startWorker() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.worker()
	}()
}

// read serves one N-1 flow of cube c until it ends, and returns why. It
// counts every packet it reads in rx. Its buffer (the largest packet) is
// made when the first packet comes: the packets of a flow with an
// attached port (ipcp.Port) come in through push, and its channel may
// carry none.
func (s *psched) read(conn *seqpkt.Conn, c qos.Cube, rx *atomic.Uint64) error {
	if err := conn.Wait(); err != nil {
		return err
	}
	buf := make([]byte, seqpkt.MaxPacket)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return err
		}
		rx.Add(1)
		if !s.mixed.Load() {
			s.handle(buf[:n])
			continue
		}
		if int32(c) >= s.top.Load() {
			s.busy.Add(1)
			s.handle(buf[:n])
			s.busy.Add(-1)
			continue
		}
		var b *[]byte
		if n <= pktBuf {
			b = s.pool.Get().(*[]byte)
			*b = (*b)[:n]
		} else {
			nb := make([]byte, n)
			b = &nb
		}
		copy(*b, buf[:n])
		select {
		case s.q[c] <- b:
		case <-s.done:
			return nil
		}
	}
}

// push is read's loop body for a packet of cube c that a lower IPCP
// hands over in-process (ipcp.Port): it runs on that IPCP's reader, so it
// never waits. A lower cube's packet is copied into a pooled buffer for
// the worker, and dropped when its queue is full (false).
func (s *psched) push(pkt []byte, c qos.Cube) bool {
	if !s.mixed.Load() {
		s.handle(pkt)
		return true
	}
	if int32(c) >= s.top.Load() {
		s.busy.Add(1)
		s.handle(pkt)
		s.busy.Add(-1)
		return true
	}
	var b *[]byte
	if len(pkt) <= pktBuf {
		b = s.pool.Get().(*[]byte)
		*b = (*b)[:len(pkt)]
	} else {
		nb := make([]byte, len(pkt))
		b = &nb
	}
	copy(*b, pkt)
	select {
	case s.q[c] <- b:
		return true
	default:
		if cap(*b) == pktBuf {
			*b = (*b)[:pktBuf]
			s.pool.Put(b)
		}
		return false
	}
}

func (s *psched) worker() {
	for {
		c, b := s.next()
		if b == nil {
			return
		}
		if s.busy.Load() > 0 {
			runtime.Gosched()
		}
		s.handle(*b)
		s.handled[c].Add(1)
		if cap(*b) == pktBuf {
			*b = (*b)[:pktBuf]
			s.pool.Put(b)
		}
	}
}

// next takes a packet of the highest cube that has one waiting, or waits
// for one; nil when the IPCP shuts down.
func (s *psched) next() (qos.Cube, *[]byte) {
	for c := nCubes - 1; c >= 0; c-- {
		select {
		case b := <-s.q[c]:
			return qos.Cube(c), b
		default:
		}
	}
	select {
	case b := <-s.q[qos.CubeVoice]:
		return qos.CubeVoice, b
	case b := <-s.q[qos.CubeVideo]:
		return qos.CubeVideo, b
	case b := <-s.q[qos.CubeBE]:
		return qos.CubeBE, b
	case <-s.done:
		return 0, nil
	}
}
