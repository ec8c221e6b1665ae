#!/usr/bin/env bash
# Builds this family's Go driver into .deps/driver. Modules come from the Go module proxy (pinned by
# go.mod/go.sum); the module and build caches live in the repo's gitignored .cache/go, shared with the
# other Go family so the standard library and common modules are compiled once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
command -v go >/dev/null 2>&1 || { echo "$(basename "$here") setup: go not found (Go 1.26+ needed)" >&2; exit 1; }
export GOMODCACHE="$repo_root/.cache/go/mod" GOCACHE="$repo_root/.cache/go/build" GOFLAGS=-modcacherw GOTOOLCHAIN=local
mkdir -p "$here/.deps"
started=$(date +%s)
# Optimizations off (-N -l): a third less compile time on a cold cache, and a test driver needs no speed.
(cd "$here" && go build -trimpath -gcflags='all=-N -l' -o .deps/driver .)
echo "$(basename "$here") setup: driver built in $(( $(date +%s) - started )) s"
