#!/usr/bin/env bash
# Checks .goreleaser.yaml with goreleaser itself and builds a snapshot of
# every target. Heavy (goreleaser pulls some 2 GB of modules), so it stays out
# of CI, which cross-compiles the six targets with go build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
go run github.com/goreleaser/goreleaser/v2@v2.15.1 check
if [ "${1:-}" = "--snapshot" ]; then
  go run github.com/goreleaser/goreleaser/v2@v2.15.1 build --snapshot --clean
  ./dist/rollout_linux_amd64_v1/rollout --version
fi
