// Package ipcp holds what every IPC process shares: types and states, the
// directory hash algorithms, and the two interfaces between an IPCP and the
// IRM of its node. IPCPs run inside onode as components, so these are
// function calls, not the reference's messages; the semantics follow spec
// SYSTEM §4.
//
// Flow ownership: the IRM creates the socket pair of every N+1 flow and
// hands the node's end to the IPCP (in FlowAlloc, or as the result of
// FlowReqArr). From then on the IPCP owns that end: it closes it when the
// flow ends, and reports the end of the flow exactly once with
// FlowDeallocated, or with a failed FlowAllocReply. An IPCP asked to
// FlowDealloc a flow it no longer holds returns ErrUnknownFlow and makes no
// callback.
package ipcp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/o7s/ouroboros/stack/qos"
	"github.com/o7s/ouroboros/stack/seqpkt"
)

// Type is an IPCP type; the values and their order are the reference's
// (and the order in which the IRM asks layers for a name).
type Type uint8

const (
	Local Type = iota
	Unicast
	Broadcast
	EthLLC
	EthDIX
	UDP4
	UDP6
)

var typeNames = [...]string{"local", "unicast", "broadcast", "eth-llc", "eth-dix", "udp4", "udp6"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "UNKNOWN"
}

// ParseType parses a CLI type name (exact match).
func ParseType(s string) (Type, error) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("unknown IPCP type %q (one of unicast, broadcast, local, udp4, udp6, eth-llc, eth-dix)", s)
}

// State is an IPCP's state (spec SYSTEM §4.1).
type State uint8

const (
	StateNull State = iota
	StateInit
	StateBoot
	StateBootstrapped
	StateEnrolled
	StateOperational
	StateShutdown
)

