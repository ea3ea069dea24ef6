package irm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/qos"
)

// The configuration file (spec SYSTEM §2.14): the reference's TOML keys for
// what this node has. Unlike the reference, every table is checked before
// anything is created; the shim IPCP tables are processed first, in name
// order, then the unicast and broadcast ones in file order (a layer over
// another comes after it, as an operator writes them).
type fileConfig struct {
	Name      map[string]nameConf  `toml:"name"`
	Local     map[string]ipcpConf  `toml:"local"`
	EthLLC    map[string]ipcpConf  `toml:"eth-llc"`
	EthDIX    map[string]ipcpConf  `toml:"eth-dix"`
	UDP4      map[string]ipcpConf  `toml:"udp4"`
	UDP6      map[string]ipcpConf  `toml:"udp6"`
	Broadcast map[string]upperConf `toml:"broadcast"`
	Unicast   map[string]upperConf `toml:"unicast"`
	// upper is the order of the unicast and broadcast tables in the file.
	upper []upperRef
}

type upperRef struct {
	typ  ipcp.Type
	name string
}

type nameConf struct {
	LB   string   `toml:"lb"`
	Prog []string `toml:"prog"`
	Args []string `toml:"args"`
	// The security files: enc.conf (encryption), certificate and key
	// (authentication), server and client side.
	ServerEnc string `toml:"server_enc_file"`
	ServerCrt string `toml:"server_crt_file"`
	ServerKey string `toml:"server_key_file"`
	ClientEnc string `toml:"client_enc_file"`
	ClientCrt string `toml:"client_crt_file"`
	ClientKey string `toml:"client_key_file"`
}

// ipcpKeys are the keys of every IPCP table.
type ipcpKeys struct {
	Bootstrap string   `toml:"bootstrap"`
	Enrol     string   `toml:"enrol"`
	Autobind  *bool    `toml:"autobind"`
	Reg       []string `toml:"reg"`
	Conn      []string `toml:"conn"`
	Hash      string   `toml:"hash"`
}

type ipcpConf struct {
	ipcpKeys
	// Type-specific bootstrap keys (spec SYSTEM §2.14).
	Dev       string `toml:"dev"`
	Ethertype *int   `toml:"ethertype"`
	IP        string `toml:"ip"`
	Port      *int   `toml:"port"`
	DNS       string `toml:"dns"`
}

// upperConf is a unicast or broadcast IPCP's table: the keys of every IPCP
// and the unicast bootstrap keys (spec SYSTEM §2.14). Unlike the
// reference, hash is honoured for unicast, and congestion takes "mb-ecn"
// as well as the reference's "lfa".
type upperConf struct {
	ipcpKeys

	AddrSize      *int   `toml:"addr_size"`
	EIDSize       *int   `toml:"eid_size"`
	MaxTTL        *int   `toml:"max_ttl"`
	AddrAuth      string `toml:"addr-auth"`
	Routing       string `toml:"routing"`
	LSTRecalc     *int   `toml:"ls_t_recalc"`
	LSTUpdate     *int   `toml:"ls_t_update"`
	LSTTimeo      *int   `toml:"ls_t_timeo"`
	Congestion    string `toml:"congestion"`
	Directory     string `toml:"directory"`
	DHTAlpha      *int   `toml:"dht_alpha"`
	DHTK          *int   `toml:"dht_k"`
	DHTTExpire    *int   `toml:"dht_t_expire"`
	DHTTRefresh   *int   `toml:"dht_t_refresh"`
	DHTTReplicate *int   `toml:"dht_t_replicate"`
}

// unicastKeys tells whether any unicast bootstrap key is set.
func (c *upperConf) unicastKeys() bool {
	return c.AddrSize != nil || c.EIDSize != nil || c.MaxTTL != nil || c.AddrAuth != "" || c.Routing != "" ||
		c.LSTRecalc != nil || c.LSTUpdate != nil || c.LSTTimeo != nil || c.Congestion != "" || c.Directory != "" ||
		c.DHTAlpha != nil || c.DHTK != nil || c.DHTTExpire != nil || c.DHTTRefresh != nil || c.DHTTReplicate != nil
}

