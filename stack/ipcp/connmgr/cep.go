// Package connmgr is the connection-establishment exchange of the unicast
// and broadcast IPCPs (spec SYSTEM §8.4): on every flow an IPCP allocates to
// a peer, the allocating side sends its component's cep_msg and the
// accepting side answers with its own, after which the flow belongs to that
// component (data transfer, enrollment or management).
//
// The messages are the reference's cep_msg (package pb); only comp_name,
// protocol, pref_version, pref_syntax and address are filled, as the
// reference (src/lib/cep.c) does.
package connmgr

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/o7s/ouroboros/stack/ipcp/pb"
)

// Syntaxes of the component protocols.
const (
	SyntaxGPB   = 0
	SyntaxFixed = 2
)

// Info is a component's connection information.
type Info struct {
	Comp     string // wire component name
	Protocol string
	Version  int32
	Syntax   int32
	Addr     uint64
}

// The components (spec SYSTEM §8.4, §9). Addr is filled in by the IPCP.
var (
	DT         = Info{Comp: "Data Transfer", Protocol: "dtp", Version: 1, Syntax: SyntaxFixed}
	Enrollment = Info{Comp: "Enrollment", Protocol: "OEP", Version: 1, Syntax: SyntaxGPB}
	Management = Info{Comp: "Management", Protocol: "LSP", Version: 1, Syntax: SyntaxGPB}
	// BroadcastDT is the broadcast IPCP's data transfer: no protocol.
	BroadcastDT = Info{Comp: "Data Transfer"}
)

// Timeout bounds the wait for the peer's message (the reference's 1000 ms).
const Timeout = time.Second

// MaxMsg is the largest cep_msg read (the reference's buffer).
const MaxMsg = 128

// Conn is the flow the exchange runs on.
type Conn interface {
	Read(b []byte) (int, error)
	Write(b []byte) error
	SetReadDeadline(t time.Time) error
}

// Errors of the exchange.
var (
	ErrMismatch = errors.New("connmgr: peer runs another protocol, version or syntax")
	ErrUnknown  = errors.New("connmgr: peer does not have the component")
	ErrMsg      = errors.New("connmgr: malformed cep_msg")
)

// Marshal encodes a cep_msg.
func (i Info) Marshal() []byte {
	b, _ := proto.Marshal(&pb.CepMsg{
		CompName: proto.String(i.Comp), Protocol: proto.String(i.Protocol),
		PrefVersion: proto.Int32(i.Version), PrefSyntax: proto.Int32(i.Syntax),
		Address: proto.Uint64(i.Addr),
	})
	return b
}

// Parse decodes a cep_msg.
func Parse(b []byte) (Info, error) {
	var m pb.CepMsg
	if err := proto.Unmarshal(b, &m); err != nil {
		return Info{}, fmt.Errorf("%w: %w", ErrMsg, err)
	}
	return Info{Comp: m.GetCompName(), Protocol: m.GetProtocol(), Version: m.GetPrefVersion(), Syntax: m.GetPrefSyntax(), Addr: m.GetAddress()}, nil
}

func recv(c Conn) (Info, error) {
	var buf [MaxMsg]byte
	c.SetReadDeadline(time.Now().Add(Timeout))
	defer c.SetReadDeadline(time.Time{})
	n, err := c.Read(buf[:])
	if err != nil {
		return Info{}, fmt.Errorf("connmgr: no cep_msg from the peer: %w", err)
	}
	if n > len(buf) { // the rest is lost: it cannot parse
		return Info{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMsg, n, len(buf))
	}
	return Parse(buf[:n])
}

// Initiate runs the active side on a freshly allocated flow: send ours,
// receive the peer's, and check that both speak the same protocol.
func Initiate(c Conn, local Info) (Info, error) {
	if err := c.Write(local.Marshal()); err != nil {
		return Info{}, fmt.Errorf("connmgr: send cep_msg: %w", err)
	}
	peer, err := recv(c)
	if err != nil {
		return Info{}, err
	}
	if peer.Comp == "" && peer.Protocol == "" {
		return peer, fmt.Errorf("%w: %q", ErrUnknown, local.Comp)
	}
	if peer.Protocol != local.Protocol || peer.Version != local.Version || peer.Syntax != local.Syntax {
		return peer, fmt.Errorf("%w: ours %s/%d/%d, theirs %s/%d/%d", ErrMismatch,
			local.Protocol, local.Version, local.Syntax, peer.Protocol, peer.Version, peer.Syntax)
	}
	return peer, nil
}

// Respond runs the passive side on an accepted flow: receive the peer's
// cep_msg, find our component by its name and answer with our info. An
// unknown component gets an all-empty cep_msg and ErrUnknown.
func Respond(c Conn, lookup func(comp string) (Info, bool)) (local, peer Info, err error) {
	peer, err = recv(c)
	if err != nil {
		return Info{}, Info{}, err
	}
	local, ok := lookup(peer.Comp)
	if !ok {
		c.Write(Info{}.Marshal())
		return Info{}, peer, fmt.Errorf("%w: %q", ErrUnknown, peer.Comp)
	}
	if err := c.Write(local.Marshal()); err != nil {
		return Info{}, peer, fmt.Errorf("connmgr: send cep_msg: %w", err)
	}
	return local, peer, nil
}
