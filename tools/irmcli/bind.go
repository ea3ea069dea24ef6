package irmcli

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/o7s/ouroboros/stack/ctl"
)

const bindUsage = `Usage: irm bind [OPERATION]

where OPERATION in {program process ipcp help}
`

const unbindUsage = `Usage: irm unbind [OPERATION]

where OPERATION in {program process ipcp help}
`

const bindProgramUsage = `Usage: irm bind program <program>
           name <name>
           [auto] (instantiate program if not running)
           [-- <application arguments>]
`

const bindProcessUsage = "Usage: irm bind process <pid> name <name>\n"

const bindIPCPUsage = "Usage: irm bind ipcp <name> name <name>\n"

const unbindProgramUsage = `Usage: irm unbind program <program>
                  [name <name> (default: unbind all names)]
`

const unbindProcessUsage = `Usage: irm unbind process <pid>
                  [name <name> (default: unbind all names)]
`

const unbindIPCPUsage = "Usage: irm unbind ipcp <name> name <name>\n"

func (c *cli) bind(args []string) error {
	return c.dispatch(args, group{
		usage: bindUsage,
		try:   "irm bind help",
		keep:  true,
		ops:   []op{{"program", c.bindProgram}, {"process", c.bindProcess}, {"ipcp", c.bindIPCP}, {"help", nil}},
	})
}

func (c *cli) unbind(args []string) error {
	return c.dispatch(args, group{
		usage: unbindUsage,
		try:   "irm unbind help",
		keep:  true,
		ops:   []op{{"program", c.unbindProgram}, {"process", c.unbindProcess}, {"ipcp", c.unbindIPCP}, {"help", nil}},
	})
}

// operand requires the word after the operation word, which every bind
// and unbind operation needs.
func operand(args []string, usage string) error {
	if len(args) < 2 {
		return &usageError{usage: usage}
	}
	return nil
}

// bindProgram parses its operation word as the first keyword: the word
// after it is the program.
func (c *cli) bindProgram(args []string) error {
	if err := operand(args, bindProgramUsage); err != nil {
		return err
	}
	var name, prog string
	var auto bool
	s := optSet{
		opts: []opt{
			str("name", &name),
			{keyword: "program", set: func(v string) error { prog = realpath(v); return nil }},
			{keyword: "auto", exact: true, flag: true, set: func(string) error { auto = true; return nil }},
			{keyword: "--", exact: true, stop: true},
		},
		usage:   bindProgramUsage,
		unknown: `%q is unknown, try "irm bind program".`,
	}
	rest, err := s.parse(args)
	if err != nil {
		return err
	}
	if name == "" || prog == "" {
		return &usageError{usage: bindProgramUsage}
	}
	path, err := lookProg(prog)
	if err != nil {
		return err
	}
	return c.node.BindProgram(c.ctx, append([]string{path}, rest...), name, auto)
}

// realpath resolves p when it exists, and returns it unchanged otherwise.
func realpath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return p
}

// lookProg finds the program to bind as the reference's library does: a
// path is checked as it is, a bare name is looked up in $PATH, whose
// entries must be absolute.
func lookProg(prog string) (string, error) {
	path := os.Getenv("PATH")
	if path == "" || strings.Contains(prog, "/") {
		return prog, checkProg(prog).err(prog)
	}
	found := progMissing
	for _, dir := range strings.Split(path, ":") {
		if !filepath.IsAbs(dir) {
			return "", textf("Cannot look %s up: $PATH entry %q is not absolute.", prog, dir)
		}
		p := filepath.Join(dir, prog)
		switch checkProg(p) {
		case progOK:
			return p, nil
		case progNoExec:
			found = progNoExec
		}
	}
	return "", found.err(prog)
}

// progState is what checkProg finds.
type progState int

const (
	progOK progState = iota
	progMissing
	progNoExec
)

// checkProg requires p to exist and to be executable by its owner.
func checkProg(p string) progState {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return progMissing
	case fi.IsDir() || fi.Mode().Perm()&0o100 == 0:
		return progNoExec
	}
	return progOK
}

// err is the reference's message for st, about prog as the user named it.
func (st progState) err(prog string) error {
	switch st {
	case progMissing:
		return textf("%s does not exist.", prog)
	case progNoExec:
		return textf("Cannot execute %s, please check permissions.", prog)
	}
	return nil
}

// parsePID accepts a decimal pid above 0.
func parsePID(s string) (int, error) {
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 || int(int32(pid)) != pid {
		return 0, textf("%q is not a valid process id.", s)
	}
	return pid, nil
}

func (c *cli) bindProcess(args []string) error {
	if err := operand(args, bindProcessUsage); err != nil {
		return err
	}
	var name string
	pid := 0
	s := optSet{
		opts: []opt{
			str("name", &name),
			{keyword: "process", set: func(v string) (err error) { pid, err = livePID(v); return err }},
		},
		usage:   bindProcessUsage,
		unknown: `%q is unknown, try "irm bind process".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || pid == 0 {
		return &usageError{usage: bindProcessUsage}
	}
	return c.node.BindProcess(c.ctx, pid, name)
}

// livePID parses a pid and checks with kill(pid, 0) that the process
// exists (EPERM means it does, owned by someone else).
func livePID(s string) (int, error) {
	pid, err := parsePID(s)
	if err != nil {
		return 0, err
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, textf("%q is not a valid process id.", s)
	}
	return pid, nil
}

func (c *cli) bindIPCP(args []string) error {
	return c.ipcpBind(args, bindIPCPUsage, `%q is unknown, try "irm bind ipcp".`, true)
}

func (c *cli) unbindIPCP(args []string) error {
	return c.ipcpBind(args, unbindIPCPUsage, `%q is unknown, try "irm unbind ipcp".`, false)
}

// ipcpBind binds or unbinds a name to an IPCP of the node (found by exact
// name); both need the name, as in the reference.
func (c *cli) ipcpBind(args []string, usage, unknown string, bind bool) error {
	if err := operand(args, usage); err != nil {
		return err
	}
	var name, ipcp string
	s := optSet{opts: []opt{str("name", &name), str("ipcp", &ipcp)}, usage: usage, unknown: unknown}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || ipcp == "" {
		return &usageError{usage: usage}
	}
	p, err := c.ipcpByName(ipcp)
	if err != nil {
		return err
	}
	if !bind {
		return c.node.UnbindIPCP(c.ctx, p.GetId(), name)
	}
	c.node.CreateName(c.ctx, name, ctl.RoundRobin) // may exist
	return c.node.BindIPCP(c.ctx, p.GetId(), name)
}

func (c *cli) unbindProgram(args []string) error {
	if err := operand(args, unbindProgramUsage); err != nil {
		return err
	}
	var name, prog string
	s := optSet{
		opts:    []opt{str("name", &name), str("program", &prog)},
		usage:   unbindProgramUsage,
		unknown: `%q is unknown, try "irm unbind program".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if prog == "" {
		return &usageError{usage: unbindProgramUsage}
	}
	return c.node.UnbindProgram(c.ctx, filepath.Base(prog), name)
}

func (c *cli) unbindProcess(args []string) error {
	if err := operand(args, unbindProcessUsage); err != nil {
		return err
	}
	var name string
	pid := 0
	s := optSet{
		opts: []opt{
			str("name", &name),
			{keyword: "process", set: func(v string) (err error) { pid, err = parsePID(v); return err }},
		},
		usage:   unbindProcessUsage,
		unknown: `%q is unknown, try "irm unbind process".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if pid == 0 {
		return &usageError{usage: unbindProcessUsage}
	}
	return c.node.UnbindProcess(c.ctx, pid, name)
}