var stateNames = [...]string{"null", "init", "boot", "bootstrapped", "enrolled", "operational", "shutdown"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// NotEnrolled is the layer name of an IPCP that has not been bootstrapped or
// enrolled, as the reference shows it.
const NotEnrolled = "Not enrolled."

// Layer is what an IPCP learns when it bootstraps or enrolls.
type Layer struct {
	Name string
	Hash HashAlgo
}

// Config is a bootstrap configuration: the layer, and the part for the
// IPCP's type.
type Config struct {
	Layer string
	Hash  HashAlgo
	Eth   *EthConfig // eth-dix, eth-llc
	UDP   *UDPConfig // udp4, udp6
	// Unicast configures a unicast layer; nil takes every default.
	Unicast *UnicastConfig
}

// DefaultEthertype is the eth-dix IPCP's default ethertype.
const DefaultEthertype = 0xA000

// DefaultUDPPort is the UDP IPCPs' default port.
const DefaultUDPPort = 3435

// EthConfig configures an Ethernet IPCP.
type EthConfig struct {
	Dev       string // interface name
	Ethertype uint16 // eth-dix only; ≥ 0x0600 and < 0xFFFF
}

// UDPConfig configures a UDP IPCP.
type UDPConfig struct {
	Addr netip.Addr // address to bind; not the unspecified address
	Port uint16     // the same for the whole layer
	DNS  netip.Addr // DDNS server; invalid (zero) when none
	// Static directory entries (an addition of ours): a name to the
	// address of the node that serves it. The IPCP hashes the names with
	// the layer's hash (MD5 for UDP layers).
	Static map[string]netip.Addr
}

// StaticDir is implemented by IPCPs whose directory takes static entries.
type StaticDir interface {
	AddStatic(hash []byte, addr netip.Addr) error
}

// ErrUnknownFlow is returned by FlowDealloc for a flow the IPCP does not hold.
var ErrUnknownFlow = errors.New("ipcp: unknown flow")

// ErrDuplicateRequest is a flow request the IRM has seen already (the same
// OAP id and time: the layer below duplicated it, or someone replays it).
// An IPCP answers a refused request with its code, but not this one: the
// answer would reach the allocation the first copy is serving.
var ErrDuplicateRequest = errors.New("ipcp: duplicate flow request")

// FlowKey names one flow for its whole life: the id is the node's flow id,
// reused after the flow ends; the serial never is.
type FlowKey struct {
	ID     int
	Serial uint64
}

// Flow is an N+1 flow as an IPCP sees it.
type Flow struct {
	Key FlowKey
	End *seqpkt.Conn // the node's end; the application holds the other
	QoS qos.Spec
}

// IPCP is one IPC process inside the node.
type IPCP interface {
	// Bootstrap makes the IPCP the first member of a layer.
	Bootstrap(ctx context.Context, conf Config) (Layer, error)
	// Reg and Unreg make a name (its hash) reachable through the IPCP or not.
	Reg(hash []byte) error
	Unreg(hash []byte) error
	// Query returns nil when the name is reachable in the layer.
	Query(ctx context.Context, hash []byte) error
	// FlowAlloc starts allocating f towards the name; data (the OAP
	// request) travels with the request, opaquely. The outcome is reported
	// with IRM.FlowAllocReply; an error return means the request was not
	// sent, and the IPCP has closed f.End.
	FlowAlloc(ctx context.Context, f Flow, hash, data []byte) error
	// FlowAllocResp answers a request that arrived through IRM.FlowReqArr:
	// a nil response accepts it, and data (the OAP response) travels back
	// with the answer.
	FlowAllocResp(ctx context.Context, key FlowKey, response error, data []byte) error
	// FlowDealloc releases a flow; IRM.FlowDeallocated follows.
	FlowDealloc(key FlowKey) error
	// Close stops the IPCP and releases every flow it holds.
	Close() error
}

// IRM is what an IPCP calls on its node.
type IRM interface {
	// FlowReqArr reports a flow request for hash that arrived in the layer.
	// It waits for an application to accept it and returns the flow, whose
	// End the IPCP then owns; the acceptance itself follows with
	// FlowAllocResp.
	// data is what came with the request (the OAP request).
	FlowReqArr(ctx context.Context, from uint32, hash []byte, qs qos.Spec, mpl time.Duration, data []byte) (Flow, error)
	// FlowAllocReply reports the outcome of FlowAlloc, with the data that
	// came with the answer (the OAP response). The IRM copies what it keeps.
	FlowAllocReply(key FlowKey, err error, mpl time.Duration, data []byte)
	// FlowDeallocated reports that the IPCP has let go of a flow.
	FlowDeallocated(key FlowKey)
	// FlowState reports that the layer under a flow went down (up false)
	// or came back up, as an Ethernet IPCP does when its link changes.
	FlowState(key FlowKey, up bool)
}

// UnicastConfig configures a unicast layer; the bootstrapper's copy is
// handed to every enrollee (spec SYSTEM §8.5). Zero fields take the
// reference's defaults (see Defaults).
type UnicastConfig struct {
	AddrSize                      uint8 // bytes; flat accepts only 4
	EIDSize                       uint8 // bytes; only 8
	MaxTTL                        uint8
	AddrAuth                      AddrAuth
	Routing                       Routing
	TRecalc, TUpdate, TTimeo      time.Duration
	Dir                           Directory
	DHTAlpha, DHTK                uint32
	TExpire, TRefresh, TReplicate time.Duration
	Cong                          Congestion
	// DHTPeer is the enroller's address, set when a config is handed to an
	// enrollee; 0 for the bootstrapper.
	DHTPeer uint64
}

// Defaults fills the zero fields of c with the reference's defaults.
func (c *UnicastConfig) Defaults() {
	set := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.AddrSize == 0 {
		c.AddrSize = 4
	}
	if c.EIDSize == 0 {
		c.EIDSize = 8
	}
	if c.MaxTTL == 0 {
		c.MaxTTL = 60
	}
	set(&c.TRecalc, 4*time.Second)
	set(&c.TUpdate, 15*time.Second)
	set(&c.TTimeo, 60*time.Second)
	if c.DHTAlpha == 0 {
		c.DHTAlpha = 3
	}
	if c.DHTK == 0 {
		c.DHTK = 8
	}
	set(&c.TExpire, 86400*time.Second)
	set(&c.TRefresh, 900*time.Second)
	set(&c.TReplicate, 900*time.Second)
}

// Enroller is implemented by IPCPs that join an existing layer through a
// member (unicast, broadcast).
type Enroller interface {
	// Enroll joins the layer of the IPCP that answers for dst in a lower
	// layer, and returns the layer.
	Enroll(ctx context.Context, dst string) (Layer, error)
	// Connect makes a management ("mgmt") or data-transfer ("dt")
	// adjacency with the IPCP that answers for dst, over a lower-layer
	// flow with QoS qs.
	Connect(ctx context.Context, dst, comp string, qs qos.Spec) error
	// Disconnect removes the first adjacency of that component with dst.
	Disconnect(dst, comp string) error
}

// Components of Connect and Disconnect.
const (
	CompDT   = "dt"
	CompMgmt = "mgmt"
)

// Joiner is implemented by broadcast IPCPs: an application flow joins the
// layer's forwarding set.
type Joiner interface {
	// FlowJoin adds f to the layer whose name hashes to hash. The outcome
	// follows with IRM.FlowAllocReply, as for FlowAlloc.
	FlowJoin(ctx context.Context, f Flow, hash []byte) error
}

// Inspector is implemented by IPCPs that can describe their state (what
// otb inspect and irm ipcp show print).
type Inspector interface {
	Inspect() Info
}

// Info describes an IPCP's state in its layer.
type Info struct {
	Addr       string      // own address as text (unicast), empty otherwise
	Neighbours []Neighbour // adjacencies
	Routes     []Route     // forwarding table
	Names      [][]byte    // hashes registered through this IPCP
	Flows      int         // N+1 flows it holds
	Contacts   int         // directory (DHT) contacts
}

// Neighbour is one adjacency of an IPCP.
type Neighbour struct {
	Addr string   // its address as text
	Comp string   // CompDT or CompMgmt (broadcast: dt)
	Dst  string   // the name it was reached by (empty if it connected to us)
	Up   bool     // its lower layer has carrier and (unicast) the neighbour is heard over it
	Cube qos.Cube // the QoS cube of a data-transfer flow
}

// Route is one forwarding entry: a destination and its next hops.
type Route struct {
	Dst      string
	NextHops []string
}

// LowerFlow is a flow an IPCP holds in a layer below it.
type LowerFlow struct {
	ID    int          // the node's flow id
	Conn  *seqpkt.Conn // the IPCP's end
	Name  string       // the name at the other end (allocated flows)
	Layer string
	QoS   qos.Spec // as requested by the side that allocated it
	// MaxSDU is the largest SDU the flow carries (0: not known).
	MaxSDU int
	// Port is the flow's in-process data path, when the IPCP below
	// offers one and nothing runs between the two (no FRCT, encryption
	// or CRC relay); nil otherwise. Conn stays the flow's channel either
	// way: its end is still the end of the flow, and what is written on
	// it still goes out.
	Port Port
	// Peer is who is at the other end in the layer below, as that layer
	// names it (an Ethernet IPCP's MAC, a UDP IPCP's address and port;
	// see PeerTeller); empty when the layer does not say. A unicast IPCP
	// tells a neighbour that came back as a new IPCP by it.
	Peer string
}

// Port is the in-process data path of an N-1 flow whose two ends are
// IPCPs of the same node (a unicast IPCP over an eth or udp IPCP): the
// upper IPCP hands packets straight to the lower one's batched link
// writer, and the lower one's reader hands what it receives straight to
// the upper one, with no socket pair and no goroutine in between. The
// flow's seqpkt channel (LowerFlow.Conn) lives on beside it and still ends
// the flow: closing either end releases it, and then Send and TrySend
// fail and the receiver is no longer called.
//
// The lower IPCP copies what Send and TrySend are given into a pooled
// buffer of its own behind its header's room; the caller keeps its slice.
type Port interface {
	// Attach makes the lower IPCP call rx with each SDU of the flow, on
	// its reader's goroutine, instead of writing it to the channel. The
	// SDU lies in the reader's buffer: rx may change it in place but not
	// keep it after it returns, and must not wait long (it holds up the
	// link's reader). Attach returns once everything written on the
	// channel before it was called has gone to the link, so packets sent
	// through the port after it do not overtake them (a connection's CEP
	// message, say). Packets already queued in the channel towards the
	// upper IPCP are still there to be read. It fails if the flow has
	// ended, and is called at most once. If it fails for another reason
	// (the flush takes too long), the receiver may stay attached: the
	// caller goes on writing on the channel, and reading it.
	Attach(rx func(sdu []byte)) error
	// Send queues pkt for the link, waiting while the queue is full.
	Send(pkt []byte) error
	// TrySend is Send that does not wait: with the queue full it returns
	// ErrPortFull and the packet is dropped (and counted by the lower
	// IPCP).
	TrySend(pkt []byte) error
	// Queued is the number of packets waiting in the queue Send fills:
	// the queue to the link, which the flow may share with the other
	// in-process flows of the lower IPCP.
	Queued() int
}

// Errors of a Port.
var (
	ErrPortFull   = errors.New("ipcp: the port's queue is full")
	ErrPortClosed = errors.New("ipcp: the port's flow has ended")
)

// PortOpener is implemented by IPCPs that offer an in-process Port for
// their N+1 flows. Port returns the port of a flow the IPCP holds.
type PortOpener interface {
	Port(key FlowKey) (Port, error)
}

// PeerTeller is implemented by IPCPs that can say who is at the other
// end of a flow they hold: the peer's address in their layer, as text
// (an Ethernet IPCP's MAC, a UDP IPCP's address and port), the same for
// every flow with that peer; empty if the flow is not theirs.
type PeerTeller interface {
	FlowPeer(key FlowKey) string
}

// SDUSizer is an IPCP that knows the largest SDU its layer carries; a
// flow through it tells its program (0: not known yet).
type SDUSizer interface {
	MaxSDU() int
}

// Lower is what a node offers the IPCPs that use other layers (unicast,
// broadcast): flows in the layers below them, allocated and accepted like
// an application does, under the IPCP's own identity. Names are bound to
// an IPCP with the node's BindIPCP (irm bind ipcp, or autobind).
type Lower interface {
	// LowerAlloc allocates a flow from IPCP self to dst through any
	// other layer that knows dst.
	LowerAlloc(ctx context.Context, self uint32, dst string, qs qos.Spec) (LowerFlow, error)
	// LowerAccept waits for a flow to one of the names bound to self.
	LowerAccept(ctx context.Context, self uint32) (LowerFlow, error)
	// LowerDealloc releases a lower flow; the IPCP closes its Conn.
	LowerDealloc(self uint32, id int) error
}

// LowerWatcher is implemented by IPCPs that want to hear that the layer
// under one of their lower flows went down or came back up.
type LowerWatcher interface {
	LowerFlowState(id int, up bool)
}
