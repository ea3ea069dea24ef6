package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrBusy is the error of a deploy, destroy, gc or node stop or start of
// a lab that another process is deploying, destroying or changing a node
// of at that moment.
var ErrBusy = errors.New("lab busy")

// lockLab takes a lab's lock: the file <root>/<lab>.lock, locked with
// flock for as long as a deploy, a destroy or a node's stop or start works
// on the lab, holding the PID of the process that has it. The kernel lets
// go of it when that process ends however it ends, so a lock is never left
// behind by a killed otb. unlock removes the file.
func lockLab(root, lab string) (unlock func(), err error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("lab root: %w", err)
	}
	path := filepath.Join(root, lab+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lab %s: lock: %w", lab, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			holder := strings.TrimSpace(string(b))
			if _, perr := strconv.Atoi(holder); perr != nil {
				holder = "another process"
			} else {
				holder = "process " + holder
			}
			return nil, fmt.Errorf("%w: lab %s is being deployed, destroyed or changed (otb node) by %s; wait for it, or stop it", ErrBusy, lab, holder)
		}
		return nil, fmt.Errorf("lab %s: lock: %w", lab, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		os.Remove(path) // while still locked: nobody takes a file on its way out
		f.Close()
	}, nil
}
