package ctl

import "fmt"

// LB is a name's load-balancing policy among the processes accepting for
// it (NameInfo.PolLb).
type LB uint8

const (
	RoundRobin LB = 0 // rotate between acceptors
	Spillover  LB = 1 // keep feeding the most recently arrived acceptor
)

func (l LB) String() string {
	switch l {
	case RoundRobin:
		return "round-robin"
	case Spillover:
		return "spillover"
	}
	return "UNKNOWN"
}

// ParseLB parses a policy name: "round-robin", "spillover", or "spill" (the
// reference configuration file's spelling).
func ParseLB(s string) (LB, error) {
	switch s {
	case "round-robin":
		return RoundRobin, nil
	case "spillover", "spill":
		return Spillover, nil
	}
	return 0, fmt.Errorf("unknown load-balancing policy %q, want round-robin or spillover", s)
}

// FlowState is a flow's state in the node's flow table (FlowInfo.State);
// the values are the reference's.
type FlowState uint8

const (
	FlowInit FlowState = iota
	FlowAllocPending
	FlowAcceptPending
	FlowAllocated
	FlowDeallocPending
	FlowDeallocated
)

var flowStateNames = [...]string{"init", "alloc-pending", "accept-pending", "allocated", "dealloc-pending", "deallocated"}

func (s FlowState) String() string {
	if int(s) < len(flowStateNames) {
		return flowStateNames[s]
	}
	return fmt.Sprintf("flow-state(%d)", uint8(s))
}

// BindAuto is the bind-program option (Msg.Opts) that makes the node start
// the program when a request finds nobody accepting.
const BindAuto = 0x01
