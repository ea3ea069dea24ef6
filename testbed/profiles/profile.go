// Package profiles describes nodes that run another Ouroboros
// implementation than ours: a profile says how to start that
// implementation's daemon in a container, how to tell it answers, and
// which command does each deploy step (create, bootstrap, name, bind,
// register, enroll, connect). A topology names a profile on a node with
// impl: NAME (a profile shipped here: reference) or impl: FILE (a profile
// of the user's, relative to the topology file).
//
// A profile is a small YAML file:
//
//	name: reference                 # for messages and otb inspect
//	image: my/irmd:1                # optional: the node's image unless it names one
//	daemon: irmd --stdout           # the container's process, in the foreground
//	ready: irm ipcp list            # exits 0 once the daemon answers
//	status: irm ipcp list           # optional: otb inspect shows its output
//	shm: 256m                       # optional: the size of /dev/shm (Docker's default: 64m)
//	udp_hosts: "{md5}"              # optional: see below
//	tools: {oping: /usr/bin/oping}  # otb exec NODE -- oping ... runs that path
//	steps:
//	  create: irm ipcp create name {ipcp} type {type}
//	  bootstrap:                    # one per layer type the implementation can join
//	    eth-dix: irm ipcp bootstrap name {ipcp} layer {layer} dev {dev}
//	  connect:                      # a command, or a list of commands run in order
//	    - irm name create {dst}
//	    - irm ipcp connect name {ipcp} dst {dst} component {comp} [qos {qos}]
//
// A command is words separated by blanks, run as they are (no shell), each
// word with its {placeholders} filled in (Placeholders lists them). Words
// in [brackets] are left out together when a placeholder among them has
// no value for the step.
//
// udp_hosts: a UDP IPCP of the implementation resolves names through
// /etc/hosts (getaddrinfo, as the reference's does without a DNS server):
// the testbed writes, for every name the node's UDP peers register, a line
// with the peer's address and the name as this template makes it ({name},
// or {md5}: the hex of the name's MD5 hash, the reference's UDP directory
// hash), and mounts that file at /etc/hosts.
package profiles

import (
	"crypto/md5"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/o7s/ouroboros/internal/units"
)

//go:embed *.yaml
var shipped embed.FS

// Profile is a decoded, checked profile.
type Profile struct {
	Name string `json:"name"`
	// File is where it was read from: "" for a shipped profile.
	File     string            `json:"file,omitempty"`
	Image    string            `json:"image,omitempty"`
	Daemon   Command           `json:"daemon"`
	Ready    Command           `json:"ready"`
	Status   Command           `json:"status,omitempty"`
	Shm      int64             `json:"shm,omitempty"` // bytes; 0: Docker's default
	UDPHosts string            `json:"udp_hosts,omitempty"`
	Tools    map[string]string `json:"tools,omitempty"`
	Steps    Steps             `json:"steps"`
}

// Steps are the commands of the deploy steps, each one command or a
// list of commands run in order (the reference's enroll and connect first
// create the peer's name: its IRMd allocates flows only to names it
// knows). Bootstrap has them per layer type.
type Steps struct {
	Create    Script            `json:"create"`
	Bootstrap map[string]Script `json:"bootstrap"`
	Name      Script            `json:"name"`
	Bind      Script            `json:"bind"`
	Register  Script            `json:"register"`
	Enroll    Script            `json:"enroll"`
	Connect   Script            `json:"connect"`
}

// Script is the commands of one step, run in order.
type Script []Command

// Expand fills in every command's placeholders (Command.Expand).
func (sc Script) Expand(vars map[string]string) ([][]string, error) {
	var out [][]string
	for _, c := range sc {
		argv, err := c.Expand(vars)
		if err != nil {
			return nil, err
		}
		out = append(out, argv)
	}
	return out, nil
}

// Command is a command as the profile writes it.
type Command string

