package dev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// EventSet is a set of flows to wait on together, the Go form of the
// reference's fset and fqueue: Add flows, then Wait fills a slice of events
// the caller owns. A flow is in at most one set. Readiness is level
// triggered: a flow with an SDU queued is reported by every Wait until it
// has been read.
type EventSet struct {
	ep      *os.File // an epoll instance, itself waited on by the netpoller
	rc      syscall.RawConn
	mu      sync.Mutex // guards fls, pending
	fls     map[int32]*Flow
	pending []Event // events that are not socket readiness (EventDown, EventUp)
	efd     int     // an eventfd in the epoll set: pending is not empty
	efdBuf  [8]byte
	one     [8]byte // the eventfd increment, 1
	closed  bool

	wmu    sync.Mutex // serialises Wait; guards the fields below
	evs    []unix.EpollEvent
	n      int
	waitFn func(uintptr) bool
	// The context of the last Wait and the hook that cuts a wait short
	// when it is cancelled: reused while callers pass the same context, so
	// a loop of waits does not allocate.
	lastCtx context.Context
	stopCtx func() bool
}

// NewEventSet returns an empty event set.
func NewEventSet() (*EventSet, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("event set: %w", err)
	}
	unix.SetNonblock(fd, true)
	ep := os.NewFile(uintptr(fd), "fset")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		ep.Close()
		return nil, fmt.Errorf("event set: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(efd)
		ep.Close()
		return nil, fmt.Errorf("event set: %w", err)
	}
	s := &EventSet{ep: ep, rc: rc, fls: make(map[int32]*Flow), evs: make([]unix.EpollEvent, 64), efd: efd, one: [8]byte{1}}
	s.waitFn = s.poll
	return s, nil
}

// inject queues an event that is not socket readiness and wakes Wait. A
// flow has at most one such event pending: a newer one replaces it.
func (s *EventSet) inject(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.pending = slices.DeleteFunc(s.pending, func(e Event) bool { return e.Flow == ev.Flow })
	s.pending = append(s.pending, ev)
	s.kick()
}

func flowFD(f *Flow) int32 {
	if f.fr != nil { // FRCT decides when an SDU is ready: an eventfd says so
		if fd := f.fr.evfd.Load(); fd >= 0 {
			return fd
		}
		efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			return -1
		}
		if !f.fr.evfd.CompareAndSwap(-1, int32(efd)) {
			unix.Close(efd)
		}
		f.fr.ready()
		return f.fr.evfd.Load()
	}
	var fd int32
	if rc, err := f.conn.File().SyscallConn(); err == nil {
		rc.Control(func(x uintptr) { fd = int32(x) })
	}
	return fd
}

// Add puts a flow in the set. A flow already in a set is ErrPermission.
func (s *EventSet) Add(f *Flow) error {
	if f.closed.Load() {
		return ErrFlowClosed
	}
	if !f.set.CompareAndSwap(nil, s) {
		return fmt.Errorf("%w: flow %d is in an event set already", ErrPermission, f.fd)
	}
	fd := flowFD(f)
	if fd < 0 {
		f.set.Store(nil)
		return fmt.Errorf("%w: no descriptor to wait on for flow %d", ErrResources, f.fd)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: fd}
	if err := unix.EpollCtl(int(s.ep.Fd()), unix.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		f.set.Store(nil)
		return fmt.Errorf("event set add: %w", err)
	}
	s.fls[fd] = f
	return nil
}

// Remove takes a flow out of the set; a flow not in it is ignored.
func (s *EventSet) Remove(f *Flow) {
	if !f.set.CompareAndSwap(s, nil) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for fd, g := range s.fls {
		if g == f {
			unix.EpollCtl(int(s.ep.Fd()), unix.EPOLL_CTL_DEL, int(fd), nil)
			delete(s.fls, fd)
		}
	}
}

// Has tells whether the flow is in the set.
func (s *EventSet) Has(f *Flow) bool { return f.set.Load() == s }

// Zero removes every flow from the set.
func (s *EventSet) Zero() {
	s.mu.Lock()
	fls := make([]*Flow, 0, len(s.fls))
	for _, f := range s.fls {
		fls = append(fls, f)
	}
	s.mu.Unlock()
	for _, f := range fls {
		s.Remove(f)
	}
}

