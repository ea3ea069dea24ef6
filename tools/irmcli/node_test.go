package irmcli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

func startNode(t *testing.T, cfg irm.Config) (*irm.Node, string) {
	t.Helper()
	cfg.Sock = filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, cfg.Sock
}

// ok runs irm and requires it to succeed with no messages on stderr.
func ok(t *testing.T, sock string, args ...string) string {
	t.Helper()
	code, out, errw := run(t, sock, args...)
	if code != 0 || errw != "" {
		t.Fatalf("irm %q = %d, stderr %q; want success", args, code, errw)
	}
	return out
}

// fails runs irm and requires it to fail with stderr containing want.
func fails(t *testing.T, sock, want string, args ...string) {
	t.Helper()
	code, out, errw := run(t, sock, args...)
	if code != 1 || out != "" || !strings.Contains(errw, want) {
		t.Errorf("irm %q = %d, stdout %q, stderr %q; want 1 and stderr containing %q", args, code, out, errw, want)
	}
}

func TestIPCPCommands(t *testing.T) {
	n, sock := startNode(t, irm.Config{})
	if out := ok(t, sock, "ipcp", "list"); out != "No IPCPs in system.\n\n" {
		t.Errorf("empty list = %q", out)
	}
	fails(t, sock, "No IPCPs in system.", "ipcp", "destroy", "name", "lo")
	fails(t, sock, "No IPCPs matching lo found.", "ipcp", "bootstrap", "name", "lo", "layer", "local")
	ok(t, sock, "ipcp", "bootstrap", "name", "lo", "type", "local", "layer", "local")
	ok(t, sock, "ipcp", "create", "name", "spare", "type", "local")
	want := "" +
		"+---------+----------------------+------------+----------------------+\n" +
		"|     pid |                 name |       type |                layer |\n" +
		"+---------+----------------------+------------+----------------------+\n" +
		"|       1 |                   lo |      local |                local |\n" +
		"|       2 |                spare |      local |        Not enrolled. |\n" +
		"+---------+----------------------+------------+----------------------+\n" +
		"\n"
	if out := ok(t, sock, "ipcp", "list", "type", "unicast", "name", "x"); out != want {
		t.Errorf("ipcp list =\n%s\nwant\n%s", out, want)
	}
	if l := n.ListIPCPs(); len(l) != 2 || l[0].Layer != "local" || l[0].State != ipcp.StateOperational || l[0].Hash != ipcp.SHA3_256 {
		t.Errorf("node IPCPs = %+v", l)
	}
	fails(t, sock, "Types do not match.", "ipcp", "bootstrap", "name", "spare", "type", "unicast", "layer", "l2")
	// Unicast IPCPs bootstrap with their options, and bind with autobind.
	ok(t, sock, "ipcp", "bootstrap", "name", "uni", "type", "unicast", "layer", "net", "routing", "lfa", "ls_t_update", "2", "autobind")
	fails(t, sock, "address size 3", "ipcp", "bootstrap", "name", "uni2", "type", "unicast", "layer", "net2", "addr", "3")
	fails(t, sock, "already bound", "bind", "ipcp", "uni", "name", "net")
	ok(t, sock, "unbind", "ipcp", "uni", "name", "net")
	ok(t, sock, "bind", "ipcp", "uni", "name", "net")
	fails(t, sock, "only unicast and broadcast", "bind", "ipcp", "lo", "name", "x")
	fails(t, sock, "No IPCP named nope.", "ipcp", "connect", "name", "nope", "dst", "x")
	fails(t, sock, "no process accepts", "ipcp", "connect", "name", "uni", "dst", "nobody", "component", "mgmt")
	fails(t, sock, "no mgmt connection to x", "ipcp", "disconnect", "name", "uni", "dst", "x", "component", "mgmt")
	fails(t, sock, "only unicast and broadcast IPCPs enroll", "ipcp", "connect", "name", "lo", "dst", "x")
	ok(t, sock, "ipcp", "destroy", "name", "uni")
	ok(t, sock, "ipcp", "destroy", "name", "uni2")
	// The shims exist; their bootstrap reaches the IPCP, which reports what
	// the system says (an address this host does not have, TEST-NET-1; an
	// interface that does not exist: no host interface is touched).
	fails(t, sock, "cannot assign requested address", "ipcp", "bootstrap", "name", "u", "type", "udp4", "layer", "l", "ip", "192.0.2.1")
	fails(t, sock, "no such network interface", "ipcp", "bootstrap", "name", "e", "type", "eth-llc", "layer", "l", "dev", "o7snodev0")
	ok(t, sock, "ipcp", "destroy", "name", "u")
	ok(t, sock, "ipcp", "destroy", "name", "e")

	code, _, errw := run(t, sock, "ipcp", "bootstrap", "name", "spare", "layer", "l2", "hash", "SHA3_224", "autobind")
	if code != 0 || errw != "Cannot bind this IPCP type, autobind disabled.\n" {
		t.Errorf("bootstrap local with autobind = %d, %q; want success with a warning", code, errw)
	}
	if l := n.ListIPCPs(); l[1].Layer != "l2" || l[1].Hash != ipcp.SHA3_224 {
		t.Errorf("spare after bootstrap = %+v", l[1])
	}
	fails(t, sock, "", "ipcp", "bootstrap", "name", "lo", "layer", "again") // the node refuses a second bootstrap

	ok(t, sock, "ipcp", "destroy", "name", "nobody")
	ok(t, sock, "ipcp", "destroy", "name", "spare")
	if l := n.ListIPCPs(); len(l) != 1 || l[0].Name != "lo" {
		t.Errorf("node IPCPs after destroy = %+v", l)
	}
}

