package ctl

import "github.com/o7s/ouroboros/stack/errs"

// FromReply returns the error a reply carries, or nil: an *errs.Error with
// the reply's code and detail text.
func FromReply(m *Msg) error {
	return errs.Remote(m.GetResult(), m.GetDetail())
}

// Reply builds the reply to a request that ended with err.
func Reply(err error) *Msg {
	m := &Msg{Code: Code_REPLY, Result: errs.Code(err)}
	if err != nil {
		m.Detail = err.Error()
	}
	return m
}
