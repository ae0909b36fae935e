#!/usr/bin/env bash
# Prints one hash over every .proto file (path and content), for the stale-code check in CI.
set -euo pipefail
cd "$(dirname "$0")/../proto"
find . -name '*.proto' | LC_ALL=C sort | while read -r f; do echo "$f"; cat "$f"; done | sha256sum | cut -d' ' -f1
