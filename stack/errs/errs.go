// Package errs is the error vocabulary of the stack: the sentinels that
// every layer uses with errors.Is, and the one table that turns them into
// the negative result codes the reference carries on the wire and across the
// control channel (spec SYSTEM §2.3, APP §2.10), and back.
//
// It imports nothing of the project, so an IPCP, the node, the control
// channel and the application library can all share it.
package errs

import (
	"context"
	"errors"
	"strconv"
)

// Sentinel errors. Each has a code in the table below; an error that wraps
// one travels as that code.
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
// context.Canceled. Both have codes too.

// The reference's own codes (1000 and up) and the Linux errno values it
// uses. They are wire values, so they are written out rather than taken
// from the platform's syscall package.
const (
	codeEPERM     = 1
	codeENOENT    = 2
	codeEIO       = 5
	codeENOMEM    = 12
	codeEEXIST    = 17
	codeEINVAL    = 22
	codeEPROTO    = 71
	codeEMSGSIZE  = 90
	codeENOTSUP   = 95
	codeETIMEDOUT = 110
	codeECANCELED = 125
)

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
	{codeETIMEDOUT, ErrTimeout},
	{codeEINVAL, ErrInvalid},
	{codeEPERM, ErrPermission},
	{codeEEXIST, ErrExist},
	{codeENOENT, ErrNotFound},
	{codeEMSGSIZE, ErrMsgSize},
	{codeENOMEM, ErrResources},
	{codeENOTSUP, errors.ErrUnsupported},
	{codeECANCELED, context.Canceled},
	{codeEPROTO, ErrQoS},
}

// Code maps an error to the negative code that carries it; nil is 0. An
// *Error that came with a code keeps it. Errors with no code of their own
// travel as -EIO (their text, where the carrier has room, beside it).
func Code(err error) int32 {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) && e.Code < 0 { // relayed as it came
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return -codeETIMEDOUT
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return -c.code
		}
	}
	return -codeEIO
}

// Err maps a code back to its error: nil for 0, the sentinel for a known
// code (negative, as on the wire), and an error naming the code otherwise.
func Err(code int32) error {
	if code == 0 {
		return nil
	}
	for _, c := range codes {
		if -c.code == code {
			return c.err
		}
	}
	return errors.New("error code " + strconv.Itoa(int(code)))
}

// Error is an error reported from elsewhere (the node, a peer) with its code
// and the text it came with; it wraps the code's sentinel, so errors.Is
// works on the receiving side.
type Error struct {
	Code   int32
	Detail string
	Err    error
}

// Remote returns the error a reply with code and detail carries, or nil for
// code 0.
func Remote(code int32, detail string) error {
	if code == 0 {
		return nil
	}
	return &Error{Code: code, Detail: detail, Err: Err(code)}
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Detail
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
