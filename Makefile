# The single entry point of the project. `make` (or `make help`) lists the
# targets. Every tool is pinned in go.mod or tools/go.mod and run with
# `go tool`: nothing to install but Go (and PostgreSQL or Docker, which
# `make db-up` finds or starts by itself; the NATS tests also use nats-server
# or Docker, which `make nats-up` starts when either is installed).

# go.mod's toolchain line asks for go1.27.3 (security fixes of the standard
# library); the go command fetches it once from the module proxy (~76 MB).
# Installations that set GOTOOLCHAIN=local (Debian's, ours) would ignore that
# line, so make asks for it explicitly; set GOTOOLCHAIN yourself to override.
export GOTOOLCHAIN ?= go1.27.3

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
TOOL     := $(GO) tool -modfile=tools/go.mod
DEVDB    := $(GO) run ./scripts/devdb
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
# grpcnotrace leaves out golang.org/x/net/trace, whose HTML pages execute
# templates, which keeps every exported method in the binary (13 MB).
TAGS     := grpcnotrace
LDFLAGS  := -s -w -X github.com/modulith/modulith/cmd/server/commands.Version=$(VERSION) \
            -X github.com/modulith/modulith/cmd/server/commands.Commit=$(COMMIT)
MODULE   ?=
NAME     ?=
TASK     ?=
PKG      ?=
RUN      ?=
# Tests get a fresh database per test on the server `make db-up` ensures, and
# share the NATS server `make nats-up` ensures and the Redis server `make
# redis-up` ensures (their NATS and Redis tests skip outside CI when there is
# none).
TEST_DB    = TEST_DATABASE_URL="$$($(DEVDB) url --maintenance)"
TEST_NATS  = TEST_NATS_URL="$$($(DEVDB) nats-url)"
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
TEST_REDIS = TEST_REDIS_URL="$(TEST_REDIS_URL)"
GENERATED := /gen/|/db/store/|/mocks/|\.pb(\.gw)?\.go|^modules/graphql\.go
# go tool compiles a pinned tool of tools/go.mod silently the first time it
# runs, for minutes; targets that use one depend on its stamp, whose recipe
# says so and builds it (once per tools/go.mod and go.sum).
TOOL_STAMP := .cache/tools
# What `make generate` writes (protos too: buf format rewrites them).
GENERATED_PATHS := gen proto internal/openapi/spec modules/graphql.go ':(glob)modules/*/internal/db/store/**' ':(glob)**/mocks/**'

##@ Run

.PHONY: run
run: db-up ## Run the server (HTTP :8080, gRPC :9090, admin :9100), migrations applied
	@echo "compiling and starting the server (the first build takes a few minutes)"
	$(GO) run ./cmd/server

.PHONY: dev
dev: db-up $(TOOL_STAMP)/air ## Run the server with hot reload (Air)
	$(TOOL) air -c .air.toml

