package irmcli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/o7s/ouroboros/stack/crypt"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/ipcp"
)

// The tables are the reference's, byte for byte (spec SYSTEM §3.3): right
// aligned, never truncated.

const ipcpBorder = "+---------+----------------------+------------+----------------------+\n"

// ipcpTable formats irm ipcp list. The pid column holds the IPCP's id: IPCPs
// run inside onode here, not as processes.
func ipcpTable(ipcps []*ctl.IPCPInfo) string {
	if len(ipcps) == 0 {
		return "No IPCPs in system.\n\n"
	}
	var b strings.Builder
	b.WriteString(ipcpBorder)
	fmt.Fprintf(&b, "| %7s | %20s | %10s | %20s |\n", "pid", "name", "type", "layer")
	b.WriteString(ipcpBorder)
	for _, p := range ipcps {
		fmt.Fprintf(&b, "| %7d | %20s | %10s | %20s |\n", p.GetId(), p.GetName(), typeName(p.GetType()), p.GetLayer())
	}
	b.WriteString(ipcpBorder)
	b.WriteString("\n")
	return b.String()
}

func typeName(t uint32) string {
	if t > 255 {
		return "UNKNOWN"
	}
	return ipcp.Type(t).String()
}

const nameBorder = "+----------------------------------------------------+----------------------+\n"

// nameTable formats irm name list, keeping the names keep accepts (all when
// keep is nil).
func nameTable(names []*ctl.NameInfo, keep func(string) bool) string {
	if len(names) == 0 {
		return "No names in system.\n\n"
	}
	var b strings.Builder
	b.WriteString(nameBorder)
	fmt.Fprintf(&b, "| %50s | %20s |\n", "name", "load-balance policy")
	b.WriteString(nameBorder)
	for _, n := range names {
		if keep == nil || keep(n.GetName()) {
			fmt.Fprintf(&b, "| %50s | %20s |\n", n.GetName(), lbName(n.GetPolLb()))
		}
	}
	b.WriteString(nameBorder)
	// Ours: the names whose flows are encrypted (or whose configuration
	// does not load), each side with its file.
	head := false
	for _, n := range names {
		if keep != nil && !keep(n.GetName()) {
			continue
		}
		srv, cli := n.GetServerEnc(), n.GetClientEnc()
		sa, ca := n.GetServerAuth(), n.GetClientAuth()
		if none(srv) && none(cli) && none(sa) && none(ca) {
			continue
		}
		if !head {
			b.WriteString("\nSecurity (enc.conf, certificates):\n")
			head = true
		}
		fmt.Fprintf(&b, "  %s\n    server: %s\n            %s\n            auth: %s\n    client: %s\n            %s\n            auth: %s\n",
			n.GetName(), orNone(srv), n.GetSencPath(), orNone(sa), orNone(cli), n.GetCencPath(), orNone(ca))
	}
	return b.String()
}

func none(s string) bool { return s == "" || s == "none" }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func lbName(lb uint32) string {
	if lb > 255 {
		return "UNKNOWN"
	}
	return ctl.LB(lb).String()
}

const flowBorder = "+-------+---------+---------+-----------------+" +
	"----------------------+----------------------+----------+-------------------+\n"

// flowTable formats irm flow list (ours). A flow between two applications
// of the node has no layer; its n_1_pid is the other application.
func flowTable(flows []*ctl.FlowInfo) string {
	if len(flows) == 0 {
		return "No flows in system.\n\n"
	}
	var b strings.Builder
	b.WriteString(flowBorder)
	fmt.Fprintf(&b, "| %5s | %7s | %7s | %15s | %20s | %20s | %8s | %17s |\n",
		"id", "n_pid", "n_1_pid", "state", "name", "layer", "mpl (ms)", "cipher")
	b.WriteString(flowBorder)
	for _, f := range flows {
		layer := f.GetLayer()
		if f.GetDirect() {
			layer = "(direct)"
		}
		// IPCPs run inside onode: a flow one holds in a lower layer shows
		// its owner as ipcp:<id>.
		npid := strconv.FormatUint(uint64(f.GetNPid()), 10)
		if id := int32(f.GetNPid()); id < 0 {
			npid = "ipcp:" + strconv.Itoa(int(-id))
		}
		cipher := "-"
		if c := f.GetCipher(); c != 0 {
			cipher = crypt.CipherName(uint16(c))
		}
		fmt.Fprintf(&b, "| %5d | %7s | %7d | %15s | %20s | %20s | %8d | %17s |\n",
			f.GetId(), npid, f.GetN_1Pid(), flowState(f.GetState()), f.GetName(), layer, f.GetMpl(), cipher)
	}
	b.WriteString(flowBorder)
	b.WriteString("\n")
	return b.String()
}

func flowState(s uint32) string {
	if s > 255 {
		return fmt.Sprintf("flow-state(%d)", s)
	}
	return ctl.FlowState(s).String()
}
