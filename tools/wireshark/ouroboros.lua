-- ouroboros.lua: a Wireshark dissector for Ouroboros eth-dix frames.
--
-- Load it for one run:
--   wireshark -X lua_script:tools/wireshark/ouroboros.lua file.pcap
--   tshark    -X lua_script:tools/wireshark/ouroboros.lua -r file.pcap -V
-- or copy it to ~/.local/lib/wireshark/plugins/ to load it always.
-- A capture of a testbed node's interface:
--   otb capture n1:eth0 -c 100 -w n1.pcap
--
-- What it dissects (spec SYSTEM.md §6.1 and §6.3):
--   * the eth-dix shim header after the Ethernet header, ethertype 0xA000
--     (the ethertype is a preference: Edit > Preferences > Protocols >
--     OUROBOROS-DIX): endpoint id (2 bytes, BE; 0 = management, otherwise
--     the receiver's local fd) and payload length (2 bytes, BE; bytes
--     past it are the padding of short frames);
--   * management frames (eid 0): the 39-byte flow-allocator message (seid,
--     deid, QoS, response, code), then its body labelled by the code
--     (FLOW_REQ: name hash then OAP request; FLOW_REPLY: OAP response;
--     NAME_QUERY_*: name hash). The hash's length is the layer's hash
--     algorithm's (SHA3-256, 32 bytes, by default), which the frame does not
--     say, so the body is shown whole, not split.
--
-- What it does not: the payload of a data frame (eid != 0) is the N+1
-- layer's packet. Whether that starts with a unicast layer's DT PCI
-- (SYSTEM.md §8.3: dst address, QoS cube, TTL, ECN, eid), with an FRCT PCI
-- (APP.md §4.2: flags, window, seqno, ackno), or is an application's raw
-- or encrypted bytes depends on the flow, which only the two ends know: it
-- cannot be told apart from payload without flow state, so it is shown as
-- data. eth-llc frames are not dissected either: their SAPs (bit-reversed,
-- 2..65 and management 1) overlap the SAPs of other LLC protocols.

local p = Proto("ouroboros_dix", "Ouroboros eth-dix")

local codes = {
    [0] = "FLOW_REQ",
    [1] = "FLOW_REPLY",
    [2] = "NAME_QUERY_REQ",
    [3] = "NAME_QUERY_REPLY",
}

local f = {
    eid       = ProtoField.uint16("ouroboros_dix.eid", "Endpoint id", base.DEC, nil, nil,
                    "0: management; otherwise the receiver's local fd"),
    len       = ProtoField.uint16("ouroboros_dix.len", "Payload length", base.DEC),
    payload   = ProtoField.bytes("ouroboros_dix.payload", "Payload"),
    padding   = ProtoField.bytes("ouroboros_dix.padding", "Padding"),
    mgmt_seid = ProtoField.uint16("ouroboros_dix.mgmt.seid", "Sender's endpoint id (seid)", base.DEC),
    mgmt_deid = ProtoField.uint16("ouroboros_dix.mgmt.deid", "Destination endpoint id (deid)", base.DEC),
    loss      = ProtoField.uint32("ouroboros_dix.mgmt.qos.loss", "QoS loss", base.DEC),
    bandwidth = ProtoField.uint64("ouroboros_dix.mgmt.qos.bandwidth", "QoS bandwidth", base.DEC),
    ber       = ProtoField.uint32("ouroboros_dix.mgmt.qos.ber", "QoS BER", base.DEC),
    max_gap   = ProtoField.uint32("ouroboros_dix.mgmt.qos.max_gap", "QoS max gap", base.DEC),
    delay     = ProtoField.uint32("ouroboros_dix.mgmt.qos.delay", "QoS delay", base.DEC),
    timeout   = ProtoField.uint32("ouroboros_dix.mgmt.qos.timeout", "QoS timeout", base.DEC),
    response  = ProtoField.int32("ouroboros_dix.mgmt.response", "Response", base.DEC),
    in_order  = ProtoField.uint8("ouroboros_dix.mgmt.qos.in_order", "QoS in order", base.DEC),
    code      = ProtoField.uint8("ouroboros_dix.mgmt.code", "Code", base.DEC, codes),
    avail     = ProtoField.uint8("ouroboros_dix.mgmt.qos.availability", "QoS availability", base.DEC),
    body      = ProtoField.bytes("ouroboros_dix.mgmt.body", "Body"),
}
p.fields = f

