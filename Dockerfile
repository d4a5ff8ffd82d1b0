# syntax=docker/dockerfile:1
#
# The image of one binary: the server (default), the worker, or a module served
# alone. One image per binary, not one for all: each binary is the whole
# platform (about 40 MB stripped), so one image holding three would weigh three
# times as much while every pod runs one of them.
#
#   docker build -t modulith/server .                          # make image
#   docker build --build-arg CMD=worker -t modulith/worker .   # make image-module MODULE=worker
#   docker build --build-arg CMD=auth -t modulith/auth .       # make image-module MODULE=auth
#
# The base images are arguments, so machines without a registry can build
# with local stand-ins (scripts/ci/podman-setup.sh). The runtime is
# distroless static: no shell, no package manager, user nonroot (65532).
# The binary embeds its migrations, templates and OpenAPI document; it needs
# no file from the tree, so the container runs with a read-only root
# filesystem. Configuration comes from the environment (README:
# "Configuration"); no configs/*.yaml is baked in.

ARG GO_IMAGE=golang:1.27.3-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# The build stage runs on the builder's own platform and cross-compiles for
# the target one (TARGETOS/TARGETARCH, set by BuildKit and Buildah), so a
# multi-platform build (docker buildx --platform linux/amd64,linux/arm64)
# needs no emulation.
FROM --platform=${BUILDPLATFORM} ${GO_IMAGE} AS build
ARG GOPROXY=https://proxy.golang.org,direct
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
    GOMODCACHE=/go/pkg/mod GOCACHE=/root/.cache/go-build GOPROXY=${GOPROXY}
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG CMD=server
ARG VERSION=dev
ARG COMMIT=
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    test -f "cmd/${CMD}/main.go" || { echo "no cmd/${CMD}: CMD is server, worker or a module served alone" >&2; exit 1; }; \
    GOOS="${TARGETOS}" GOARCH="${TARGETARCH}" go build -trimpath -tags grpcnotrace \
      -ldflags "-s -w -X github.com/modulith/modulith/cmd/server/commands.Version=${VERSION} -X github.com/modulith/modulith/cmd/server/commands.Commit=${COMMIT}" \
      -o /out/modulith "./cmd/${CMD}"

FROM ${RUNTIME_IMAGE}
ARG CMD=server
ARG VERSION=dev
ARG COMMIT=
LABEL org.opencontainers.image.title="modulith-${CMD}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="https://github.com/modulith/modulith"
COPY --from=build /out/modulith /usr/local/bin/modulith
USER 65532:65532
# HTTP (REST, WebSocket, probes), gRPC, admin (/metrics; loopback in prod
# unless ADMIN_BIND_HOST says otherwise).
EXPOSE 8080 9090 9100
# For Docker and Compose; Kubernetes uses the chart's probes instead.
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/modulith", "health"]
ENTRYPOINT ["/usr/local/bin/modulith"]
