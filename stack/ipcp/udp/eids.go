package udp

// eidSet is the set of reserved or installed eids, a bit each.
type eidSet [MaxFlows / 64]uint64

func (s *eidSet) has(eid uint32) bool { return s[eid/64]&(1<<(eid%64)) != 0 }
func (s *eidSet) add(eid uint32)      { s[eid/64] |= 1 << (eid % 64) }
func (s *eidSet) remove(eid uint32)   { s[eid/64] &^= 1 << (eid % 64) }
