package irmcli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/ipcp"
	"google.golang.org/protobuf/proto"
)

// fakeNode answers control requests from canned lists and records them, so
// tests can check exactly what irm sends.
type fakeNode struct {
	sock  string
	ipcps []*ctl.IPCPInfo
	names []*ctl.NameInfo

	mu   sync.Mutex // guards reqs
	reqs []*ctl.Msg
}

func startFake(t *testing.T, ipcps []*ctl.IPCPInfo, names []*ctl.NameInfo) *fakeNode {
	t.Helper()
	f := &fakeNode{sock: filepath.Join(t.TempDir(), "fake.sock"), ipcps: ipcps, names: names}
	ln, err := ctl.Listen(f.sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.serve(c)
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return f
}

func (f *fakeNode) serve(c *ctl.Conn) {
	defer c.Close()
	m, _, err := c.Recv()
	if err != nil {
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, m)
	f.mu.Unlock()
	r := &ctl.Msg{Code: ctl.Code_REPLY}
	switch m.GetCode() {
	case ctl.Code_LIST_IPCPS:
		r.Ipcps = f.ipcps
	case ctl.Code_LIST_NAMES:
		r.Names = f.names
	}
	c.Send(r, nil)
}

// sent returns the requests other than the lists.
func (f *fakeNode) sent() []*ctl.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	var l []*ctl.Msg
	for _, m := range f.reqs {
		if m.GetCode() != ctl.Code_LIST_IPCPS && m.GetCode() != ctl.Code_LIST_NAMES {
			l = append(l, m)
		}
	}
	return l
}

