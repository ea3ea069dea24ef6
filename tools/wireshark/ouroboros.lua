-- ouroboros.lua: a Wireshark dissector for what Ouroboros nodes put on the
-- wire: the eth-dix, eth-llc and udp shim headers, a unicast layer's DT PCI
-- and the components it carries (flow allocator, DHT), the connection
-- establishment (CEP), enrollment and link-state messages on an IPCP's
-- lower flows, the FRCT PCI, and the OAP header of flow allocation.
--
-- Load it for one run:
--   wireshark -X lua_script:tools/wireshark/ouroboros.lua file.pcap
--   tshark    -X lua_script:tools/wireshark/ouroboros.lua -r file.pcap -V
-- or copy it to ~/.local/lib/wireshark/plugins/ to load it always.
-- A capture of a testbed node's interface:
--   otb capture a:e1 -c 100 -w a.pcap
-- scripts/check-dissector.sh (make check-dissector) checks it on captures
-- of the default topology.
--
-- Everything here follows spec SYSTEM.md and APP.md and the Go code that
-- builds the bytes (stack/ipcp/eth, stack/ipcp/udp, stack/ipcp/connmgr,
-- stack/ipcp/enroll, stack/ipcp/unicast/{dt,fa,routing,dir}, stack/frct,
-- stack/oap, stack/ipcp/pb). Protobuf messages are decoded by hand
-- (varints, length-delimited fields): no module outside this file.
--
-- The layers, outside in:
--
-- * Shims (SYSTEM §6, §7). eth-dix: ethertype 0xA000 (preference), endpoint
--   id (2 bytes; 0 = management, else the receiver's fd), payload length
--   (2), padding. eth-llc: 802.3 length, then LLC DSAP/SSAP (bit-reversed
--   on the wire; management SAP 1, data SAPs 2..65) and UI control; this
--   file registers for the 65 reversed SAPs in Wireshark's LLC table and
--   hands a frame back to the dissector that had the SAP (3Com XNS for
--   0x80, IPX, NetBIOS, ...) when the frame does not look like ours (a
--   management message of the right size and codes, a flow it knows, or a
--   payload the heuristics below recognise); a heuristic on "eth" that
--   never claims a frame notes each 802.3 frame's SAPs and MACs, since the
--   LLC dissector adds its fields only when it builds a tree. udp4
--   and udp6: UDP port 3435 (preference), endpoint id (4 bytes, 0 =
--   management). Management messages (FLOW_REQ, FLOW_REPLY, and on
--   Ethernet NAME_QUERY_REQ/REPLY) are decoded field by field with the
--   name hash (resolved to a name, see "Names" below) and the OAP header.
--
-- * What a shim flow carries. A unicast (or broadcast) IPCP allocates its
--   lower flows in the shim like an application; the first SDU each end
--   sends is a protobuf cep_msg whose comp_name says what the flow is for:
--   "Data Transfer" (then every SDU is a DT PCI and what follows),
--   "Management" (then every SDU is a 24-byte link-state update, LSU) or
--   "Enrollment" (then enroll_req / enroll_resp / enroll_ack); a broadcast
--   layer's "Data Transfer", with an empty protocol, carries the joined
--   applications' SDUs with no header (SYSTEM §9). This is what
--   the Go code does (connmgr.Respond looks the component up by name), and
--   the dissector does the same: it remembers, per flow end (receiver's
--   MAC and eid or SAP, or IP address, port and eid), the component its
--   cep_msg named, and, from the shim's FLOW_REQ/FLOW_REPLY, the flow's QoS
--   (in_order => FRCT PCI first; ber 0 => CRC32 last) and its name. A flow
--   whose FLOW_REQ was seen but whose first SDU is not a cep_msg is an
--   application's flow (oping-dix, ...). State is learnt in capture order
--   on the first pass.
--
--   HEURISTIC: a flow whose start is not in the capture has no state; its
--   SDUs are then classified by their shape: a cep_msg; an enrollment
--   message (protobuf with exactly the fields of one of the three); an LSU
--   (exactly 24 bytes, both addresses non-zero and below 2^32, as the flat
--   address policy makes them, seqno below 2^32); a DT PCI (non-zero
--   destination, QoS cube 0..2, TTL 1..max TTL, and eid 0 followed by 61
--   bytes or more with an FA code 0..2 at offset 58, eid 1 followed by a
--   protobuf whose first field is field 1, a varint, or eid >= 64 whose
--   low 32 bits, the flow slot, are below 65536); the same behind a
--   12-byte FRCT PCI (a lower flow with in-order QoS); else plain data.
--   The preference "Heuristics" turns this off (unknown flows are then
--   shown as data). An empty SDU is a keepalive; an FRCT PDU without
--   DATA is FRCT control (ACK, window, rendezvous).
--
-- * DT PCI (SYSTEM §8.3): destination address, QoS cube, TTL, ECN,
--   endpoint id. The widths are layer policies and therefore preferences
--   (defaults: address 4, cube 1, TTL 1, ECN 1, eid 8 bytes, as our
--   testbed and the reference use), and so is the byte order of the
--   address and eid (host order in the reference: little-endian). The
--   address is also shown as ADDR_FMT32 ("3d.ff.81.82"), as otb inspect
--   and the node's logs print it. eid 0 is the flow allocator, eid 1 the
--   DHT, eid >= 64 an N+1 flow.
--
-- * Flow allocator (SYSTEM §8.6): the 61-byte fa_msg (FLOW_REQ,
--   FLOW_REPLY, FLOW_UPDATE), then a FLOW_REQ's name hash and OAP request
--   or a FLOW_REPLY's OAP response. The dissector remembers each flow's
--   endpoint ids, QoS and name from these, so that it knows which N+1
--   packets (DT eid >= 64) carry an FRCT PCI and a CRC, and which are
--   encrypted (the OAP response names a cipher).
--
--   HEURISTIC: an N+1 packet whose flow allocation is not in the capture
--   gets an FRCT PCI if its first 12 bytes look like one (flags a non-zero
--   combination of the defined bits, seqno 0 unless DATA, ackno 0 unless
--   ACK, window 0 unless FC); preference "FRCT on N+1 flows" says always
--   or never instead.
--
-- * DHT (SYSTEM §8.7, §10.5): dht_msg (code, src contact, store, find,
--   node contacts, values), keys resolved to names, values and addresses
--   in ADDR_FMT32.
--
-- * Link state (SYSTEM §8.8): LSU dst, src, seqno (all 64-bit BE).
--
-- * Enrollment (SYSTEM §8.5, §10.4): enroll_req_msg, enroll_resp_msg with
--   the whole ipcp_config_msg (layer, hash algorithm, DT sizes, routing,
--   DHT and congestion policies), enroll_ack_msg. Which of the three a
--   message is follows from its fields (the protobuf does not say).
--
-- * CEP (SYSTEM §8.4): cep_msg comp_name, protocol, version, syntax,
--   address.
--
-- * FRCT PCI (APP §4.2): flags (DATA, DRF, ACK, FC, RDVS, FFGM, MFGM),
--   window (24 bits), seqno, ackno, and the CRC32 when the QoS has ber 0
--   (checked).
--
-- * OAP (SYSTEM §2.13, APP §5.4): id, timestamp, cipher/KDF/digest NIDs,
--   certificate, key exchange (with its F and R bits), data, the request
--   hash of a response, the signature.
--
-- * oping (APP §6.1), as a courtesy: type, id and send time of an N+1
--   flow's SDU when the flow's name starts with "oping", or, HEURISTIC, when
--   the SDU looks like one (64 bytes or more, type 0 or 1, tv_nsec below
--   10^9), which a shim flow's SDUs are tried for too when they are none
--   of the above; preference "oping" turns it off.
--
-- Names: names never travel in the clear, only their hash (SHA3-224/256/
-- 384/512 in Ethernet and unicast layers, MD5 in UDP layers). The
-- preference "Names" lists names to recognise; the dissector hashes each
-- with every algorithm and shows the name next to a hash that matches. The
-- default holds the names of topologies/default.yaml and shims.yaml.
--
-- What it cannot decode: encrypted flows (OAP agreed a cipher) show the
-- IV/ciphertext only; the FRCT PCI is inside the ciphertext. A hash of a
-- name not in the preference stays a hash. A flow allocator's name hash
-- length is the layer's (SHA3-256 by default) and is not in the message:
-- the dissector takes the length at which the OAP header that follows
-- parses exactly (32 when none does; the "Hash length" preference fixes
-- it). The DT PCI's field widths are not on the wire either (enrollment
-- carries addr_size and eid_size, but not which capture they go with):
-- they are preferences.

---------------------------------------------------------------------------
-- 32-bit operations: bit32 (Lua 5.2), Wireshark's bit (LuaBitOp), or the
-- native operators (Lua 5.3+, loaded from a string so 5.2 can parse this).

local band, bor, bxor, bnot, lshift, rshift
if bit32 then
    band, bor, bxor, bnot, lshift, rshift = bit32.band, bit32.bor, bit32.bxor, bit32.bnot, bit32.lshift, bit32.rshift
elseif bit then
    local function u(x) return x % 4294967296 end
    band = function(...) return u(bit.band(...)) end
    bor = function(...) return u(bit.bor(...)) end
    bxor = function(...) return u(bit.bxor(...)) end
    bnot = function(x) return u(bit.bnot(x)) end
    lshift = function(x, n) return u(bit.lshift(x, n)) end
    rshift = function(x, n) return u(bit.rshift(x, n)) end
else
    band, bor, bxor, bnot, lshift, rshift = load([[
        local M = 0xffffffff
        local function i(x) return math.tointeger(x) end
        return function(a, b, c) local r = i(a) & i(b); if c then r = r & i(c) end return r & M end,
               function(a, b, c) local r = i(a) | i(b); if c then r = r | i(c) end return r & M end,
               function(a, b, c) local r = i(a) ~ i(b); if c then r = r ~ i(c) end return r & M end,
               function(a) return (~i(a)) & M end,
               function(a, n) return (i(a) << n) & M end,
               function(a, n) return (i(a) & M) >> n end
    ]])()
end

local floor = math.floor

---------------------------------------------------------------------------
-- Hashes, to recognise names: SHA3 (Keccak-f[1600] on 32-bit halves), MD5,
-- and CRC32 (the FRCT CRC).

local KRC = {
    { 0x00000000, 0x00000001 }, { 0x00000000, 0x00008082 }, { 0x80000000, 0x0000808A }, { 0x80000000, 0x80008000 },
    { 0x00000000, 0x0000808B }, { 0x00000000, 0x80000001 }, { 0x80000000, 0x80008081 }, { 0x80000000, 0x00008009 },
    { 0x00000000, 0x0000008A }, { 0x00000000, 0x00000088 }, { 0x00000000, 0x80008009 }, { 0x00000000, 0x8000000A },
    { 0x00000000, 0x8000808B }, { 0x80000000, 0x0000008B }, { 0x80000000, 0x00008089 }, { 0x80000000, 0x00008003 },
    { 0x80000000, 0x00008002 }, { 0x80000000, 0x00000080 }, { 0x00000000, 0x0000800A }, { 0x80000000, 0x8000000A },
    { 0x80000000, 0x80008081 }, { 0x80000000, 0x00008080 }, { 0x00000000, 0x80000001 }, { 0x80000000, 0x80008008 },
}
local KROT = { [0] = 0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14 }

local function rot64(hi, lo, n)
    if n >= 32 then hi, lo, n = lo, hi, n - 32 end
    if n == 0 then return hi, lo end
    return bor(lshift(hi, n), rshift(lo, 32 - n)), bor(lshift(lo, n), rshift(hi, 32 - n))
end

local function keccakf(H, L)
    local CH, CL, BH, BL = {}, {}, {}, {}
    for round = 1, 24 do
        for x = 0, 4 do
            CH[x] = bxor(H[x], H[x + 5], bxor(H[x + 10], H[x + 15], H[x + 20]))
            CL[x] = bxor(L[x], L[x + 5], bxor(L[x + 10], L[x + 15], L[x + 20]))
        end
        for x = 0, 4 do
            local rh, rl = rot64(CH[(x + 1) % 5], CL[(x + 1) % 5], 1)
            local dh, dl = bxor(CH[(x + 4) % 5], rh), bxor(CL[(x + 4) % 5], rl)
            for y = 0, 20, 5 do
                H[x + y], L[x + y] = bxor(H[x + y], dh), bxor(L[x + y], dl)
            end
        end
        for x = 0, 4 do
            for y = 0, 4 do
                local i = x + 5 * y
                local j = y + 5 * ((2 * x + 3 * y) % 5)
                BH[j], BL[j] = rot64(H[i], L[i], KROT[i])
            end
        end
        for y = 0, 20, 5 do
            for x = 0, 4 do
                local a, b = y + (x + 1) % 5, y + (x + 2) % 5
                H[y + x] = bxor(BH[y + x], band(bnot(BH[a]), BH[b]))
                L[y + x] = bxor(BL[y + x], band(bnot(BL[a]), BL[b]))
            end
        end
        H[0], L[0] = bxor(H[0], KRC[round][1]), bxor(L[0], KRC[round][2])
    end