// Placeholders are the values a step's command can use. Policy values are
// spelled as the reference's irm writes them (link_state, DHT, SHA3_256).
var Placeholders = []string{
	"node",      // the node's name
	"ipcp",      // the IPCP the step acts on; register: the lower IPCP the name goes into
	"type",      // the IPCP's type: eth-dix, eth-llc, udp4, udp6, unicast, broadcast
	"layer",     // the layer being brought up; register: the layer the name goes into
	"name",      // name, bind, register: the name
	"dst",       // enroll, connect: the peer IPCP's name
	"comp",      // connect: mgmt or dt
	"qos",       // connect: the QoS cube by name (raw unless the layer says otherwise)
	"dev",       // eth-dix, eth-llc: the interface
	"ethertype", // eth-dix: as 0xa000
	"ip",        // udp4, udp6: the IPCP's address
	"port",      // udp4, udp6
	"hash",      // bootstrap: the directory hash, SHA3_256 and the like
	"addr_size", "eid_size", "ttl", "addr_auth", "directory", "routing",
	"ls_t_recalc", "ls_t_update", "ls_t_timeo",
	"dht_alpha", "dht_k", "dht_t_expire", "dht_t_refresh", "dht_t_replicate",
	"congestion", // unicast bootstrap: none or mb-ecn
}

// LayerTypes are the layer types a bootstrap command can be given for.
var LayerTypes = []string{"eth-dix", "eth-llc", "udp4", "udp6", "unicast", "broadcast"}

// raw is the file as written.
type raw struct {
	Name     string            `yaml:"name"`
	Image    string            `yaml:"image"`
	Daemon   string            `yaml:"daemon"`
	Ready    string            `yaml:"ready"`
	Status   string            `yaml:"status"`
	Shm      string            `yaml:"shm"`
	UDPHosts string            `yaml:"udp_hosts"`
	Tools    map[string]string `yaml:"tools"`
	Steps    struct {
		Create    any            `yaml:"create"`
		Bootstrap map[string]any `yaml:"bootstrap"`
		Name      any            `yaml:"name"`
		Bind      any            `yaml:"bind"`
		Register  any            `yaml:"register"`
		Enroll    any            `yaml:"enroll"`
		Connect   any            `yaml:"connect"`
	} `yaml:"steps"`
}