func TestNameCommands(t *testing.T) {
	n, sock := startNode(t, irm.Config{})
	if out := ok(t, sock, "name", "list"); out != "No names in system.\n\n" {
		t.Errorf("empty list = %q", out)
	}
	fails(t, sock, "no IPCPs in the system", "name", "register", "oping", "layer", "local")
	ok(t, sock, "ipcp", "bootstrap", "name", "lo", "type", "local", "layer", "local")
	ok(t, sock, "ipcp", "create", "name", "idle", "type", "local")
	ok(t, sock, "name", "register", "oping", "layer", "local")
	ok(t, sock, "n", "c", "my.oping.server")
	ok(t, sock, "n", "c", "my.oping.server", "lb", "spillover") // exists: no change
	ok(t, sock, "n", "c", "spill", "lb", "spillover")
	ok(t, sock, "name", "register", "my.oping.server", "ipcp", "l*")
	fails(t, sock, "register x with IPCP idle: ", "name", "register", "x", "ipcp", "idle")
	want := "" +
		"+----------------------------------------------------+----------------------+\n" +
		"|                                               name |  load-balance policy |\n" +
		"+----------------------------------------------------+----------------------+\n" +
		"|                                    my.oping.server |          round-robin |\n" +
		"|                                              oping |            spillover |\n" +
		"|                                              spill |            spillover |\n" +
		"|                                                  x |            spillover |\n" +
		"+----------------------------------------------------+----------------------+\n"
	if out := ok(t, sock, "n", "l"); out != want {
		t.Errorf("name list =\n%s\nwant\n%s", out, want)
	}
	ok(t, sock, "name", "unregister", "oping", "layer", "loc*")
	ok(t, sock, "name", "unregister", "my.oping.server", "ipcp", "lo")
	ok(t, sock, "name", "destroy", "spill")
	fails(t, sock, `name "spill" does not exist`, "name", "destroy", "spill")
	names := n.ListNames()
	if len(names) != 3 || names[1].Name != "oping" || names[1].LB != ctl.Spillover {
		t.Errorf("node names = %+v", names)
	}
}

