package tooltest

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// MainEnv is set in the environment of Command's children; a tool's
// TestMain that finds it runs the tool's main instead of the tests.
const MainEnv = "O7S_TEST_MAIN"

// Command is the running test binary started as the tool with args,
// talking to the node at sock.
func Command(tb testing.TB, sock string, args ...string) *exec.Cmd {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	c := exec.Command(exe, args...)
	c.Env = append(os.Environ(), MainEnv+"=1", "OUROBOROS_SOCK="+sock)
	return c
}

// ExitCode is the exit status a command's error stands for (-1: it did not
// run to an exit).
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