// Shipped lists the profiles shipped with the testbed, by name.
func Shipped() []string {
	ents, _ := shipped.ReadDir(".")
	var ns []string
	for _, e := range ents {
		ns = append(ns, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return ns
}

// IsFile tells whether an impl: value names a file rather than a shipped
// profile: it has a slash or ends in .yaml or .yml.
func IsFile(ref string) bool {
	return strings.Contains(ref, "/") || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml")
}

// Load finds a profile by what impl: says: a shipped profile's name, or a
// file, relative to dir unless absolute.
func Load(ref, dir string) (*Profile, error) {
	if !IsFile(ref) {
		b, err := shipped.ReadFile(ref + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("no profile %q is shipped (shipped: %s); name one of those, or a profile file such as ./myimpl.yaml",
				ref, strings.Join(Shipped(), ", "))
		}
		return Parse(b, "")
	}
	path := ref
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return Parse(b, path)
}

// Parse decodes and checks a profile; file names it in messages. Unknown
// keys are errors, and so is every missing command, with what to write.
func Parse(data []byte, file string) (*Profile, error) {
	var r raw
	if err := yaml.UnmarshalWithOptions(data, &r, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("profile %s: %s", where(file), strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	p := &Profile{Name: r.Name, File: file, Image: r.Image, Daemon: Command(r.Daemon), Ready: Command(r.Ready),
		Status: Command(r.Status), UDPHosts: r.UDPHosts, Tools: r.Tools}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if p.Name == "" {
		bad("no name: write name: myimpl")
	}
	if strings.ContainsAny(p.Image, " \t\n") {
		bad("image %q is not an image reference; write image: repo/name:tag", p.Image)
	}
	if r.Shm != "" {
		n, err := units.ParseBytes(r.Shm)
		if err != nil {
			bad("shm %q: %v; write shm: 256m", r.Shm, err)
		}
		p.Shm = n
	}
	if p.UDPHosts != "" {
		if err := checkWords("udp_hosts", p.UDPHosts, []string{"name", "md5"}); err != nil {
			bad("%v", err)
		}
	}
	for tool, path := range p.Tools {
		if tool == "" || strings.ContainsAny(tool, " /") || path == "" || strings.ContainsAny(path, " \t") {
			bad("tools: %q: %q is not a tool and its path; write tools: {oping: /usr/bin/oping}", tool, path)
		}
	}
	for _, c := range []struct {
		key, example, val string
		dst               *Command
		required          bool
	}{
		{"daemon", "daemon: irmd --stdout", r.Daemon, &p.Daemon, true},
		{"ready", "ready: irm ipcp list", r.Ready, &p.Ready, true},
		{"status", "status: irm ipcp list", r.Status, &p.Status, false},
	} {
		*c.dst = Command(c.val)
		if strings.TrimSpace(c.val) == "" {
			if c.required {
				bad("no %s command; write %s", c.key, c.example)
			}
		} else if err := checkWords(c.key, c.val, nil); err != nil {
			bad("%v", err)
		}
	}
	s := &p.Steps
	for _, c := range []struct {
		key, example string
		val          any
		dst          *Script
	}{
		{"steps.create", "create: irm ipcp create name {ipcp} type {type}", r.Steps.Create, &s.Create},
		{"steps.name", "name: irm name create {name}", r.Steps.Name, &s.Name},
		{"steps.bind", "bind: irm bind ipcp {ipcp} name {name}", r.Steps.Bind, &s.Bind},
		{"steps.register", "register: irm name register {name} ipcp {ipcp}", r.Steps.Register, &s.Register},
		{"steps.enroll", "enroll: irm ipcp enroll name {ipcp} dst {dst}", r.Steps.Enroll, &s.Enroll},
		{"steps.connect", "connect: irm ipcp connect name {ipcp} dst {dst} component {comp}", r.Steps.Connect, &s.Connect},
	} {
		sc, err := script(c.key, c.val)
		switch {
		case err != nil:
			bad("%v", err)
		case len(sc) == 0:
			bad("no %s command; write %s", c.key, c.example)
		}
		*c.dst = sc
	}
	if len(r.Steps.Bootstrap) == 0 {
		bad("no steps.bootstrap commands; write bootstrap: {eth-dix: irm ipcp bootstrap name {ipcp} layer {layer} dev {dev}}, one per layer type")
	}
	s.Bootstrap = map[string]Script{}
	for _, typ := range sortedKeys(r.Steps.Bootstrap) {
		if !slices.Contains(LayerTypes, typ) {
			bad("steps.bootstrap: unknown layer type %q; write one of %s", typ, strings.Join(LayerTypes, ", "))
			continue
		}
		sc, err := script("steps.bootstrap."+typ, r.Steps.Bootstrap[typ])
		switch {
		case err != nil:
			bad("%v", err)
		case len(sc) == 0:
			bad("no steps.bootstrap.%s command; write %s: irm ipcp bootstrap name {ipcp} layer {layer}, or remove it", typ, typ)
		default:
			s.Bootstrap[typ] = sc
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("profile %s: %s", where(file), strings.Join(errs, "; "))
	}
	return p, nil
}

// script reads a step's commands: one command, or a list of them.
func script(key string, v any) (Script, error) {
	var cmds []string
	switch v := v.(type) {
	case nil:
	case string:
		if strings.TrimSpace(v) != "" {
			cmds = []string{v}
		}
	case []any:
		for _, e := range v {
			c, ok := e.(string)
			if !ok || strings.TrimSpace(c) == "" {
				return nil, fmt.Errorf("%s: %v is not a command; write a command, or a list of commands", key, e)
			}
			cmds = append(cmds, c)
		}
	default:
		return nil, fmt.Errorf("%s: %v is not a command; write a command, or a list of commands", key, v)
	}
	var sc Script
	for _, c := range cmds {
		if err := checkWords(key, c, Placeholders); err != nil {
			return nil, err
		}
		sc = append(sc, Command(c))
	}
	return sc, nil
}

func where(file string) string {
	if file == "" {
		return "(shipped)"
	}
	return file
}

// Supports tells whether the implementation can join a layer of a type:
// the profile has a bootstrap command for it.
func (p *Profile) Supports(layerType string) bool {
	_, ok := p.Steps.Bootstrap[layerType]
	return ok
}

// Types are the layer types the profile has bootstrap commands for.
func (p *Profile) Types() []string { return sortedKeys(p.Steps.Bootstrap) }

// Tool is the path of a tool in the implementation's container, or the
// name as given when the profile does not list it.
func (p *Profile) Tool(name string) string {
	if path, ok := p.Tools[name]; ok {
		return path
	}
	return name
}

// Describe names the profile for messages: its name, and its file.
func (p *Profile) Describe() string {
	if p.File == "" {
		return p.Name
	}
	return p.Name + " (" + p.File + ")"
}

// HostsLine is the /etc/hosts line that makes a UDP peer's name resolve to
// addr, as udp_hosts says; "" when the profile has no udp_hosts.
func (p *Profile) HostsLine(addr, name string) string {
	if p.UDPHosts == "" {
		return ""
	}
	sum := md5.Sum([]byte(name))
	h := strings.NewReplacer("{name}", name, "{md5}", hex.EncodeToString(sum[:])).Replace(p.UDPHosts)
	return addr + " " + h
}

var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// checkWords checks a command's placeholders and brackets.
func checkWords(key, cmd string, known []string) error {
	ws, err := words(cmd)
	if err != nil {
		return fmt.Errorf("%s: %v", key, err)
	}
	for _, w := range ws {
		for _, m := range placeholder.FindAllStringSubmatch(w.s, -1) {
			if !slices.Contains(known, m[1]) {
				return fmt.Errorf("%s: unknown placeholder {%s}; placeholders: {%s}", key, m[1], strings.Join(known, "}, {"))
			}
		}
		if strings.Count(w.s, "{") != strings.Count(w.s, "}") {
			return fmt.Errorf("%s: unbalanced braces in %q; write placeholders as {ipcp}", key, w.s)
		}
	}
	return nil
}

// word is one word of a command, and the optional group it is in (0:
// none).
type word struct {
	s     string
	group int
}

// words splits a command into its words, with the bracket groups they
// are in.
func words(cmd string) ([]word, error) {
	var ws []word
	group, open := 0, false
	for _, f := range strings.Fields(cmd) {
		if strings.HasPrefix(f, "[") {
			if open {
				return nil, errors.New("a [ inside brackets; optional groups do not nest")
			}
			group++
			open = true
			f = f[1:]
		}
		closes := strings.HasSuffix(f, "]")
		if closes {
			if !open {
				return nil, errors.New("a ] with no [ before it")
			}
			f = f[:len(f)-1]
		}
		if strings.ContainsAny(f, "[]") {
			return nil, fmt.Errorf("brackets inside a word (%q); put [ and ] at the start and end of words", f)
		}
		g := 0
		if open {
			g = group
		}
		if f != "" {
			ws = append(ws, word{f, g})
		}
		if closes {
			open = false
		}
	}
	if open {
		return nil, errors.New("a [ with no ] after it")
	}
	return ws, nil
}

// Expand makes the command's argument vector with vars filled in. A
// bracket group with a placeholder that has no value (absent or "") is
// left out; any other placeholder without a value is an error.
func (c Command) Expand(vars map[string]string) ([]string, error) {
	ws, err := words(string(c))
	if err != nil {
		return nil, err
	}
	drop := map[int]bool{}
	for _, w := range ws {
		for _, m := range placeholder.FindAllStringSubmatch(w.s, -1) {
			if vars[m[1]] != "" {
				continue
			}
			if w.group == 0 {
				return nil, fmt.Errorf("{%s} has no value for this step (in %q)", m[1], string(c))
			}
			drop[w.group] = true
		}
	}
	var argv []string
	for _, w := range ws {
		if w.group != 0 && drop[w.group] {
			continue
		}
		argv = append(argv, placeholder.ReplaceAllStringFunc(w.s, func(m string) string { return vars[m[1:len(m)-1]] }))
	}
	if len(argv) == 0 {
		return nil, errors.New("an empty command")
	}
	return argv, nil
}

// Words is the command's argument vector, for commands without
// placeholders (daemon, ready, status).
func (c Command) Words() []string {
	ws, _ := words(string(c))
	var argv []string
	for _, w := range ws {
		argv = append(argv, w.s)
	}
	return argv
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
