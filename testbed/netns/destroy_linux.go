package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Destroy removes everything of a lab: the processes in its namespaces
// (by PID), the namespaces (found by their marker, and by the names the
// lab directory says it intended), then the lab directory. A lab of which
// nothing exists is ErrNoLab; one that another process is deploying or
// destroying is ErrBusy, and is left alone.
func Destroy(lab string, o Options) error {
	o.fill()
	unlock, err := lockLab(o.Root, lab)
	if err != nil {
		return err
	}
	defer unlock()
	return destroy(lab, o)
}

// destroy is Destroy with the lab's lock held.
func destroy(lab string, o Options) error {
	nss := labNamespaces(lab)
	_, dirErr := os.Stat(labDir(o.Root, lab))
	if len(nss) == 0 && errors.Is(dirErr, os.ErrNotExist) && !slices.Contains(containerLabs(context.Background()), lab) {
		deployed := strings.Join(Labs(o.Root), ", ")
		if deployed == "" {
			deployed = "none"
		}
		return fmt.Errorf("%w: %s; nothing of it exists (deployed: %s)", ErrNoLab, lab, deployed)
	}
	l, lerr := LoadLab(o.Root, lab)
	if lerr != nil {
		l = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	containers, err := removeContainers(ctx, lab, l) // their processes, before the namespaces
	if err != nil {
		errs = append(errs, err)
	}
	if l != nil {
		for i := range l.Tunnels { // before the onodes they are attached to
			for j := range l.Tunnels[i].Ends {
				stopTunnel(&l.Tunnels[i].Ends[j])
			}
		}
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
		for _, ls := range l.Links { // relays: stopped by PID with their namespace, below
			if r := ls.Relay; r != nil {
				if _, err := os.Stat(filepath.Join(nsDir, r.NS)); err == nil {
					if m := nsMarker(r.NS); m == lab || m == "" {
						nss[r.NS] = lab
					}
				}
			}
		}
	}
	names := make([]string, 0, len(nss))
	for n := range nss {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		stopNS(n, 3*time.Second)
		removeTables(n, lab) // best effort: deleting the namespace removes them too
	}
	for _, n := range names {
		if err := deleteNS(n); err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case len(errs) > 0 && l != nil && l.Swarm != nil:
		// Containers are left on a host that is down: the record stays, so
		// that destroying the lab again once it is up finds them.
		errs = append(errs, fmt.Errorf("the lab's record stays in %s until they are gone", labDir(o.Root, lab)))
	default:
		if err := os.RemoveAll(labDir(o.Root, lab)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("destroy %s: %v", lab, errs)
	}
	if containers > 0 {
		fmt.Fprintf(o.Out, "lab %s destroyed (%d namespaces, %d containers)\n", lab, len(names), containers)
	} else {
		fmt.Fprintf(o.Out, "lab %s destroyed (%d namespaces)\n", lab, len(names))
	}
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

// GC destroys every lab whose namespaces (or containers) carry our marker
// but whose lab directory is gone, every lab directory with nothing left in
// the kernel, and every lab whose deploy did not finish, except the labs a live process is deploying or destroying (the
// lab's lock is held: a deploy makes its directory before its namespaces).
// It returns the labs it removed.
func GC(o Options) ([]string, error) {
	o.fill()
	seen := map[string]bool{}
	for _, lab := range labNamespaces("") {
		seen[lab] = true
	}
	for _, lab := range containerLabs(context.Background()) {
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
		} else if l, err := LoadLab(o.Root, lab); err == nil && l.Deploying {
			gone = append(gone, lab) // left by a deploy that died, unless it runs (its lock, below)
		}
	}
	sort.Strings(gone)
	var errs []error
	var removed []string
	for _, lab := range gone {
		switch err := Destroy(lab, o); {
		case err == nil:
			removed = append(removed, lab)
		case errors.Is(err, ErrBusy), errors.Is(err, ErrNoLab): // being deployed, or gone meanwhile
		default:
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("gc: %v", errs)
	}
	return removed, nil
}
