package ctl

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors that survive the trip across the control channel. The
// numbers are the reference's (spec SYSTEM §2.3, APP §2.10), negated on the
// wire.
var (
	ErrNotAllocated = errors.New("flow not allocated")
	ErrIPCPType     = errors.New("unknown IPCP type")
	ErrNode         = errors.New("cannot reach the node (onode)")
	ErrIPCP         = errors.New("no IPCP can serve the request")
	ErrIPCPState    = errors.New("IPCP in wrong state")
	ErrFlowDown     = errors.New("flow is down")
	ErrFlowPeer     = errors.New("peer timed out")
	ErrName         = errors.New("naming error")
	ErrCrypt        = errors.New("encryption error")
	ErrAuth         = errors.New("authentication error")

	ErrTimeout    = errors.New("timed out")
	ErrInvalid    = errors.New("invalid argument")
	ErrPermission = errors.New("operation not permitted")
	ErrExist      = errors.New("already exists")
	ErrNotFound   = errors.New("does not exist")
	ErrMsgSize    = errors.New("message too long")
	ErrResources  = errors.New("out of resources")
	ErrQoS        = errors.New("QoS not supported")
)

// Unsupported operations use errors.ErrUnsupported; cancelled requests use
// context.Canceled.

var codes = []struct {
	code int32
	err  error
}{
	{1000, ErrNotAllocated},
	{1001, ErrIPCPType},
	{1002, ErrNode},
	{1003, ErrIPCP},
	{1004, ErrIPCPState},
	{1005, ErrFlowDown},
	{1006, ErrFlowPeer},
	{1007, ErrName},
	{1008, ErrCrypt},
	{1009, ErrAuth},
	{int32(syscall.ETIMEDOUT), ErrTimeout},
	{int32(syscall.EINVAL), ErrInvalid},
	{int32(syscall.EPERM), ErrPermission},
	{int32(syscall.EEXIST), ErrExist},
	{int32(syscall.ENOENT), ErrNotFound},
	{int32(syscall.EMSGSIZE), ErrMsgSize},
	{int32(syscall.ENOMEM), ErrResources},
	{int32(syscall.ENOTSUP), errors.ErrUnsupported},
	{int32(syscall.ECANCELED), context.Canceled},
	{int32(syscall.EPROTO), ErrQoS},
}

// Result maps an error to the negative code sent in a reply; nil is 0.
// Errors with no code of their own travel as -EIO, their text kept in the
// reply's detail.
func Result(err error) int32 {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) && e.Code < 0 { // relayed as it came
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return -int32(syscall.ETIMEDOUT)
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return -c.code
		}
	}
	return -int32(syscall.EIO)
}

// errFromCode maps a negative result code back to its sentinel.
func errFromCode(result int32) error {
	for _, c := range codes {
		if -c.code == result {
			return c.err
		}
	}
	return fmt.Errorf("error code %d", result)
}

// Error is an error reported by the node: the detail text it sent, wrapping
// the sentinel of its code so errors.Is works on the client side.
type Error struct {
	Code   int32
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Detail
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// FromReply returns the error a reply carries, or nil.
func FromReply(m *Msg) error {
	if m.GetResult() == 0 {
		return nil
	}
	return &Error{Code: m.GetResult(), Detail: m.GetDetail(), Err: errFromCode(m.GetResult())}
}

// Reply builds the reply to a request that ended with err.
func Reply(err error) *Msg {
	m := &Msg{Code: Code_REPLY, Result: Result(err)}
	if err != nil {
		m.Detail = err.Error()
	}
	return m
}
