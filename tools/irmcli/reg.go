package irmcli

import (
	"fmt"
	"slices"

	"github.com/o7s/ouroboros/stack/ctl"
)

// regArgs is a parsed irm name register or unregister.
type regArgs struct {
	name   string
	layers []string
	ipcps  []string
}

func parseReg(args []string, usage, try string) (*regArgs, error) {
	if len(args) == 0 {
		return nil, &usageError{usage: usage}
	}
	r := &regArgs{name: args[0]}
	s := optSet{
		opts: []opt{
			{keyword: "layer", set: func(v string) error { return add(&r.layers, v, "Too many layers specified.") }},
			{keyword: "ipcp", set: func(v string) error { return add(&r.ipcps, v, "Too many IPCPs specified.") }},
		},
		usage:   usage,
		unknown: "%q is unknown, try \"" + try + "\".",
	}
	if _, err := s.parse(args[1:]); err != nil {
		return nil, err
	}
	if len(r.layers) == 0 && len(r.ipcps) == 0 {
		return nil, &usageError{usage: usage}
	}
	if len(r.name) > maxName {
		return nil, &usageError{note: "Name too long.", usage: usage}
	}
	return r, nil
}

func add(l *[]string, v, tooMany string) error {
	if len(*l) == maxRegArgs {
		return textError(tooMany)
	}
	*l = append(*l, v)
	return nil
}

// nameReg registers a name with every IPCP whose layer matches a layer
// pattern, and again with every IPCP whose name matches an ipcp pattern.
// A name that does not exist yet is created with spillover.
func (c *cli) nameReg(args []string) error {
	r, err := parseReg(args, nameRegUsage, "irm name register")
	if err != nil {
		return err
	}
	ipcps, err := c.listIPCPs()
	if err != nil {
		return err
	}
	if len(ipcps) == 0 {
		return textError("Failed to list IPCPs: there are no IPCPs in the system.")
	}
	if err := c.ensureName(r.name); err != nil {
		return err
	}
	for _, p := range ipcps {
		for _, l := range r.layers {
			if wildcard(l, p.GetLayer()) {
				if err := c.node.Register(c.ctx, r.name, p.GetId()); err != nil {
					return fmt.Errorf("register %s in layer %s: %w", r.name, p.GetLayer(), err)
				}
			}
		}
		for _, i := range r.ipcps {
			if wildcard(i, p.GetName()) {
				if err := c.node.Register(c.ctx, r.name, p.GetId()); err != nil {
					return fmt.Errorf("register %s with IPCP %s: %w", r.name, p.GetName(), err)
				}
			}
		}
	}
	return nil
}

func (c *cli) ensureName(name string) error {
	names, err := c.listNames()
	if err != nil {
		return err
	}
	if slices.ContainsFunc(names, func(n *ctl.NameInfo) bool { return n.GetName() == name }) {
		return nil
	}
	if err := c.createName(name, ctl.Spillover); err != nil {
		return fmt.Errorf("create name %s: %w", name, err)
	}
	return nil
}

// nameUnreg is nameReg with the wildcard roles reversed, as in the
// reference: the IPCP's layer or name is the pattern. It unregisters at
// most once per IPCP and kind of argument.
func (c *cli) nameUnreg(args []string) error {
	r, err := parseReg(args, nameUnregUsage, "irm name unregister")
	if err != nil {
		return err
	}
	ipcps, err := c.listIPCPs()
	if err != nil {
		return err
	}
	for _, p := range ipcps {
		if slices.ContainsFunc(r.layers, func(l string) bool { return wildcard(p.GetLayer(), l) }) {
			if err := c.node.Unregister(c.ctx, r.name, p.GetId()); err != nil {
				return fmt.Errorf("unregister %s from layer %s: %w", r.name, p.GetLayer(), err)
			}
		}
		if slices.ContainsFunc(r.ipcps, func(i string) bool { return wildcard(p.GetName(), i) }) {
			if err := c.node.Unregister(c.ctx, r.name, p.GetId()); err != nil {
				return fmt.Errorf("unregister %s from IPCP %s: %w", r.name, p.GetName(), err)
			}
		}
	}
	return nil
}
