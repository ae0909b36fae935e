#!/usr/bin/env bash
# Builds release, starts atriumd with its embedded PostgreSQL, measures pgbench TPC-B on the same
# cluster with the same number of clients, then atrium-bench (submit, checkout, mix, floor, evaluate,
# expiry, settle), and prints SubmitOrder throughput / pgbench tps. `submit` runs twice: with the lean client (HTTP/2
# frames on one event loop, as cheap to the shared cores as pgbench's C client) and with
# grpc-swift's. `floor` is a call the server answers without the database: what gRPC alone
# costs on this machine, the ceiling for any RPC. `expiry` seeds BENCH_LOTS (1000000) expired lots
# over the members (deploy/bench-expiry-seed.sql) and times ExpirePoints until nothing is due; the
# server's own sweeper is off here so that it cannot take them first. `settle` seeds BENCH_ENTRIES
# (1000000) clearing entries (deploy/bench-settle-seed.sql) and times CloseSettlementPeriod over
# them. `submit` also runs over 16 and over 1,000 malls (the same members and load spread evenly
# over them: a platform hosting many malls, a few tills busy in each). Knobs: BENCH_MEMBERS (100000), BENCH_CONCURRENCY (32), BENCH_SECONDS (30), BENCH_WARMUP (5).
# Reports land in .atrium/bench/*.json. BENCH_CITUS=1: the same on `atriumd --citus` with its
# embedded coordinator and two workers (Citus built from ../shared/citus if missing), pgbench on the
# coordinator, and only `submit` over one mall and over 16 malls, and `checkout` (.atrium/bench-citus/).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/ensure-postgres.sh
members=${BENCH_MEMBERS:-100000}
concurrency=${BENCH_CONCURRENCY:-32}
seconds=${BENCH_SECONDS:-30}
warmup=${BENCH_WARMUP:-5}
lots=${BENCH_LOTS:-1000000}
entries=${BENCH_ENTRIES:-1000000}
scratch=.build-release
dir=.atrium/bench
grpc_port=50090
pg_port=54340
server_flags=()
socket=$PWD/$dir/socket
if [ "${BENCH_CITUS:-0}" = "1" ]; then
  bash "${ATRIUM_CITUS_SOURCE:-../shared/citus}/build-citus.sh"
  dir=.atrium/bench-citus
  server_flags=(--citus)
  socket=$PWD/$dir/coordinator/socket
fi

swift build -c release --scratch-path "$scratch" --product atriumd
swift build -c release --scratch-path "$scratch" --product atrium-bench
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

rm -rf "$dir" && mkdir -p "$dir"
key="atrp_$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)"
"$bin/atriumd" "${server_flags[@]}" --data-dir "$dir" --embedded-port "$pg_port" --port "$grpc_port" --platform-key "$key" \
  --db-connections "$concurrency" --expiry-sweep-seconds 0 --log-level warning 2>"$dir/atriumd.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do
  ss -ltn "sport = :$grpc_port" | grep -q LISTEN && break
  sleep 1
done

pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg() { "$pgbin/$1" -h "$socket" -p "$pg_port" -U postgres "${@:2}"; }
pg psql -q -d postgres -c "CREATE DATABASE pgbench" >/dev/null
pg pgbench -q -i -s 10 pgbench >/dev/null 2>&1
tps=$(pg pgbench -c "$concurrency" -j 2 -T "$seconds" pgbench 2>/dev/null | awk '/^tps/ {print $3; exit}')
echo "pgbench TPC-B: $tps tps ($concurrency clients, $seconds s, scale 10, same cluster)"
# Leave no debt to the runs after it: pgbench's dead rows would draw autovacuum, and its dirty
# pages a checkpoint, into the middle of the next measurement.
pg psql -q -d pgbench -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null

# Each run's setup writes its members in bulk; the same debt, paid before the load starts.
checkpoint="$pgbin/psql -q -h $socket -p $pg_port -U postgres -d postgres -c CHECKPOINT"
common=(--server "127.0.0.1:$grpc_port" --platform-key "$key" --members "$members" --concurrency "$concurrency" \
  --duration "$seconds" --warmup "$warmup" --server-pid "$server" --after-setup "$checkpoint")
