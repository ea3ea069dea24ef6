package irmcli

import (
	"io"
)

const flowUsage = `Usage: irm flow [OPERATION]

where OPERATION in {list help}

"irm flow" is an addition of this implementation.
`

func (c *cli) flow(args []string) error {
	return c.dispatch(args, group{
		usage: flowUsage,
		try:   "irm flow help",
		ops:   []op{{"list", c.flowList}, {"help", nil}},
	})
}

// flowList prints the node's flow table: one row per application end.
func (c *cli) flowList(args []string) error {
	if len(args) > 0 {
		return unknown(args[0], "irm flow list")
	}
	flows, err := c.node.Flows(c.ctx)
	if err != nil {
		return err
	}
	_, err = io.WriteString(c.out, flowTable(flows))
	return err
}
