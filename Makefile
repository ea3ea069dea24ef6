# Ouroboros in Go: build, test, bench, lint.
GO      ?= go
BIN     := bin
TOOLS   := onode irm oping operf ocbr oecho obc ovpn otb kbase opause
GOFLAGS ?=
COMPOSE ?= docker-compose
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
export CGO_ENABLED = 0

.PHONY: bench-lab bench-scale bench-layers bench-impair bench-runtimes all build image compose-demo demo testbed testbed-tunnel interop check-dissector test unit e2e bench lint clean

all: build

## build: static binaries into bin/
build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '-s -w -X github.com/o7s/ouroboros/internal/version.Version=0.1.0-$(VERSION)' -o $(BIN)/ $(addprefix ./cmd/,$(TOOLS))

## demo: one node, a local layer, oping and operf through it, then teardown
demo: build
	scripts/demo-local.sh $(BIN)

## testbed: deploy topologies/default.yaml, oping and operf across every layer, destroy (root); RUNTIME=docker in containers
testbed: build $(if $(filter docker,$(RUNTIME)),image)
	RUNTIME=$(RUNTIME) scripts/testbed.sh $(BIN) topologies/default.yaml

## bench-runtimes: the default topology in namespaces, in containers and over a swarm of three engines, one after the other: deploy/destroy times, oping and operf across the same paths (root, Docker)
bench-runtimes: image
	scripts/bench-runtimes.sh $(BIN) topologies/default.yaml

## bench-scale: generated labs (SHAPES, default "line grid"; SIZES, default "10 100") next to the kernel making the same namespaces and veths: deploy, ready, destroy, memory per node, oping once from up to 100 nodes (root)
SHAPES ?= line grid
SIZES ?= 10 100
bench-scale: build
	scripts/bench-scale.sh $(BIN) "$(SHAPES)" "$(SIZES)"

## bench-lab: the default topology's data path against the kernel on the same kind of veth (iperf3, kbase): ratios, CPU per packet; PROFILE=1 for CPU profiles (root, iperf3)
bench-lab: build
	scripts/bench-lab.sh $(BIN) topologies/default.yaml

## bench-impair: loss and delay as configured against as measured, and the ring's deploy time with and without impairment (root)
bench-impair: build
	scripts/bench-impair.sh $(BIN)

## image: the node image o7s/node FROM scratch from the static binaries, tagged with the version and latest (Docker)
image: build
	$(BIN)/otb image

## compose-demo: docker-compose.yml's three nodes (eth-dix, unicast) and oping across them, then down -v; the status is oping's (Docker, docker-compose; COMPOSE="docker compose" for v2)
compose-demo: image
	$(COMPOSE) up --abort-on-container-exit --exit-code-from pinger; \
		status=$$?; $(COMPOSE) down -v; exit $$status

## testbed-tunnel: deploy topologies/iplan.yaml (two IP LANs joined by ovpn), ping and TCP across it next to a bare veth, destroy (root)
testbed-tunnel: build
	scripts/testbed-tunnel.sh $(BIN) topologies/iplan.yaml

## interop: the oping/operf matrix between our nodes and another implementation's, every pair of kinds and layer type (root, Docker); IMAGE=<its image> [PROFILE=reference|FILE]; without IMAGE it says what to pass
interop: build $(if $(IMAGE),image)
	scripts/interop.sh $(BIN) "$(IMAGE)" "$(or $(PROFILE),reference)"

## check-dissector: tools/wireshark/ouroboros.lua on captures of the default topology (its own lab): every layer decoded, field values checked, no Lua error or malformed packet (root, tshark)
check-dissector: build
	scripts/check-dissector.sh $(BIN) topologies/default.yaml

## test: lint, unit tests (race detector on), then the e2e suites
test: lint unit e2e

# As root the privileged tests (AF_PACKET over veth pairs in throwaway
# namespaces) run too.
# stack/sim (a hundred nodes in one process, on timers of a second) runs
# after the others, alone, rather than beside another package's tests.
unit:
	OUROBOROS_PRIVILEGED_TESTS=$$([ "$$(id -u)" = 0 ] && echo 1) CGO_ENABLED=1 $(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/stack/sim$$')
	CGO_ENABLED=1 $(GO) test -race -count=1 ./stack/sim

e2e: build
	@mkdir -p out
	$(GO) test -tags e2e -count=1 -timeout 20m ./e2e/... -ginkgo.v -ginkgo.junit-report=$(CURDIR)/out/e2e-junit.xml; \
		status=$$?; echo "e2e: JUnit report in out/e2e-junit.xml"; exit $$status

## bench: round trip and throughput, ours next to the kernel's, in one run
bench:
	$(GO) test -run '^$$' -bench . ./tools/oping ./tools/operf ./stack/dev ./stack/seqpkt

# The layers in one process (no root): RTT, allocation and throughput across
# 1 and 3 unicast hops next to the shim alone, and a 100-node layer's memory.
bench-layers:
	$(GO) test -run '^$$' -bench 'RTT|Alloc|Throughput|Priority' -benchtime 2000x ./stack/sim
	$(GO) test -run '^$$' -bench HundredNodes -benchtime 1x ./stack/sim

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...

clean:
	rm -rf $(BIN) out