.PHONY: build
build: ## Build bin/server
	$(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/server ./cmd/server

.PHONY: build-module
build-module: ## Build one module as its own service: make build-module MODULE=auth
	@test -n "$(MODULE)" || { echo "usage: make build-module MODULE=<name>"; exit 2; }
	$(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/$(MODULE) ./cmd/$(MODULE)

##@ Test

.PHONY: test
# The scaffolding tests (scripts/newmodule, scripts/protoversion) run make
# generate in a copy of the repository: test builds buf and sqlc (whose C
# parser takes minutes to compile) first, so that a cold build cache is not
# spent inside the tests' timeout.
test: db-up nats-up redis-up $(TOOL_STAMP)/buf $(TOOL_STAMP)/sqlc ## Run every test with the race detector (real PostgreSQL and NATS)
	$(TEST_DB) $(TEST_NATS) $(TEST_REDIS) $(GO) test -race -count=1 -timeout=12m ./...

.PHONY: test-unit
test-unit: ## Run the tests that need no database (-short)
	$(GO) test -race -short -count=1 -timeout=5m ./...

.PHONY: test-pkg
test-pkg: db-up nats-up redis-up ## Run one package's tests like make test: make test-pkg PKG=./modules/orders/... [RUN=regexp]
	@test -n "$(PKG)" || { echo "usage: make test-pkg PKG=<packages, e.g. ./modules/orders/...> [RUN=<test regexp>]"; exit 2; }
	$(TEST_DB) $(TEST_NATS) $(TEST_REDIS) $(GO) test -race -count=1 -timeout=12m $(if $(RUN),-run '$(RUN)') $(PKG)

.PHONY: test-integration
test-integration: db-up nats-up redis-up ## Run the end-to-end tests in examples/
	$(TEST_DB) $(TEST_NATS) $(TEST_REDIS) $(GO) test -race -count=1 -timeout=12m ./examples/...

.PHONY: coverage
coverage: db-up nats-up redis-up ## Coverage of hand-written code (generated code excluded); HTML in coverage.html
	$(TEST_DB) $(TEST_NATS) $(TEST_REDIS) $(GO) test -race -count=1 -timeout=15m -covermode=atomic -coverpkg=./... -coverprofile=coverage.all.out ./...
	grep -v -E '$(GENERATED)' coverage.all.out > coverage.out
	$(GO) tool cover -func=coverage.out | tail -n 1
	$(GO) tool cover -html=coverage.out -o coverage.html

.PHONY: bench
bench: db-up nats-up redis-up build ## Run the benchmarks; each prints its figures and ratio to a baseline (or goal)
	$(TEST_DB) $(TEST_NATS) $(TEST_REDIS) BENCH_SERVER_BINARY=$(CURDIR)/bin/server $(GO) test -run='^$$' -bench=. -benchmem -benchtime=5s -count=1 -timeout=30m ./bench/...

# The OpenAPI check's npm packages, pinned by package-lock.json. npm keeps
# the downloads in NPM_CACHE (npm's own cache by default, which outlives a
# clean clone), so a warm run asks the registry nothing.
OPENAPI_TOOLS := tools/openapi
OPENAPI_SPEC  := internal/openapi/spec/openapi.json
NPM_CACHE     ?= $(HOME)/.npm

.PHONY: openapi-check
openapi-check: $(OPENAPI_TOOLS)/node_modules/.installed ## Validate the OpenAPI document (Redocly) and type-check a TypeScript client generated from it (Node.js 20.19+)
	cd $(OPENAPI_TOOLS) && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	  node_modules/.bin/redocly lint --config redocly.yaml ../../$(OPENAPI_SPEC)
	cd $(OPENAPI_TOOLS) && node_modules/.bin/openapi-typescript ../../$(OPENAPI_SPEC) --output gen/api.ts
	cd $(OPENAPI_TOOLS) && node_modules/.bin/tsc -p .

$(OPENAPI_TOOLS)/node_modules/.installed: $(OPENAPI_TOOLS)/package-lock.json
	@echo "npm ci in $(OPENAPI_TOOLS): Redocly CLI, openapi-typescript, TypeScript (~30 s the first time)"
	cd $(OPENAPI_TOOLS) && npm ci --no-audit --no-fund --prefer-offline --cache '$(NPM_CACHE)'
	touch $@

.PHONY: lint
lint: vulncheck $(TOOL_STAMP)/golangci-lint $(TOOL_STAMP)/buf ## Lint Go (golangci-lint, strict) and protos (buf), check for known vulnerabilities
	$(TOOL) golangci-lint run ./...
	$(TOOL) buf lint

# govulncheck reads the Go vulnerability database. The public one
# (vuln.go.dev) may be out of reach, but golang.org/x/vulndb is a Go module
# that carries every report as OSV JSON: `make vulndb` indexes a pinned
# version of it into a local database once (raise VULNDB_VERSION to take newer
# reports: make vulndb VULNDB_VERSION=v0.0.0-...).
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018
VULNDB_DIR     ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/modulith/vulndb-$(VULNDB_VERSION)

.PHONY: vulndb
vulndb: ## Build the local vulnerability database govulncheck reads (once per VULNDB_VERSION)
	@dir="$(VULNDB_DIR)"; test -f "$$dir/index/db.json" || { \
	  echo "vulndb: indexing golang.org/x/vulndb@$(VULNDB_VERSION) into $$dir (first time only, about a minute)"; \
	  $(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION); \
	  rm -rf "$$dir.tmp"; mkdir -p "$$(dirname "$$dir")"; \
	  $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) \
	    -vulns "$$($(GO) env GOMODCACHE)/golang.org/x/vulndb@$(VULNDB_VERSION)/data/osv" -out "$$dir.tmp"; \
	  mv "$$dir.tmp" "$$dir"; }

.PHONY: vulncheck
vulncheck: vulndb ## Fail when the code reaches a known vulnerability (govulncheck, local database)
	$(TOOL) govulncheck -db "file://$(VULNDB_DIR)" ./...

.PHONY: tidy-check
tidy-check: ## Fail when go.mod/go.sum of either module are not tidy or do not verify
	$(GO) mod tidy -diff
	$(GO) mod verify
	cd tools && $(GO) mod tidy -diff && $(GO) mod verify

.PHONY: verify-modules
verify-modules: ## Check module boundaries (imports, cycles, schemas, a platform naming a module) and regenerate docs/modules.md
	$(GO) run ./scripts/verifymodules

##@ Code generation

.PHONY: generate
generate: proto sqlc graphql mocks ## Regenerate everything (buf, sqlc, gqlgen, mockgen)

.PHONY: proto
proto: $(TOOL_STAMP)/buf ## Format, lint and generate the protos (Go, gateway, OpenAPI 3)
	$(TOOL) buf format -w $(addprefix --path ,$(filter-out proto/third_party,$(wildcard proto/*)))
	$(TOOL) buf lint
	$(TOOL) buf generate
	$(GO) run ./scripts/openapigen

.PHONY: sqlc
sqlc: $(TOOL_STAMP)/sqlc ## Generate the modules' database stores
	$(TOOL) sqlc vet
	$(TOOL) sqlc generate

.PHONY: graphql
graphql: ## Generate the GraphQL schema's code from every module's schema (gqlgen) and its root resolver
	$(GO) tool gqlgen generate
	$(GO) run ./scripts/graphqlroot

.PHONY: mocks
mocks: ## Generate gomock mocks (go:generate directives)
	$(GO) generate ./...

.PHONY: check-generate
check-generate: generate ## Fail when generated code is not what `make generate` makes
	@test -z "$$(git status --porcelain -- $(GENERATED_PATHS))" || { \
	  git status --short -- $(GENERATED_PATHS); echo "generated code is stale: run make generate and commit"; exit 1; }

# GraphiQL (the GraphQL playground) is served from the binary: its files are
# committed in internal/graphql/playground/assets, extracted from npm
# tarballs whose versions and sha512 integrity scripts/graphiqlassets pins
# (NPM_CONFIG_REGISTRY names a mirror). Not part of generate: it downloads.
.PHONY: graphiql-assets
graphiql-assets: ## Download the pinned GraphiQL and React npm tarballs, verify them, extract the playground's assets
	$(GO) run ./scripts/graphiqlassets

.PHONY: third-party-protos
third-party-protos: ## Re-export proto/third_party from the Go modules in go.mod
	./scripts/sync-third-party-protos.sh

.PHONY: proto-version-create
proto-version-create: ## Copy a module's latest API version to a new one, served beside it: make proto-version-create MODULE=auth VERSION=v2
	@test -n "$(MODULE)" -a "$(origin VERSION)" != file || { echo "usage: make proto-version-create MODULE=<name> VERSION=v<N>"; exit 2; }
	$(GO) run ./scripts/protoversion create -module '$(MODULE)' -version '$(VERSION)'

.PHONY: proto-breaking-check
proto-breaking-check: $(TOOL_STAMP)/buf ## Fail when the protos break compatibility with the main branch (buf breaking)
	against="$$($(GO) run ./scripts/protoversion against -branch main)"; $(TOOL) buf breaking --against "$$against"

$(TOOL_STAMP)/%: tools/go.mod tools/go.sum
	@echo "building pinned tool $* (first time only, ~1-3 min, longer on a busy machine)"
	@$(TOOL) -n $* >/dev/null
	@mkdir -p $(@D) && touch $@

##@ Modules

.PHONY: new-module
new-module: ## Scaffold a CRUD module, register it and generate its code: make new-module NAME=payments
	@test -n "$(NAME)" || { echo "usage: make new-module NAME=<name> (lower case: payments, line_items)"; exit 2; }
	$(GO) run ./scripts/newmodule new '$(NAME)'
	$(GO) run ./scripts/protoversion apis -module '$(NAME)'
	@$(MAKE) --no-print-directory generate verify-modules
	@$(GO) run ./scripts/newmodule next '$(NAME)'

.PHONY: destroy-module
destroy-module: ## Remove a module and everything new-module added, then regenerate: make destroy-module NAME=payments
	@test -n "$(NAME)" || { echo "usage: make destroy-module NAME=<name>"; exit 2; }
	$(GO) run ./scripts/newmodule destroy '$(NAME)'
	@$(MAKE) --no-print-directory generate verify-modules

##@ Template

.PHONY: rename
rename: ## Give the project its own Go module path and regenerate: make rename MODULE=github.com/acme/shop
	@test -n "$(MODULE)" || { echo "usage: make rename MODULE=<module path, e.g. github.com/acme/shop>"; exit 2; }
	$(GO) run ./scripts/rename -module '$(MODULE)'

.PHONY: rename-check
rename-check: db-up nats-up ## Rename a copy of the tree to github.com/acme/shop, vet it and run its modules' tests (TestRenameEndToEnd)
	$(TEST_DB) $(TEST_NATS) $(TEST_REDIS) $(GO) test -count=1 -timeout=20m -run '^TestRenameEndToEnd$$' -v ./scripts/rename/

##@ Database and NATS

.PHONY: db-up
db-up: ## Make sure PostgreSQL answers at DB_DSN (starts compose or a local cluster if not)
	@$(DEVDB) up

.PHONY: db-down
db-down: ## Stop the PostgreSQL that db-up started
	@$(DEVDB) down

.PHONY: nats-up
nats-up: ## Make sure NATS with JetStream answers at NATS_URL (starts nats-server or compose if it can)
	@$(DEVDB) nats-up

.PHONY: redis-up
redis-up: ## Make sure Redis answers at TEST_REDIS_URL's 127.0.0.1:6379 (starts redis-server if installed)
	@if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then \
	  if command -v redis-server >/dev/null; then \
	    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null && \
	    for _ in $$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done; \
	  else echo "redis-up: nothing answers at 127.0.0.1:6379 and redis-server is not installed; the Redis tests skip"; fi; \
	fi

.PHONY: vault-up
vault-up: ## Start a Vault dev server at 127.0.0.1:8200 for TEST_VAULT_ADDR (built from source once: long)
	@scripts/ci/vault.sh

.PHONY: nats-down
nats-down: ## Stop the NATS server that nats-up started
	@$(DEVDB) nats-down

.PHONY: db-reset
db-reset: ## Drop and recreate the database, then apply migrations
	@$(DEVDB) reset
	$(GO) run ./cmd/server migrate up

.PHONY: migrate
migrate: db-up ## Apply pending migrations of every module
	$(GO) run ./cmd/server migrate up

.PHONY: migrate-down
migrate-down: db-up ## Revert the latest migration of a module: make migrate-down MODULE=auth
	@test -n "$(MODULE)" || { echo "usage: make migrate-down MODULE=<name>"; exit 2; }
	$(GO) run ./cmd/server migrate down $(MODULE)

.PHONY: migrate-status
migrate-status: db-up ## List applied and pending migrations
	$(GO) run ./cmd/server migrate status

.PHONY: migrate-create
migrate-create: ## Add a migration pair: make migrate-create MODULE=auth NAME=add_avatar
	@test -n "$(MODULE)" -a -n "$(NAME)" || { echo "usage: make migrate-create MODULE=<name> NAME=<snake_case>"; exit 2; }
	$(GO) run ./cmd/server migrate create $(MODULE) $(NAME)

.PHONY: seed
seed: db-up ## Load development seed data (e.g. admin@example.com)
	$(GO) run ./cmd/server seed

.PHONY: admin
admin: db-up ## Run a maintenance task: make admin TASK=cleanup-sessions (no TASK lists them)
	$(GO) run ./cmd/server admin $(TASK)

##@ Ship

# The Helm chart (deployment/helm/modulith): lint, render each topology of
# its ci/*-values.yaml, and run tools/chartcheck, which decodes every rendered
# object strictly into the Kubernetes API types and fails when the chart
# drifts from the code (environment, ports, probes, commands, REMOTE_MODULES).
# scripts/ci/chart.sh also runs the monolith rendering with podman kube play.
CHART := deployment/helm/modulith

.PHONY: chart-check
chart-check: $(TOOL_STAMP)/helm ## Lint the Helm chart, render each topology (object counts), strict-decode and check it against the code
	$(TOOL) helm lint --strict $(CHART) --values $(CHART)/ci/monolith-values.yaml
	@for f in $(CHART)/ci/*-values.yaml; do \
	  $(TOOL) helm lint --strict --quiet $(CHART) --values $$f >/dev/null || exit 1; \
	  out=$$($(TOOL) helm template modulith $(CHART) --namespace modulith --values $$f) || exit 1; \
	  printf '%-13s %3s objects: %s\n' "$$(basename $$f -values.yaml)" "$$(grep -c '^kind:' <<<"$$out")" \
	    "$$(grep '^kind:' <<<"$$out" | sort | uniq -c | awk '{printf "%s=%s ", $$3, $$1}')"; \
	done
	cd tools && $(GO) test -race -count=1 -timeout=10m ./chartcheck/

# Container images: one per binary under cmd/ (server, worker, each module
# served alone), built from the Dockerfile. They are named
# $(IMAGE_REPO)/<binary>:$(IMAGE_TAG); IMAGE_REPO defaults to a local name
# (Podman stores it as localhost/modulith/...) and a registry is named at
# release time, e.g. IMAGE_REPO=ghcr.io/acme/shop. The engine is Docker when
# `docker info` answers, else Podman when `podman info` does;
# CONTAINER_ENGINE=podman (or docker) overrides. GO_IMAGE, RUNTIME_IMAGE and
# GOPROXY go to the build as arguments when set (other base images, a module
# proxy); the Dockerfile's defaults are the public golang and distroless
# images. Podman builds in Docker's format (the OCI format has no
# HEALTHCHECK) and is told the target platform (Podman 4 does not set
# TARGETOS/TARGETARCH by itself; BuildKit does).
IMAGE_REPO ?= modulith
IMAGE_TAG  ?= $(VERSION)
BINARIES   := $(patsubst cmd/%/main.go,%,$(wildcard cmd/*/main.go))
IMAGE_BUILD_ARGS = --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
  $(if $(GO_IMAGE),--build-arg GO_IMAGE=$(GO_IMAGE)) \
  $(if $(RUNTIME_IMAGE),--build-arg RUNTIME_IMAGE=$(RUNTIME_IMAGE)) \
  $(if $(GOPROXY),--build-arg GOPROXY=$(GOPROXY))
# Prints the engine to use, or fails saying why none can be.
ENGINE = $(or $(CONTAINER_ENGINE),$$( \
  if docker info >/dev/null 2>&1; then echo docker; \
  elif podman info >/dev/null 2>&1; then echo podman; \
  else echo "no container engine: neither 'docker info' nor 'podman info' answers (install one, or set CONTAINER_ENGINE)" >&2; exit 1; fi))
# $(call build-image,<binary>,<tag>)
build-image = engine="$(ENGINE)"; \
  format=; test "$$engine" != podman || format="--format docker --build-arg TARGETOS=linux \
    --build-arg TARGETARCH=$$(podman info --format '{{.Host.Arch}}')"; \
  echo "$$engine: building $(2) (cmd/$(1), version $(VERSION))"; \
  start=$$SECONDS; \
  DOCKER_BUILDKIT=1 "$$engine" build $$format $(IMAGE_BUILD_ARGS) --build-arg CMD=$(1) -t $(2) . ; \
  echo "built $(2) in $$((SECONDS - start))s"

.PHONY: image
image: ## Build the server's image, IMAGE_REPO/server:IMAGE_TAG (modulith/server:<git version>), with Docker or Podman
	@$(call build-image,server,$(IMAGE_REPO)/server:$(IMAGE_TAG))

.PHONY: image-module
image-module: ## Build another binary's image: make image-module MODULE=worker|auth (any cmd/ directory)
	@test -n "$(MODULE)" -a -f "cmd/$(MODULE)/main.go" || { echo "usage: make image-module MODULE=<$(BINARIES)>"; exit 2; }
	@$(call build-image,$(MODULE),$(IMAGE_REPO)/$(MODULE):$(IMAGE_TAG))

.PHONY: release
release: ## Build every binary's image, IMAGE_REPO/<binary>:VERSION; PUSH=1 pushes them: make release IMAGE_REPO=ghcr.io/acme/shop VERSION=v1.0.0 PUSH=1
	@case "$(VERSION)" in *dirty*) echo "warning: VERSION $(VERSION): the tree has uncommitted changes" >&2;; esac
	@$(foreach b,$(BINARIES),$(call build-image,$(b),$(IMAGE_REPO)/$(b):$(VERSION));)
	@if [ "$(PUSH)" = 1 ]; then engine="$(ENGINE)"; \
	  for b in $(BINARIES); do echo "pushing $(IMAGE_REPO)/$$b:$(VERSION)"; "$$engine" push "$(IMAGE_REPO)/$$b:$(VERSION)"; done; \
	else echo "images built, not pushed (PUSH=1 pushes them): $(foreach b,$(BINARIES),$(IMAGE_REPO)/$(b):$(VERSION))"; fi

# actionlint runs from its own module graph, pinned here: in tools/go.mod
# gosec (golangci-lint) selects go.yaml.in/yaml/v4 v4.0.0-rc.6, whose API
# actionlint v1.7.12 does not compile against (it asks for rc.3).
ACTIONLINT_VERSION ?= v1.7.12

.PHONY: workflows-check
workflows-check: ## Check the GitHub workflows in .github/workflows (actionlint, pinned)
	$(GO) run github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

# --- Observability: dashboards, alert rules, the compose stack -------------
# The Helm chart's Grafana dashboards and Prometheus rules live under
# deployment/helm/modulith/files/; deployment/compose.yaml runs them with the
# server, a worker, PostgreSQL, NATS, an OpenTelemetry Collector, Jaeger,
# Prometheus and Grafana. promtool comes from Debian's prometheus package,
# unpacked into .cache/promtool by scripts/ci/promtool.sh (not installed: the
# package would start a Prometheus service).
COMPOSE_STACK := deployment/compose.yaml
ALERT_RULES   := deployment/helm/modulith/files/prometheus/alerts.yaml
PROMTOOL       = $$(scripts/ci/promtool.sh)
# Docker Compose v2 (`docker compose`), else docker-compose. Not
# podman-compose: 1.0.3 (Debian 12), as its --dry-run shows, turns CMD health
# checks into /bin/sh -c commands, which the distroless server and worker
# images cannot run (it also names the project after the directory and has no
# `config` command).
COMPOSE        = $$(if docker compose version >/dev/null 2>&1; then echo docker compose; \
                    elif command -v docker-compose >/dev/null; then echo docker-compose; \
                    else echo "make up needs Docker Compose (docker compose or docker-compose) and a Docker engine" >&2; echo false; fi)

.PHONY: up
up: ## Build and start the whole stack in containers (server, worker, PostgreSQL, NATS, OTel Collector, Jaeger, Prometheus, Grafana)
	$(COMPOSE) -f $(COMPOSE_STACK) up -d --build
	@echo "API         http://127.0.0.1:8080   (gRPC 127.0.0.1:9090)"
	@echo "Grafana     http://127.0.0.1:3000   (admin/admin; dashboards in the modulith folder)"
	@echo "Prometheus  http://127.0.0.1:9091   (alerts: /alerts)"
	@echo "Jaeger      http://127.0.0.1:16686"
	@echo "metrics     http://127.0.0.1:9100/metrics (server), http://127.0.0.1:9101/metrics (worker)"

.PHONY: down
down: ## Stop the compose stack (its data volumes stay; add -v by hand to drop them)
	$(COMPOSE) -f $(COMPOSE_STACK) down

.PHONY: rules-check
rules-check: prometheus-config-check ## Check the Prometheus rules and run their unit tests (promtool), check the compose Prometheus config
	$(PROMTOOL) check rules $(ALERT_RULES)
	$(PROMTOOL) test rules deployment/prometheus/alerts_test.yaml

.PHONY: compose-check
compose-check: prometheus-config-check ## Validate deployment/compose.yaml as docker compose config does (compose-go) and its invariants, and the Prometheus config
	cd tools && $(GO) test -race -count=1 -timeout=5m ./composecheck/

# The compose Prometheus reads rules/alerts.yaml next to its config: the
# config is checked in that same layout.
.PHONY: prometheus-config-check
prometheus-config-check:
	tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	  cp deployment/observability/prometheus.yml "$$tmp/" && mkdir "$$tmp/rules" && cp $(ALERT_RULES) "$$tmp/rules/"; \
	  $(PROMTOOL) check config "$$tmp/prometheus.yml"
# --- end of observability ---------------------------------------------------

##@ Help

.PHONY: help
help: ## List the targets (target names in colour on a terminal)
	@if test -t 1; then on='\033[36m' off='\033[0m'; else on= off=; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  %s%-20s%s %s\n", on, $$1, off, $$2 } \
	  /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
