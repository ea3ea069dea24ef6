package irm

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// spawn starts a bound program for a name nobody accepts. The child talks
// to this node: OUROBOROS_SOCK is set to its socket. Its output goes where
// the node's goes.
func (n *Node) spawn(argv []string) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return errors.New("the node is shutting down")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "OUROBOROS_SOCK="+n.cfg.Sock)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	n.mu.Lock()
	n.children[pid] = cmd
	if n.closed { // Close began meanwhile and may have missed it
		cmd.Process.Kill()
	}
	n.mu.Unlock()
	n.log.Info("program auto-started", "pid", pid, "argv", argv)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		err := cmd.Wait()
		n.mu.Lock()
		delete(n.children, pid)
		n.mu.Unlock()
		n.log.Info("auto-started program exited", "pid", pid, "err", err)
	}()
	return nil
}

// stopChildren stops the programs the node started, by PID: SIGTERM, then
// SIGKILL after 3 s.
func (n *Node) stopChildren() {
	n.mu.Lock()
	var procs []*os.Process
	for _, c := range n.children {
		procs = append(procs, c.Process)
	}
	n.mu.Unlock()
	for _, p := range procs {
		p.Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		left := len(n.children)
		n.mu.Unlock()
		if left == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range procs {
		p.Kill()
	}
}
