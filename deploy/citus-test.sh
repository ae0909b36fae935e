#!/usr/bin/env bash
# The integration suite on Citus: builds and installs Citus 13.2.2 from ../shared/citus when it is
# missing (about a minute; Debian's build packages), then runs the tests with ATRIUM_TEST_CITUS=1:
# they start a coordinator and two workers on private sockets (EmbeddedCitus) and run the same
# scenarios against Atrium's distributed mode. Suites that bring a plain cluster of their own
# (restarts, crashes, outages) run only in deploy/test.sh's plain run.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/ensure-postgres.sh
citus=${ATRIUM_CITUS_SOURCE:-../shared/citus}
if [ ! -x "$citus/build-citus.sh" ] && [ ! -f "$citus/build-citus.sh" ]; then
  echo "Citus source not found at $citus (set ATRIUM_CITUS_SOURCE)" >&2
  exit 1
fi
bash "$citus/build-citus.sh"
swift build --build-tests
ATRIUM_TEST_CITUS=1 swift test --skip-build "$@" 2>&1 | grep -v ' started\.$'
exit "${PIPESTATUS[0]}"
