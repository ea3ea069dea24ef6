package oecho

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/o7s/ouroboros/internal/wait"
	"github.com/o7s/ouroboros/stack/dev"
	"github.com/o7s/ouroboros/stack/ipcp"
	"github.com/o7s/ouroboros/stack/irm"
	"github.com/o7s/ouroboros/stack/qos"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		listen bool
		err    error
	}{
		{nil, false, nil},
		{[]string{"-l"}, true, nil},
		{[]string{"--listen"}, true, nil},
		{[]string{"-h"}, false, ErrHelp},
		{[]string{"--help"}, false, ErrHelp},
		{[]string{"-x"}, false, ErrUsage},
		{[]string{"-l", "oecho"}, true, ErrUsage},
	} {
		listen, err := Parse(tc.args)
		if listen != tc.listen || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("Parse(%q) = %v, %v; want %v, %v", tc.args, listen, err, tc.listen, tc.err)
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{"hi\x00junk": "hi", "hi": "hi", "\x00": "", "": ""} {
		if got := string(text([]byte(in))); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startNode(t *testing.T, local bool) (srv, cli *dev.Client) {
	sock := filepath.Join(t.TempDir(), "irm.sock")
	n, err := irm.Start(irm.Config{Sock: sock, NoDirect: local})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	for _, c := range []**dev.Client{&srv, &cli} {
		if *c, err = dev.DialAs(context.Background(), sock, "oecho"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { (*c).Close() })
	}
	if err := n.BindProcess(srv.PID(), Name); err != nil {
		t.Fatal(err)
	}
	if local {
		id, _ := n.CreateIPCP("lo", ipcp.Local)
		if err := n.BootstrapIPCP(context.Background(), id, ipcp.Config{Layer: "local", Hash: ipcp.SHA3_256}); err != nil {
			t.Fatal(err)
		}
		if err := n.RegName(Name, id); err != nil {
			t.Fatal(err)
		}
	}
	return srv, cli
}

func TestEcho(t *testing.T) {
	for _, local := range []bool{false, true} {
		t.Run(fmt.Sprintf("local=%v", local), func(t *testing.T) {
			srv, cli := startNode(t, local)
			srvOut := &syncBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- Serve(ctx, srv, srvOut) }()
			const runs = 20
			for i := range runs {
				var out bytes.Buffer
				if err := Run(context.Background(), cli, &out); err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				if out.String() != "Server replied with Client says hi!\n" {
					t.Fatalf("run %d: client printed %q", i, out.String())
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve = %v after cancel", err)
			}
			want := "Starting the server.\n" + strings.Repeat("New flow.\nMessage from client is Client says hi!.\n", runs)
			if srvOut.String() != want {
				t.Errorf("server printed:\n%s", srvOut.String())
			}
		})
	}
}

func TestEchoWire(t *testing.T) {
	srv, cli := startNode(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, srv, &syncBuffer{})
	f, err := cli.Alloc(context.Background(), Name, qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg := append([]byte(Message), 0)
	f.Write(msg)
	f.SetReadTimeout(2 * time.Second)
	buf := make([]byte, 1000)
	n, err := f.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) {
		t.Fatalf("reply % x, %v; want the 16 bytes sent", buf[:n], err)
	}
}

func TestClientFailures(t *testing.T) {
	_, cli := startNode(t, false)
	var out bytes.Buffer
	if err := Run(context.Background(), cli, &out); !errors.Is(err, dev.ErrIPCP) || out.String() != "Failed to allocate flow.\n" {
		t.Errorf("no server: %v, %q", err, out.String())
	}
}

func TestServerReadFailure(t *testing.T) {
	srv, cli := startNode(t, false)
	srvOut := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, srv, srvOut)
	f, err := cli.Alloc(context.Background(), Name, qos.Raw)
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // without a message
	if !wait.Until(5*time.Second, func() bool { return strings.Contains(srvOut.String(), "New flow.\nFailed to read packet.\n") }) {
		t.Fatalf("server printed:\n%s", srvOut.String())
	}
	var out bytes.Buffer
	if err := Run(context.Background(), cli, &out); err != nil {
		t.Fatalf("the server does not serve after a failed read: %v", err)
	}
}