end

local function sha3(msg, outlen)
    local rate = 200 - 2 * outlen
    local H, L = {}, {}
    for i = 0, 24 do H[i], L[i] = 0, 0 end
    local bytes = { msg:byte(1, -1) }
    local n = #bytes
    bytes[n + 1] = 0x06
    for i = n + 2, (floor(n / rate) + 1) * rate do bytes[i] = 0 end
    local last = #bytes
    bytes[last] = bor(bytes[last], 0x80)
    for blk = 0, last - 1, rate do
        for w = 0, rate / 8 - 1 do
            local o = blk + w * 8
            local lo = bytes[o + 1] + bytes[o + 2] * 256 + bytes[o + 3] * 65536 + bytes[o + 4] * 16777216
            local hi = bytes[o + 5] + bytes[o + 6] * 256 + bytes[o + 7] * 65536 + bytes[o + 8] * 16777216
            L[w], H[w] = bxor(L[w], lo), bxor(H[w], hi)
        end
        keccakf(H, L)
    end
    local out = {}
    for i = 0, outlen - 1 do
        local w = floor(i / 8)
        local v = (i % 8 < 4) and L[w] or H[w]
        out[#out + 1] = string.char(floor(v / 256 ^ (i % 4)) % 256)
    end
    return table.concat(out)
end

local MD5K = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
}
local MD5S = { 7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21 }

