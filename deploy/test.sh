#!/usr/bin/env bash
# The test command: installs PostgreSQL if missing, checks that the generated protobuf code
# matches proto/, and runs every test (domain unit tests, and integration tests that start one
# private PostgreSQL cluster and one in-process server over real HTTP/2 gRPC), then the
# integration tests again on Citus (deploy/citus-test.sh; ATRIUM_SKIP_CITUS=1 skips that run).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/ensure-postgres.sh
if [ "$(deploy/proto-hash.sh)" != "$(cat proto/.generated.sha256)" ]; then
  echo "proto/ changed but Sources/AtriumProto was not regenerated: run deploy/gen-proto.sh" >&2
  exit 1
fi
swift build --build-tests
swift test --skip-build "$@" 2>&1 | grep -v ' started\.$'
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"
# The same suite on Citus (a coordinator and two workers), unless ATRIUM_SKIP_CITUS=1.
[ "${ATRIUM_SKIP_CITUS:-0}" = "1" ] && exit 0
exec deploy/citus-test.sh "$@"