// Close removes every flow and releases the set.
func (s *EventSet) Close() error {
	s.Zero()
	s.wmu.Lock()
	if s.stopCtx != nil {
		s.stopCtx()
	}
	s.wmu.Unlock()
	s.mu.Lock()
	s.closed = true // no inject writes to the descriptor once it is closed
	unix.Close(s.efd)
	s.mu.Unlock()
	return s.ep.Close()
}

func (s *EventSet) poll(fd uintptr) bool {
	n, _ := unix.EpollWait(int(fd), s.evs, 0)
	if n <= 0 {
		return false // nothing ready (or EINTR): wait for the netpoller
	}
	s.n = n
	return true
}

// Wait waits until at least one flow of the set has an event, or ctx ends
// (ErrTimeout when its deadline passed). It fills events and returns how
// many it filled.
func (s *EventSet) Wait(ctx context.Context, events []Event) (int, error) {
	if len(events) == 0 {
		return 0, fmt.Errorf("%w: no room for events", ErrInvalid)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, s.ctxErr(err)
	}
	d, _ := ctx.Deadline()
	s.ep.SetReadDeadline(d)
	if ctx != s.lastCtx {
		if s.stopCtx != nil {
			s.stopCtx()
		}
		s.lastCtx, s.stopCtx = ctx, nil
		if ctx.Done() != nil {
			s.stopCtx = context.AfterFunc(ctx, func() { s.ep.SetReadDeadline(time.Unix(1, 0)) })
		}
	}
	return s.wait(events, ctx)
}

// WaitTimeout is Wait with a timeout instead of a context (0: forever); it
// does not allocate.
func (s *EventSet) WaitTimeout(timeout time.Duration, events []Event) (int, error) {
	if len(events) == 0 {
		return 0, fmt.Errorf("%w: no room for events", ErrInvalid)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var d time.Time
	if timeout > 0 {
		d = time.Now().Add(timeout)
	}
	s.ep.SetReadDeadline(d)
	return s.wait(events, nil)
}

func (s *EventSet) ctxErr(err error) error {
	if err == context.DeadlineExceeded {
		return errIOTimeout
	}
	return err
}

// wait runs the wait; s.wmu is held.
func (s *EventSet) wait(events []Event, ctx context.Context) (int, error) {
	if len(s.evs) < len(events) {
		s.evs = make([]unix.EpollEvent, len(events))
	}
	for {
		s.n = 0
		if err := s.rc.Read(s.waitFn); err != nil {
			if ctx != nil {
				if cerr := ctx.Err(); cerr != nil {
					return 0, s.ctxErr(cerr)
				}
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, errIOTimeout
			}
			return 0, fmt.Errorf("event set wait: %w", err)
		}
		if k := s.fill(events); k > 0 {
			return k, nil
		}
	}
}

func (s *EventSet) fill(events []Event) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := 0
	for len(s.pending) > 0 && k < len(events) {
		if s.pending[0].Flow.set.Load() == s {
			events[k] = s.pending[0]
			k++
		}
		s.pending = s.pending[1:]
	}
	for _, ev := range s.evs[:min(s.n, len(events))] {
		if ev.Fd == -1 { // the eventfd: pending was drained above
			unix.Read(s.efd, s.efdBuf[:])
			continue
		}
		if k == len(events) {
			break
		}
		f := s.fls[ev.Fd]
		if f == nil {
			continue
		}
		// After EventDealloc, SDUs the peer sent before it went can still
		// be read; then Read returns ErrFlowDown.
		t := EventPkt
		if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
			t = EventDealloc
		}
		events[k] = Event{Flow: f, Type: t}
		k++
	}
	if len(s.pending) > 0 { // no room for all: the next Wait must wake for the rest
		s.kick()
	}
	return k
}

// kick makes the eventfd readable; s.mu is held.
func (s *EventSet) kick() {
	if !s.closed {
		unix.Write(s.efd, s.one[:])
	}
}

var eventfdOne = [8]byte{1}

func eventfdSet(fd int) { unix.Write(fd, eventfdOne[:]) }

func eventfdClear(fd int) {
	var b [8]byte
	unix.Read(fd, b[:])
}

func eventfdClose(fd int) { unix.Close(fd) }
