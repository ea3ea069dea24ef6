package irmcli

import (
	"io"

	"github.com/o7s/ouroboros/stack/ctl"
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
	r, err := c.call(&ctl.Msg{Code: ctl.Code_LIST_FLOWS})
	if err != nil {
		return err
	}
	_, err = io.WriteString(c.out, flowTable(r.GetFlows()))
	return err
}
