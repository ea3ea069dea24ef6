// Package swarm makes Docker Swarms of several engines on this machine,
// so that labs that span several hosts can be tried and tested without
// them (otb swarm up, otb swarm down).
//
// A swarm named S of N engines is: a network namespace o7ssw-S holding a
// bridge (the hosts' LAN, MTU 16384: room for a lab's links of up to 16284 bytes, in two VXLAN headers), and for each engine eK a network
// namespace o7ssw-S-eK joined to that bridge by a veth, with the address
// 198.19.0.K/24 (from the benchmarking range, RFC 2544: ours, and nobody
// else's), in which a dockerd of its own runs (its own data root, exec
// root and socket, its own host name S-eK). Engine e1 starts the swarm;
// the others join it, as managers when there are three or more (so that
// losing one keeps a quorum), else as workers. The testbed's node image
// is copied into every engine, as a registry would serve it.
//
// The machine's own engine is not made part of the swarm: it may be in
// use by others (another lab, another swarm), and an engine is in at most
// one swarm.
//
// Everything is recorded in /run/o7s/swarm/S/state.json and marked: the
// namespaces' loopback aliases say o7s.swarm=S, the dockerd processes are
// stopped by the PIDs recorded (and only while their command line still
// names the swarm's directory).
package swarm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// Where swarms live: state, sockets and exec roots in StateRoot, the
// engines' images and containers in DataRoot.
const (
	StateRoot = "/run/o7s/swarm"
	DataRoot  = "/var/lib/o7s/swarm"
)

// DefaultName is the swarm otb swarm up makes when not told a name.
const DefaultName = "o7s"

// MaxEngines bounds a swarm's size (each engine takes about 100 MB).
const MaxEngines = 16

// hostMTU is the MTU of the hosts' LAN.
const hostMTU = "16384"

// Marker is the prefix of the loopback alias that marks a swarm's
// namespaces.
const Marker = "o7s.swarm="

// Swarm is a swarm made by Up.
type Swarm struct {
	Name    string    `json:"name"`
	Switch  string    `json:"switch"` // the namespace of the hosts' bridge
	Engines []*Engine `json:"engines"`
	Created time.Time `json:"created"`
	// Making: Up has not finished (or died): Down removes it.
	Making bool `json:"making,omitempty"`
}

// Engine is one engine of a swarm.
type Engine struct {
	Name     string `json:"name"`  // e1, e2, ...
	NS       string `json:"netns"` // its network namespace
	Addr     string `json:"addr"`  // its address on the hosts' LAN
	Sock     string `json:"sock"`  // its API socket
	PID      int    `json:"pid"`   // dockerd's
	DataRoot string `json:"data_root"`
	ExecRoot string `json:"exec_root"`
	Log      string `json:"log"`
	Stopped  bool   `json:"stopped,omitempty"` // otb swarm stop
}

// Host is the engine's address for a Docker client.
func (e *Engine) Host() string { return "unix://" + e.Sock }

// Hostname is the host name the engine's dockerd runs with.
func (s *Swarm) Hostname(e *Engine) string { return s.Name + "-" + e.Name }

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9]{0,7}$`)

// CheckName says what is wrong with a swarm name, if anything.
func CheckName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("swarm name %q: write lower-case letters and digits, starting with a letter, at most 8 (e.g. o7s)", name)
	}
	return nil
}

func dir(name string) string { return filepath.Join(StateRoot, name) }

// Load reads the record of a swarm made by Up.
func Load(name string) (*Swarm, error) {
	b, err := os.ReadFile(filepath.Join(dir(name), "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		have := List()
		known := "none"
		if len(have) > 0 {
			known = fmt.Sprint(have)
		}
		return nil, fmt.Errorf("%w: no swarm %s on this machine (swarms: %s); make one with otb swarm up 3 --name %s", ErrNoSwarm, name, known, name)
	}
	if err != nil {
		return nil, err
	}
	var s Swarm
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("swarm %s: %s: %w", name, filepath.Join(dir(name), "state.json"), err)
	}
	return &s, nil
}

// ErrNoSwarm is returned for a swarm that was not made (or is gone).
var ErrNoSwarm = errors.New("no such swarm")

func (s *Swarm) save() error {
	if err := os.MkdirAll(dir(s.Name), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir(s.Name), "state.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir(s.Name), "state.json"))
}

// List names the swarms made on this machine.
func List() []string {
	ents, _ := os.ReadDir(StateRoot)
	var names []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(StateRoot, e.Name(), "state.json")); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Engine finds an engine of the swarm by name (e2) or number (2).
func (s *Swarm) Engine(name string) (*Engine, error) {
	for _, e := range s.Engines {
		if e.Name == name || "e"+name == e.Name {
			return e, nil
		}
	}
	var names []string
	for _, e := range s.Engines {
		names = append(names, e.Name)
	}
	return nil, fmt.Errorf("swarm %s has no engine %q (it has %v)", s.Name, name, names)
}

// Hosts are the swarm's engines as a topology's hosts: name -> address.
func (s *Swarm) Hosts() []HostAddr {
	var hs []HostAddr
	for _, e := range s.Engines {
		hs = append(hs, HostAddr{Name: e.Name, Engine: e.Host()})
	}
	return hs
}

// HostAddr is an engine by name and address.
type HostAddr struct{ Name, Engine string }
