package irmcli

const enrollUsage = `Usage: irm ipcp enroll
                name <ipcp name>
                [layer <layer to enroll with>]
                [dst <destination to enroll with>]
                [type [TYPE], default = unicast]
                [autobind]
where TYPE in {unicast broadcast}
`

const connectUsage = `Usage: irm ipcp connect
                name      <ipcp name>
                dst       <name of destination IPCP>
                [component [COMPONENT]]
where COMPONENT in {dt mgmt}

if COMPONENT == dt
                [qos       [QOS]
where QOS in {raw, best, voice, video, data}
`

const disconnectUsage = `Usage: irm ipcp disconnect
                name      <ipcp name>
                dst       <name of destination IPCP>
                [component [COMPONENT]]

where COMPONENT in {dt mgmt}
`

// notYet is the answer to the operations that need unicast or broadcast
// layers, which this onode does not have.
func notYet(what string) error {
	return textf("Cannot %s: that needs a unicast or broadcast layer, and this version of onode "+
		"implements local IPCPs only.", what)
}

func (c *cli) ipcpEnroll(args []string) error {
	var name, typ, layer, dst string
	var autobind bool
	s := optSet{
		opts: []opt{str("name", &name), str("type", &typ), str("layer", &layer), str("dst", &dst),
			flag("autobind", &autobind)},
		usage:   enrollUsage,
		unknown: `%q is unknown, try "irm ipcp enroll".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || layer == "" && dst == "" {
		return &usageError{usage: enrollUsage}
	}
	if typ != "" && typ != "unicast" && typ != "broadcast" {
		return &usageError{note: textf("IPCP type %q cannot enroll.", typ).Error(), usage: enrollUsage}
	}
	return notYet("enroll " + name)
}

func (c *cli) ipcpConnect(args []string) error {
	var name, dst, comp, qos string
	s := optSet{
		opts:    []opt{str("name", &name), str("dst", &dst), str("component", &comp), str("qos", &qos)},
		usage:   connectUsage,
		unknown: `%q is unknown, try "irm ipcp connect".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || dst == "" {
		return &usageError{usage: connectUsage}
	}
	switch qos {
	case "", "raw", "best", "voice", "video", "data":
	default:
		c.warnf("Unknown QoS cube, defaulting to raw.")
	}
	return notYet("connect " + name + " to " + dst)
}

func (c *cli) ipcpDisconnect(args []string) error {
	var name, dst, comp string
	s := optSet{
		opts:    []opt{str("name", &name), str("dst", &dst), str("component", &comp)},
		usage:   disconnectUsage,
		unknown: `%q is unknown, try "irm ipcp disconnect".`,
	}
	if _, err := s.parse(args); err != nil {
		return err
	}
	if name == "" || dst == "" {
		return &usageError{usage: disconnectUsage}
	}
	return notYet("disconnect " + name + " from " + dst)
}
