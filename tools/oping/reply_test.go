package oping

import "testing"

func TestReplyChecksPayload(t *testing.T) {
	cl := &client{cfg: Config{Size: 100}, buf: make([]byte, 2048)}
	Header(cl.buf[:HeaderLen]).Put(EchoReply, 7, 1, 500)
	if _, ok := cl.reply(100, 2e9); !ok {
		t.Fatal("an intact reply was refused")
	}
	for name, mod := range map[string]func() int{
		"corrupt payload": func() int { cl.buf[60] = 0xff; return 100 },
		"short":           func() int { cl.buf[60] = 0; return 99 },
		"a request":       func() int { Header(cl.buf[:HeaderLen]).SetType(EchoRequest); return 100 },
	} {
		if _, ok := cl.reply(mod(), 2e9); ok {
			t.Errorf("%s: accepted as a reply", name)
		}
	}
}
