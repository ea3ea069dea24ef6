package irmcli

import (
	"io"

	"github.com/o7s/ouroboros/stack/ipcp"
)

const typeList = "{unicast broadcast local udp4 udp6 eth-llc eth-dix}"

const ipcpUsage = `Usage: irm ipcp [OPERATION]

where OPERATION in {create destroy
                    bootstrap enroll
                    connect disconnect
                    list
                    help}
`

const createUsage = `Usage: irm ipcp create
                name <ipcp name>
                type [TYPE]

where TYPE in ` + typeList + "\n"

const destroyUsage = `Usage: irm ipcp destroy
                name <ipcp name>
`

const listUsage = `Usage: irm ipcp list
                [name <ipcp name>]
                [type [TYPE]]

where TYPE in ` + typeList + `
The filters are checked but not applied (as in the reference irm): every
IPCP is listed.
`

func (c *cli) ipcp(args []string) error {
	return c.dispatch(args, group{
		usage: ipcpUsage,
		try:   "irm ipcp help",
		ops: []op{
			{"create", c.ipcpCreate},
			{"destroy", c.ipcpDestroy},
			{"bootstrap", c.ipcpBootstrap},
			{"enroll", c.ipcpEnroll},
			{"connect", c.ipcpConnect},
			{"disconnect", c.ipcpDisconnect},
			{"list", c.ipcpList},
			{"help", nil},
		},
	})
}

func (c *cli) ipcpCreate(args []string) error {
	var name, typ string
	s := optSet{
		opts:    []opt{str("type", &typ), str("name", &name)},
		usage:   createUsage,
		unknown: `%q is unknown, try "irm ipcp create".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || typ == "" {
		return &usageError{usage: createUsage}
	}
	t, err := ipcp.ParseType(typ)
	if err != nil {
		return &usageError{note: textf("IPCP type %q is unknown.", typ).Error(), usage: createUsage}
	}
	_, err = c.createIPCP(name, t)
	return err
}

func (c *cli) createIPCP(name string, t ipcp.Type) (uint32, error) {
	return c.node.CreateIPCP(c.ctx, name, t)
}

func (c *cli) ipcpDestroy(args []string) error {
	var name string
	s := optSet{
		opts:    []opt{str("name", &name)},
		usage:   destroyUsage,
		unknown: `%q is unknown, try "irm ipcp destroy".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" {
		return &usageError{usage: destroyUsage}
	}
	ipcps, err := c.listIPCPs()
	if err != nil {
		return err
	}
	if len(ipcps) == 0 {
		return textError("No IPCPs in system.")
	}
	for _, p := range ipcps {
		if p.GetName() == name {
			return c.node.DestroyIPCP(c.ctx, p.GetId())
		}
	}
	return nil // the reference: destroying an unknown IPCP is a no-op
}

func (c *cli) ipcpList(args []string) error {
	var name, typ string
	s := optSet{
		opts:    []opt{str("type", &typ), str("name", &name)},
		usage:   listUsage,
		unknown: `%q is unknown, try "irm ipcp list".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if _, err := ipcp.ParseType(typ); typ != "" && err != nil {
		return &usageError{usage: listUsage}
	}
	ipcps, err := c.listIPCPs()
	if err != nil {
		return err
	}
	_, err = io.WriteString(c.out, ipcpTable(ipcps))
	return err
}
