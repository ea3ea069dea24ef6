package relay

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// The control socket: a Unix stream socket in the lab directory. A client
// writes one request, a JSON object on a line, and reads one response.

// Request is a control request: "set" gives each direction its
// configuration (Dirs[0]: what comes in on the relay's first interface
// and leaves by its second); "show" asks for the configuration and
// counters.
type Request struct {
	Op   string   `json:"op"`
	Dirs []Config `json:"dirs,omitempty"`
}

// Response is the answer to a request: each direction's configuration and
// counters (after a set, the new configuration, and counters from zero).
type Response struct {
	PID   int        `json:"pid"`
	Dirs  []DirState `json:"dirs,omitempty"`
	Error string     `json:"error,omitempty"`
}

// DirState is one direction of a relay.
type DirState struct {
	Config   Config   `json:"config"`
	Counters Counters `json:"counters"`
}

// CallTimeout bounds a control request.
const CallTimeout = 5 * time.Second

// Call sends a request to the relay listening on sock.
func Call(sock string, req Request) (*Response, error) {
	c, err := net.DialTimeout("unix", sock, CallTimeout)
	if err != nil {
		return nil, fmt.Errorf("relay control socket: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(CallTimeout))
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("relay control socket: %w", err)
	}
	var r Response
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&r); err != nil {
		return nil, fmt.Errorf("relay control socket %s: no answer: %w", sock, err)
	}
	if r.Error != "" {
		return &r, errors.New("relay: " + r.Error)
	}
	return &r, nil
}

// serveCtl answers control requests on l until it is closed.
func serveCtl(l net.Listener, pid int, dirs [2]*direction) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(CallTimeout))
			var req Request
			r := Response{PID: pid}
			if err := json.NewDecoder(bufio.NewReader(c)).Decode(&req); err != nil {
				r.Error = "bad request: " + err.Error()
			} else if err := handle(req, dirs); err != nil {
				r.Error = err.Error()
			}
			for _, d := range dirs {
				r.Dirs = append(r.Dirs, DirState{Config: *d.cur.Load(), Counters: d.eng.Counters()})
			}
			b, _ := json.Marshal(r)
			c.Write(append(b, '\n'))
		}()
	}
}

func handle(req Request, dirs [2]*direction) error {
	switch req.Op {
	case "show":
		return nil
	case "set":
		if len(req.Dirs) != 2 {
			return fmt.Errorf("set needs 2 directions, not %d", len(req.Dirs))
		}
		for i, d := range dirs {
			if err := d.set(req.Dirs[i], CallTimeout/2); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown op %q (set, show)", req.Op)
}
