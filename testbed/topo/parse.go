package topo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// Runtimes.
const (
	RuntimeNetns  = "netns"  // nodes are network namespaces on this machine
	RuntimeDocker = "docker" // nodes are Docker containers (kind node only)
	RuntimeSwarm  = "swarm"  // nodes are containers on the engines of a swarm (hosts:)
)

// Layer types. Shim layers sit on one link; unicast and broadcast layers
// run over lower layers.
const (
	LayerEthDIX    = "eth-dix"
	LayerEthLLC    = "eth-llc"
	LayerUDP4      = "udp4"
	LayerUDP6      = "udp6"
	LayerUnicast   = "unicast"
	LayerBroadcast = "broadcast"
)

// Address families of udp links.
const (
	FamilyIPv4 = "ipv4"
	FamilyIPv6 = "ipv6"
)

// Limits on names, from the resources that carry them: a node's network
// namespace is o7s-<lab>-<node>, and a kernel interface name is at most
// IFNAMSIZ-1 bytes.
const (
	MaxLabName   = 12
	MaxNodeName  = 10
	MaxIfaceName = 15
	MinMTU       = 68    // the IPv4 minimum
	MinMTUIPv6   = 1280  // below it the kernel drops IPv6 from a link
	MaxMTU       = 65535 // the largest IP datagram
)

// MaxFileSize is the largest topology file Load and Parse accept: 16 MiB,
// a ring of some 145000 nodes with a unicast layer over them, which takes
// Load about 12 s of CPU time and 1.5 GB of memory on a 2-core machine
// (BenchmarkLoad/max). A larger file is refused before it is read.
const MaxFileSize = 16 << 20

// ErrTooLarge is under the error for a file over MaxFileSize.
var ErrTooLarge = errors.New("topology file too large")

type sizeError struct {
	file string
	size int64 // -1: unknown, past the limit
}

func (e *sizeError) Error() string {
	size := "over " + mib(MaxFileSize)
	if e.size >= 0 {
		size = mib(e.size)
	}
	return fmt.Sprintf("%s is %s; topology files are limited to %s (a ring of some 145000 nodes): split the lab, or make it smaller",
		e.file, size, mib(MaxFileSize))
}

func (e *sizeError) Is(target error) bool { return target == ErrTooLarge }

// mib writes a size in MiB, rounded up to a tenth unless it is whole.
func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", math.Ceil(float64(n)*10/(1<<20))/10)
}

// readFile reads a topology file, refusing one over MaxFileSize before
// reading it, or, when its size is not known (a pipe), once it has read
// past it.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load topology: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, &sizeError{path, fi.Size()}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load topology: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &sizeError{path, -1}
	}
	return data, nil
}

// Load reads, decodes, validates and completes the topology file at path.
// When the file is not valid the error is an ErrorList with its problems.
func Load(path string) (*Topology, error) {
	return LoadContext(context.Background(), path)
}

// LoadContext is Load that stops, returning an error that wraps
// ctx.Err(), when ctx is done.
func LoadContext(ctx context.Context, path string) (*Topology, error) {
	return LoadWith(ctx, path, LoadOptions{})
}

// LoadOptions change what a file says.
type LoadOptions struct {
	// Runtime, when set, replaces the file's runtime: (a node's own
	// runtime: still wins), as otb deploy --runtime does.
	Runtime string
	// Hosts, when set, are the engines of a swarm lab whose file has no
	// hosts: section (otb deploy --swarm S: the engines of swarm S).
	Hosts []*Host
	// files: a story file may name its topology file (Load does; Parse,
	// which has no path to start from, does not).
	files bool
}

// LoadWith is LoadContext with options.
func LoadWith(ctx context.Context, path string, o LoadOptions) (*Topology, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	o.files = true
	return parse(ctx, path, data, o)
}

// Parse decodes, validates and completes a topology file; file names it in
// messages. When the file is not valid the error is an ErrorList with its
// problems (the first MaxErrors found), each as "file:line:col: what is
// wrong; what to write instead". A file over MaxFileSize is refused with
// an error for which errors.Is(err, ErrTooLarge) holds.
//
// Completion fills in what the file leaves implied:
//   - a node's kind defaults to node, a link's type to veth, a udp link's
//     family to ipv4, the runtime to netns;
//   - udp links get addresses, in file order per family: the n-th ipv4
//     link (from 0) gets 198.18.0.4n+1/30 and 198.18.0.4n+2/30 out of
//     198.18.0.0/15 (RFC 2544), the n-th ipv6 link fd07:7e57:0:n::1/64
//     and fd07:7e57:0:n::2/64 out of fd07:7e57::/48; the first endpoint
//     written gets ::1 (.1);
//   - every link that no layer names and that has two or more nodes of
//     kind node on it gets a shim layer, Implied: eth-dix on a veth or
//     bridge link, udp4 or udp6 (by family) on a udp link. It is named
//     dix-<n1>-<n2> on a veth link, dix-<bridge> on a bridge link and
//     udp-<n1>-<n2> on a udp link, n1 and n2 being the endpoint nodes in
//     the order the link lists them; a name already taken (by a layer in
//     the file, or an implied layer before it) gets the first free suffix
//     -2, -3, ... An implied layer's Line is its link's;
//   - a shim layer's members are its link's endpoint nodes of kind node, in
//     the order the link lists them;
//   - a unicast or broadcast layer's policies get the reference's
//     defaults, and its Steps say how it comes up (see Layer.Steps).
//
// Layers are in dependency order: shim layers first, in file order with
// implied layers after them in link order, then unicast and broadcast
// layers, each after the layers it runs over and otherwise in file order.
func Parse(file string, data []byte) (*Topology, error) {
	return ParseContext(context.Background(), file, data)
}

// ParseContext is Parse that stops, returning an error that wraps
// ctx.Err(), when ctx is done.
func ParseContext(ctx context.Context, file string, data []byte) (*Topology, error) {
	return parse(ctx, file, data, LoadOptions{})
}

func parse(ctx context.Context, file string, data []byte, o LoadOptions) (*Topology, error) {
	if len(data) > MaxFileSize {
		return nil, &sizeError{file, int64(len(data))}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load topology %s: %w", file, err)
	}
	d := &decoder{ctx: ctx, file: file, runtimeOpt: o.Runtime, hostsOpt: o.Hosts}
	f := d.parse(data)
	var t *Topology
	if f != nil && d.stop == nil && f.topology.given() {
		if !o.files {
			d.errorf(f.topology.pos, "a story file names its topology file from its own path; load it from that path (otb story run FILE)")
			return nil, d.errs.sortDedup()
		}
		return storyFile(ctx, d, f, o)
	}
	if f != nil && d.stop == nil {
		t = newBuilder(d).build(f)
	}
	if d.stop != nil && d.stop != errExpands {
		return nil, fmt.Errorf("load topology %s: %w", file, d.stop)
	}
	if d.problems() > 0 {
		errs := d.errs.sortDedup()
		if d.more > 0 {
			errs = append(errs, &Error{File: file, Msg: fmt.Sprintf("and %d more problems (only the first %d are listed)", d.more, MaxErrors)})
		}
		return nil, errs
	}
	return t, nil
}