local e_short = ProtoExpert.new("ouroboros_dix.short", "Frame shorter than its header or length says",
    expert.group.MALFORMED, expert.severity.ERROR)
local e_mgmt = ProtoExpert.new("ouroboros_dix.mgmt.short", "Management message shorter than 39 bytes",
    expert.group.MALFORMED, expert.severity.ERROR)
p.experts = { e_short, e_mgmt }

p.prefs.ethertype = Pref.uint("Ethertype", 0xA000, "The eth-dix layer's ethertype (default 0xA000)")

local HDR, MGMT = 4, 39

local bodies = {
    [0] = "name hash, then OAP request",
    [1] = "OAP response",
    [2] = "name hash",
    [3] = "name hash",
}

local function mgmt(buf, pinfo, tree)
    local t = tree:add(p, buf(), "Management message")
    if buf:len() < MGMT then
        t:add_proto_expert_info(e_mgmt)
        pinfo.cols.info = "management, malformed (short)"
        return
    end
    t:add(f.mgmt_seid, buf(0, 2))
    t:add(f.mgmt_deid, buf(2, 2))
    local qos = t:add(p, buf(4, 32), "QoS and response")
    qos:add(f.loss, buf(4, 4))
    qos:add(f.bandwidth, buf(8, 8))
    qos:add(f.ber, buf(16, 4))
    qos:add(f.max_gap, buf(20, 4))
    qos:add(f.delay, buf(24, 4))
    qos:add(f.timeout, buf(28, 4))
    t:add(f.response, buf(32, 4))
    t:add(f.in_order, buf(36, 1))
    t:add(f.code, buf(37, 1))
    t:add(f.avail, buf(38, 1))
    local code = buf(37, 1):uint()
    local name = codes[code] or string.format("code %d", code)
    t:append_text(": " .. name)
    pinfo.cols.info = string.format("%s seid=%d deid=%d", name, buf(0, 2):uint(), buf(2, 2):uint())
    if buf:len() > MGMT then
        local what = bodies[code] or "unknown"
        t:add(f.body, buf(MGMT)):append_text(" (" .. what .. ")")
    end
end

function p.dissector(buf, pinfo, tree)
    pinfo.cols.protocol = "OUROBOROS"
    local t = tree:add(p, buf())
    if buf:len() < HDR then
        t:add_proto_expert_info(e_short)
        return
    end
    local eid = buf(0, 2):uint()
    local n = buf(2, 2):uint()
    t:add(f.eid, buf(0, 2))
    t:add(f.len, buf(2, 2))
    local avail = buf:len() - HDR
    if n > avail then
        t:add_proto_expert_info(e_short)
        n = avail
    end
    t:append_text(string.format(", eid %d, %d bytes", eid, n))
    if n > 0 then
        local pl = buf(HDR, n)
        if eid == 0 then
            mgmt(pl:tvb(), pinfo, t)
        else
            t:add(f.payload, pl):append_text(" (N+1 packet: DT PCI, FRCT PCI or data; not told apart without flow state)")
            pinfo.cols.info = string.format("data to fd %d, %d bytes", eid, n)
        end
    elseif eid == 0 then
        pinfo.cols.info = "management, empty"
    else
        pinfo.cols.info = string.format("data to fd %d, empty", eid)
    end
    if avail > n then
        t:add(f.padding, buf(HDR + n, avail - n))
    end
    return buf:len()
end

local registered
local function register()
    local et = DissectorTable.get("ethertype")
    if registered then
        et:remove(registered, p)
    end
    registered = p.prefs.ethertype
    et:add(registered, p)
end
p.prefs_changed = register
register()
