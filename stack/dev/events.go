package dev

// EventType is what happened on a flow (spec APP §2.9); the values are the
// reference's.
type EventType uint8

const (
	EventPkt     EventType = 0x01 // an SDU is ready to read
	EventDown    EventType = 0x02 // reserved: the peer set the flow down
	EventUp      EventType = 0x04 // reserved: the peer set the flow up
	EventAlloc   EventType = 0x08 // reserved, never raised (as in the reference)
	EventDealloc EventType = 0x10 // the other end of the flow is gone
	EventPeer    EventType = 0x20 // reserved: keepalive timeout (needs FRCT)
)

func (t EventType) String() string {
	switch t {
	case EventPkt:
		return "pkt"
	case EventDown:
		return "down"
	case EventUp:
		return "up"
	case EventAlloc:
		return "alloc"
	case EventDealloc:
		return "dealloc"
	case EventPeer:
		return "peer"
	}
	return "unknown"
}

// Event is one event on one flow.
type Event struct {
	Flow *Flow
	Type EventType
}
