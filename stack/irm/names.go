package irm

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/o7s/ouroboros/stack/crypt"
	"github.com/o7s/ouroboros/stack/ctl"
	"github.com/o7s/ouroboros/stack/errs"
	"github.com/o7s/ouroboros/stack/oap"
)

// NameInfo describes a name to a client.
type NameInfo struct {
	Name string
	LB   ctl.LB
	// The enc.conf files in use, server and client side, and what each
	// configures ("none", the algorithms, or why it does not load).
	ServerEncPath, ClientEncPath string
	ServerEnc, ClientEnc         string
	// The certificate and key files in use, and whether each side
	// authenticates ("none", the certificate's subject, or why not).
	ServerCrtPath, ServerKeyPath, ClientCrtPath, ClientKeyPath string
	ServerAuth, ClientAuth                                     string
}

// NamePaths are the security files of a name; an empty path keeps the
// one set, or the default.
type NamePaths struct {
	ServerEnc, ServerCrt, ServerKey string
	ClientEnc, ClientCrt, ClientKey string
}

func checkName(nm string) error {
	if nm == "" || len(nm) > MaxName {
		return fmt.Errorf("%w: a name has 1 to %d bytes", errs.ErrName, MaxName)
	}
	return nil
}

// CreateName creates a name; creating an existing name succeeds.
func (n *Node) CreateName(nm string, lb ctl.LB) error {
	if err := checkName(nm); err != nil {
		return err
	}
	if lb != ctl.RoundRobin && lb != ctl.Spillover {
		return fmt.Errorf("%w: unknown load-balancing policy %d", errs.ErrInvalid, lb)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.names[nm] == nil {
		n.names[nm] = &name{name: nm, lb: lb}
		n.notify()
	}
	return nil
}

// ensureName returns a name, creating it with spillover; n.mu is held.
func (n *Node) ensureName(nm string) *name {
	e := n.names[nm]
	if e == nil {
		e = &name{name: nm, lb: ctl.Spillover}
		n.names[nm] = e
	}
	return e
}

// DestroyName removes a name and its bindings (not its registrations).
func (n *Node) DestroyName(nm string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.names[nm] == nil {
		return fmt.Errorf("%w: name %q does not exist", errs.ErrName, nm)
	}
	delete(n.names, nm)
	for _, p := range n.progs {
		p.names = remove(p.names, nm)
	}
	for _, p := range n.procs {
		p.names = remove(p.names, nm)
	}
	n.notify()
	return nil
}

// ListNames lists the names, sorted.
func (n *Node) ListNames() []NameInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := make([]NameInfo, 0, len(n.names))
	for _, e := range n.names {
		ni := NameInfo{Name: e.name, LB: e.lb, ServerEncPath: n.encPath(e, true), ClientEncPath: n.encPath(e, false)}
		ni.ServerEnc, ni.ClientEnc = describeEnc(ni.ServerEncPath), describeEnc(ni.ClientEncPath)
		ni.ServerCrtPath, ni.ServerKeyPath = n.credPaths(e, true)
		ni.ClientCrtPath, ni.ClientKeyPath = n.credPaths(e, false)
		ni.ServerAuth = describeCred(ni.ServerCrtPath, ni.ServerKeyPath)
		ni.ClientAuth = describeCred(ni.ClientCrtPath, ni.ClientKeyPath)
		l = append(l, ni)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	return l
}

// SetNamePaths sets the security files of a name: enc.conf, certificate
// and key, server and client side. The enc.conf files must load, and a
// certificate and key given together must too.
func (n *Node) SetNamePaths(nm string, p NamePaths) error {
	for _, f := range []string{p.ServerEnc, p.ServerCrt, p.ServerKey, p.ClientEnc, p.ClientCrt, p.ClientKey} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w: name %s: %w", errs.ErrInvalid, nm, err)
		}
	}
	for _, f := range []string{p.ServerEnc, p.ClientEnc} {
		if f == "" {
			continue
		}
		if _, err := crypt.LoadConf(f); err != nil {
			return err
		}
	}
	for _, c := range [][2]string{{p.ServerCrt, p.ServerKey}, {p.ClientCrt, p.ClientKey}} {
		if c[0] != "" && c[1] != "" {
			if _, err := oap.LoadCred(c[0], c[1]); err != nil {
				return err
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	e := n.names[nm]
	if e == nil {
		return fmt.Errorf("%w: name %q does not exist", errs.ErrName, nm)
	}
	for _, set := range []struct {
		to *string
		v  string
	}{
		{&e.sencPath, p.ServerEnc}, {&e.cencPath, p.ClientEnc},
		{&e.scrtPath, p.ServerCrt}, {&e.skeyPath, p.ServerKey},
		{&e.ccrtPath, p.ClientCrt}, {&e.ckeyPath, p.ClientKey},
	} {
		if set.v != "" {
			*set.to = set.v
		}
	}
	n.notify()
	return nil
}

// credPaths are the certificate and key of a name's side: the ones set,
// or the defaults under the security directory; n.mu is held.
func (n *Node) credPaths(e *name, server bool) (crt, key string) {
	side := "client"
	crt, key = e.ccrtPath, e.ckeyPath
	if server {
		side, crt, key = "server", e.scrtPath, e.skeyPath
	}
	if n.cfg.SecurityDir != "" {
		if crt == "" {
			crt = filepath.Join(n.cfg.SecurityDir, side, e.name, "crt.pem")
		}
		if key == "" {
			key = filepath.Join(n.cfg.SecurityDir, side, e.name, "key.pem")
		}
	}
	return crt, key
}

// side loads the security of a side of name nm for OAP: its encryption,
// its credentials and the CAs it trusts. n.mu is held (the files are
// small).
func (n *Node) side(nm string, server bool) (oap.Side, error) {
	e := n.names[nm]
	if e == nil {
		e = &name{name: nm}
	}
	var sd oap.Side
	var err error
	if sd.Enc, err = loadEnc(n.encPath(e, server)); err != nil {
		return sd, err
	}
	if crt, key := n.credPaths(e, server); crt != "" && key != "" {
		if sd.Cred, err = oap.LoadCred(crt, key); err != nil {
			return sd, err
		}
	}
	if d := n.cfg.SecurityDir; d != "" {
		sd.Trust = &oap.Trust{}
		if sd.Trust.Roots, err = oap.LoadPool(filepath.Join(d, "cacert")); err != nil {
			return sd, err
		}
		if sd.Trust.Intermediates, err = oap.LoadPool(filepath.Join(d, "untrusted")); err != nil {
			return sd, err
		}
	}
	return sd, nil
}

func describeCred(crt, key string) string {
	if crt == "" || key == "" {
		return "none"
	}
	c, err := oap.LoadCred(crt, key)
	switch {
	case err != nil:
		return "error: " + err.Error()
	case c == nil:
		return "none"
	}
	return "certificate " + c.Cert.Subject.String()
}

// encPath is the enc.conf of a name's server or client side: the one set,
// or the default under the security directory ("" when there is none);
// n.mu is held.
func (n *Node) encPath(e *name, server bool) string {
	side, p := "client", e.cencPath
	if server {
		side, p = "server", e.sencPath
	}
	if p == "" && n.cfg.SecurityDir != "" {
		p = filepath.Join(n.cfg.SecurityDir, side, e.name, "enc.conf")
	}
	return p
}

// encPathOf is encPath for a name that may not exist; n.mu is held.
func (n *Node) encPathOf(nm string, server bool) string {
	e := n.names[nm]
	if e == nil {
		e = &name{name: nm}
	}
	return n.encPath(e, server)
}

func loadEnc(path string) (*crypt.Conf, error) {
	if path == "" {
		return nil, nil
	}
	return crypt.LoadConf(path)
}

func describeEnc(path string) string {
	if path == "" {
		return "none"
	}
	c, err := crypt.LoadConf(path)
	switch {
	case err != nil:
		return "error: " + err.Error()
	case c == nil:
		return "none"
	}
	return c.String()
}

// BindProgram binds a program to a name; with auto, the node starts argv
// when a request for the name finds nobody accepting.
func (n *Node) BindProgram(argv []string, nm string, auto bool) error {
	if err := checkName(nm); err != nil {
		return err
	}
	if len(argv) == 0 || argv[0] == "" {
		return fmt.Errorf("%w: bind program needs a program path", errs.ErrInvalid)
	}
	key := filepath.Base(argv[0]) // programs are keyed by basename
	n.mu.Lock()
	defer n.mu.Unlock()
	pg := n.progs[key]
	if pg == nil {
		pg = &program{name: key, path: argv[0]}
		n.progs[key] = pg
	}
	if slices.Contains(pg.names, nm) {
		return fmt.Errorf("%w: program %s is already bound to %q", errs.ErrExist, key, nm)
	}
	e := n.ensureName(nm)
	pg.names = append(pg.names, nm)
	e.progs = append(e.progs, key)
	if auto {
		e.autoExec = slices.Insert(e.autoExec, 0, slices.Clone(argv))
	}
	n.log.Info("program bound", "prog", key, "name", nm, "auto", auto)
	n.notify()
	return nil
}

// UnbindProgram unbinds a program from a name, or from every name and
// forgets it when nm is empty.
func (n *Node) UnbindProgram(prog, nm string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	pg := n.progs[prog]
	if pg == nil {
		return fmt.Errorf("%w: program %s is not bound", errs.ErrNotFound, prog)
	}
	names := pg.names
	if nm != "" {
		if !slices.Contains(pg.names, nm) {
			return fmt.Errorf("%w: program %s is not bound to %q", errs.ErrNotFound, prog, nm)
		}
		names = []string{nm}
	}
	for _, x := range names {
		if e := n.names[x]; e != nil {
			e.progs = remove(e.progs, prog)
			e.autoExec = slices.DeleteFunc(e.autoExec, func(a []string) bool { return filepath.Base(a[0]) == prog })
		}
		pg.names = remove(pg.names, x)
	}
	if nm == "" {
		delete(n.progs, prog)
	}
	n.notify()
	return nil
}

// bindProc binds a process to a name; n.mu is held.
func (n *Node) bindProc(p *process, nm string) {
	e := n.ensureName(nm)
	if !slices.Contains(p.names, nm) {
		p.names = append(p.names, nm)
	}
	if !slices.Contains(e.procs, p.pid) {
		e.procs = append(e.procs, p.pid)
	}
	for _, f := range p.accepts {
		e.addActive(f)
	}
}

// BindProcess binds a running process to a name.
func (n *Node) BindProcess(pid int, nm string) error {
	if err := checkName(nm); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	deadline := time.Now().Add(BindProcessWait)
	for n.procs[pid] == nil {
		if !n.wait(n.ctx, deadline) && n.procs[pid] == nil {
			return fmt.Errorf("%w: process %d is not attached to this node (it must run with the Ouroboros library and this node's socket)", errs.ErrNotFound, pid)
		}
	}
	p := n.procs[pid]
	if slices.Contains(p.names, nm) {
		return fmt.Errorf("%w: process %d is already bound to %q", errs.ErrExist, pid, nm)
	}
	n.bindProc(p, nm)
	n.log.Info("process bound", "pid", pid, "name", nm)
	n.notify()
	return nil
}

// UnbindProcess unbinds a process from a name or, when nm is empty, removes
// the whole process entry, as the reference does.
func (n *Node) UnbindProcess(pid int, nm string) error {
	n.mu.Lock()
	p := n.procs[pid]
	if p == nil {
		n.mu.Unlock()
		return fmt.Errorf("%w: process %d is not attached to this node", errs.ErrNotFound, pid)
	}
	if nm == "" {
		p.sessions = 1
		n.mu.Unlock()
		n.ProcessGone(pid)
		return nil
	}
	defer n.mu.Unlock()
	if !slices.Contains(p.names, nm) {
		return fmt.Errorf("%w: process %d is not bound to %q", errs.ErrNotFound, pid, nm)
	}
	p.names = remove(p.names, nm)
	if e := n.names[nm]; e != nil {
		e.procs = remove(e.procs, pid)
		for _, f := range p.accepts {
			e.delActive(f)
		}
	}
	n.notify()
	return nil
}
