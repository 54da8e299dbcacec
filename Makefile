# gatewarden: the one entry point for building, testing and running it.
# `make help` lists the targets. Every tool the tests need is built here from
# the Go module proxy into bin/, and skipped when it is already there.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Tool versions, pinned in one place. kube-apiserver, kubectl and etcd are
# pinned by the go.mod files of their tools modules under test/tools/.
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION          ?= v3.22.0
# The Kubernetes minor helm assumes when it renders without a cluster: that
# of the client-go it is built with (helm v3.22.0: client-go v0.37).
HELM_KUBE_MINOR       ?= 37
KUBE_VERSION          := $(shell awk '$$1 == "k8s.io/kubernetes" {print $$2}' test/tools/kube/go.mod)

BIN     := $(abspath bin)
KEEP    ?=
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -X main.version=$(VERSION)

KUBE_APISERVER := $(BIN)/kube-apiserver
KUBECTL        := $(BIN)/kubectl
ETCD           := $(BIN)/etcd
HELM           := $(BIN)/helm
GOLANGCI_LINT  := $(BIN)/golangci-lint
GATEWARDEN     := $(BIN)/gatewarden

# Packages whose tests need no control plane. test/chart needs only helm
# and kubectl, so it runs with the integration tests, after `make tools`.
UNIT_PKGS = $(shell $(GO) list ./... | grep -v /test/)

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
		/^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } \
		/^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: build
build: ## Build bin/gatewarden.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(GATEWARDEN) ./cmd/gatewarden

.PHONY: fmt
fmt: $(GOLANGCI_LINT) ## Format the code (gofmt, goimports).
	$(GOLANGCI_LINT) fmt ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run go vet and golangci-lint.
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

.PHONY: test
test: test-unit test-fuzz test-integration ## Run every test: unit, fuzz, chart, and against a real kube-apiserver.

.PHONY: test-unit
test-unit: ## Run the tests that need no control plane, with the race detector, and each of their benchmarks once.
	$(GO) test -race -count=1 $(UNIT_PKGS)
	# Once each: the benchmarks check the answers they time, and one that
	# no longer gets the right answer must fail here, not in `make bench`.
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x $(UNIT_PKGS)

.PHONY: test-integration
test-integration: tools ## Run the tests against a real kube-apiserver and etcd, and the chart's.
	$(GO) test -count=1 -timeout 30m $(shell $(GO) list ./test/... | grep -v /test/bench)

.PHONY: helm-lint
helm-lint: $(HELM) ## Lint the Helm chart in both certificate modes.
	$(HELM) lint --strict charts/gatewarden
	$(HELM) lint --strict charts/gatewarden --set certManager.enabled=false

# How long `make fuzz` runs each fuzz target; `make test` runs each for 5s.
FUZZTIME ?= 60s

.PHONY: fuzz
fuzz: ## Fuzz the evaluator and the AdmissionReview handlers, $(FUZZTIME) each (make fuzz FUZZTIME=10m).
	$(GO) test -run '^$$' -fuzz '^FuzzEvaluate$$' -fuzztime $(FUZZTIME) ./pkg/attachment/
	$(GO) test -run '^$$' -fuzz '^FuzzAdmissionReview$$' -fuzztime $(FUZZTIME) ./webhook/

.PHONY: test-fuzz
test-fuzz: ## Fuzz each target for 20,000 inputs: no input may panic or break an invariant.
	@# A count, not a duration: Go 1.26's fuzz coordinator can fail a run that
	@# ends on its -fuzztime deadline with "context deadline exceeded" and no
	@# failing input (golang/go#75804, fixed in Go 1.27).
	$(MAKE) --no-print-directory fuzz FUZZTIME=20000x

.PHONY: golden
golden: ## Regenerate the golden verdicts of the scenario fixtures (review the diff).
	UPDATE_GOLDEN=true $(GO) test ./pkg/report/ -run TestScenarios

# The sizes, in routes, of the README's sizing table.
SIZING_ROUTES ?= 10000,25000,50000,100000

.PHONY: bench
bench: tools ## Run the benchmarks: the evaluator's, then against a real kube-apiserver with 51,000 routes (about 45 minutes).
	$(GO) test -run '^$$' -bench . -benchmem $(UNIT_PKGS)
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 120m ./test/bench/

.PHONY: bench-sizing
bench-sizing: tools ## Measure gatewarden's peak memory at each size of the README's sizing table (about an hour).
	BENCH_MEMORY_ROUTES=$(SIZING_ROUTES) $(GO) test -run '^$$' -bench '^BenchmarkMemory$$' -benchtime 1x -timeout 180m ./test/bench/

.PHONY: demo
demo: tools ## Run the example scenario on a local control plane (KEEP=1 keeps it up).
	KEEP=$(KEEP) $(GO) run ./test/demo

.PHONY: check-sample
check-sample: build ## Run `gatewarden check` on the example scenario.
	$(GATEWARDEN) check -f config/samples/shared-gateway || [ $$? -eq 1 ]

##@ Tools

.PHONY: tools
tools: $(KUBE_APISERVER) $(KUBECTL) $(ETCD) $(HELM) ## Build kube-apiserver, kubectl, etcd and helm into bin/ (once).

# The version stamps the projects' own release builds set with -X
# (kubernetes hack/lib/version.sh, helm's Makefile). Without them kubectl
# cannot parse its own version and helm renders charts for Kubernetes 1.20.
# Built from the module proxy's archive, hence gitTreeState "archive".
KUBE_MINOR    := $(word 2,$(subst ., ,$(KUBE_VERSION)))
KUBE_LDFLAGS  := $(foreach p,k8s.io/client-go/pkg/version k8s.io/component-base/version,\
	-X $(p).gitVersion=$(KUBE_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=$(KUBE_MINOR) -X $(p).gitTreeState=archive)
HELM_LDFLAGS  := -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	$(foreach p,helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules,-X $(p).k8sVersionMajor=1 -X $(p).k8sVersionMinor=$(HELM_KUBE_MINOR))

# bin/.flags-NAME holds the flags a tool was built with; it changes, and the
# tool is built again, only when they do.
$(BIN)/.flags-%: FORCE
	@mkdir -p $(BIN)
	@echo '$(FLAGS_$*)' | cmp -s - $@ || echo '$(FLAGS_$*)' > $@
FLAGS_kube = $(KUBE_LDFLAGS)
FLAGS_helm = $(HELM_LDFLAGS)
.PHONY: FORCE
FORCE:

# The first build takes about six minutes on two cores; a change of the
# version stamps only links again.
$(KUBE_APISERVER) $(KUBECTL) &: test/tools/kube/go.mod $(BIN)/.flags-kube
	cd test/tools/kube && $(GO) build -ldflags '$(KUBE_LDFLAGS)' -o $(BIN)/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
	@touch $(KUBE_APISERVER) $(KUBECTL)

$(ETCD): test/tools/etcd/go.mod
	cd test/tools/etcd && $(GO) build -o $(ETCD) go.etcd.io/etcd/server/v3
	@touch $(ETCD)

$(HELM): $(BIN)/.flags-helm
	GOBIN=$(BIN) $(GO) install -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	@touch $(HELM)

$(GOLANGCI_LINT):
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: clean
clean: ## Remove bin/ (the tools are rebuilt on the next test).
	rm -rf $(BIN)
