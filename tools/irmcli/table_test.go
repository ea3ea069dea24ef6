package irmcli

import (
	"testing"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/ipcp"
)

func TestIPCPTable(t *testing.T) {
	tests := []struct {
		name  string
		ipcps []*ctl.IPCPInfo
		want  string
	}{
		{"empty", nil, "No IPCPs in system.\n\n"},
		{"rows", []*ctl.IPCPInfo{
			{Id: 23932, Name: "llc", Type: uint32(ipcp.EthLLC), Layer: "llc"},
			{Id: 1, Name: "lo", Type: uint32(ipcp.Local), Layer: ipcp.NotEnrolled},
			{Id: 7, Name: "x", Type: 99, Layer: "a-layer-name-longer-than-twenty"},
		}, "" +
			"+---------+----------------------+------------+----------------------+\n" +
			"|     pid |                 name |       type |                layer |\n" +
			"+---------+----------------------+------------+----------------------+\n" +
			"|   23932 |                  llc |    eth-llc |                  llc |\n" +
			"|       1 |                   lo |      local |        Not enrolled. |\n" +
			"|       7 |                    x |    UNKNOWN | a-layer-name-longer-than-twenty |\n" +
			"+---------+----------------------+------------+----------------------+\n" +
			"\n"},
	}
	for _, tt := range tests {
		if got := ipcpTable(tt.ipcps); got != tt.want {
			t.Errorf("%s: ipcpTable =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

func TestNameTable(t *testing.T) {
	names := []*ctl.NameInfo{
		{Name: "my.oping.server", PolLb: uint32(ctl.RoundRobin)},
		{Name: "oping", PolLb: uint32(ctl.Spillover)},
		{Name: "odd", PolLb: 7},
	}
	want := "" +
		"+----------------------------------------------------+----------------------+\n" +
		"|                                               name |  load-balance policy |\n" +
		"+----------------------------------------------------+----------------------+\n" +
		"|                                    my.oping.server |          round-robin |\n" +
		"|                                              oping |            spillover |\n" +
		"|                                                odd |              UNKNOWN |\n" +
		"+----------------------------------------------------+----------------------+\n"
	if got := nameTable(names, nil); got != want {
		t.Errorf("nameTable =\n%s\nwant\n%s", got, want)
	}
	if got, want := nameTable(nil, nil), "No names in system.\n\n"; got != want {
		t.Errorf("nameTable(nil) = %q, want %q", got, want)
	}
	// A filter that keeps nothing still prints the frame, as the reference.
	empty := "" +
		"+----------------------------------------------------+----------------------+\n" +
		"|                                               name |  load-balance policy |\n" +
		"+----------------------------------------------------+----------------------+\n" +
		"+----------------------------------------------------+----------------------+\n"
	if got := nameTable(names, func(string) bool { return false }); got != empty {
		t.Errorf("nameTable(filtered) =\n%s\nwant\n%s", got, empty)
	}
}

func TestFlowTable(t *testing.T) {
	flows := []*ctl.FlowInfo{
		{Id: 1, NPid: 4242, N_1Pid: 1, State: uint32(ctl.FlowAllocated), Name: "oping", Layer: "local", Mpl: 100, Cipher: 901},
		{Id: 2, NPid: 4243, N_1Pid: 4242, State: uint32(ctl.FlowAcceptPending), Direct: true, Name: "echo", Mpl: 1},
	}
	want := "" +
		"+-------+---------+---------+-----------------+----------------------+----------------------+----------+-------------------+\n" +
		"|    id |   n_pid | n_1_pid |           state |                 name |                layer | mpl (ms) |            cipher |\n" +
		"+-------+---------+---------+-----------------+----------------------+----------------------+----------+-------------------+\n" +
		"|     1 |    4242 |       1 |       allocated |                oping |                local |      100 |       aes-256-gcm |\n" +
		"|     2 |    4243 |    4242 |  accept-pending |                 echo |             (direct) |        1 |                 - |\n" +
		"+-------+---------+---------+-----------------+----------------------+----------------------+----------+-------------------+\n" +
		"\n"
	if got := flowTable(flows); got != want {
		t.Errorf("flowTable =\n%s\nwant\n%s", got, want)
	}
	if got, want := flowTable(nil), "No flows in system.\n\n"; got != want {
		t.Errorf("flowTable(nil) = %q, want %q", got, want)
	}
}
