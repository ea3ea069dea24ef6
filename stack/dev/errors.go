package dev

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/o7s/ouroboros/stack/errs"
)

// Errors, usable with errors.Is. Errors reported by the node wrap the same
// sentinels.
var (
	ErrFlowDown     = errs.ErrFlowDown     // the other end is gone
	ErrFlowPeer     = errs.ErrFlowPeer     // nothing came from the other end within the peer timeout
	ErrNotAllocated = errs.ErrNotAllocated // the node does not know the flow
	ErrName         = errs.ErrName         // a naming error
	ErrIPCP         = errs.ErrIPCP         // no layer reaches the name
	ErrNode         = errs.ErrNode         // the node cannot be reached
	ErrTimeout      = errs.ErrTimeout      // a timeout or deadline passed
	ErrQoS          = errs.ErrQoS          // the QoS needs what this version lacks
	ErrCrypt        = errs.ErrCrypt        // encryption failed or was refused
	ErrAuth         = errs.ErrAuth         // authentication failed or was refused
	ErrMsgSize      = errs.ErrMsgSize      // an SDU too large
	ErrPermission   = errs.ErrPermission   // e.g. writing a read-only flow
	ErrInvalid      = errs.ErrInvalid      // a bad argument
	ErrResources    = errs.ErrResources    // out of descriptors or memory
	// ErrWouldBlock is returned by non-blocking reads and writes.
	ErrWouldBlock = errors.New("flow: operation would block")
	// ErrFlowClosed is returned after Close; it wraps net.ErrClosed.
	ErrFlowClosed = fmt.Errorf("flow closed: %w", net.ErrClosed)
)

var errFlowDown = fmt.Errorf("%w: the peer closed it", ErrFlowDown)

// timeoutError is the error of a read or write whose deadline passed: it
// is ErrTimeout and os.ErrDeadlineExceeded, and a net.Error.
type timeoutError struct{}

func (timeoutError) Error() string   { return "flow: i/o timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == os.ErrDeadlineExceeded
}

var errIOTimeout error = timeoutError{}
