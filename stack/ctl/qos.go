package ctl

import "github.com/o7s/ouroboros/stack/qos"

// QoSFromMsg converts a message's QoS; nil means raw.
func QoSFromMsg(m *QoS) qos.Spec {
	if m == nil {
		return qos.Raw
	}
	return qos.Spec{Delay: m.Delay, Bandwidth: m.Bandwidth, Availability: uint8(min(m.Availability, 255)), Loss: m.Loss,
		BER: m.Ber, InOrder: uint8(min(m.InOrder, 255)), MaxGap: m.MaxGap, Timeout: m.Timeout}
}

// QoSToMsg converts a QoS spec for a message.
func QoSToMsg(s qos.Spec) *QoS {
	return &QoS{Delay: s.Delay, Bandwidth: s.Bandwidth, Availability: uint32(s.Availability), Loss: s.Loss,
		Ber: s.BER, InOrder: uint32(s.InOrder), MaxGap: s.MaxGap, Timeout: s.Timeout}
}
