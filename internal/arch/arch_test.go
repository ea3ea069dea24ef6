package arch

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/o7s/ouroboros/"

// imports lists each package of the module with the packages of the
// module it imports (not counting its tests), relative to the module.
func imports(t *testing.T, args ...string) map[string][]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, append([]string{"list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || !strings.HasPrefix(f[0], module) {
			continue
		}
		p := strings.TrimPrefix(f[0], module)
		m[p] = []string{}
		for _, i := range f[1:] {
			if strings.HasPrefix(i, module) {
				m[p] = append(m[p], strings.TrimPrefix(i, module))
			}
		}
	}
	if len(m) == 0 {
		t.Fatal("go list found no packages")
	}
	return m
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// ipcpType is the IPCP type a package belongs to (stack/ipcp/eth/... is
// eth), or "" for the packages every IPCP shares.
func ipcpType(p string) string {
	shared := []string{"stack/ipcp", "stack/ipcp/connmgr", "stack/ipcp/enroll", "stack/ipcp/pb"}
	if !under(p, "stack/ipcp") || slices.Contains(shared, p) {
		return ""
	}
	return strings.SplitN(strings.TrimPrefix(p, "stack/ipcp/"), "/", 2)[0]
}

// deps is every package of the module p needs, itself excluded.
func deps(m map[string][]string, p string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(q string) {
		for _, i := range m[q] {
			if !seen[i] {
				seen[i] = true
				walk(i)
			}
		}
	}
	walk(p)
	return seen
}

// TestLayering: no package imports one above it. Nothing imports a package
// built on its own parent folder's package (as a harness under unicast
// importing the node, which imports unicast, did); the stack imports
// nothing of the testbed, the tools or the commands; an IPCP imports
// neither the node, the control protocol nor the application library, nor
// another IPCP type's packages; the error vocabulary imports nothing of
// the project.
func TestLayering(t *testing.T) {
	m := imports(t, "./...")
	for p, imps := range m {
		for _, i := range imps {
			var why string
			switch {
			case under(p, "stack") && (under(i, "testbed") || under(i, "tools") || under(i, "cmd") || under(i, "e2e")):
				why = "the stack imports what is built on it"
			case under(p, "stack/ipcp") && (under(i, "stack/irm") || under(i, "stack/ctl") || under(i, "stack/dev") || under(i, "stack/sim")):
				why = "an IPCP imports the node, its control protocol or the application library"
			case ipcpType(p) != "" && ipcpType(i) != "" && ipcpType(p) != ipcpType(i):
				why = "one IPCP type imports another's packages; shared machinery goes in stack/ipcp"
			case p == "stack/errs":
				why = "the error vocabulary must import nothing of the project"
			}
			for a := filepath.Dir(p); why == "" && a != "."; a = filepath.Dir(a) {
				if _, isPkg := m[a]; isPkg && !under(i, a) && deps(m, i)[a] {
					why = "which is built on " + a + ", above " + p
				}
			}
			if why != "" {
				t.Errorf("%s imports %s: %s", p, i, why)
			}
		}
	}
}

// TestIRMToolIsSmall: the irm tool speaks the control protocol and knows
// no IPCP or node internals.
func TestIRMToolIsSmall(t *testing.T) {
	for p := range imports(t, "-deps", "./cmd/irm") {
		if ipcpType(p) != "" || under(p, "stack/irm") || under(p, "stack/ipcp/connmgr") || under(p, "stack/ipcp/enroll") {
			t.Errorf("cmd/irm depends on %s", p)
		}
	}
}
