package dev

// StopKeepalives makes f send no more keepalives, as the end of a peer
// that hangs.
func StopKeepalives(f *Flow) { f.kaOff.Store(true) }
