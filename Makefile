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
LDFLAGS  := -s -w -X github.com/modulith/modulith/cmd/server/commands.Version=$(VERSION) \
            -X github.com/modulith/modulith/cmd/server/commands.Commit=$(COMMIT)
MODULE   ?=
NAME     ?=
TASK     ?=
# Tests get a fresh database per test on the server `make db-up` ensures, and
# share the NATS server `make nats-up` ensures (their NATS tests skip outside
# CI when there is none).
TEST_DB   = TEST_DATABASE_URL="$$($(DEVDB) url --maintenance)"
TEST_NATS = TEST_NATS_URL="$$($(DEVDB) nats-url)"
GENERATED := /gen/|/db/store/|/mocks/|\.pb(\.gw)?\.go
# What `make generate` writes (protos too: buf format rewrites them).
GENERATED_PATHS := gen proto internal/openapi/spec ':(glob)modules/*/internal/db/store/**' ':(glob)**/mocks/**'

##@ Run

.PHONY: run
run: db-up ## Run the server (HTTP :8080, gRPC :9090, admin :9100), migrations applied
	$(GO) run ./cmd/server

.PHONY: dev
dev: db-up ## Run the server with hot reload (Air)
	$(TOOL) air -c .air.toml

.PHONY: build
build: ## Build bin/server
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/server ./cmd/server

.PHONY: build-module
build-module: ## Build one module as its own service: make build-module MODULE=auth
	@test -n "$(MODULE)" || { echo "usage: make build-module MODULE=<name>"; exit 2; }
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/$(MODULE) ./cmd/$(MODULE)

##@ Test

.PHONY: test
test: db-up nats-up ## Run every test with the race detector (real PostgreSQL and NATS)
	$(TEST_DB) $(TEST_NATS) $(GO) test -race -count=1 -timeout=12m ./...

.PHONY: test-unit
test-unit: ## Run the tests that need no database (-short)
	$(GO) test -race -short -count=1 -timeout=5m ./...

.PHONY: test-integration
test-integration: db-up nats-up ## Run the end-to-end tests in examples/
	$(TEST_DB) $(TEST_NATS) $(GO) test -race -count=1 -timeout=12m ./examples/...

.PHONY: coverage
coverage: db-up nats-up ## Coverage of hand-written code (generated code excluded); HTML in coverage.html
	$(TEST_DB) $(TEST_NATS) $(GO) test -race -count=1 -timeout=15m -covermode=atomic -coverpkg=./... -coverprofile=coverage.all.out ./...
	grep -v -E '$(GENERATED)' coverage.all.out > coverage.out
	$(GO) tool cover -func=coverage.out | tail -n 1
	$(GO) tool cover -html=coverage.out -o coverage.html

.PHONY: bench
bench: db-up nats-up ## Run the benchmarks; each prints its figures and ratio to a baseline
	$(TEST_DB) $(TEST_NATS) $(GO) test -run='^$$' -bench=. -benchmem -benchtime=5s -count=1 -timeout=30m ./bench/...

.PHONY: lint
lint: ## Lint Go (golangci-lint, strict) and protos (buf)
	$(TOOL) golangci-lint run ./...
	$(TOOL) buf lint

.PHONY: verify-modules
verify-modules: ## Check module boundaries (imports, cycles, schemas, a platform naming a module) and regenerate docs/modules.md
	$(GO) run ./scripts/verifymodules

##@ Code generation

.PHONY: generate
generate: proto sqlc mocks ## Regenerate everything (buf, sqlc, mockgen)

.PHONY: proto
proto: ## Format, lint and generate the protos (Go, gateway, OpenAPI)
	$(TOOL) buf format -w $(addprefix --path ,$(filter-out proto/third_party,$(wildcard proto/*)))
	$(TOOL) buf lint
	$(TOOL) buf generate

.PHONY: sqlc
sqlc: ## Generate the modules' database stores
	$(TOOL) sqlc vet
	$(TOOL) sqlc generate

.PHONY: mocks
mocks: ## Generate gomock mocks (go:generate directives)
	$(GO) generate ./...

.PHONY: check-generate
check-generate: generate ## Fail when generated code is not what `make generate` makes
	@test -z "$$(git status --porcelain -- $(GENERATED_PATHS))" || { \
	  git status --short -- $(GENERATED_PATHS); echo "generated code is stale: run make generate and commit"; exit 1; }

.PHONY: third-party-protos
third-party-protos: ## Re-export proto/third_party from the Go modules in go.mod
	./scripts/sync-third-party-protos.sh

.PHONY: proto-version-create
proto-version-create: ## Copy a module's latest API version to a new one, served beside it: make proto-version-create MODULE=auth VERSION=v2
	@test -n "$(MODULE)" -a "$(origin VERSION)" != file || { echo "usage: make proto-version-create MODULE=<name> VERSION=v<N>"; exit 2; }
	$(GO) run ./scripts/protoversion create -module '$(MODULE)' -version '$(VERSION)'

.PHONY: proto-breaking-check
proto-breaking-check: ## Fail when the protos break compatibility with the main branch (buf breaking)
	against="$$($(GO) run ./scripts/protoversion against -branch main)"; $(TOOL) buf breaking --against "$$against"

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

##@ Help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
