// Package pb holds the protocol buffer messages that the IPCPs of a layer
// (unicast, and for enrollment and connections broadcast too) exchange
// with each other: enrollment (with the layer configuration it carries),
// connection establishment between components, and the DHT directory.
//
// These are proto2 schemas whose field numbers, scalar types and
// required/optional/repeated labels equal those of the C reference
// (spec SYSTEM §10.1, §10.4, §10.5), so encoded messages are byte for byte
// what a reference IPCP sends and expects. Message and field names follow
// the reference as well; the proto package name is ours and does not
// appear on the wire.
//
// Required fields are enforced: proto.Marshal refuses a message with a
// required field unset and proto.Unmarshal rejects input lacking one, as
// protobuf-c does on the reference side.
//
// protoc runs from the module root so that each file registers under its
// full path (stack/ipcp/pb/model.proto, ...): the process-wide
// protobuf registry panics on two files with the same path, and names such
// as model.proto are too generic to be left bare.
package pb

//go:generate sh -c "cd ../../.. && protoc -I. --go_out=. --go_opt=paths=source_relative stack/ipcp/pb/model.proto stack/ipcp/pb/ipcp_config.proto stack/ipcp/pb/enroll.proto stack/ipcp/pb/cep.proto stack/ipcp/pb/dht.proto"