func (c *upperConf) check(typ ipcp.Type) error {
	if c.Bootstrap != "" && c.Enrol != "" {
		return errors.New("both bootstrap and enrol; write one (the reference ignores bootstrap)")
	}
	if len(c.Conn) > 0 && c.Enrol == "" {
		return errors.New("conn applies to an IPCP that enrols (enrol = \"<dst>\")")
	}
	if typ == ipcp.Broadcast {
		if c.unicastKeys() || c.Hash != "" {
			return errors.New("a broadcast IPCP takes no bootstrap options (its hash is SHA3_256)")
		}
	} else if c.unicastKeys() && c.Bootstrap == "" {
		return errors.New("bootstrap options apply to the IPCP that bootstraps; an enrolling IPCP gets the layer's from its enroller")
	}
	for _, nm := range append(append([]string{c.Bootstrap, c.Enrol}, c.Reg...), c.Conn...) {
		if nm == "" {
			continue
		}
		if err := checkName(nm); err != nil {
			return err
		}
	}
	return checkBootstrap(typ, c.Bootstrap, c.config)
}

// checkBootstrap checks the bootstrap configuration of a table that
// bootstraps its IPCP.
func checkBootstrap(typ ipcp.Type, bootstrap string, config func(ipcp.Type) (ipcp.Config, error)) error {
	if bootstrap == "" {
		return nil
	}
	conf, err := config(typ)
	if err != nil {
		return err
	}
	return checkConf(typ, &conf)
}

// config is the bootstrap configuration the table describes.
func (c *upperConf) config(typ ipcp.Type) (ipcp.Config, error) {
	conf := ipcp.Config{Layer: c.Bootstrap, Hash: ipcp.DefaultHash}
	if c.Hash != "" {
		var err error
		if conf.Hash, err = ipcp.ParseHashAlgo(c.Hash); err != nil {
			return conf, err
		}
	}
	if typ != ipcp.Unicast {
		conf.Hash = ipcp.SHA3_256
		return conf, nil
	}
	u := &ipcp.UnicastConfig{Cong: ipcp.CongMBECN}
	var err error
	num := func(key string, p *int, lo, hi int) int {
		if p == nil || err != nil {
			return 0
		}
		if *p < lo || *p > hi {
			err = fmt.Errorf("%s = %d is not in %d..%d", key, *p, lo, hi)
			return 0
		}
		return *p
	}
	secs := func(key string, p *int, lo, hi int) time.Duration {
		return time.Duration(num(key, p, lo, hi)) * time.Second
	}
	u.AddrSize = uint8(num("addr_size", c.AddrSize, 1, 8))
	u.EIDSize = uint8(num("eid_size", c.EIDSize, 1, 8))
	u.MaxTTL = uint8(num("max_ttl", c.MaxTTL, 1, 255))
	u.TRecalc = secs("ls_t_recalc", c.LSTRecalc, 1, 3600)
	u.TUpdate = secs("ls_t_update", c.LSTUpdate, 1, 3600)
	u.TTimeo = secs("ls_t_timeo", c.LSTTimeo, 1, 86400)
	u.DHTAlpha = uint32(num("dht_alpha", c.DHTAlpha, 1, 10))
	u.DHTK = uint32(num("dht_k", c.DHTK, 1, 20))
	u.TExpire = secs("dht_t_expire", c.DHTTExpire, 10, 86400)
	u.TRefresh = secs("dht_t_refresh", c.DHTTRefresh, 3, 3600)
	u.TReplicate = secs("dht_t_replicate", c.DHTTReplicate, 3, 3600)
	if err != nil {
		return conf, err
	}
	if c.AddrAuth != "" {
		if u.AddrAuth, err = ipcp.ParseAddrAuth(c.AddrAuth, ipcp.RefConfig); err != nil {
			return conf, fmt.Errorf("addr-auth = %q, want \"flat\"", c.AddrAuth)
		}
	}
	if c.Routing != "" {
		if u.Routing, err = ipcp.ParseRouting(c.Routing, ipcp.RefConfig); err != nil {
			return conf, fmt.Errorf("routing = %q, want \"link-state\", \"lfa\" or \"ecmp\"", c.Routing)
		}
	}
	if c.Congestion != "" {
		if u.Cong, err = ipcp.ParseCongestion(c.Congestion, ipcp.RefConfig); err != nil {
			return conf, fmt.Errorf("congestion = %q, want \"none\" or \"mb-ecn\" (the reference writes \"lfa\")", c.Congestion)
		}
	}
	if c.Directory != "" {
		if u.Dir, err = ipcp.ParseDirectory(c.Directory, ipcp.RefConfig); err != nil {
			return conf, fmt.Errorf("directory = %q, want \"DHT\"", c.Directory)
		}
	}
	conf.Unicast = u
	return conf, nil
}