"$bin/atrium-bench" --scenario submit "${common[@]}" --json "$dir/submit.json"
submit=$(awk -F': ' '/"submitOrdersPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/submit.json")
echo
"$bin/atrium-bench" --scenario checkout "${common[@]}" --json "$dir/checkout.json"
checkout=$(awk -F': ' '/"submitOrdersPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/checkout.json")
echo
if [ "${BENCH_CITUS:-0}" = "1" ]; then
  "$bin/atrium-bench" --scenario submit "${common[@]}" --malls 16 --json "$dir/submit-16-malls.json"
  submit_16=$(awk -F': ' '/"submitOrdersPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/submit-16-malls.json")
  awk -v s="$submit" -v s16="$submit_16" -v k="$checkout" -v t="$tps" 'BEGIN {
    printf "Citus: SubmitOrder %.0f/s vs pgbench %.0f tps: ratio %.2f; over 16 malls %.0f/s (ratio %.2f); checkout %.0f/s (ratio %.2f)\n", s, t, s / t, s16, s16 / t, k, k / t
  }'
  exit 0
fi
for malls in 16 1000; do
  "$bin/atrium-bench" --scenario submit "${common[@]}" --malls "$malls" --json "$dir/submit-$malls-malls.json"
  echo
done
submit_16=$(awk -F': ' '/"submitOrdersPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/submit-16-malls.json")
submit_1000=$(awk -F': ' '/"submitOrdersPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/submit-1000-malls.json")
"$bin/atrium-bench" --scenario submit --client grpc-swift "${common[@]}" --json "$dir/submit-grpc-swift.json"
submit_grpc=$(awk -F': ' '/"submitOrdersPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/submit-grpc-swift.json")
echo
"$bin/atrium-bench" --scenario mix "${common[@]}" --json "$dir/mix.json"
echo
"$bin/atrium-bench" --scenario floor "${common[@]}" --members 1000 --json "$dir/floor.json"
floor=$(awk -F': ' '/"callsPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/floor.json")
echo
"$bin/atrium-bench" --scenario evaluate --json "$dir/evaluate.json"
echo
# The seed runs as the cluster's superuser; the mall's id comes from atrium-bench's environment.
seed="$pgbin/psql -q -h $socket -p $pg_port -U postgres -d atrium -v mall=\$ATRIUM_BENCH_MALL_ID -v lots=$lots -f deploy/bench-expiry-seed.sql"
"$bin/atrium-bench" --scenario expiry --server "127.0.0.1:$grpc_port" --platform-key "$key" --members "$members" \
  --server-pid "$server" --after-setup "$seed" --json "$dir/expiry.json"
expired=$(awk -F': ' '/"lotsExpired"/ {gsub(/,/, "", $2); print $2}' "$dir/expiry.json")
expiry_seconds=$(awk -F': ' '/"durationSeconds"/ {gsub(/,/, "", $2); print $2}' "$dir/expiry.json")
echo
seed="$pgbin/psql -q -h $socket -p $pg_port -U postgres -d atrium -v mall=\$ATRIUM_BENCH_MALL_ID -v entries=$entries -f deploy/bench-settle-seed.sql"
"$bin/atrium-bench" --scenario settle --server "127.0.0.1:$grpc_port" --platform-key "$key" --members "$members" \
  --server-pid "$server" --after-setup "$seed" --json "$dir/settle.json"
settled=$(awk -F': ' '/"entriesSettled"/ {gsub(/,/, "", $2); print $2}' "$dir/settle.json")
settle_seconds=$(awk -F': ' '/"durationSeconds"/ {gsub(/,/, "", $2); print $2}' "$dir/settle.json")
echo
awk -v s="$submit" -v k="$checkout" -v s16="$submit_16" -v s1000="$submit_1000" -v g="$submit_grpc" -v t="$tps" -v f="$floor" -v x="$expired" -v xs="$expiry_seconds" \
  -v c="$settled" -v cs="$settle_seconds" 'BEGIN {
  printf "SubmitOrder %.0f/s vs pgbench %.0f tps: ratio %.2f\n", s, t, s / t
  printf "Checkout (SubmitOrder paying with points) %.0f/s: ratio %.2f\n", k, k / t
  printf "SubmitOrder over 16 malls %.0f/s (ratio %.2f), over 1000 malls %.0f/s (ratio %.2f)\n", s16, s16 / t, s1000, s1000 / t
  printf "SubmitOrder driven by the grpc-swift client %.0f/s: ratio %.2f\n", g, g / t
  printf "gRPC floor %.0f calls/s: SubmitOrder runs at %.2f of it\n", f, s / f
  printf "Expiry of %d lots: %.1f s (%.0f lots/s)\n", x, xs, x / xs
  printf "Settlement close over %d clearing entries: %.1f s (%.0f entries/s)\n", c, cs, c / cs
}'
