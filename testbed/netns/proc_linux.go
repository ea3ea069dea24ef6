package netns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// NSExecArg is the hidden first argument with which otb re-executes itself
// to run a command inside a namespace: otb __nsexec NS PROG ARGS...
const NSExecArg = "__nsexec"

// RunNSExec enters the namespace and replaces the process with the
// command. It returns only on failure, with an exit status.
func RunNSExec(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "otb: __nsexec NS PROG [ARGS...]")
		return 2
	}
	runtime.LockOSThread()
	f, err := os.Open(filepath.Join(nsDir, args[0]))
	if err != nil {
		fmt.Fprintf(os.Stderr, "otb: namespace %s: %v\n", args[0], err)
		return 1
	}
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		fmt.Fprintf(os.Stderr, "otb: enter namespace %s: %v\n", args[0], err)
		return 1
	}
	prog, err := exec.LookPath(args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "otb: %v\n", err)
		return 127
	}
	err = syscall.Exec(prog, args[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "otb: exec %s: %v\n", prog, err)
	return 126
}

// Command returns a command that runs argv inside the namespace.
func Command(ns string, argv ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(self, append([]string{NSExecArg, ns}, argv...)...), nil
}

// startDetached starts argv in the namespace in a session of its own,
// output to logPath. It returns its PID and a channel closed when it exits
// (while this program runs). Only that channel says a process died: during
// its exec the process briefly looks like a zombie in /proc.
func startDetached(ns, logPath string, env []string, argv ...string) (int, <-chan struct{}, error) {
	cmd, err := Command(ns, argv...)
	if err != nil {
		return 0, nil, err
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("start %s in %s: %w", argv[0], ns, err)
	}
	exited := make(chan struct{})
	go func() { // reap it if it dies while otb runs
		cmd.Wait()
		close(exited)
	}()
	return cmd.Process.Pid, exited, nil
}

// pidsInNS lists the processes whose network namespace is the named one.
func pidsInNS(ns string) []int {
	ino, err := nsInode(filepath.Join(nsDir, ns))
	if err != nil {
		return nil
	}
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if i, err := nsInode(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && i == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive tells whether pid runs inside the namespace.
func alive(pid int, ns string) bool {
	ino, err := nsInode(filepath.Join(nsDir, ns))
	if err != nil {
		return false
	}
	i, err := nsInode(fmt.Sprintf("/proc/%d/ns/net", pid))
	return err == nil && i == ino && !zombie(pid)
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	for i := len(b) - 1; i > 0; i-- { // the state follows the last ')'
		if b[i] == ')' && i+2 < len(b) {
			return b[i+2] == 'Z'
		}
	}
	return false
}

// stopNS stops every process inside the namespace, by PID: SIGTERM, then
// SIGKILL after grace.
func stopNS(ns string, grace time.Duration) {
	pids := pidsInNS(ns)
	for _, p := range pids {
		unix.Kill(p, unix.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range pids {
		for alive(p, ns) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p, ns) {
			unix.Kill(p, unix.SIGKILL)
		}
	}
}
