#!/usr/bin/env bash
# Starts Atrium with its embedded default: a private PostgreSQL cluster under .atrium/dev, the
# server on 127.0.0.1:50051, and demo data (a mall, merchants in several categories, rules,
# tiers, a campaign and members). Keys are printed once. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/ensure-postgres.sh
swift build --product atrium
exec .build/debug/atrium dev "$@"
