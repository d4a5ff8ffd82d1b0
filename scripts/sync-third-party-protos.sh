#!/usr/bin/env bash
# Regenerates third_party/proto from Go modules pinned in go.mod (no buf
# registry, no hand-copied files). Run it after changing the version of
# grpc-gateway, genproto or protovalidate in go.mod, then commit proto/third_party.
set -euo pipefail
cd "$(dirname "$0")/.."
out=proto/third_party
rm -rf "$out"
mkdir -p "$out/protoc-gen-openapiv2/options"

# openapiv2 options ship as .proto sources inside the grpc-gateway Go module,
# at the same version as the runtime in go.mod.
go mod download github.com/grpc-ecosystem/grpc-gateway/v2
gw=$(go list -m -f '{{.Dir}}' github.com/grpc-ecosystem/grpc-gateway/v2)
install -m 0644 "$gw"/protoc-gen-openapiv2/options/annotations.proto \
                "$gw"/protoc-gen-openapiv2/options/openapiv2.proto \
                "$out/protoc-gen-openapiv2/options/"

# google/api and buf/validate: no Go module ships their sources, so print them
# from the descriptors compiled into genproto and protovalidate.
go run ./internal/tools/protoexport -out "$out" \
  google/api/annotations.proto \
  google/api/http.proto \
  google/api/httpbody.proto \
  google/api/field_behavior.proto \
  buf/validate/validate.proto
# google/protobuf/*.proto (well-known types) are built into buf.
