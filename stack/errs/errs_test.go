package errs

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// The codes are wire values (the reference's, negated): a change here
// breaks interoperability, so they are spelled out.
func TestCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int32
	}{
		{nil, 0},
		{ErrNotAllocated, -1000},
		{ErrIPCPType, -1001},
		{ErrNode, -1002},
		{ErrIPCP, -1003},
		{ErrIPCPState, -1004},
		{ErrFlowDown, -1005},
		{ErrFlowPeer, -1006},
		{ErrName, -1007},
		{ErrCrypt, -1008},
		{ErrAuth, -1009},
		{ErrTimeout, -110},
		{context.DeadlineExceeded, -110},
		{ErrInvalid, -22},
		{ErrPermission, -1},
		{ErrExist, -17},
		{ErrNotFound, -2},
		{ErrMsgSize, -90},
		{ErrResources, -12},
		{errors.ErrUnsupported, -95},
		{context.Canceled, -125},
		{ErrQoS, -71},
		{errors.New("anything else"), -5},
		{fmt.Errorf("wrapped: %w", ErrName), -1007},
	} {
		if got := Code(tc.err); got != tc.code {
			t.Errorf("Code(%v) = %d, want %d", tc.err, got, tc.code)
		}
		if tc.code == 0 || tc.code == -5 || tc.err == context.DeadlineExceeded {
			continue
		}
		if got := Err(tc.code); !errors.Is(tc.err, got) {
			t.Errorf("Err(%d) = %v, want %v", tc.code, got, tc.err)
		}
	}
}

func TestErrUnknownAndZero(t *testing.T) {
	if err := Err(0); err != nil {
		t.Errorf("Err(0) = %v, want nil", err)
	}
	err := Err(-113)
	if err == nil || err.Error() != "error code -113" {
		t.Errorf("Err(-113) = %v, want an error naming the code", err)
	}
}

func TestRemote(t *testing.T) {
	if err := Remote(0, "ignored"); err != nil {
		t.Fatalf("Remote(0) = %v, want nil", err)
	}
	err := Remote(-1007, `nobody serves "x"`)
	if !errors.Is(err, ErrName) || err.Error() != `nobody serves "x"` {
		t.Errorf("Remote = %v, want ErrName with the detail as its text", err)
	}
	// A code with no sentinel is relayed as it came, not turned into -EIO.
	relayed := fmt.Errorf("the peer refused the flow: %w", Remote(-113, ""))
	if got := Code(relayed); got != -113 {
		t.Errorf("Code of a relayed unknown code = %d, want -113", got)
	}
	if got := Remote(-1005, "").Error(); got != ErrFlowDown.Error() {
		t.Errorf("Remote without detail says %q, want the sentinel's text", got)
	}
}
