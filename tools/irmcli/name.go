package irmcli

import (
	"io"
	"path/filepath"

	"github.com/o7s/ouroboros/stack/ctl"
)

// Limits of the reference (NAME_SIZE, NAME_PATH_SIZE, MAX_IPCPS,
// MAX_LAYERS).
const (
	maxName     = 255
	maxNamePath = 511
	maxRegArgs  = 128
)

const nameUsage = `Usage: irm name [OPERATION]

where OPERATION in {create destroy
                    register unregister
                    list
                    help}
`

const nameCreateUsage = `Usage: irm name create
                <name>. max 255 chars.
                [lb LB_POLICY], default: round-robin
                [sencpath <path>, default: <security_dir>/server/<name>/enc.conf]
                [scrtpath <path>, default: <security_dir>/server/<name>/crt.pem]
                [skeypath <path>, default: <security_dir>/server/<name>/key.pem]
                [cencpath <path>, default: <security_dir>/client/<name>/enc.conf]
                [ccrtpath <path>, default: <security_dir>/client/<name>/crt.pem]
                [ckeypath <path>, default: <security_dir>/client/<name>/key.pem]

where LB_POLICY in {round-robin spillover}
sencpath and cencpath name the enc.conf files (encryption) of the name's
server and client side; scrtpath/skeypath and ccrtpath/ckeypath their
certificates and keys (PEM; authentication, checked against the CAs in
<security_dir>/cacert). The files must exist; onode reads them at each
flow allocation.
`

const nameDestroyUsage = "Usage: irm name destroy <name>\n"

const nameRegUsage = `Usage: irm name register <name>
           ipcp <ipcp to register with>
           [ipcp <ipcp to register with>]
           [... (maximum 128 ipcps)]
           layer <layer to register with>
           [layer <layer to register with>]
           [... (maximum 128 layers)]
`

const nameUnregUsage = `Usage: irm name unregister <name>
           ipcp <ipcp to unregister from>
           [ipcp <ipcp to unregister from>]
           [... (maximum 128 ipcps)]
           layer <layer to unregister from>
           [layer <layer to unregister from>]
           [... (maximum 128 layers)]
`

const nameListUsage = `Usage: irm name list
           [list <filter>] (shows the names that are a prefix of filter)
`

func (c *cli) name(args []string) error {
	return c.dispatch(args, group{
		usage: nameUsage,
		try:   "irm name help",
		ops: []op{
			{"create", c.nameCreate},
			{"destroy", c.nameDestroy},
			{"register", c.nameReg},
			{"unregister", c.nameUnreg},
			{"list", c.nameList},
			{"help", nil},
		},
	})
}

// pathKeys are the security options of name create, in parsing order.
var pathKeys = []string{"sencpath", "scrtpath", "skeypath", "cencpath", "ccrtpath", "ckeypath"}

func (c *cli) nameCreate(args []string) error {
	if len(args) == 0 {
		return &usageError{usage: nameCreateUsage}
	}
	name, lb := args[0], "round-robin"
	paths := make([]string, len(pathKeys))
	opts := []opt{str("lb", &lb)}
	for i, k := range pathKeys {
		opts = append(opts, str(k, &paths[i]))
	}
	s := optSet{opts: opts, usage: nameCreateUsage, unknown: `%q is unknown, try "irm name create".`}
	if _, err := s.parse(args[1:]); err != nil {
		return err
	}
	if len(name) > maxName {
		return &usageError{note: "Name too long.", usage: nameCreateUsage}
	}
	if err := checkPaths(paths); err != nil {
		return err
	}
	pol, err := ctl.ParseLB(lb)
	if err != nil {
		return &usageError{usage: nameCreateUsage}
	}
	if p := (ctl.SecPaths{SEnc: paths[0], SCrt: paths[1], SKey: paths[2], CEnc: paths[3], CCrt: paths[4], CKey: paths[5]}); p != (ctl.SecPaths{}) {
		return c.node.CreateNameSec(c.ctx, name, pol, p)
	}
	return c.createName(name, pol)
}

// checkPaths checks the security paths as the reference does: they must
// exist, and they become absolute.
func checkPaths(paths []string) error {
	for i, p := range paths {
		if p == "" {
			continue
		}
		rp, err := filepath.Abs(p)
		if err == nil {
			rp, err = filepath.EvalSymlinks(rp)
		}
		if err != nil {
			return textf("Failed to check path %s: %v.", p, err)
		}
		if len(rp) > maxNamePath {
			return textf("File path too long: %s.", rp)
		}
		paths[i] = rp
	}
	return nil
}

func (c *cli) createName(name string, lb ctl.LB) error {
	return c.node.CreateName(c.ctx, name, lb)
}

func (c *cli) nameDestroy(args []string) error {
	if len(args) == 0 {
		return &usageError{usage: nameDestroyUsage}
	}
	if len(args) > 1 {
		return unknown(args[1], "irm name destroy")
	}
	return c.node.DestroyName(c.ctx, args[0])
}

func (c *cli) nameList(args []string) error {
	var filter string
	have := false
	s := optSet{
		opts:    []opt{{keyword: "list", set: func(v string) error { filter, have = v, true; return nil }}},
		usage:   nameListUsage,
		unknown: `%q is unknown, try "irm name list".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	names, err := c.listNames()
	if err != nil {
		return err
	}
	var keep func(string) bool
	if have { // the reference's inverted filter: names that are a prefix of it
		keep = func(name string) bool { return matches(name, filter) }
	}
	_, err = io.WriteString(c.out, nameTable(names, keep))
	return err
}
