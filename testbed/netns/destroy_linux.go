package netns

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Destroy removes everything of a lab: the processes in its namespaces
// (by PID), the namespaces (found by their marker, and by the names the
// lab directory says it intended), then the lab directory. A lab that is
// gone already is success.
func Destroy(lab string, o Options) error {
	o.fill()
	nss := labNamespaces(lab)
	if l, err := LoadLab(o.Root, lab); err == nil {
		for _, n := range l.Nodes {
			// A namespace the lab intended: ours if it carries our marker, or
			// none yet (a deploy stopped between creating and marking it).
			if _, err := os.Stat(filepath.Join(nsDir, n.NS)); err == nil {
				if m := nsMarker(n.NS); m == lab || m == "" {
					nss[n.NS] = lab
				}
			}
			stopRecorded(n)
		}
	}
	names := make([]string, 0, len(nss))
	for n := range nss {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		stopNS(n, 3*time.Second)
	}
	for _, n := range names {
		if err := deleteNS(n); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(labDir(o.Root, lab)); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("destroy %s: %v", lab, errs)
	}
	fmt.Fprintf(o.Out, "lab %s destroyed (%d namespaces)\n", lab, len(names))
	return nil
}

// stopRecorded stops a node's onode by the PID the lab recorded, if that
// process is still the onode of this node (its command line names the
// node's socket); one caught starting is not in its namespace yet.
func stopRecorded(n *NodeState) {
	if n.PID <= 0 || n.Sock == "" {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.PID))
	if err != nil || !strings.Contains(string(b), n.Sock) {
		return
	}
	unix.Kill(n.PID, unix.SIGTERM)
	for deadline := time.Now().Add(3 * time.Second); unix.Kill(n.PID, 0) == nil && !zombie(n.PID); {
		if time.Now().After(deadline) {
			unix.Kill(n.PID, unix.SIGKILL)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// GC destroys every lab whose namespaces carry our marker but whose lab
// directory is gone, and every lab directory with nothing left in the
// kernel. It returns the labs it removed.
func GC(o Options) ([]string, error) {
	o.fill()
	seen := map[string]bool{}
	for _, lab := range labNamespaces("") {
		seen[lab] = true
	}
	var gone []string
	for lab := range seen {
		if _, err := LoadLab(o.Root, lab); err != nil {
			gone = append(gone, lab)
		}
	}
	for _, lab := range Labs(o.Root) {
		if !seen[lab] { // a directory with nothing left in the kernel
			gone = append(gone, lab)
		}
	}
	sort.Strings(gone)
	var errs []error
	for _, lab := range gone {
		if err := Destroy(lab, o); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return gone, fmt.Errorf("gc: %v", errs)
	}
	return gone, nil
}
