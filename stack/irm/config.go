package irm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/o7s/ouroboros/stack/ipcp"
)

// The configuration file (spec SYSTEM §2.14): the reference's TOML keys for
// what this node has. Unlike the reference, every table is checked before
// anything is created, and the IPCP tables are processed in name order.
type fileConfig struct {
	Name      map[string]nameConf `toml:"name"`
	Local     map[string]ipcpConf `toml:"local"`
	EthLLC    map[string]ipcpConf `toml:"eth-llc"`
	EthDIX    map[string]ipcpConf `toml:"eth-dix"`
	UDP4      map[string]ipcpConf `toml:"udp4"`
	UDP6      map[string]ipcpConf `toml:"udp6"`
	Broadcast map[string]any      `toml:"broadcast"`
	Unicast   map[string]any      `toml:"unicast"`
}

type nameConf struct {
	LB   string   `toml:"lb"`
	Prog []string `toml:"prog"`
	Args []string `toml:"args"`
	// Security is not implemented yet: these keys are refused.
	ServerEnc string `toml:"server_enc_file"`
	ServerCrt string `toml:"server_crt_file"`
	ServerKey string `toml:"server_key_file"`
	ClientEnc string `toml:"client_enc_file"`
	ClientCrt string `toml:"client_crt_file"`
	ClientKey string `toml:"client_key_file"`
}

type ipcpConf struct {
	Bootstrap string   `toml:"bootstrap"`
	Enrol     string   `toml:"enrol"`
	Autobind  *bool    `toml:"autobind"`
	Reg       []string `toml:"reg"`
	Conn      []string `toml:"conn"`
	Hash      string   `toml:"hash"`
	// Type-specific bootstrap keys (spec SYSTEM §2.14).
	Dev       string `toml:"dev"`
	Ethertype *int   `toml:"ethertype"`
	IP        string `toml:"ip"`
	Port      *int   `toml:"port"`
	DNS       string `toml:"dns"`
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
	return &fc, nil
}

func (fc *fileConfig) check() error {
	for typ, m := range map[string]map[string]any{"broadcast": fc.Broadcast, "unicast": fc.Unicast} {
		if len(m) > 0 {
			return fmt.Errorf("[%s.*]: %s IPCPs cannot be set up from the configuration file yet (they need enrollment and connections); use irm ipcp bootstrap/enroll/connect", typ, typ)
		}
	}
	for nm, c := range fc.Name {
		if err := checkName(nm); err != nil {
			return fmt.Errorf("[name.%q]: %w", nm, err)
		}
		if c.LB != "" && c.LB != "spill" && c.LB != "round-robin" {
			return fmt.Errorf("[name.%q]: lb = %q, want \"spill\" or \"round-robin\"", nm, c.LB)
		}
		if c.ServerEnc+c.ServerCrt+c.ServerKey+c.ClientEnc+c.ClientCrt+c.ClientKey != "" {
			return fmt.Errorf("[name.%q]: encryption and authentication files are not supported yet", nm)
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
	if c.Bootstrap == "" {
		return nil
	}
	conf, err := c.config(typ)
	if err != nil {
		return err
	}
	return checkConf(typ, &conf)
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
	return nil
}

func (n *Node) applyName(nm string, c nameConf) error {
	lb := Spillover
	if c.LB == "round-robin" {
		lb = RoundRobin
	}
	if err := n.CreateName(nm, lb); err != nil {
		return err
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
		if err := n.CreateName(r, Spillover); err != nil {
			return err
		}
		if err := n.RegName(r, id); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
