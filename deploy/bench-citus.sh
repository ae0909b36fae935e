#!/usr/bin/env bash
# SubmitOrder on a one-machine Citus cluster beside deploy/bench.sh's plain figures: builds Citus
# from ../shared/citus if missing and release, starts `atriumd --citus` on its embedded
# coordinator with two workers (the three share the machine's 2 cores with the client), runs
# pgbench TPC-B on the coordinator (plain local tables: the same baseline as bench.sh), then
# atrium-bench `submit` over one mall and over 20 malls. Knobs as bench.sh: BENCH_MEMBERS
# (100000), BENCH_CONCURRENCY (32), BENCH_SECONDS (30), BENCH_WARMUP (5). Reports land in
# .atrium/bench-citus/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/ensure-postgres.sh
bash "${ATRIUM_CITUS_SOURCE:-../shared/citus}/build-citus.sh"
members=${BENCH_MEMBERS:-100000}
concurrency=${BENCH_CONCURRENCY:-32}
seconds=${BENCH_SECONDS:-30}
warmup=${BENCH_WARMUP:-5}
scratch=.build-release
dir=.atrium/bench-citus
grpc_port=50091
pg_port=54350

swift build -c release --scratch-path "$scratch" --product atriumd
swift build -c release --scratch-path "$scratch" --product atrium-bench
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

rm -rf "$dir" && mkdir -p "$dir"
key="atrp_$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)"
"$bin/atriumd" --citus --data-dir "$dir" --embedded-port "$pg_port" --port "$grpc_port" --platform-key "$key" \
  --db-connections "$concurrency" --expiry-sweep-seconds 0 --log-level warning 2>"$dir/atriumd.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do
  ss -ltn "sport = :$grpc_port" | grep -q LISTEN && break
  sleep 1
done

pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
socket="$PWD/$dir/coordinator/socket"
pg() { "$pgbin/$1" -h "$socket" -p "$pg_port" -U postgres "${@:2}"; }
pg psql -q -d postgres -c "CREATE DATABASE pgbench" >/dev/null
pg pgbench -q -i -s 10 pgbench >/dev/null 2>&1
tps=$(pg pgbench -c "$concurrency" -j 2 -T "$seconds" pgbench 2>/dev/null | awk '/^tps/ {print $3; exit}')
echo "pgbench TPC-B on the coordinator: $tps tps ($concurrency clients, $seconds s, scale 10)"
pg psql -q -d pgbench -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null

checkpoint="$pgbin/psql -q -h $socket -p $pg_port -U postgres -d postgres -c CHECKPOINT"
common=(--server "127.0.0.1:$grpc_port" --platform-key "$key" --members "$members" --concurrency "$concurrency" \
  --duration "$seconds" --warmup "$warmup" --server-pid "$server" --after-setup "$checkpoint")
"$bin/atrium-bench" --scenario submit "${common[@]}" --json "$dir/submit.json"
echo
"$bin/atrium-bench" --scenario submit "${common[@]}" --malls 20 --json "$dir/submit-20-malls.json"
submit=$(awk -F': ' '/"submitOrdersPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/submit.json")
submit_20=$(awk -F': ' '/"submitOrdersPerSecond"/ {gsub(/,/, "", $2); print $2}' "$dir/submit-20-malls.json")
awk -v s="$submit" -v s20="$submit_20" -v t="$tps" 'BEGIN {
  printf "Citus: SubmitOrder %.0f/s vs pgbench %.0f tps: ratio %.2f; over 20 malls %.0f/s (ratio %.2f)\n", s, t, s / t, s20, s20 / t
}'