local function md5(msg)
    local n = #msg
    local bytes = { msg:byte(1, -1) }
    bytes[n + 1] = 0x80
    while (#bytes % 64) ~= 56 do bytes[#bytes + 1] = 0 end
    local bits = n * 8
    for i = 0, 7 do bytes[#bytes + 1] = floor(bits / 256 ^ i) % 256 end
    local a0, b0, c0, d0 = 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
    for blk = 0, #bytes - 1, 64 do
        local M = {}
        for i = 0, 15 do
            local o = blk + i * 4
            M[i] = bytes[o + 1] + bytes[o + 2] * 256 + bytes[o + 3] * 65536 + bytes[o + 4] * 16777216
        end
        local A, B, C, D = a0, b0, c0, d0
        for i = 0, 63 do
            local F, g
            if i < 16 then
                F, g = bor(band(B, C), band(bnot(B), D)), i
            elseif i < 32 then
                F, g = bor(band(D, B), band(bnot(D), C)), (5 * i + 1) % 16
            elseif i < 48 then
                F, g = bxor(B, C, D), (3 * i + 5) % 16
            else
                F, g = bxor(C, bor(B, bnot(D))), (7 * i) % 16
            end
            local s = MD5S[floor(i / 16) * 4 + i % 4 + 1]
            local x = (A + F + MD5K[i + 1] + M[g]) % 4294967296
            A, D, C = D, C, B
            B = (B + bor(lshift(x, s), rshift(x, 32 - s))) % 4294967296
        end
        a0, b0, c0, d0 = (a0 + A) % 4294967296, (b0 + B) % 4294967296, (c0 + C) % 4294967296, (d0 + D) % 4294967296
    end
    local out = {}
    for _, v in ipairs({ a0, b0, c0, d0 }) do
        for i = 0, 3 do out[#out + 1] = string.char(floor(v / 256 ^ i) % 256) end
    end
    return table.concat(out)
end

local CRCT
local function crc32(s)
    if not CRCT then
        CRCT = {}
        for i = 0, 255 do
            local c = i
            for _ = 1, 8 do
                if c % 2 == 1 then c = bxor(0xEDB88320, rshift(c, 1)) else c = rshift(c, 1) end
            end
            CRCT[i] = c
        end
    end
    local c = 0xFFFFFFFF
    for i = 1, #s do
        c = bxor(CRCT[bxor(band(c, 0xFF), s:byte(i))], rshift(c, 8))
    end
    return bxor(c, 0xFFFFFFFF)
end

local function hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

---------------------------------------------------------------------------
-- Protocols and fields.

local P = {
    top    = Proto("ouroboros", "Ouroboros"),
    dix    = Proto("ouroboros_dix", "Ouroboros eth-dix"),
    llc    = Proto("ouroboros_llc", "Ouroboros eth-llc"),
    udp    = Proto("ouroboros_udp", "Ouroboros udp"),
    cep    = Proto("ouroboros_cep", "Ouroboros connection establishment (cep_msg)"),
    enroll = Proto("ouroboros_enroll", "Ouroboros enrollment (OEP)"),
    ls     = Proto("ouroboros_ls", "Ouroboros link-state update"),
    dt     = Proto("ouroboros_dt", "Ouroboros DT PCI"),
    fa     = Proto("ouroboros_fa", "Ouroboros flow allocator"),
    dht    = Proto("ouroboros_dht", "Ouroboros DHT"),
    frct   = Proto("ouroboros_frct", "Ouroboros FRCT PCI"),
    oap    = Proto("ouroboros_oap", "Ouroboros OAP header"),
    oping  = Proto("ouroboros_oping", "Ouroboros oping"),
}

local cube_names = { [0] = "BE", [1] = "video", [2] = "voice" }
local eth_codes = { [0] = "FLOW_REQ", [1] = "FLOW_REPLY", [2] = "NAME_QUERY_REQ", [3] = "NAME_QUERY_REPLY" }
local udp_codes = { [1] = "FLOW_REQ", [2] = "FLOW_REPLY" }
local fa_codes = { [0] = "FLOW_REQ", [1] = "FLOW_REPLY", [2] = "FLOW_UPDATE" }
local dht_codes = { [0] = "STORE", [1] = "FIND_NODE_REQ", [2] = "FIND_NODE_RSP", [3] = "FIND_VALUE_REQ", [4] = "FIND_VALUE_RSP" }
local hash_algos = { [0] = "SHA3_224", [1] = "SHA3_256", [2] = "SHA3_384", [3] = "SHA3_512", [4] = "CRC32", [5] = "MD5" }
local ipcp_types = { [0] = "local", [1] = "unicast", [2] = "broadcast", [3] = "eth-llc", [4] = "eth-dix", [5] = "udp4", [6] = "udp6" }
local syntaxes = { [0] = "GPB", [1] = "ASN.1", [2] = "FIXED" }
local ls_pols = { [0] = "simple", [1] = "lfa", [2] = "ecmp" }
local ca_pols = { [0] = "none", [1] = "mb-ecn" }
local oping_types = { [0] = "ECHO_REQUEST", [1] = "ECHO_REPLY" }
-- OpenSSL NIDs that OAP names (stack/crypt/alg.go).
local cipher_nids = { [0] = "none", [904] = "aes-128-ctr", [905] = "aes-192-ctr", [906] = "aes-256-ctr",
    [895] = "aes-128-gcm", [898] = "aes-192-gcm", [901] = "aes-256-gcm", [1018] = "chacha20-poly1305" }
local digest_nids = { [0] = "none", [672] = "sha256", [673] = "sha384", [674] = "sha512", [1097] = "sha3-256",
    [1098] = "sha3-384", [1099] = "sha3-512", [1056] = "blake2b512", [1057] = "blake2s256" }

-- Shim management message fields, one set per shim protocol.
local function mgmt_fields(pfx, eidbits, codes)
    local eid = eidbits == 16 and ProtoField.uint16 or ProtoField.uint32
    return {
        seid      = eid(pfx .. ".mgmt.seid", "Sender's endpoint id (seid)", base.DEC),
        deid      = eid(pfx .. ".mgmt.deid", "Destination endpoint id (deid)", base.DEC),
        ssap      = ProtoField.uint8(pfx .. ".mgmt.ssap", "Sender's SAP (ssap)", base.DEC),
        dsap      = ProtoField.uint8(pfx .. ".mgmt.dsap", "Destination SAP (dsap)", base.DEC),
        loss      = ProtoField.uint32(pfx .. ".mgmt.qos.loss", "QoS loss", base.DEC),
        bandwidth = ProtoField.uint64(pfx .. ".mgmt.qos.bandwidth", "QoS bandwidth", base.DEC),
        ber       = ProtoField.uint32(pfx .. ".mgmt.qos.ber", "QoS BER", base.DEC),
        max_gap   = ProtoField.uint32(pfx .. ".mgmt.qos.max_gap", "QoS max gap", base.DEC),
        delay     = ProtoField.uint32(pfx .. ".mgmt.qos.delay", "QoS delay", base.DEC),
        timeout   = ProtoField.uint32(pfx .. ".mgmt.qos.timeout", "QoS timeout", base.DEC),
        response  = ProtoField.int32(pfx .. ".mgmt.response", "Response", base.DEC),
        in_order  = ProtoField.uint8(pfx .. ".mgmt.qos.in_order", "QoS in order", base.DEC),
        code      = ProtoField.uint8(pfx .. ".mgmt.code", "Code", base.DEC, codes),
        avail     = ProtoField.uint8(pfx .. ".mgmt.qos.availability", "QoS availability", base.DEC),
        hash      = ProtoField.bytes(pfx .. ".mgmt.hash", "Name hash"),
        name      = ProtoField.string(pfx .. ".mgmt.name", "Name"),
        body      = ProtoField.bytes(pfx .. ".mgmt.body", "Body"),
    }
end

local F = {}
F.dix = mgmt_fields("ouroboros_dix", 16, eth_codes)
F.dix.eid = ProtoField.uint16("ouroboros_dix.eid", "Endpoint id", base.DEC, nil, nil,
    "0: management; otherwise the receiver's local fd")
F.dix.len = ProtoField.uint16("ouroboros_dix.len", "Payload length", base.DEC)
F.dix.payload = ProtoField.bytes("ouroboros_dix.payload", "Payload")
F.dix.padding = ProtoField.bytes("ouroboros_dix.padding", "Padding")

F.llc = mgmt_fields("ouroboros_llc", 16, eth_codes)
F.llc.dsap_num = ProtoField.uint8("ouroboros_llc.dsap", "DSAP (bits reversed back)", base.DEC, nil, nil,
    "1: management; otherwise the receiver's SAP")
F.llc.ssap_num = ProtoField.uint8("ouroboros_llc.ssap", "SSAP (bits reversed back)", base.DEC)
F.llc.payload = ProtoField.bytes("ouroboros_llc.payload", "Payload")

F.udp = mgmt_fields("ouroboros_udp", 32, udp_codes)
F.udp.eid = ProtoField.uint32("ouroboros_udp.eid", "Endpoint id", base.DEC, nil, nil,
    "0: management; otherwise the receiver's local fd")
F.udp.payload = ProtoField.bytes("ouroboros_udp.payload", "Payload")

F.top = {
    flow     = ProtoField.string("ouroboros.flow", "Flow"),
    kind     = ProtoField.string("ouroboros.carries", "Carries"),
    data     = ProtoField.bytes("ouroboros.data", "Data"),
    pb_field = ProtoField.bytes("ouroboros.pb.unknown", "Unknown protobuf field"),
    crc      = ProtoField.uint32("ouroboros.crc", "CRC32", base.HEX),
    crc_ok   = ProtoField.bool("ouroboros.crc.ok", "CRC32 good"),
    cipher   = ProtoField.bytes("ouroboros.encrypted", "Encrypted PDU"),
    iv       = ProtoField.bytes("ouroboros.iv", "IV"),
    ctext    = ProtoField.bytes("ouroboros.ciphertext", "Ciphertext ([FRCT PCI] SDU)"),
    tag      = ProtoField.bytes("ouroboros.tag", "Tag"),
}

F.cep = {
    comp_name    = ProtoField.string("ouroboros_cep.comp_name", "Component"),
    protocol     = ProtoField.string("ouroboros_cep.protocol", "Protocol"),
    pref_version = ProtoField.int32("ouroboros_cep.pref_version", "Preferred version"),
    supp_version = ProtoField.int32("ouroboros_cep.supp_version", "Supported version"),
    pref_syntax  = ProtoField.int32("ouroboros_cep.pref_syntax", "Preferred syntax", base.DEC, syntaxes),
    supp_syntax  = ProtoField.int32("ouroboros_cep.supp_syntax", "Supported syntax", base.DEC, syntaxes),
    syntax_spec  = ProtoField.bytes("ouroboros_cep.syntax_spec", "Syntax spec"),
    address      = ProtoField.string("ouroboros_cep.address", "Address"),
    address_raw  = ProtoField.uint64("ouroboros_cep.address_raw", "Address value", base.HEX),
}

F.enroll = {
    type          = ProtoField.string("ouroboros_enroll.type", "Message"),
    id            = ProtoField.bytes("ouroboros_enroll.id", "Id"),
    t_sec         = ProtoField.int64("ouroboros_enroll.t_sec", "Time (s)"),
    t_nsec        = ProtoField.int32("ouroboros_enroll.t_nsec", "Time (ns)"),
    response      = ProtoField.int32("ouroboros_enroll.response", "Response"),
    result        = ProtoField.int32("ouroboros_enroll.result", "Result"),
    conf          = ProtoField.bytes("ouroboros_enroll.conf", "Configuration"),
    layer         = ProtoField.string("ouroboros_enroll.layer", "Layer"),
    hash_algo     = ProtoField.uint32("ouroboros_enroll.dir_hash_algo", "Directory hash", base.DEC, hash_algos),
    ipcp_type     = ProtoField.uint32("ouroboros_enroll.ipcp_type", "IPCP type", base.DEC, ipcp_types),
    addr_size     = ProtoField.uint32("ouroboros_enroll.addr_size", "Address size"),
    eid_size      = ProtoField.uint32("ouroboros_enroll.eid_size", "Endpoint id size"),
    max_ttl       = ProtoField.uint32("ouroboros_enroll.max_ttl", "Max TTL"),
    routing       = ProtoField.uint32("ouroboros_enroll.routing", "Routing policy", base.DEC, { [0] = "link state" }),
    ls_pol        = ProtoField.uint32("ouroboros_enroll.ls.pol", "Link-state policy", base.DEC, ls_pols),
    t_recalc      = ProtoField.uint32("ouroboros_enroll.ls.t_recalc", "t_recalc (s)"),
    t_update      = ProtoField.uint32("ouroboros_enroll.ls.t_update", "t_update (s)"),
    t_timeo       = ProtoField.uint32("ouroboros_enroll.ls.t_timeo", "t_timeo (s)"),
    dir_pol       = ProtoField.uint32("ouroboros_enroll.dir", "Directory policy", base.DEC, { [0] = "DHT" }),
    alpha         = ProtoField.uint32("ouroboros_enroll.dht.alpha", "DHT alpha"),
    k             = ProtoField.uint32("ouroboros_enroll.dht.k", "DHT k"),
    t_expire      = ProtoField.uint32("ouroboros_enroll.dht.t_expire", "DHT t_expire (s)"),
    t_refresh     = ProtoField.uint32("ouroboros_enroll.dht.t_refresh", "DHT t_refresh (s)"),
    t_replicate   = ProtoField.uint32("ouroboros_enroll.dht.t_replicate", "DHT t_replicate (s)"),
    peer          = ProtoField.string("ouroboros_enroll.dht.peer", "DHT peer"),
    addr_auth     = ProtoField.uint32("ouroboros_enroll.addr_auth", "Address authority", base.DEC, { [0] = "flat" }),
    cong_avoid    = ProtoField.uint32("ouroboros_enroll.cong_avoid", "Congestion avoidance", base.DEC, ca_pols),
    eth_dev       = ProtoField.string("ouroboros_enroll.eth.dev", "Ethernet device"),
    ethertype     = ProtoField.uint32("ouroboros_enroll.eth.ethertype", "Ethertype", base.HEX),
    udp4_ip       = ProtoField.uint32("ouroboros_enroll.udp4.ip", "UDP address (in_addr value)", base.HEX),
    udp4_dns      = ProtoField.uint32("ouroboros_enroll.udp4.dns", "DNS address (in_addr value)", base.HEX),
    udp_ip        = ProtoField.bytes("ouroboros_enroll.udp.ip", "UDP address"),
    udp_port      = ProtoField.uint32("ouroboros_enroll.udp.port", "UDP port"),
    udp_dns       = ProtoField.bytes("ouroboros_enroll.udp.dns", "DNS address"),
    sub           = ProtoField.bytes("ouroboros_enroll.sub", "Sub-message"),
}

F.ls = {
    dst       = ProtoField.string("ouroboros_ls.dst", "Destination address"),
    src       = ProtoField.string("ouroboros_ls.src", "Source address"),
    dst_raw   = ProtoField.uint64("ouroboros_ls.dst_raw", "Destination address value", base.HEX),
    src_raw   = ProtoField.uint64("ouroboros_ls.src_raw", "Source address value", base.HEX),
    seqno     = ProtoField.uint64("ouroboros_ls.seqno", "Sequence number", base.DEC),
}

F.dt = {
    dst     = ProtoField.string("ouroboros_dt.dst", "Destination address"),
    dst_raw = ProtoField.uint64("ouroboros_dt.dst_raw", "Destination address value", base.HEX),
    qc      = ProtoField.uint32("ouroboros_dt.qc", "QoS cube", base.DEC, cube_names),
    ttl     = ProtoField.uint32("ouroboros_dt.ttl", "TTL", base.DEC),
    ecn     = ProtoField.uint32("ouroboros_dt.ecn", "ECN", base.DEC),
    eid     = ProtoField.uint64("ouroboros_dt.eid", "Endpoint id", base.HEX),
    comp    = ProtoField.string("ouroboros_dt.component", "Component"),
    sdu     = ProtoField.bytes("ouroboros_dt.sdu", "SDU"),
}

F.fa = {
    s_addr     = ProtoField.string("ouroboros_fa.s_addr", "Requester address"),
    s_addr_raw = ProtoField.uint64("ouroboros_fa.s_addr_raw", "Requester address value", base.HEX),
    r_eid      = ProtoField.uint64("ouroboros_fa.r_eid", "Receiver's endpoint id (r_eid)", base.HEX),
    s_eid      = ProtoField.uint64("ouroboros_fa.s_eid", "Sender's endpoint id (s_eid)", base.HEX),
    bandwidth  = ProtoField.uint64("ouroboros_fa.qos.bandwidth", "QoS bandwidth", base.DEC),
    response   = ProtoField.int32("ouroboros_fa.response", "Response", base.DEC),
    delay      = ProtoField.uint32("ouroboros_fa.qos.delay", "QoS delay", base.DEC),
    loss       = ProtoField.uint32("ouroboros_fa.qos.loss", "QoS loss", base.DEC),
    ber        = ProtoField.uint32("ouroboros_fa.qos.ber", "QoS BER", base.DEC),
    max_gap    = ProtoField.uint32("ouroboros_fa.qos.max_gap", "QoS max gap", base.DEC),
    timeout    = ProtoField.uint32("ouroboros_fa.qos.timeout", "QoS timeout", base.DEC),
    ece        = ProtoField.uint16("ouroboros_fa.ece", "ECE (congestion)", base.DEC),
    code       = ProtoField.uint8("ouroboros_fa.code", "Code", base.DEC, fa_codes),
    avail      = ProtoField.uint8("ouroboros_fa.qos.availability", "QoS availability", base.DEC),
    in_order   = ProtoField.uint8("ouroboros_fa.qos.in_order", "QoS in order", base.DEC),
    hash       = ProtoField.bytes("ouroboros_fa.hash", "Name hash"),
    name       = ProtoField.string("ouroboros_fa.name", "Name"),
    trailer    = ProtoField.bytes("ouroboros_fa.trailer", "Trailing bytes"),
}

F.dht = {
    code        = ProtoField.uint32("ouroboros_dht.code", "Code", base.DEC, dht_codes),
    src         = ProtoField.bytes("ouroboros_dht.src", "Source"),
    id          = ProtoField.bytes("ouroboros_dht.id", "Node id"),
    addr        = ProtoField.string("ouroboros_dht.addr", "Address"),
    store       = ProtoField.bytes("ouroboros_dht.store", "Store"),
    find        = ProtoField.bytes("ouroboros_dht.find", "Find request"),
    node        = ProtoField.bytes("ouroboros_dht.node", "Node response"),
    val         = ProtoField.bytes("ouroboros_dht.val", "Value response"),
    contact     = ProtoField.bytes("ouroboros_dht.contact", "Contact"),
    key         = ProtoField.bytes("ouroboros_dht.key", "Key"),
    key_name    = ProtoField.string("ouroboros_dht.key_name", "Key name"),
    value       = ProtoField.string("ouroboros_dht.value", "Value (address)"),
    value_bytes = ProtoField.bytes("ouroboros_dht.value_bytes", "Value"),
    exp         = ProtoField.absolute_time("ouroboros_dht.exp", "Expires", base.UTC),
    cookie      = ProtoField.uint64("ouroboros_dht.cookie", "Cookie", base.HEX),
}

F.frct = {
    flags  = ProtoField.uint8("ouroboros_frct.flags", "Flags", base.HEX),
    f_data = ProtoField.bool("ouroboros_frct.flags.data", "DATA", 8, nil, 0x01),
    f_drf  = ProtoField.bool("ouroboros_frct.flags.drf", "DRF (start of a data run)", 8, nil, 0x02),
    f_ack  = ProtoField.bool("ouroboros_frct.flags.ack", "ACK", 8, nil, 0x04),
    f_fc   = ProtoField.bool("ouroboros_frct.flags.fc", "FC (window valid)", 8, nil, 0x08),
    f_rdvs = ProtoField.bool("ouroboros_frct.flags.rdvs", "RDVS (rendezvous)", 8, nil, 0x10),
    f_ffgm = ProtoField.bool("ouroboros_frct.flags.ffgm", "FFGM", 8, nil, 0x20),
    f_mfgm = ProtoField.bool("ouroboros_frct.flags.mfgm", "MFGM", 8, nil, 0x40),
    window = ProtoField.uint24("ouroboros_frct.window", "Window (right edge, low 24 bits)", base.DEC),
    seqno  = ProtoField.uint32("ouroboros_frct.seqno", "Sequence number", base.DEC),
    ackno  = ProtoField.uint32("ouroboros_frct.ackno", "Acknowledgement number", base.DEC),
}

F.oap = {
    kind      = ProtoField.string("ouroboros_oap.kind", "Kind"),
    id        = ProtoField.bytes("ouroboros_oap.id", "Id"),
    stamp     = ProtoField.absolute_time("ouroboros_oap.timestamp", "Timestamp", base.UTC),
    cipher    = ProtoField.uint16("ouroboros_oap.cipher_nid", "Cipher NID", base.DEC, cipher_nids),
    kdf       = ProtoField.uint16("ouroboros_oap.kdf_nid", "KDF NID", base.DEC, digest_nids),
    md        = ProtoField.uint16("ouroboros_oap.md_nid", "Digest NID", base.DEC, digest_nids),
    crt_len   = ProtoField.uint16("ouroboros_oap.crt_len", "Certificate length", base.DEC),
    kex_field = ProtoField.uint16("ouroboros_oap.kex_field", "Key exchange length and flags", base.HEX),
    kex_f     = ProtoField.bool("ouroboros_oap.kex.f", "F (raw/hybrid key)", 16, nil, 0x8000),
    kex_r     = ProtoField.bool("ouroboros_oap.kex.r", "R (client encapsulates)", 16, nil, 0x4000),
    kex_len   = ProtoField.uint16("ouroboros_oap.kex_len", "Key exchange length", base.DEC, nil, 0x3fff),
    data_len  = ProtoField.uint16("ouroboros_oap.data_len", "Data length", base.DEC),
    crt       = ProtoField.bytes("ouroboros_oap.certificate", "Certificate"),
    kex       = ProtoField.bytes("ouroboros_oap.kex", "Key exchange data"),
    data      = ProtoField.bytes("ouroboros_oap.data", "Data"),
    req_hash  = ProtoField.bytes("ouroboros_oap.req_hash", "Request hash"),
    sig       = ProtoField.bytes("ouroboros_oap.signature", "Signature"),
}

F.oping = {
    type    = ProtoField.uint32("ouroboros_oping.type", "Type", base.DEC, oping_types),
    id      = ProtoField.uint32("ouroboros_oping.id", "Id", base.DEC),
    tv_sec  = ProtoField.uint64("ouroboros_oping.tv_sec", "Send time (s, monotonic)", base.DEC),
    tv_nsec = ProtoField.uint64("ouroboros_oping.tv_nsec", "Send time (ns)", base.DEC),
    pad     = ProtoField.bytes("ouroboros_oping.padding", "Padding"),
}

for k, p in pairs(P) do
    local fs = {}
    for _, f in pairs(F[k] or {}) do fs[#fs + 1] = f end
    p.fields = fs
end

local E = {
    short   = ProtoExpert.new("ouroboros.short", "Shorter than its header or length says",
        expert.group.MALFORMED, expert.severity.ERROR),
    mgmt    = ProtoExpert.new("ouroboros.mgmt.short", "Management message shorter than its fixed part",
        expert.group.MALFORMED, expert.severity.ERROR),
    pb      = ProtoExpert.new("ouroboros.pb.bad", "Protobuf message does not parse",
        expert.group.MALFORMED, expert.severity.ERROR),
    oap     = ProtoExpert.new("ouroboros.oap.bad", "OAP header lengths do not add up",
        expert.group.MALFORMED, expert.severity.ERROR),
    lsu     = ProtoExpert.new("ouroboros.ls.len", "Management SDU of another length than 24: not an LSU (dropped by the receiver)",
        expert.group.PROTOCOL, expert.severity.WARN),
    crc     = ProtoExpert.new("ouroboros.crc.bad", "CRC32 does not match",
        expert.group.CHECKSUM, expert.severity.WARN),
    other   = ProtoExpert.new("ouroboros.llc.other", "Not eth-llc; the SAP's own dissector failed",
        expert.group.MALFORMED, expert.severity.ERROR),
    heur    = ProtoExpert.new("ouroboros.heuristic", "Classified by a heuristic: the flow's start is not in the capture",
        expert.group.ASSUMPTION, expert.severity.NOTE),
}
P.top.experts = { E.short, E.mgmt, E.pb, E.oap, E.lsu, E.crc, E.other, E.heur }

---------------------------------------------------------------------------
-- Preferences.

P.dix.prefs.ethertype = Pref.uint("Ethertype", 0xA000, "The eth-dix layer's ethertype (default 0xA000)")
P.udp.prefs.port = Pref.uint("UDP port", 3435, "The udp4/udp6 layers' UDP port (default 3435)")
P.llc.prefs.enabled = Pref.bool("Dissect eth-llc", true,
    "Register for the LLC SAPs of eth-llc (1..65, bit-reversed); frames that do not look like "
    .. "eth-llc go back to the SAP's own dissector")

local hash_lens = {
    { 1, "auto", 0 }, { 2, "sha3-224", 28 }, { 3, "sha3-256", 32 }, { 4, "sha3-384", 48 }, { 5, "sha3-512", 64 },
    { 6, "md5", 16 },
}
local frct_modes = { { 1, "auto", 1 }, { 2, "always", 2 }, { 3, "never", 3 } }

local pr = P.top.prefs
pr.addr_size = Pref.uint("DT address size", 4, "addr_size of the unicast layer (bytes; the flat policy needs 4)")
pr.qos_size = Pref.uint("DT QoS cube size", 1, "bytes of the QoS cube field (0: absent)")
pr.ttl_size = Pref.uint("DT TTL size", 1, "bytes of the TTL field (0: absent)")
pr.ecn_size = Pref.uint("DT ECN size", 1, "bytes of the ECN field (0: absent)")
pr.eid_size = Pref.uint("DT endpoint id size", 8, "eid_size of the unicast layer (bytes)")
pr.host_le = Pref.bool("DT address and eid little-endian", true,
    "The reference memcpys the address and eid in host order: little-endian on x86 and ARM")
pr.max_ttl = Pref.uint("Max TTL", 60, "the layer's max_ttl; the DT heuristic takes TTLs 1..max_ttl")
pr.heuristics = Pref.bool("Heuristics", true,
    "Classify the SDUs of shim flows whose start (FLOW_REQ, cep_msg) is not in the capture by their shape")
pr.frct = Pref.enum("FRCT on N+1 flows", 1,
    "N+1 flows whose allocation is not in the capture: auto (if the first 12 bytes look like an FRCT PCI), always, never",
    frct_modes, false)
pr.hash_len = Pref.enum("Hash length", 0,
    "Name hash length in flow allocator and eth FLOW_REQs: auto (where the OAP header then parses), or fixed",
    hash_lens, false)
pr.names = Pref.string("Names", "oping,operf,oecho,ocbr,ovpn,net,net.a,net.b,net.c,net.d,oping-dix,operf-dix,"
    .. "oping-udp,operf-udp,oping-llc,operf-llc,oping-udp4,operf-udp4,oping-udp6,operf-udp6",
    "Comma-separated names to recognise by their hash")
pr.oping = Pref.bool("oping", true, "Decode oping's SDUs")

---------------------------------------------------------------------------
-- State, learnt in capture order on the first pass; reset for every file.

local ends      -- shim flow end key -> flow record {qos, name, comp, cipher}
local np1       -- N+1 flow endpoint id (hex) -> flow record {qos, name, cipher}
local cache     -- frame number -> tag -> decision made on the first pass
local names = {} -- hash (hex) -> name

local llc_seen -- frame number -> SAPs and MACs of an 802.3 frame
local function reset()
    ends, np1, cache, llc_seen = {}, {}, {}, {}
end
reset()
P.top.init = reset

local function recompute_names()
    names = {}
    for n in string.gmatch(pr.names or "", "[^,%s]+") do
        names[hex(sha3(n, 28))] = n
        names[hex(sha3(n, 32))] = n
        names[hex(sha3(n, 48))] = n
        names[hex(sha3(n, 64))] = n
        names[hex(md5(n))] = n
    end
end
recompute_names()

-- remember returns what fn decides for this frame and tag: computed on the
-- first pass (fn(true) may learn state), replayed on later passes.
local function remember(pinfo, tag, fn)
    local c = cache[pinfo.number]
    if pinfo.visited and c and c[tag] ~= nil then return c[tag] end
    local v = fn(not pinfo.visited)
    if not c then
        c = {}
        cache[pinfo.number] = c
    end
    c[tag] = v
    return v
end

---------------------------------------------------------------------------
-- Helpers.

local function u64(lo, hi) return UInt64.new(lo, hi or 0) end

-- A DT PCI field width from the preferences, at most 8 bytes.
local function psz(k) return math.min(pr[k], 8) end

-- ADDR_FMT32: the 4 bytes of the address in memory (little-endian) order.
local function addr_fmt(v)
    if type(v) ~= "number" then
        if v:higher() ~= 0 then return "0x" .. v:tohex() end
        v = v:lower()
    end
    return string.format("%02x.%02x.%02x.%02x", v % 256, floor(v / 256) % 256, floor(v / 65536) % 256,
        floor(v / 16777216) % 256)
end

local function range_hex(r) return hex(r:raw()) end

-- 0x-prefixed hex of a UInt64, 8 digits when it fits in 32 bits.
local function hex64(v)
    if v:higher() == 0 then return string.format("0x%08x", v:lower()) end
    return "0x" .. v:tohex()
end

local function name_of(r)
    if not r or r:len() == 0 then return nil end
    return names[range_hex(r)]
end

-- An integer of n bytes in the DT's host order, as a UInt64.
local function host_int(r)
    if r:len() == 0 then return u64(0) end
    if pr.host_le then return r:le_uint64() end
    return r:uint64()
end

local function last(...)
    local t = { ... }
    return t[#t]
end

local f_eth_src = Field.new("eth.src")
local f_eth_dst = Field.new("eth.dst")
local f_ip_src = Field.new("ip.src")
local f_ip_dst = Field.new("ip.dst")
local f_ip6_src = Field.new("ipv6.src")
local f_ip6_dst = Field.new("ipv6.dst")
local f_llc_dsap = Field.new("llc.dsap")
local f_llc_ssap = Field.new("llc.ssap")

local function fi_key(fi)
    if not fi then return "?" end
    return tostring(fi.range:bytes())
end

local function reverse8(b)
    local r = 0
    for _ = 1, 8 do
        r = r * 2 + b % 2
        b = floor(b / 2)
    end
    return r
end

---------------------------------------------------------------------------
-- Protobuf, by hand.

-- varint at off (before lim): low 32 bits, high 32 bits, length; nil if
-- it runs past lim or is longer than 10 bytes.
local function varint(tvb, off, lim)
    local lo, hi, i = 0, 0, 0
    while true do
        if off + i >= lim or i >= 10 then return nil end
        local b = tvb(off + i, 1):uint()
        local v, s = b % 128, 7 * i
        if s < 28 then
            lo = lo + v * 2 ^ s
        elseif s == 28 then
            lo = lo + (v % 16) * 2 ^ 28
            hi = hi + floor(v / 16)
        else
            hi = hi + v * 2 ^ (s - 32)
        end
        i = i + 1
        if b < 128 then break end
    end
    return lo, hi % 4294967296, i
end

-- pb_parse splits a message into its fields: {num, wt, off, len, voff,
-- vlen, lo, hi}; nil if it does not parse.
local function pb_parse(tvb, off, len)
    local lim = off + len
    local out = {}
    while off < lim do
        local klo, khi, n = varint(tvb, off, lim)
        if not klo or khi ~= 0 then return nil end
        local f = { num = floor(klo / 8), wt = klo % 8, off = off }
        if f.num == 0 then return nil end
        off = off + n
        if f.wt == 0 then
            local lo, hi, m = varint(tvb, off, lim)
            if not lo then return nil end
            f.lo, f.hi, f.voff, f.vlen = lo, hi, off, m
            off = off + m
        elseif f.wt == 1 or f.wt == 5 then
            local m = f.wt == 1 and 8 or 4
            if off + m > lim then return nil end
            f.voff, f.vlen = off, m
            off = off + m
        elseif f.wt == 2 then
            local l, lh, m = varint(tvb, off, lim)
            if not l or lh ~= 0 or off + m + l > lim then return nil end
            f.voff, f.vlen = off + m, l
            off = off + m + l
        else
            return nil
        end
        f.len = off - f.off
        out[#out + 1] = f
    end
    return out
end

local function pb_fieldset(fs)
    local s = {}
    for _, f in ipairs(fs) do s[f.num] = (s[f.num] or 0) + 1 end
    return s
end

-- Schemas: field number -> {n = name, t = type, f = ProtoField, m = sub
-- schema, k = key to keep the value under}. Types: u32, u64, i32, i64
-- (varints), string, bytes, msg, addr (u64 address), hash (bytes, a
-- name hash), addrbytes (8-byte BE address), time (u32 seconds).
local S = {}
S.cep = {
    [1] = { t = "string", f = F.cep.comp_name, k = "comp" },
    [2] = { t = "string", f = F.cep.protocol, k = "protocol" },
    [3] = { t = "i32", f = F.cep.pref_version, k = "version" },
    [4] = { t = "i32", f = F.cep.supp_version },
    [5] = { t = "i32", f = F.cep.pref_syntax, k = "syntax" },
    [6] = { t = "i32", f = F.cep.supp_syntax },
    [7] = { t = "bytes", f = F.cep.syntax_spec },
    [8] = { t = "addr", f = F.cep.address, raw = F.cep.address_raw, k = "addr" },
}
S.layer_info = {
    [1] = { t = "string", f = F.enroll.layer, k = "layer" },
    [2] = { t = "u32", f = F.enroll.hash_algo, k = "hash_algo" },
}
S.ls = {
    [1] = { t = "u32", f = F.enroll.ls_pol },
    [2] = { t = "u32", f = F.enroll.t_recalc },
    [3] = { t = "u32", f = F.enroll.t_update },
    [4] = { t = "u32", f = F.enroll.t_timeo },
}
S.routing = { [1] = { t = "u32", f = F.enroll.routing }, [2] = { t = "msg", m = S.ls, label = "Link state" } }
S.dt_config = {
    [1] = { t = "u32", f = F.enroll.addr_size, k = "addr_size" },
    [2] = { t = "u32", f = F.enroll.eid_size, k = "eid_size" },
    [3] = { t = "u32", f = F.enroll.max_ttl, k = "max_ttl" },
    [4] = { t = "msg", m = S.routing, label = "Routing" },
}
S.dht_config = {
    [1] = { t = "u32", f = F.enroll.alpha },
    [2] = { t = "u32", f = F.enroll.k },
    [3] = { t = "u32", f = F.enroll.t_expire },
    [4] = { t = "u32", f = F.enroll.t_refresh },
    [5] = { t = "u32", f = F.enroll.t_replicate },
    [6] = { t = "addr", f = F.enroll.peer, k = "peer" },
}
S.dir_config = { [1] = { t = "u32", f = F.enroll.dir_pol }, [2] = { t = "msg", m = S.dht_config, label = "DHT" } }
S.uni_config = {
    [1] = { t = "msg", m = S.dt_config, label = "Data transfer" },
    [2] = { t = "msg", m = S.dir_config, label = "Directory" },
    [3] = { t = "u32", f = F.enroll.addr_auth },
    [4] = { t = "u32", f = F.enroll.cong_avoid },
}
S.eth_config = { [1] = { t = "string", f = F.enroll.eth_dev }, [2] = { t = "u32", f = F.enroll.ethertype } }
S.udp4_config = {
    [1] = { t = "u32", f = F.enroll.udp4_ip },
    [2] = { t = "u32", f = F.enroll.udp_port },
    [3] = { t = "u32", f = F.enroll.udp4_dns },
}
S.udp6_config = {
    [1] = { t = "bytes", f = F.enroll.udp_ip },
    [2] = { t = "u32", f = F.enroll.udp_port },
    [3] = { t = "bytes", f = F.enroll.udp_dns },
}
S.ipcp_config = {
    [1] = { t = "msg", m = S.layer_info, label = "Layer" },
    [2] = { t = "u32", f = F.enroll.ipcp_type, k = "ipcp_type" },
    [3] = { t = "msg", m = S.uni_config, label = "Unicast" },
    [4] = { t = "msg", m = S.udp4_config, label = "UDP4" },
    [5] = { t = "msg", m = S.udp6_config, label = "UDP6" },
    [6] = { t = "msg", m = S.eth_config, label = "Ethernet" },
}
S.enroll_req = { [1] = { t = "bytes", f = F.enroll.id, k = "id" } }
S.enroll_ack = { [1] = { t = "bytes", f = F.enroll.id, k = "id" }, [2] = { t = "i32", f = F.enroll.result, k = "result" } }
S.enroll_resp = {
    [1] = { t = "bytes", f = F.enroll.id, k = "id" },
    [2] = { t = "i64", f = F.enroll.t_sec, k = "t_sec" },
    [3] = { t = "i32", f = F.enroll.t_nsec },
    [4] = { t = "i32", f = F.enroll.response, k = "response" },
    [5] = { t = "msg", m = S.ipcp_config, f = F.enroll.conf, label = "Configuration (ipcp_config_msg)" },
}
S.dht_contact = {
    [1] = { t = "bytes", f = F.dht.id },
    [2] = { t = "addr", f = F.dht.addr, k = "addr" },
}
S.dht_find = { [1] = { t = "u64", f = F.dht.cookie }, [2] = { t = "hash", f = F.dht.key, k = "key" } }
S.dht_node = {
    [1] = { t = "u64", f = F.dht.cookie },
    [2] = { t = "hash", f = F.dht.key, k = "key" },
    [3] = { t = "msg", m = S.dht_contact, f = F.dht.contact, label = "Contact", k = "contacts", rep = true },
}
S.dht_val = { [1] = { t = "addrbytes", f = F.dht.value, k = "values", rep = true } }
S.dht_store = {
    [1] = { t = "hash", f = F.dht.key, k = "key" },
    [2] = { t = "addrbytes", f = F.dht.value, k = "value" },
    [3] = { t = "time", f = F.dht.exp },
}
S.dht = {
    [1] = { t = "u32", f = F.dht.code, k = "code" },
    [2] = { t = "msg", m = S.dht_contact, f = F.dht.src, label = "Source", k = "src" },
    [3] = { t = "msg", m = S.dht_store, f = F.dht.store, label = "Store", k = "store" },
    [4] = { t = "msg", m = S.dht_find, f = F.dht.find, label = "Find request", k = "find" },
    [5] = { t = "msg", m = S.dht_node, f = F.dht.node, label = "Node response", k = "node" },
    [6] = { t = "msg", m = S.dht_val, f = F.dht.val, label = "Value response", k = "val" },
}

local wire_of = { u32 = 0, u64 = 0, i32 = 0, i64 = 0, addr = 0, time = 0, string = 2, bytes = 2, msg = 2, hash = 2, addrbytes = 2 }

local pb_render
-- pb_render adds the fields of the message at tvb(off, len) under tree,
-- following schema; vals gets the values of fields with a key. It returns
-- false (and marks the tree) when the message does not parse.
pb_render = function(tvb, off, len, schema, tree, vals)
    local fs = pb_parse(tvb, off, len)
    if not fs then
        tree:add_proto_expert_info(E.pb)
        return false
    end
    for _, f in ipairs(fs) do
        local d = schema[f.num]
        local r = tvb(f.off, f.len)
        if not d or wire_of[d.t] ~= f.wt then
            tree:add(F.top.pb_field, r):append_text(string.format(" (field %d, wire type %d)", f.num, f.wt))
        else
            local v
            if d.t == "u32" or d.t == "time" then
                v = f.lo
                if d.t == "time" then
                    tree:add(d.f, r, NSTime.new(v, 0))
                else
                    local it = tree:add(d.f, r, v)
                    if d.label then it:prepend_text(d.label .. ": ") end
                end
            elseif d.t == "u64" then
                v = u64(f.lo, f.hi)
                tree:add(d.f, r, v)
            elseif d.t == "i32" then
                v = f.lo
                if f.hi >= 0x80000000 then v = f.lo - 4294967296 end
                tree:add(d.f, r, v)
            elseif d.t == "i64" then
                v = f.lo + f.hi * 4294967296
                if f.hi >= 0x80000000 then v = v - 2 ^ 64 end
                tree:add(d.f, r, Int64.new(f.lo, f.hi))
            elseif d.t == "addr" then
                v = u64(f.lo, f.hi)
                local it = tree:add(d.f, r, addr_fmt(v))
                it:append_text(" (" .. hex64(v) .. ")")
                if d.raw then tree:add(d.raw, r, v):set_hidden() end
            elseif d.t == "string" then
                v = f.vlen > 0 and tvb(f.voff, f.vlen):string() or ""
                tree:add(d.f, r, v)
            elseif d.t == "bytes" or d.t == "hash" then
                v = f.vlen > 0 and tvb(f.voff, f.vlen) or nil
                local it = v and tree:add(d.f, v) or tree:add(r, "(empty bytes)")
                if d.t == "hash" then
                    local nm = name_of(v)
                    if nm then
                        it:append_text(" (" .. nm .. ")")
                        tree:add(F.dht.key_name, r, nm)
                    end
                    v = nm or (v and range_hex(v)) or ""
                end
            elseif d.t == "addrbytes" then
                if f.vlen == 8 then
                    v = addr_fmt(tvb(f.voff, 8):uint64())
                    tree:add(d.f, r, v)
                else
                    if f.vlen > 0 then tree:add(F.dht.value_bytes, tvb(f.voff, f.vlen)) end
                end
            elseif d.t == "msg" then
                local st
                if d.f and f.vlen > 0 then
                    st = tree:add(d.f, tvb(f.voff, f.vlen))
                    if d.label then st:set_text(d.label) end
                else
                    st = tree:add(r, d.label or "message")
                end
                v = {}
                pb_render(tvb, f.voff, f.vlen, d.m, st, v)
            end
            if d.k and vals then
                if d.rep then
                    vals[d.k] = vals[d.k] or {}
                    table.insert(vals[d.k], v)
                else
                    vals[d.k] = v
                end
            end
        end
    end
    return true
end

-- Shape checks (no tree).

local comp_kinds = { ["Data Transfer"] = "dt", ["Management"] = "mgmt", ["Enrollment"] = "enroll" }

-- cep_comp returns the comp_name of a cep_msg at tvb(off, len) and its
-- protocol, or nil.
local function cep_comp(tvb, off, len)
    if len < 2 or tvb(off, 1):uint() ~= 0x0a then return nil end
    local fs = pb_parse(tvb, off, len)
    if not fs or fs[1].num ~= 1 or fs[1].wt ~= 2 then return nil end
    local s = pb_fieldset(fs)
    if not s[2] or not s[8] then return nil end
    for n in pairs(s) do
        if n > 8 then return nil end
    end
    local comp = fs[1].vlen > 0 and tvb(fs[1].voff, fs[1].vlen):string() or ""
    if comp ~= "" and not comp_kinds[comp] then
        -- another component: still a cep_msg if it is printable
        if not comp:match("^[%w%s%-_]+$") then return nil end
    end
    local proto = ""
    for _, f in ipairs(fs) do
        if f.num == 2 and f.wt == 2 and f.vlen > 0 then proto = tvb(f.voff, f.vlen):string() end
    end
    return comp, proto
end

-- enroll_kind returns "req", "resp" or "ack" for an enrollment message.
local function enroll_kind(tvb, off, len)
    if len < 2 or tvb(off, 1):uint() ~= 0x0a then return nil end
    local fs = pb_parse(tvb, off, len)
    if not fs or fs[1].num ~= 1 or fs[1].wt ~= 2 then return nil end
    for _, f in ipairs(fs) do
        if f.num > 5 or (f.num == 1 and f.wt ~= 2) or (f.num >= 2 and f.num <= 4 and f.wt ~= 0) or (f.num == 5 and f.wt ~= 2) then
            return nil
        end
    end
    local s = pb_fieldset(fs)
    if s[1] ~= 1 then return nil end
    if s[3] or s[4] or s[5] then
        if s[2] and s[3] and s[4] then return "resp" end
        return nil
    end
    if s[2] then return "ack" end
    return "req"
end

-- is_lsu: 24 bytes of two 32-bit addresses and a seqno below 2^32
-- (HEURISTIC).
local function is_lsu(tvb, off, len)
    if len ~= 24 then return false end
    return tvb(off, 4):uint() == 0 and tvb(off + 8, 4):uint() == 0 and tvb(off + 16, 4):uint() == 0
        and tvb(off + 4, 4):uint() ~= 0 and tvb(off + 12, 4):uint() ~= 0
end

-- is_frct: do the first 12 bytes look like an FRCT PCI (HEURISTIC)? Flags
-- a non-zero combination of DATA, DRF, ACK, FC, RDVS; the fields their
-- flags do not validate are 0 (as stack/frct writes them); a PDU without
-- DATA is the PCI alone.
local function is_frct(tvb, off, len)
    if len < 12 then return false end
    local fl = tvb(off, 1):uint()
    if fl == 0 or fl >= 0x20 then return false end
    local win, seq, ack = tvb(off + 1, 3):uint(), tvb(off + 4, 4):uint(), tvb(off + 8, 4):uint()
    if band(fl, 0x01) == 0 and seq ~= 0 then return false end
    if band(fl, 0x04) == 0 and ack ~= 0 then return false end
    if band(fl, 0x08) == 0 and win ~= 0 then return false end
    if band(fl, 0x01) == 0 and len ~= 12 then return false end
    return true
end

local function dt_len()
    return psz("addr_size") + psz("qos_size") + psz("ttl_size") + psz("ecn_size") + psz("eid_size")
end

-- is_dt: does tvb(off, len) look like a DT PCI and an SDU (HEURISTIC, see
-- the header for the rules)?
local function is_dt(tvb, off, len)
    local hl = dt_len()
    if len < hl or psz("addr_size") == 0 or psz("eid_size") == 0 then return false end
    local o = off
    if host_int(tvb(o, psz("addr_size"))) == u64(0) then return false end
    o = o + psz("addr_size")
    if psz("qos_size") > 0 then
        if host_int(tvb(o, psz("qos_size"))) > u64(2) then return false end
        o = o + psz("qos_size")
    end
    if psz("ttl_size") > 0 then
        local ttl = host_int(tvb(o, psz("ttl_size")))
        if ttl == u64(0) or ttl > u64(pr.max_ttl) then return false end
        o = o + psz("ttl_size")
    end
    o = o + psz("ecn_size")
    local eid = host_int(tvb(o, psz("eid_size")))
    local rest = len - hl
    if eid:higher() == 0 and eid:lower() < 64 then
        if eid:lower() == 0 then
            return rest >= 61 and tvb(off + hl + 58, 1):uint() <= 2
        elseif eid:lower() == 1 then
            local fs = rest > 0 and pb_parse(tvb, off + hl, rest)
            return fs and fs[1].num == 1 and fs[1].wt == 0 and true or false
        end
        return false
    end
    return eid:lower() < 65536 -- the flow slot in the low 32 bits is small
end

-- guess classifies an SDU of a flow with no state (HEURISTIC).
local function guess_plain(tvb, off, len)
    if cep_comp(tvb, off, len) then return "cep" end
    if enroll_kind(tvb, off, len) then return "enroll" end
    if is_lsu(tvb, off, len) then return "mgmt" end
    if is_dt(tvb, off, len) then return "dt" end
    return nil
end

local function guess(tvb, off, len)
    local k = guess_plain(tvb, off, len)
    if k then return k, false end
    if is_frct(tvb, off, len) then
        if len == 12 then return "frctctl", true end
        k = guess_plain(tvb, off + 12, len - 12)
        if k then return k, true end
    end
    return "data", false
end

---------------------------------------------------------------------------
-- Dissector handles and a context passed to them.

local CTX
local H = {}
local function call(name, tvb, pinfo, tree, ctx)
    local c = ctx or {}
    CTX = c
    H[name]:call(tvb, pinfo, tree)
    CTX = nil
    return c
end
local function take()
    local c = CTX or {}
    CTX = nil
    return c
end

local function info(pinfo, s)
    pinfo.cols.info:append(s)
end

---------------------------------------------------------------------------
-- OAP header (SYSTEM §2.13, APP §5.4). ctx.response: a response (it
-- carries the request's hash). Sets ctx.cipher.

local digest_lens = { [672] = 32, [673] = 48, [674] = 64, [1097] = 32, [1098] = 48, [1099] = 64, [1056] = 64, [1057] = 32 }

local function oap_fits(tvb, off, len, response)
    if len < 36 then return false end
    local crt = tvb(off + 30, 2):uint()
    local kex = band(tvb(off + 32, 2):uint(), 0x3fff)
    local dl = tvb(off + 34, 2):uint()
    local need = 36 + crt + kex + dl
    if crt == 0 and not response and need ~= len then return false end
    if need > len then return false end
    -- the timestamp, ns since 1970, falls in 2000..2100
    local hi = tvb(off + 16, 4):uint()
    return hi >= 220000000 and hi <= 960000000
end

function P.oap.dissector(tvb, pinfo, tree)
    local ctx = take()
    local n = tvb:len()
    local t = tree:add(P.oap, tvb())
    t:add(F.oap.kind, ctx.response and "response" or "request"):set_generated()
    if n < 36 then
        t:add_proto_expert_info(E.oap)
        return n
    end
    t:add(F.oap.id, tvb(0, 16))
    local ns = tvb(16, 8):uint64()
    local sec = (ns / u64(1000000000)):tonumber()
    local nsec = (ns % u64(1000000000)):tonumber()
    t:add(F.oap.stamp, tvb(16, 8), NSTime.new(sec, nsec))
    t:add(F.oap.cipher, tvb(24, 2))
    t:add(F.oap.kdf, tvb(26, 2))
    t:add(F.oap.md, tvb(28, 2))
    t:add(F.oap.crt_len, tvb(30, 2))
    local kt = t:add(F.oap.kex_field, tvb(32, 2))
    kt:add(F.oap.kex_f, tvb(32, 2))
    kt:add(F.oap.kex_r, tvb(32, 2))
    kt:add(F.oap.kex_len, tvb(32, 2))
    t:add(F.oap.data_len, tvb(34, 2))
    local cipher, md = tvb(24, 2):uint(), tvb(28, 2):uint()
    local crt, kex, dl = tvb(30, 2):uint(), band(tvb(32, 2):uint(), 0x3fff), tvb(34, 2):uint()
    ctx.cipher = cipher
    local o = 36
    local function part(f, l)
        if l <= 0 then return true end
        if o + l > n then
            t:add_proto_expert_info(E.oap)
            return false
        end
        t:add(f, tvb(o, l))
        o = o + l
        return true
    end
    if not (part(F.oap.crt, crt) and part(F.oap.kex, kex) and part(F.oap.data, dl)) then return n end
    if ctx.response then
        local hl = n - o
        if crt > 0 then hl = digest_lens[md] or 48 end
        if not part(F.oap.req_hash, hl) then return n end
    end
    if o < n then
        if crt == 0 then t:add_proto_expert_info(E.oap) end
        t:add(F.oap.sig, tvb(o))
    end
    local s = string.format("OAP %s%s", ctx.response and "response" or "request",
        cipher ~= 0 and (" " .. (cipher_nids[cipher] or ("cipher " .. cipher))) or "")
    t:append_text(": " .. s)
    return n
end

-- The name hash and OAP header after a FLOW_REQ's fixed part: hlen is the
-- hash length if known (UDP: 16), else from the preference or auto.
local function req_hash_len(tvb, off, len, fixed)
    if fixed then return fixed end
    if pr.hash_len > 0 then return pr.hash_len end
    for _, l in ipairs({ 32, 28, 48, 64, 16, 4 }) do
        if len >= l + 36 and oap_fits(tvb, off + l, len - l, false) then return l end
    end
    return math.min(32, len)
end

---------------------------------------------------------------------------
-- FRCT PCI (APP §4.2).

function P.frct.dissector(tvb, pinfo, tree)
    local ctx = take()
    local t = tree:add(P.frct, tvb(0, 12))
    local fl = tvb(0, 1):uint()
    local ft = t:add(F.frct.flags, tvb(0, 1))
    for _, k in ipairs({ "f_data", "f_drf", "f_ack", "f_fc", "f_rdvs", "f_ffgm", "f_mfgm" }) do
        ft:add(F.frct[k], tvb(0, 1))
    end
    t:add(F.frct.window, tvb(1, 3))
    t:add(F.frct.seqno, tvb(4, 4))
    t:add(F.frct.ackno, tvb(8, 4))
    local names_ = {}
    for _, b in ipairs({ { 0x01, "DATA" }, { 0x02, "DRF" }, { 0x04, "ACK" }, { 0x08, "FC" }, { 0x10, "RDVS" } }) do
        if band(fl, b[1]) ~= 0 then names_[#names_ + 1] = b[2] end
    end
    local s = "FRCT " .. table.concat(names_, "|")
    if band(fl, 0x01) ~= 0 then s = s .. " seq=" .. tvb(4, 4):uint() end
    if band(fl, 0x04) ~= 0 then s = s .. " ack=" .. tvb(8, 4):uint() end
    if band(fl, 0x08) ~= 0 then s = s .. " win=" .. tvb(1, 3):uint() end
    t:append_text(": " .. s)
    if ctx.heur then t:add_proto_expert_info(E.heur) end
    pinfo.cols.protocol = "O7S-FRCT"
    info(pinfo, " " .. s)
    return 12
end

---------------------------------------------------------------------------
-- oping (APP §6.1).

local function looks_oping(tvb)
    if tvb:len() < 64 then return false end
    local ty = tvb(0, 4):uint()
    return (ty == 0 or ty == 1) and tvb(16, 4):le_uint() < 1000000000 and tvb(20, 4):uint() == 0
end

function P.oping.dissector(tvb, pinfo, tree)
    take()
    local t = tree:add(P.oping, tvb())
    t:add(F.oping.type, tvb(0, 4))
    t:add(F.oping.id, tvb(4, 4))
    t:add_le(F.oping.tv_sec, tvb(8, 8))
    t:add_le(F.oping.tv_nsec, tvb(16, 8))
    if tvb:len() > 24 then t:add(F.oping.pad, tvb(24)) end
    local s = string.format("oping %s id=%d", oping_types[tvb(0, 4):uint()] or "?", tvb(4, 4):uint())
    t:append_text(": " .. s)
    pinfo.cols.protocol = "OPING"
    info(pinfo, " " .. s)
    return tvb:len()
end

-- An application's SDU: oping if the flow's name says so or it looks like
-- one, else data.
local function app_sdu(tvb, pinfo, tree, name)
    if tvb:len() == 0 then return end
    if pr.oping and ((name and name:match("^oping")) or (not name and looks_oping(tvb))) and tvb:len() >= 24 then
        call("ouroboros_oping", tvb, pinfo, tree)
    else
        tree:add(F.top.data, tvb())
        info(pinfo, string.format(" data %d bytes", tvb:len()))
    end
end

-- The CRC, FRCT PCI and payload of a flow's packet. d: {frct, crc,
-- cipher, name, heur}; fn dissects the SDU.
local function flow_pdu(tvb, pinfo, tree, st, d, fn)
    local n = tvb:len()
    if n == 0 then
        st:add(F.top.kind, "keepalive (empty)"):set_generated()
        info(pinfo, " keepalive")
        return
    end
    local len = n
    if d.crc and n >= 4 then
        len = n - 4
        local want = crc32(tvb(0, len):raw())
        local got = tvb(len, 4):uint()
        st:add(F.top.crc, tvb(len, 4))
        local ok = st:add(F.top.crc_ok, tvb(len, 4), want == got):set_generated()
        if want ~= got then ok:add_proto_expert_info(E.crc) end
    end
    if d.cipher and d.cipher ~= 0 then
        -- APP §4.14: IV(12) ciphertext TAG(16) for AEAD, IV(16) ciphertext for CTR
        local ct = st:add(F.top.cipher, tvb(0, len))
        ct:append_text(string.format(" (%s, agreed in OAP)", cipher_nids[d.cipher] or ("cipher " .. d.cipher)))
        local ctr = d.cipher >= 904 and d.cipher <= 906
        local ivl, tagl = ctr and 16 or 12, ctr and 0 or 16
        if len >= ivl + tagl then
            ct:add(F.top.iv, tvb(0, ivl))
            if len > ivl + tagl then ct:add(F.top.ctext, tvb(ivl, len - ivl - tagl)) end
            if tagl > 0 then ct:add(F.top.tag, tvb(len - tagl, tagl)) end
        end
        info(pinfo, " encrypted")
        return
    end
    local off = 0
    if d.frct and len >= 12 then
        call("ouroboros_frct", tvb(0, 12):tvb(), pinfo, tree, { heur = d.heur })
        off = 12
    end
    if len > off then fn(tvb(off, len - off):tvb()) end
end

---------------------------------------------------------------------------
-- Connection establishment (cep_msg).

function P.cep.dissector(tvb, pinfo, tree)
    take()
    local t = tree:add(P.cep, tvb())
    local v = {}
    pb_render(tvb, 0, tvb:len(), S.cep, t, v)
    local s = string.format("CEP %q %s/%s", v.comp or "", v.protocol or "", tostring(v.version or ""))
    if v.addr then s = s .. " addr " .. addr_fmt(v.addr) end
    t:append_text(": " .. s)
    pinfo.cols.protocol = "O7S-CEP"
    info(pinfo, " " .. s)
    return tvb:len()
end

---------------------------------------------------------------------------
-- Enrollment (OEP).

local enroll_schemas = { req = S.enroll_req, resp = S.enroll_resp, ack = S.enroll_ack }
local enroll_names = { req = "enroll_req_msg", resp = "enroll_resp_msg", ack = "enroll_ack_msg" }

function P.enroll.dissector(tvb, pinfo, tree)
    take()
    local t = tree:add(P.enroll, tvb())
    local k = enroll_kind(tvb, 0, tvb:len())
    pinfo.cols.protocol = "O7S-OEP"
    if not k then
        t:add_proto_expert_info(E.pb)
        info(pinfo, " enrollment, malformed")
        return tvb:len()
    end
    t:add(F.enroll.type, enroll_names[k]):set_generated()
    local v = {}
    pb_render(tvb, 0, tvb:len(), enroll_schemas[k], t, v)
    local s = "OEP " .. enroll_names[k]
    if k == "resp" then
        s = s .. string.format(" response=%d", v.response or 0)
    elseif k == "ack" then
        s = s .. string.format(" result=%d", v.result or 0)
    end
    t:append_text(": " .. s)
    info(pinfo, " " .. s)
    return tvb:len()
end

---------------------------------------------------------------------------
-- Link-state update.

function P.ls.dissector(tvb, pinfo, tree)
    take()
    local t = tree:add(P.ls, tvb())
    pinfo.cols.protocol = "O7S-LSU"
    if tvb:len() ~= 24 then
        t:add_proto_expert_info(E.lsu)
        t:add(F.top.data, tvb())
        info(pinfo, string.format(" management SDU of %d bytes (not an LSU)", tvb:len()))
        return tvb:len()
    end
    local dst, src, seq = tvb(0, 8):uint64(), tvb(8, 8):uint64(), tvb(16, 8):uint64()
    t:add(F.ls.dst, tvb(0, 8), addr_fmt(dst))
    t:add(F.ls.dst_raw, tvb(0, 8)):set_hidden()
    t:add(F.ls.src, tvb(8, 8), addr_fmt(src))
    t:add(F.ls.src_raw, tvb(8, 8)):set_hidden()
    t:add(F.ls.seqno, tvb(16, 8))
    local s = string.format("LSU %s -> %s seq=%s", addr_fmt(src), addr_fmt(dst), tostring(seq))
    t:append_text(": " .. s)
    info(pinfo, " " .. s)
    return 24
end

---------------------------------------------------------------------------
-- DHT.

function P.dht.dissector(tvb, pinfo, tree)
    take()
    local t = tree:add(P.dht, tvb())
    pinfo.cols.protocol = "O7S-DHT"
    local v = {}
    if not pb_render(tvb, 0, tvb:len(), S.dht, t, v) then
        info(pinfo, " DHT, malformed")
        return tvb:len()
    end
    local s = "DHT " .. (dht_codes[v.code] or ("code " .. tostring(v.code)))
    if v.src and v.src.addr then s = s .. " from " .. addr_fmt(v.src.addr) end
    local key = (v.store and v.store.key) or (v.find and v.find.key) or (v.node and v.node.key)
    if key then
        s = s .. " key " .. ((#key > 16 and key:match("^%x+$")) and key:sub(1, 16) .. "…" or key)
    end
    if v.store and v.store.value then s = s .. " value " .. v.store.value end
    if v.node and v.node.contacts then s = s .. string.format(" %d contacts", #v.node.contacts) end
    if v.val and v.val.values then s = s .. " values " .. table.concat(v.val.values, ",") end
    t:append_text(": " .. s)
    info(pinfo, " " .. s)
    return tvb:len()
end

---------------------------------------------------------------------------
-- Flow allocator (SYSTEM §8.6). Learns the N+1 flows.

function P.fa.dissector(tvb, pinfo, tree)
    take()
    local n = tvb:len()
    local t = tree:add(P.fa, tvb())
    pinfo.cols.protocol = "O7S-FA"
    if n < 61 then
        t:add_proto_expert_info(E.short)
        info(pinfo, " FA, malformed (short)")
        return n
    end
    local code = tvb(58, 1):uint()
    local s_addr = tvb(0, 8):uint64()
    if code == 0 then t:add(F.fa.s_addr, tvb(0, 8), addr_fmt(s_addr)) end
    t:add(F.fa.s_addr_raw, tvb(0, 8)):set_hidden()
    t:add(F.fa.r_eid, tvb(8, 8))
    t:add(F.fa.s_eid, tvb(16, 8))
    t:add(F.fa.bandwidth, tvb(24, 8))
    t:add(F.fa.response, tvb(32, 4))
    t:add(F.fa.delay, tvb(36, 4))
    t:add(F.fa.loss, tvb(40, 4))
    t:add(F.fa.ber, tvb(44, 4))
    t:add(F.fa.max_gap, tvb(48, 4))
    t:add(F.fa.timeout, tvb(52, 4))
    t:add(F.fa.ece, tvb(56, 2))
    t:add(F.fa.code, tvb(58, 1))
    t:add(F.fa.avail, tvb(59, 1))
    t:add(F.fa.in_order, tvb(60, 1))
    local r_eid, s_eid = tvb(8, 8):uint64(), tvb(16, 8):uint64()
    local response = tvb(32, 4):int()
    local qos = {
        bandwidth = tvb(24, 8):uint64(), delay = tvb(36, 4):uint(), loss = tvb(40, 4):uint(),
        ber = tvb(44, 4):uint(), max_gap = tvb(48, 4):uint(), timeout = tvb(52, 4):uint(),
        avail = tvb(59, 1):uint(), in_order = tvb(60, 1):uint(),
    }
    local s = "FA " .. (fa_codes[code] or ("code " .. code))
    local rest = n - 61
    if code == 0 then
        local hl = req_hash_len(tvb, 61, rest)
        local hr = tvb(61, math.min(hl, rest))
        local nm = name_of(hr)
        local ht = t:add(F.fa.hash, hr)
        if nm then
            ht:append_text(" (" .. nm .. ")")
            t:add(F.fa.name, hr, nm)
        end
        s = s .. string.format(" %s from %s s_eid=0x%s", nm or ("hash " .. range_hex(hr):sub(1, 16) .. "…"),
            addr_fmt(s_addr), s_eid:tohex())
        if qos.in_order ~= 0 then s = s .. " in_order" end
        local c = {}
        if rest > hl then c = call("ouroboros_oap", tvb(61 + hl):tvb(), pinfo, t, { response = false }) end
        if not pinfo.visited then
            np1[s_eid:tohex()] = { qos = qos, name = nm, hash = range_hex(hr) }
        end
    elseif code == 1 then
        s = s .. string.format(" r_eid=0x%s s_eid=0x%s response=%d", r_eid:tohex(), s_eid:tohex(), response)
        local c = {}
        if rest > 0 then c = call("ouroboros_oap", tvb(61):tvb(), pinfo, t, { response = true }) end
        local nm = remember(pinfo, "fa", function(learn)
            local rec = np1[r_eid:tohex()]
            if learn and response >= 0 then
                rec = rec or {}
                np1[r_eid:tohex()] = rec
                rec.cipher = c.cipher
                np1[s_eid:tohex()] = rec
            end
            return rec and rec.name or false
        end)
        if nm then
            t:add(F.fa.name, nm):set_generated()
            s = s .. " (" .. nm .. ")"
        end
    else
        s = s .. string.format(" r_eid=0x%s ece=%d", r_eid:tohex(), tvb(56, 2):uint())
        if rest > 0 then t:add(F.fa.trailer, tvb(61)) end
    end
    t:append_text(": " .. s)
    info(pinfo, " " .. s)
    return n
end

---------------------------------------------------------------------------
-- DT PCI (SYSTEM §8.3) and what it carries.

function P.dt.dissector(tvb, pinfo, tree)
    take()
    local n = tvb:len()
    local hl = dt_len()
    local t = tree:add(P.dt, tvb(0, math.min(hl, n)))
    pinfo.cols.protocol = "O7S-DT"
    if n < hl then
        t:add_proto_expert_info(E.short)
        info(pinfo, " DT, malformed (short)")
        return n
    end
    -- the fields in order; a width of 0 leaves the field out (value 0)
    local o, v = 0, {}
    for _, k in ipairs({ "addr", "qos", "ttl", "ecn", "eid" }) do
        local w = psz(k .. "_size")
        v[k] = u64(0)
        if w > 0 then
            local r = tvb(o, w)
            v[k] = host_int(r)
            if k == "addr" then
                t:add(F.dt.dst, r, addr_fmt(v[k])):append_text(" (" .. hex64(v[k]) .. ")")
                t:add(F.dt.dst_raw, r, v[k]):set_hidden()
            elseif k == "eid" then
                t:add(F.dt.eid, r, v[k])
            else
                t:add(F.dt[k == "qos" and "qc" or k], r, v[k]:tonumber())
            end
            o = o + w
        end
    end
    local dst, qc, ttl, eid = v.addr, v.qos:tonumber(), v.ttl:tonumber(), v.eid
    local small = eid:higher() == 0 and eid:lower() < 64
    local comp
    if small and eid:lower() == 0 then
        comp = "flow allocator"
    elseif small and eid:lower() == 1 then
        comp = "DHT"
    elseif small then
        comp = "component " .. eid:lower()
    else
        comp = "N+1 flow"
    end
    t:add(F.dt.comp, comp):set_generated()
    local s = string.format("DT -> %s ttl=%d qc=%s eid=%s", addr_fmt(dst), ttl, cube_names[qc] or tostring(qc),
        small and tostring(eid:lower()) or ("0x" .. eid:tohex()))
    t:append_text(": " .. s)
    info(pinfo, " " .. s .. ":")
    if n == o then return n end
    local sdu = tvb(o):tvb()
    if small and eid:lower() == 0 then
        call("ouroboros_fa", sdu, pinfo, tree)
    elseif small and eid:lower() == 1 then
        call("ouroboros_dht", sdu, pinfo, tree)
    elseif small then
        tree:add(F.dt.sdu, tvb(o))
    else
        local key = eid:tohex()
        local d = remember(pinfo, "np1", function()
            local rec = np1[key]
            local r = {}
            if rec then
                r.frct = rec.qos and rec.qos.in_order ~= 0
                r.crc = rec.qos and rec.qos.ber == 0
                r.cipher, r.name = rec.cipher, rec.name
            elseif pr.frct == 2 then
                r.frct = true
            elseif pr.frct == 1 then
                r.frct = is_frct(sdu, 0, sdu:len())
                r.heur = r.frct
            end
            return r
        end)
        if d.name then t:add(F.top.flow, d.name):set_generated() end
        flow_pdu(sdu, pinfo, tree, t, d, function(p) app_sdu(p, pinfo, tree, d.name) end)
    end
    return n
end

---------------------------------------------------------------------------
-- What a shim flow carries.

local kind_names = {
    cep = "connection establishment (cep_msg)", dt = "data transfer (DT PCI)", mgmt = "management (LSU)",
    enroll = "enrollment", app = "application data", data = "data", frctctl = "FRCT control",
    bcast = "broadcast layer data (no header)",
    keepalive = "keepalive",
}

local function shim_sdu(tvb, pinfo, tree, st, key)
    if not tvb then
        st:add(F.top.kind, "keepalive (empty)"):set_generated()
        info(pinfo, " keepalive")
        return
    end
    local n = tvb:len()
    local d = remember(pinfo, "shim", function(learn)
        local rec = ends[key]
        local r = {}
        if rec then
            r.frct = rec.qos and rec.qos.in_order ~= 0
            r.crc = rec.qos and rec.qos.ber == 0
            r.cipher, r.name = rec.cipher, rec.name
        end
        if n == 0 then
            r.kind = "keepalive"
            return r
        end
        if r.cipher and r.cipher ~= 0 then
            r.kind = "encrypted"
            return r
        end
        local off, len = 0, n
        if r.crc then len = len - 4 end
        if r.frct then
            off = 12
            len = len - 12
        end
        if len <= 0 then
            r.kind = (len == 0 and r.frct) and "frctctl" or "data"
            return r
        end
        local comp, proto = cep_comp(tvb, off, len)
        if comp then
            r.kind = "cep"
            if learn then
                rec = rec or {}
                ends[key] = rec
                rec.comp = comp_kinds[comp] or "data"
                -- a broadcast layer's "Data Transfer" has no protocol and
                -- no header: its SDUs are the applications' (SYSTEM §9)
                if comp == "Data Transfer" and proto == "" then rec.comp = "bcast" end
            end
            return r
        end
        if rec and rec.comp then
            r.kind = rec.comp
            return r
        end
        if rec then
            -- allocated (FLOW_REQ seen) and the first SDU is no cep_msg
            r.kind = "app"
            if learn then rec.comp = "app" end
            return r
        end
        if not pr.heuristics then
            r.kind = "data"
            return r
        end
        r.kind, r.frct = guess(tvb, 0, n) -- HEURISTIC
        r.heur = true
        return r
    end)
    local kt = st:add(F.top.kind, kind_names[d.kind] or d.kind):set_generated()
    if d.heur then kt:add_proto_expert_info(E.heur) end
    if d.name then st:add(F.top.flow, d.name):set_generated() end
    flow_pdu(tvb, pinfo, tree, st, d, function(p)
        local k = d.kind
        if k == "cep" then
            call("ouroboros_cep", p, pinfo, tree)
        elseif k == "enroll" then
            call("ouroboros_enroll", p, pinfo, tree)
        elseif k == "mgmt" then
            call("ouroboros_ls", p, pinfo, tree)
        elseif k == "dt" then
            call("ouroboros_dt", p, pinfo, tree)
        elseif k == "app" then
            app_sdu(p, pinfo, tree, d.name)
        else
            app_sdu(p, pinfo, tree, nil)
        end
    end)
end

---------------------------------------------------------------------------
-- Shim management messages: one function for the three layouts.

local layouts = {
    dix = {
        len = 39, codes = eth_codes, req = 0, reply = 1,
        seid = { 0, 2 }, deid = { 2, 2 }, loss = { 4, 4 }, bandwidth = { 8, 8 }, ber = { 16, 4 },
        max_gap = { 20, 4 }, delay = { 24, 4 }, timeout = { 28, 4 }, response = { 32, 4 },
        in_order = { 36, 1 }, code = { 37, 1 }, avail = { 38, 1 },
    },
    llc = {
        len = 37, codes = eth_codes, req = 0, reply = 1,
        ssap = { 0, 1 }, dsap = { 1, 1 }, code = { 2, 1 }, avail = { 3, 1 }, loss = { 4, 4 },
        bandwidth = { 8, 8 }, ber = { 16, 4 }, max_gap = { 20, 4 }, delay = { 24, 4 }, timeout = { 28, 4 },
        response = { 32, 4 }, in_order = { 36, 1 },
    },
    udp = { -- after the 4-byte eid 0
        len = 43, codes = udp_codes, req = 1, reply = 2, hash = 16,
        seid = { 0, 4 }, deid = { 4, 4 }, response = { 8, 4 }, bandwidth = { 12, 8 }, delay = { 20, 4 },
        loss = { 24, 4 }, ber = { 28, 4 }, max_gap = { 32, 4 }, timeout = { 36, 4 }, code = { 40, 1 },
        avail = { 41, 1 }, in_order = { 42, 1 },
    },
}
local mgmt_order = { "seid", "deid", "ssap", "dsap", "loss", "bandwidth", "ber", "max_gap", "delay", "timeout",
    "response", "in_order", "code", "avail" }

-- keys(kind, m) gives the flow end keys: req_end (the requester's end, by
-- the requester's id), reply_req_end (a reply's view of the requester's
-- end) and reply_resp_end (the responder's end).
local function shim_mgmt(kind, tvb, pinfo, tree, P_, keyf)
    local L, Fs = layouts[kind], F[kind]
    local n = tvb:len()
    local t = tree:add(P_, tvb(), "Management message")
    if n < L.len then
        t:add_proto_expert_info(E.mgmt)
        info(pinfo, " management, malformed (short)")
        return
    end
    local v = {}
    for _, k in ipairs(mgmt_order) do
        local at = L[k]
        if at then
            local r = tvb(at[1], at[2])
            if k == "response" then
                v[k] = r:int()
            elseif k == "bandwidth" then
                v[k] = r:uint64()
            else
                v[k] = r:uint()
            end
            t:add(Fs[k], r)
        end
    end
    local code = v.code
    local cname = L.codes[code] or string.format("code %d", code)
    t:append_text(": " .. cname)
    local s = cname
    if kind == "llc" then
        s = s .. string.format(" ssap=%d dsap=%d", v.ssap, v.dsap)
    else
        s = s .. string.format(" seid=%d deid=%d", v.seid, v.deid)
    end
    local rest = n - L.len
    local qos = { bandwidth = v.bandwidth, delay = v.delay, loss = v.loss, ber = v.ber, max_gap = v.max_gap,
        timeout = v.timeout, avail = v.avail, in_order = v.in_order }
    if code == L.req or (kind ~= "udp" and (code == 2 or code == 3)) then
        local hl = rest
        if code == L.req then hl = req_hash_len(tvb, L.len, rest, L.hash) end
        hl = math.min(hl, rest)
        if hl > 0 then
            local hr = tvb(L.len, hl)
            local ht = t:add(Fs.hash, hr)
            local nm = name_of(hr)
            if nm then
                ht:append_text(" (" .. nm .. ")")
                t:add(Fs.name, hr, nm)
                s = s .. " " .. nm
            else
                s = s .. " hash " .. range_hex(hr):sub(1, 16) .. "…"
            end
            if code == L.req and not pinfo.visited then
                -- the requester's end: requester's address, its seid/ssap
                local id = kind == "llc" and v.ssap or v.seid
                ends[keyf("src", id)] = { qos = qos, name = nm }
            end
        end
        if code == L.req then
            if v.in_order ~= 0 then s = s .. " in_order" end
            if rest > hl then call("ouroboros_oap", tvb(L.len + hl):tvb(), pinfo, tree, { response = false }) end
        elseif rest > hl then
            t:add(Fs.body, tvb(L.len + hl))
        end
    elseif code == L.reply then
        s = s .. string.format(" response=%d", v.response)
        local c = {}
        if rest > 0 then c = call("ouroboros_oap", tvb(L.len):tvb(), pinfo, tree, { response = true }) end
        -- the requester's id and the responder's: DIX deid/seid, LLC
        -- dsap/ssap, UDP s_eid/d_eid (named the other way round)
        local req_id, resp_id
        if kind == "dix" then
            req_id, resp_id = v.deid, v.seid
        elseif kind == "llc" then
            req_id, resp_id = v.dsap, v.ssap
        else
            req_id, resp_id = v.seid, v.deid
        end
        local nm = remember(pinfo, "mgmt", function(learn)
            local rk = keyf("dst", req_id)
            local rec = ends[rk]
            if learn and v.response >= 0 then
                rec = rec or {}
                ends[rk] = rec
                rec.cipher = c.cipher
                ends[keyf("src", resp_id)] = rec
            end
            return rec and rec.name or false
        end)
        if nm then
            t:add(Fs.name, nm):set_generated()
            s = s .. " (" .. nm .. ")"
        end
    elseif rest > 0 then
        t:add(Fs.body, tvb(L.len))
    end
    info(pinfo, " " .. s)
end

---------------------------------------------------------------------------
-- eth-dix (SYSTEM §6.1).

local function mac_key(which)
    return fi_key(last((which == "src" and f_eth_src or f_eth_dst)()))
end

function P.dix.dissector(buf, pinfo, tree)
    pinfo.cols.protocol = "O7S-DIX"
    pinfo.cols.info = ""
    local t = tree:add(P.dix, buf())
    if buf:len() < 4 then
        t:add_proto_expert_info(E.short)
        return buf:len()
    end
    local eid, n = buf(0, 2):uint(), buf(2, 2):uint()
    t:add(F.dix.eid, buf(0, 2))
    t:add(F.dix.len, buf(2, 2))
    local avail = buf:len() - 4
    if n > avail then
        t:add_proto_expert_info(E.short)
        n = avail
    end
    t:append_text(string.format(", eid %d, %d bytes", eid, n))
    info(pinfo, string.format("[dix eid %d]", eid))
    if eid == 0 then
        shim_mgmt("dix", buf(4, n):tvb(), pinfo, t, P.dix, function(which, id)
            return "dix " .. mac_key(which) .. " " .. id
        end)
    else
        shim_sdu(n > 0 and buf(4, n):tvb() or nil, pinfo, tree, t, "dix " .. mac_key("dst") .. " " .. eid)
    end
    if avail > n then t:add(F.dix.padding, buf(4 + n, avail - n)) end
    return buf:len()
end

---------------------------------------------------------------------------
-- eth-llc (SYSTEM §6.1): registered for the bit-reversed SAPs in the LLC
-- table; the LLC dissector has shown the 802.3 length, DSAP, SSAP and UI.

local llc_prev = {} -- reversed SAP -> the dissector that had it

-- The LLC dissector adds its DSAP and SSAP to the tree only when there is
-- one (not on a first pass without a tree), so a heuristic on "eth", which
-- sees the whole frame first, notes an 802.3 frame's SAPs and MACs for the
-- frame; it never claims the frame.
P.llc:register_heuristic("eth", function(buf, pinfo, tree)
    if buf:len() >= 17 and buf(12, 2):uint() <= 0x05FF then
        llc_seen[pinfo.number] = { dsap = buf(14, 1):uint(), ssap = buf(15, 1):uint(),
            dst = tostring(buf(0, 6):bytes()), src = tostring(buf(6, 6):bytes()) }
    end
    return false
end)

local function llc_ours(buf, dsap, ssap)
    local n = buf:len()
    if dsap == 1 then
        return n >= 37 and buf(2, 1):uint() <= 3 and buf(0, 1):uint() <= 65 and buf(1, 1):uint() <= 65
    end
    return ssap >= 2 and ssap <= 65
end

function P.llc.dissector(buf, pinfo, tree)
    local seen = llc_seen[pinfo.number]
    local wdsap, wssap, macs
    if seen then
        wdsap, wssap, macs = seen.dsap, seen.ssap, seen
    else -- the eth heuristic is off: the LLC dissector's fields
        local wd, ws = last(f_llc_dsap()), last(f_llc_ssap())
        if not wd or not ws then return 0 end
        wdsap, wssap = wd.value, ws.value
        macs = { dst = mac_key("dst"), src = mac_key("src") }
    end
    local dsap, ssap = reverse8(wdsap), reverse8(band(wssap, 0xff))
    local key = "llc " .. macs.dst .. " " .. dsap
    local prev = llc_prev[wdsap]
    if prev and not (llc_ours(buf, dsap, ssap) and (dsap == 1 or ends[key] or
            guess(buf, 0, buf:len()) ~= "data")) then
        -- not ours: the SAP's own dissector, whose exceptions (a malformed
        -- frame of its protocol) come back here as Lua errors
        local ok, n = pcall(prev.call, prev, buf, pinfo, tree)
        if ok then return n end
        tree:add_proto_expert_info(E.other, tostring(n))
        return buf:len()
    end
    if not llc_ours(buf, dsap, ssap) then return 0 end
    pinfo.cols.protocol = "O7S-LLC"
    pinfo.cols.info = ""
    local t = tree:add(P.llc, buf())
    t:add(F.llc.dsap_num, dsap):set_generated()
    t:add(F.llc.ssap_num, ssap):set_generated()
    t:append_text(string.format(", DSAP %d, SSAP %d, %d bytes", dsap, ssap, buf:len()))
    info(pinfo, string.format("[llc sap %d->%d]", ssap, dsap))
    if dsap == 1 then
        shim_mgmt("llc", buf, pinfo, t, P.llc, function(which, id)
            return "llc " .. macs[which] .. " " .. id
        end)
    else
        shim_sdu(buf, pinfo, tree, t, key)
    end
    return buf:len()
end

---------------------------------------------------------------------------
-- udp4 / udp6 (SYSTEM §7.1).

local function ip_key(which)
    local fi
    if which == "src" then
        fi = last(f_ip_src()) or last(f_ip6_src())
    else
        fi = last(f_ip_dst()) or last(f_ip6_dst())
    end
    return fi_key(fi)
end

function P.udp.dissector(buf, pinfo, tree)
    pinfo.cols.protocol = "O7S-UDP"
    pinfo.cols.info = ""
    local t = tree:add(P.udp, buf())
    if buf:len() < 4 then
        t:add_proto_expert_info(E.short)
        return buf:len()
    end
    local eid = buf(0, 4):uint()
    t:add(F.udp.eid, buf(0, 4))
    t:append_text(string.format(", eid %d, %d bytes", eid, buf:len() - 4))
    info(pinfo, string.format("[udp eid %d]", eid))
    local sport, dport = pinfo.src_port, pinfo.dst_port
    if eid == 0 then
        shim_mgmt("udp", buf(4):tvb(), pinfo, t, P.udp, function(which, id)
            return "udp " .. ip_key(which) .. " " .. (which == "src" and sport or dport) .. " " .. id
        end)
    else
        shim_sdu(buf:len() > 4 and buf(4):tvb() or nil, pinfo, tree, t, "udp " .. ip_key("dst") .. " " .. dport .. " " .. eid)
    end
    return buf:len()
end

---------------------------------------------------------------------------
-- Registration.

for _, name in ipairs({ "ouroboros_cep", "ouroboros_enroll", "ouroboros_ls", "ouroboros_dt", "ouroboros_fa",
    "ouroboros_dht", "ouroboros_frct", "ouroboros_oap", "ouroboros_oping" }) do
    H[name] = Dissector.get(name)
end

local reg = {}
local function register()
    local et = DissectorTable.get("ethertype")
    if reg.ethertype then et:remove(reg.ethertype, P.dix) end
    reg.ethertype = P.dix.prefs.ethertype
    et:add(reg.ethertype, P.dix)

    local ut = DissectorTable.get("udp.port")
    if reg.port then ut:remove(reg.port, P.udp) end
    reg.port = P.udp.prefs.port
    ut:add(reg.port, P.udp)

    local lt = DissectorTable.get("llc.dsap")
    if reg.llc and not P.llc.prefs.enabled then
        for w, prev in pairs(llc_prev) do
            lt:remove(w, P.llc)
            if prev then lt:add(w, prev) end
        end
        reg.llc = false
    elseif not reg.llc and P.llc.prefs.enabled then
        llc_prev = {}
        for sap = 1, 65 do
            local w = reverse8(sap)
            llc_prev[w] = lt:get_dissector(w) or false
            lt:add(w, P.llc)
        end
        reg.llc = true
    end
end

local function changed()
    register()
    recompute_names()
end
P.dix.prefs_changed = changed
P.udp.prefs_changed = changed
P.llc.prefs_changed = changed
P.top.prefs_changed = changed
register()