func TestNameListFilter(t *testing.T) {
	_, sock := startNode(t, irm.Config{})
	for _, nm := range []string{"o", "op", "oping", "opingserver.x"} {
		ok(t, sock, "name", "create", nm)
	}
	out := ok(t, sock, "name", "list", "list", "opingserver")
	var got []string
	for _, line := range strings.Split(out, "\n")[3:] {
		if f := strings.Fields(line); len(f) == 5 {
			got = append(got, f[1])
		}
	}
	if want := []string{"o", "op", "oping"}; !slices.Equal(got, want) {
		t.Errorf("name list list opingserver shows %q, want %q (names that are a prefix of the filter)", got, want)
	}
}

func TestBindCommands(t *testing.T) {
	n, sock := startNode(t, irm.Config{})
	ok(t, sock, "b", "p", "/bin/true", "n", "x")
	fails(t, sock, "already bound", "b", "p", "/bin/true", "n", "x")
	if names := n.ListNames(); len(names) != 1 || names[0].Name != "x" || names[0].LB != ctl.Spillover {
		t.Errorf("names after bind program = %+v, want x with spillover", names)
	}
	ok(t, sock, "bind", "program", "true", "name", "y", "auto", "--", "-v")
	ok(t, sock, "unbind", "program", "true", "name", "y")
	ok(t, sock, "unbind", "program", "/bin/true")
	fails(t, sock, "not bound", "unbind", "program", "true")

	noexec := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, sock, "Cannot execute "+noexec+", please check permissions.", "bind", "program", noexec, "name", "x")

	c, err := dev.DialAs(context.Background(), sock, "srv")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pid := strconv.Itoa(c.PID())
	ok(t, sock, "bind", "process", pid, "name", "srv")
	ok(t, sock, "unbind", "process", pid, "name", "srv")
	fails(t, sock, "not bound", "unbind", "process", pid, "name", "srv")
	fails(t, sock, `"2147483600" is not a valid process id.`, "bind", "process", "2147483600", "name", "srv")
	fails(t, sock, "not attached to this node", "unbind", "process", "2147483600")
	fails(t, sock, "No IPCP named nope.", "bind", "ipcp", "nope", "name", "x")
}

func TestFlowList(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			_, sock := startNode(t, irm.Config{NoDirect: !direct})
			if out := ok(t, sock, "flow", "list"); out != "No flows in system.\n\n" {
				t.Errorf("empty flow list = %q", out)
			}
			ok(t, sock, "ipcp", "bootstrap", "name", "lo", "type", "local", "layer", "local")
			ok(t, sock, "name", "register", "echo", "layer", "local")
			srv, cli := attach(t, sock, "srv"), attach(t, sock, "cli")
			ok(t, sock, "bind", "process", strconv.Itoa(srv.PID()), "name", "echo")
			accepted := make(chan *dev.Flow, 1)
			go func() {
				f, _ := srv.Accept(context.Background())
				accepted <- f
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			f, err := cli.Alloc(ctx, "echo", qos.Raw)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if sf := <-accepted; sf != nil {
				defer sf.Close()
			}
			checkFlowTable(t, ok(t, sock, "f", "l"), direct, os.Getpid())
		})
	}
}

func attach(t *testing.T, sock, prog string) *dev.Client {
	t.Helper()
	c, err := dev.DialAs(context.Background(), sock, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func checkFlowTable(t *testing.T, out string, direct bool, pid int) {
	t.Helper()
	// An IPCP flow has one entry per application end, a direct flow one.
	layer, mpl, want := "local", "100", 2
	if direct {
		layer, mpl, want = "(direct)", "1", 1
	}
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 10 || strings.TrimSpace(f[1]) == "id" {
			continue
		}
		rows++
		if strings.TrimSpace(f[2]) != strconv.Itoa(pid) || strings.TrimSpace(f[4]) != "allocated" ||
			strings.TrimSpace(f[5]) != "echo" || strings.TrimSpace(f[6]) != layer || strings.TrimSpace(f[7]) != mpl {
			t.Errorf("flow row %q, want pid %d, allocated, echo, %s, mpl %s", line, pid, layer, mpl)
		}
	}
	if rows != want {
		t.Errorf("flow list has %d rows, want %d:\n%s", rows, want, out)
	}
}
