#!/usr/bin/env bash
# Builds the scale rows' client (main.go, franz-go) into .deps/scale for npm run bench:compare. Modules come from
# the Go module proxy (pinned by go.mod/go.sum); the module and build caches are the repo's gitignored .cache/go,
# shared with the Go compat families. Optimised (unlike the compat drivers): this client must stay cheap beside the
# brokers it loads. A no-op when the binary is newer than its sources.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
command -v go >/dev/null 2>&1 || { echo "bench/scale setup: go not found (Go 1.26+ needed)" >&2; exit 1; }
export GOMODCACHE="$repo_root/.cache/go/mod" GOCACHE="$repo_root/.cache/go/build" GOFLAGS=-modcacherw GOTOOLCHAIN=local
binary="$here/.deps/scale"
if [ -x "$binary" ] && [ -z "$(find "$here" -maxdepth 1 \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -newer "$binary")" ]; then
  echo "$binary"
  exit 0
fi
mkdir -p "$here/.deps"
(cd "$here" && go build -trimpath -o .deps/scale .) >&2
echo "$binary"
