package tool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/version"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/irm"
)

const testUsage = "Usage: t [OPTION]...\n"

var errRun = errors.New("the run failed")

// testCommand parses "-n NAME" (a note on out for each) and runs by
// printing the name; a name says how the run ends, and the name "server"
// asks for the server.
func testCommand(ran *bool) Command[string] {
	parse := func(args []string, out io.Writer) (string, error) {
		var name string
		opts := []Option{{Short: "-n", Value: func(v string) error {
			fmt.Fprintf(out, "note %s\n", v)
			name = v
			return nil
		}}}
		switch {
		case len(args) == 1 && args[0] == "other":
			return "", errors.New("not a usage error")
		case len(args) == 1 && args[0] == "quiet":
			return "", &UsageError{Usage: true, Err: errSentinel}
		}
		err := Parse(args, opts, func(format string, a ...any) error {
			return &UsageError{Msg: fmt.Sprintf(format, a...), Usage: true, Status: 3}
		})
		return name, err
	}
	run := func(ctx context.Context, name string, c *dev.Client, out io.Writer) error {
		*ran = true
		fmt.Fprintf(out, "run %s\n", name)
		switch name {
		case "fail":
			return errRun
		case "signal":
			syscall.Kill(syscall.Getpid(), syscall.SIGHUP)
			select {
			case <-ctx.Done():
				fmt.Fprintln(out, "stopped")
			case <-time.After(5 * time.Second):
			}
		}
		return nil
	}
	serve := func(ctx context.Context, name string, c *dev.Client, out io.Writer) error {
		*ran = true
		fmt.Fprintf(out, "serve %s\n", name)
		return nil
	}
	listen := func(name string) bool { return name == "server" }
	return Command[string]{Name: "t", Usage: testUsage, Parse: parse, Run: run, Serve: serve, Listen: listen}
}

func TestCommandMain(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	node := func() (*dev.Client, error) { return dev.DialAs(context.Background(), sock, "t") }
	noNode := func() (*dev.Client, error) { return nil, errors.New("cannot reach the node") }
	for _, tc := range []struct {
		name           string
		args           []string
		attach         func() (*dev.Client, error)
		status         int
		stdout, stderr string
		ran            bool
	}{
		{"help", []string{"-n", "x", "--help"}, node, 0, "note x\n" + testUsage, "", false},
		{"version", []string{"--version"}, noNode, 0, version.Line("t"), "", false},
		{"usage error", []string{"--bogus"}, node, 3, "Unknown option: --bogus.\n" + testUsage, "", false},
		{"usage error without a line", []string{"quiet"}, node, 0, testUsage, "", false},
		{"other parse error", []string{"other"}, node, 1, "", "t: not a usage error\n", false},
		{"no node", []string{"-n", "x"}, noNode, 1, "note x\n", "t: cannot reach the node\n", false},
		{"run", []string{"-n", "x"}, node, 0, "note x\nrun x\n", "", true},
		{"server", []string{"-n", "server"}, node, 0, "note server\nserve server\n", "", true},
		{"failed run", []string{"-n", "fail"}, node, 1, "note fail\nrun fail\n", "t: the run failed\n", true},
		{"signal", []string{"-n", "signal"}, node, 0, "note signal\nrun signal\nstopped\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran bool
			var stdout, stderr strings.Builder
			status := testCommand(&ran).main(tc.args, &stdout, &stderr, tc.attach)
			if status != tc.status || stdout.String() != tc.stdout || stderr.String() != tc.stderr || ran != tc.ran {
				t.Errorf("status %d, stdout %q, stderr %q, ran %v; want %d, %q, %q, %v",
					status, stdout.String(), stderr.String(), ran, tc.status, tc.stdout, tc.stderr, tc.ran)
			}
		})
	}
}