// ipcpTables are the IPCP tables of the file by type, in the order they
// are applied.
func (fc *fileConfig) ipcpTables() []struct {
	typ ipcp.Type
	m   map[string]ipcpConf
} {
	return []struct {
		typ ipcp.Type
		m   map[string]ipcpConf
	}{{ipcp.Local, fc.Local}, {ipcp.EthLLC, fc.EthLLC}, {ipcp.EthDIX, fc.EthDIX}, {ipcp.UDP4, fc.UDP4}, {ipcp.UDP6, fc.UDP6}}
}

var topKeys = map[string]bool{"name": true, "local": true, "eth-llc": true, "eth-dix": true, "udp4": true, "udp6": true, "broadcast": true, "unicast": true}

// LoadConfig reads and checks a configuration file without applying it.
func LoadConfig(path string) (*fileConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var top map[string]any
	if err := toml.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	for k := range top {
		if !topKeys[k] {
			return nil, fmt.Errorf("config %s: unknown toplevel key %q (one of name, local, eth-llc, eth-dix, udp4, udp6, broadcast, unicast)", path, k)
		}
	}
	var fc fileConfig
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		var sme *toml.StrictMissingError
		if errors.As(err, &sme) {
			return nil, fmt.Errorf("config %s: unknown key:\n%s", path, sme.String())
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := fc.check(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	fc.upper = upperOrder(b, &fc)
	return &fc, nil
}

// upperHeader is a unicast or broadcast table's header: [unicast.x],
// [broadcast."x.y"].
var upperHeader = regexp.MustCompile(`(?m)^\s*\[\s*(unicast|broadcast)\s*\.\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*\]`)

// upperOrder lists the unicast and broadcast tables in the order of their
// headers in the file; tables written another way follow in name order.
func upperOrder(b []byte, fc *fileConfig) []upperRef {
	var refs []upperRef
	seen := map[upperRef]bool{}
	add := func(r upperRef) {
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	for _, m := range upperHeader.FindAllSubmatch(b, -1) {
		typ, name := ipcp.Unicast, string(m[2])+string(m[3])+string(m[4])
		tab := fc.Unicast
		if string(m[1]) == "broadcast" {
			typ, tab = ipcp.Broadcast, fc.Broadcast
		}
		if _, ok := tab[name]; ok {
			add(upperRef{typ, name})
		}
	}
	for _, nm := range sortedKeys(fc.Unicast) {
		add(upperRef{ipcp.Unicast, nm})
	}
	for _, nm := range sortedKeys(fc.Broadcast) {
		add(upperRef{ipcp.Broadcast, nm})
	}
	return refs
}

func (fc *fileConfig) check() error {
	for typ, m := range map[ipcp.Type]map[string]upperConf{ipcp.Broadcast: fc.Broadcast, ipcp.Unicast: fc.Unicast} {
		for nm, c := range m {
			if err := c.check(typ); err != nil {
				return fmt.Errorf("[%v.%q]: %w", typ, nm, err)
			}
		}
	}
	for nm, c := range fc.Name {
		if err := checkName(nm); err != nil {
			return fmt.Errorf("[name.%q]: %w", nm, err)
		}
		if _, err := ctl.ParseLB(c.LB); c.LB != "" && err != nil {
			return fmt.Errorf("[name.%q]: lb = %q, want \"spill\" or \"round-robin\"", nm, c.LB)
		}
		for _, f := range []string{c.ServerEnc, c.ServerCrt, c.ServerKey, c.ClientEnc, c.ClientCrt, c.ClientKey} {
			if _, err := os.Stat(f); f != "" && err != nil {
				return fmt.Errorf("[name.%q]: %w", nm, err)
			}
		}
		if len(c.Args) > len(c.Prog) {
			return fmt.Errorf("[name.%q]: %d args for %d progs", nm, len(c.Args), len(c.Prog))
		}
	}
	for _, tab := range fc.ipcpTables() {
		for nm, c := range tab.m {
			if err := c.check(tab.typ); err != nil {
				return fmt.Errorf("[%v.%q]: %w", tab.typ, nm, err)
			}
		}
	}
	return nil
}

func (c *ipcpConf) check(typ ipcp.Type) error {
	if c.Enrol != "" {
		return fmt.Errorf("a %v IPCP cannot enrol; use bootstrap", typ)
	}
	if len(c.Conn) > 0 {
		return errors.New("conn applies to enrolled unicast and broadcast IPCPs only")
	}
	if c.Hash != "" {
		if _, err := ipcp.ParseHashAlgo(c.Hash); err != nil {
			return err
		}
	}
	return checkBootstrap(typ, c.Bootstrap, c.config)
}

// config is the bootstrap configuration the table describes.
func (c *ipcpConf) config(typ ipcp.Type) (ipcp.Config, error) {
	conf := ipcp.Config{Layer: c.Bootstrap, Hash: ipcp.DefaultHash}
	if c.Hash != "" {
		conf.Hash, _ = ipcp.ParseHashAlgo(c.Hash)
	}
	switch typ {
	case ipcp.EthDIX, ipcp.EthLLC:
		conf.Eth = &ipcp.EthConfig{Dev: c.Dev}
		if c.Ethertype != nil {
			if *c.Ethertype < 0 || *c.Ethertype > 0xFFFF {
				return conf, fmt.Errorf("ethertype %d does not fit 16 bits", *c.Ethertype)
			}
			conf.Eth.Ethertype = uint16(*c.Ethertype)
		}
	case ipcp.UDP4, ipcp.UDP6:
		conf.UDP = &ipcp.UDPConfig{Port: ipcp.DefaultUDPPort}
		var err error
		if conf.UDP.Addr, err = netip.ParseAddr(c.IP); err != nil {
			return conf, fmt.Errorf("ip %q: %w", c.IP, err)
		}
		if c.Port != nil {
			if *c.Port <= 0 || *c.Port > 0xFFFF {
				return conf, fmt.Errorf("port %d is not in 1..65535", *c.Port)
			}
			conf.UDP.Port = uint16(*c.Port)
		}
		if c.DNS != "" {
			if conf.UDP.DNS, err = netip.ParseAddr(c.DNS); err != nil {
				return conf, fmt.Errorf("dns %q: %w", c.DNS, err)
			}
		}
	}
	return conf, nil
}

// ApplyConfig reads a configuration file and applies it to the node.
func (n *Node) ApplyConfig(ctx context.Context, path string) error {
	fc, err := LoadConfig(path)
	if err != nil {
		return err
	}
	for _, nm := range sortedKeys(fc.Name) {
		if err := n.applyName(nm, fc.Name[nm]); err != nil {
			return fmt.Errorf("config %s: [name.%q]: %w", path, nm, err)
		}
	}
	for _, tab := range fc.ipcpTables() {
		for _, nm := range sortedKeys(tab.m) {
			if err := n.applyIPCP(ctx, nm, tab.typ, tab.m[nm]); err != nil {
				return fmt.Errorf("config %s: [%v.%q]: %w", path, tab.typ, nm, err)
			}
		}
	}
	for _, r := range fc.upper {
		c := fc.Unicast[r.name]
		if r.typ == ipcp.Broadcast {
			c = fc.Broadcast[r.name]
		}
		if err := n.applyUpper(ctx, r.name, r.typ, c); err != nil {
			return fmt.Errorf("config %s: [%v.%q]: %w", path, r.typ, r.name, err)
		}
	}
	return nil
}

// applyUpper creates a unicast or broadcast IPCP, then bootstraps it
// (autobind, reg) or enrols it (autobind with the layer learnt, reg, conn:
// management then data transfer, raw QoS), as the reference does.
func (n *Node) applyUpper(ctx context.Context, nm string, typ ipcp.Type, c upperConf) error {
	id, err := n.CreateIPCP(nm, typ)
	if err != nil {
		return err
	}
	switch {
	case c.Enrol != "":
		if err := n.enrolRetrying(ctx, id, nm, c.Enrol); err != nil {
			return err
		}
	case c.Bootstrap != "":
		conf, err := c.config(typ)
		if err != nil {
			return err
		}
		if err := n.BootstrapIPCP(ctx, id, conf); err != nil {
			return err
		}
	default:
		return nil
	}
	if c.Autobind != nil { // the reference tests presence only
		n.mu.Lock()
		layer := n.ipcps[id].layer.Name
		n.mu.Unlock()
		for _, b := range []string{nm, layer} {
			if err := n.CreateName(b, ctl.Spillover); err != nil && !errors.Is(err, errs.ErrExist) {
				return err
			}
			if err := n.BindIPCP(id, b); err != nil && !errors.Is(err, errs.ErrExist) {
				return err
			}
		}
	}
	for _, r := range c.Reg {
		if err := n.CreateName(r, ctl.Spillover); err != nil && !errors.Is(err, errs.ErrExist) {
			return err
		}
		if err := n.RegName(r, id); err != nil {
			return err
		}
	}
	for _, dst := range c.Conn {
		if err := n.ConnectIPCP(ctx, id, dst, "", qos.Raw); err != nil {
			return err
		}
	}
	return nil
}

// Enrolment from the file is tried again while the enroller cannot be
// reached, for up to enrolRetryFor, with pauses from enrolRetryFirst
// doubling up to enrolRetryMax. The reference tries once; but nodes that
// start together (at boot, from a compose file) often start before their
// enroller is up, and the node that enrols should wait for it, not give
// up. Any other failure ends the attempt at once. Variables, for tests.
var (
	enrolRetryFor   = 60 * time.Second
	enrolRetryFirst = 250 * time.Millisecond
	enrolRetryMax   = 4 * time.Second
)

// enrolRetriable tells whether an enrolment failed for want of the
// enroller (nobody serves its name yet, the flow to it timed out or went
// down), which may come up later, rather than for an answer it gave.
func enrolRetriable(err error) bool {
	for _, e := range []error{errs.ErrIPCP, errs.ErrTimeout, errs.ErrFlowDown, errs.ErrFlowPeer} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// enrolRetrying enrols IPCP id (named nm) through dst, trying again while
// enrolRetriable says the enroller may yet come up.
func (n *Node) enrolRetrying(ctx context.Context, id uint32, nm, dst string) error {
	start := time.Now()
	pause := enrolRetryFirst
	for try := 1; ; try++ {
		err := n.EnrollIPCP(ctx, id, dst)
		if err == nil || ctx.Err() != nil || !enrolRetriable(err) {
			return err
		}
		if time.Since(start)+pause > enrolRetryFor {
			return fmt.Errorf("%w (%d tries in %v)", err, try, time.Since(start).Round(time.Millisecond))
		}
		n.log.Warn("config: enrolment failed, trying again", "ipcp", nm, "dst", dst, "try", try, "in", pause, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, enrolRetryMax)
	}
}

func (n *Node) applyName(nm string, c nameConf) error {
	lb := ctl.Spillover
	if c.LB != "" {
		lb, _ = ctl.ParseLB(c.LB) // checked when the file was loaded
	}
	if err := n.CreateName(nm, lb); err != nil {
		return err
	}
	if p := (NamePaths{c.ServerEnc, c.ServerCrt, c.ServerKey, c.ClientEnc, c.ClientCrt, c.ClientKey}); p != (NamePaths{}) {
		if err := n.SetNamePaths(nm, p); err != nil {
			return fmt.Errorf("[name.%q]: %w", nm, err)
		}
	}
	for i, p := range c.Prog {
		argv, auto := []string{p}, i < len(c.Args)
		if auto {
			argv = append(argv, strings.Fields(c.Args[i])...)
		}
		if err := n.BindProgram(argv, nm, auto); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) applyIPCP(ctx context.Context, nm string, typ ipcp.Type, c ipcpConf) error {
	id, err := n.CreateIPCP(nm, typ)
	if err != nil {
		return err
	}
	if c.Bootstrap == "" {
		return nil
	}
	if c.Autobind != nil {
		n.log.Warn("config: autobind applies to unicast and broadcast IPCPs; ignored", "ipcp", nm)
	}
	conf, err := c.config(typ)
	if err != nil {
		return err
	}
	if err := n.BootstrapIPCP(ctx, id, conf); err != nil {
		return err
	}
	for _, r := range c.Reg {
		if err := n.CreateName(r, ctl.Spillover); err != nil {
			return err
		}
		if err := n.RegName(r, id); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