func TestWire(t *testing.T) {
	exe, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	pid := os.Getpid()
	ipcps := []*ctl.IPCPInfo{
		{Id: 1, Name: "lo", Type: uint32(ipcp.Local), Layer: "local"},
		{Id: 2, Name: "lo*", Type: uint32(ipcp.Local), Layer: "lay*"},
		{Id: 3, Name: "other", Type: uint32(ipcp.Local), Layer: "layer1"},
	}
	names := []*ctl.NameInfo{{Name: "known"}}
	reg := func(code ctl.Code, name string, id uint32) *ctl.Msg {
		return &ctl.Msg{Code: code, Name: name, Ipcp: &ctl.IPCPInfo{Id: id}}
	}
	boot := func(id uint32, layer string, h ipcp.HashAlgo) *ctl.Msg {
		return &ctl.Msg{Code: ctl.Code_BOOTSTRAP_IPCP, Ipcp: &ctl.IPCPInfo{Id: id},
			Conf: &ctl.IPCPConfig{Layer: layer, Type: uint32(ipcp.Local), HashAlgo: uint32(h), Local: &ctl.LocalConfig{}}}
	}
	tests := []struct {
		args []string
		want []*ctl.Msg
	}{
		{[]string{"ipcp", "create", "name", "a", "type", "local"},
			[]*ctl.Msg{{Code: ctl.Code_CREATE_IPCP, Ipcp: &ctl.IPCPInfo{Type: uint32(ipcp.Local), Name: "a"}}}},
		{[]string{"ipcp", "destroy", "name", "other"},
			[]*ctl.Msg{{Code: ctl.Code_DESTROY_IPCP, Ipcp: &ctl.IPCPInfo{Id: 3}}}},
		{[]string{"ipcp", "destroy", "name", "nobody"}, nil},
		// The existing IPCP's name is the pattern: "lo*" matches "lo" too.
		{[]string{"ipcp", "bootstrap", "name", "lo", "layer", "L", "hash", "SHA3_512"},
			[]*ctl.Msg{boot(1, "L", ipcp.SHA3_512), boot(2, "L", ipcp.SHA3_512)}},
		{[]string{"i", "b", "n", "other", "l", "L", "t", "lo"}, []*ctl.Msg{boot(3, "L", ipcp.SHA3_256)}},
		{[]string{"bind", "program", "/bin/sh", "name", "x", "auto", "--", "-c", "true"},
			[]*ctl.Msg{{Code: ctl.Code_BIND_PROGRAM, Name: "x", Exec: []string{exe, "-c", "true"}, Opts: ctl.BindAuto}}},
		{[]string{"b", "p", "sh", "n", "x", "--"}, // looked up in $PATH
			[]*ctl.Msg{{Code: ctl.Code_BIND_PROGRAM, Name: "x", Exec: []string{lookPath(t, "sh")}}}},
		{[]string{"b", "p", "/bin/sh", "n", "x", "--", "auto"},
			[]*ctl.Msg{{Code: ctl.Code_BIND_PROGRAM, Name: "x", Exec: []string{exe, "auto"}}}},
		{[]string{"bind", "process", strconv.Itoa(pid), "name", "x"},
			[]*ctl.Msg{{Code: ctl.Code_BIND_PROCESS, Pid: int32(pid), Name: "x"}}},
		{[]string{"unbind", "program", "/usr/local/bin/oping", "name", "x"},
			[]*ctl.Msg{{Code: ctl.Code_UNBIND_PROGRAM, Prog: "oping", Name: "x"}}},
		{[]string{"unbind", "program", "oping"}, []*ctl.Msg{{Code: ctl.Code_UNBIND_PROGRAM, Prog: "oping"}}},
		{[]string{"unbind", "process", "123"}, []*ctl.Msg{{Code: ctl.Code_UNBIND_PROCESS, Pid: 123}}},
		{[]string{"unbind", "process", "123", "name", "x"}, []*ctl.Msg{{Code: ctl.Code_UNBIND_PROCESS, Pid: 123, Name: "x"}}},
		{[]string{"name", "create", "x"},
			[]*ctl.Msg{{Code: ctl.Code_CREATE_NAME, NameInfo: &ctl.NameInfo{Name: "x", PolLb: uint32(ctl.RoundRobin)}}}},
		{[]string{"name", "create", "x", "lb", "spillover"},
			[]*ctl.Msg{{Code: ctl.Code_CREATE_NAME, NameInfo: &ctl.NameInfo{Name: "x", PolLb: uint32(ctl.Spillover)}}}},
		{[]string{"name", "destroy", "x"}, []*ctl.Msg{{Code: ctl.Code_DESTROY_NAME, Name: "x"}}},
		// register: the argument is the pattern; a new name is created with
		// spillover; an IPCP matched twice is asked twice.
		{[]string{"name", "register", "new", "layer", "lay*", "ipcp", "lo*"}, []*ctl.Msg{
			{Code: ctl.Code_CREATE_NAME, NameInfo: &ctl.NameInfo{Name: "new", PolLb: uint32(ctl.Spillover)}},
			reg(ctl.Code_REG_NAME, "new", 1), reg(ctl.Code_REG_NAME, "new", 2), reg(ctl.Code_REG_NAME, "new", 2),
			reg(ctl.Code_REG_NAME, "new", 3)}},
		{[]string{"n", "r", "known", "l", "local", "l", "*"},
			[]*ctl.Msg{reg(ctl.Code_REG_NAME, "known", 1), reg(ctl.Code_REG_NAME, "known", 1),
				reg(ctl.Code_REG_NAME, "known", 2), reg(ctl.Code_REG_NAME, "known", 3)}},
		// unregister: the IPCP's layer or name is the pattern, once per kind.
		{[]string{"name", "unregister", "known", "layer", "layer1", "layer", "layer2", "ipcp", "lo"},
			[]*ctl.Msg{reg(ctl.Code_UNREG_NAME, "known", 1), reg(ctl.Code_UNREG_NAME, "known", 2),
				reg(ctl.Code_UNREG_NAME, "known", 2), reg(ctl.Code_UNREG_NAME, "known", 3)}},
	}
	for _, tt := range tests {
		f := startFake(t, ipcps, names)
		code, out, errw := run(t, f.sock, tt.args...)
		if code != 0 || out != "" || errw != "" {
			t.Errorf("irm %q = %d, stdout %q, stderr %q; want 0 and no output", tt.args, code, out, errw)
		}
		got := f.sent()
		if len(got) != len(tt.want) {
			t.Errorf("irm %q sent %v, want %v", tt.args, got, tt.want)
			continue
		}
		for i := range got {
			if !proto.Equal(got[i], tt.want[i]) {
				t.Errorf("irm %q request %d = %v, want %v", tt.args, i, got[i], tt.want[i])
			}
		}
	}
}

func lookPath(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
