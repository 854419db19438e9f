#!/usr/bin/env bash
# The gateway's instructions per request, counted by callgrind: repeatable
# to a fraction of a percent, where throughput runs on a shared 2-core
# machine differ by a third. For A/B of a change to the gateway's CPU; the
# database's side is pgbench's. Results: BENCHMARKS.md.
#
#   scripts/callgrind-requests.sh dashboard|detail [REQUESTS]
#   WGBENCH_AS=partner|child-admin|technician scripts/callgrind-requests.sh dashboard|detail
#
# 1. creates a scratch database and seeds it (`workgate seed --synthetic`,
#    100,000 orders, as the load generator does);
# 2. starts `workgate serve` under `valgrind --tool=callgrind` on a port
#    the system picks, and asks as the root ADMIN (a JWT from `workgate
#    token`) or, with WGBENCH_AS=partner, as a partner token (an API token
#    bound to the seed's partner vendor, created by that ADMIN), or with
#    WGBENCH_AS=child-admin, as the seed's ADMIN of a child account (its
#    scope's orders: not the whole organization's), or with
#    WGBENCH_AS=technician, as the seed's TECHNICIAN of one site (her
#    site's orders and those she is linked to: a union of arms);
# 3. sends 30 requests unmeasured (caches, prepared statements), zeroes
#    the counters, sends REQUESTS [dashboard 48, detail 200] one after
#    another, dumps the counters;
# 4. prints the instructions per request; the profile stays in $WGBENCH_OUT
#    for `callgrind_annotate --inclusive=yes` or `--tree=caller`;
# 5. drops the scratch database if this run created it (KEEP_DB=1 keeps it,
#    and a run with the same WGBENCH_DB and WGBENCH_OUT then reuses it
#    without seeding; a database it did not create is never dropped).
#
# The documents are the load generator's (`workgate-load --print-document`):
# the dashboard's page of 50 with its four sorts and three filters in turn,
# and the PLANNER's detail document over 100 orders in turn, both asked as
# the root ADMIN; with WGBENCH_AS=partner, the partner's documents over the
# partner's orders; with WGBENCH_AS=child-admin or technician, the
# PLANNER's dashboard (theirs is the same), the principal's own detail,
# over the first 100 orders it sees.
#
# Environment (defaults in brackets):
#   WGBENCH_PG   [postgres://postgres@%2Fvar%2Frun%2Fpostgresql]  superuser URL, no db
#   WGBENCH_DB   [wgbench_callgrind]                             scratch database ([a-z0-9_])
#   WGBENCH_OUT  [target/wgbench-callgrind]                      profiles, server log
#   WORKGATE_BIN [target/release/workgate, built with cargo if unset]
#   LOAD_BIN     [target/release/workgate-load, likewise]
#   KEEP_DB      [0]
#   WGBENCH_AS   [admin]                                         admin | partner | child-admin | technician
# Needs psql, curl, jq and valgrind. Nothing outside the scratch database is
# changed.
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIO=${1:?usage: $0 dashboard|detail [REQUESTS]}
case "$SCENARIO" in
    dashboard) REQUESTS=${2:-48} ;;
    detail) REQUESTS=${2:-200} ;;
    *) echo "usage: $0 dashboard|detail [REQUESTS]" >&2; exit 2 ;;
esac
[[ "$REQUESTS" =~ ^[1-9][0-9]*$ ]] || { echo "REQUESTS must be a positive number" >&2; exit 2; }
PG=${WGBENCH_PG:-postgres://postgres@%2Fvar%2Frun%2Fpostgresql}
DB=${WGBENCH_DB:-wgbench_callgrind}
OUT=${WGBENCH_OUT:-target/wgbench-callgrind}
KEEP_DB=${KEEP_DB:-0}
AS=${WGBENCH_AS:-admin}
case "$AS" in
    admin) documents_of=planner ;;
    partner) documents_of=partner ;;
    child-admin) documents_of=child-admin ;;
    technician) documents_of=technician ;;
    *) echo "WGBENCH_AS must be admin, partner, child-admin or technician" >&2; exit 2 ;;
esac
[[ "$DB" =~ ^[a-z0-9_]+$ ]] || { echo "WGBENCH_DB must be lower-case letters, digits and _" >&2; exit 2; }
if [[ -z "${WORKGATE_BIN:-}" || -z "${LOAD_BIN:-}" ]]; then
    cargo build --release -p workgate -p workgate-load
fi
WORKGATE_BIN=${WORKGATE_BIN:-target/release/workgate}
LOAD_BIN=${LOAD_BIN:-target/release/workgate-load}
mkdir -p "$OUT"

admin() { psql "$PG/postgres" -X -q -v ON_ERROR_STOP=1 "$@"; }
db() { psql "$PG/$DB" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

server=""
created=0
cleanup() {
    if [[ -n "$server" ]]; then
        kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    fi
    if [[ "$created" == 1 && "$KEEP_DB" != 1 ]]; then
        admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
    fi
}
trap cleanup EXIT

export WORKGATE_DATABASE_URL="$PG/$DB"
export WORKGATE_JWT_SECRET=${WORKGATE_JWT_SECRET:-wgbench-callgrind-only-secret-0123456789abcdef}
if [[ -z "$(admin -At -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]]; then
    echo "== seeding $DB"
    admin -c "CREATE DATABASE $DB"
    created=1
    rm -f "$OUT/seed.json"
    "$WORKGATE_BIN" seed --synthetic --orders 100000 --sites 50 --users 1000 --seed 1 > "$OUT/seed.json.part"
    mv "$OUT/seed.json.part" "$OUT/seed.json"
elif [[ ! -s "$OUT/seed.json" ]]; then
    echo "$DB exists but $OUT/seed.json does not (a seed of another run, or one that failed): drop it or choose WGBENCH_DB" >&2
    exit 1
fi
root_admin=$(jq -er .admin "$OUT/seed.json")
token=$("$WORKGATE_BIN" token --user "$root_admin" | tail -1)
if [[ "$AS" == partner ]]; then
    vendor=$(jq -er .partnerVendor "$OUT/seed.json")
    [[ "$vendor" =~ ^[A-Za-z0-9_]+$ ]] || { echo "unexpected partner vendor id: $vendor" >&2; exit 1; }
    db -c "SELECT id FROM orders WHERE deleted_at IS NULL AND vendor_id = '$vendor' ORDER BY id LIMIT 100" > "$OUT/orders.txt"
elif [[ "$AS" == child-admin || "$AS" == technician ]]; then
    key=$([[ "$AS" == child-admin ]] && echo childAdmin || echo siteTechnician)
    person=$(jq -er ".$key" "$OUT/seed.json") || { echo "$OUT/seed.json names no $key" >&2; exit 1; }
    token=$("$WORKGATE_BIN" token --user "$person" | tail -1)
else
    db -c "SELECT id FROM orders WHERE deleted_at IS NULL ORDER BY id LIMIT 100 OFFSET 5000" > "$OUT/orders.txt"
fi
# A person's orders are those they see, asked of the server below.
[[ "$AS" == child-admin || "$AS" == technician || -s "$OUT/orders.txt" ]] || { echo "no orders to ask for in $DB" >&2; exit 1; }

echo "== serving under callgrind"
rm -f "$OUT"/callgrind.out.*
: > "$OUT/server.log" # before the server writes it: the loop below reads it at once
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" \
    "$WORKGATE_BIN" serve --listen 127.0.0.1:0 > "$OUT/server.log" 2>&1 &
server=$!
base=""
for _ in $(seq 1 600); do
    base=$(sed -n 's/^workgate listening on //p' "$OUT/server.log")
    [[ -n "$base" ]] && break
    kill -0 "$server" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.2
done
[[ -n "$base" ]] || { echo "the server did not start" >&2; exit 1; }

dashboard=$("$LOAD_BIN" --print-document dashboard --principals "$documents_of")
detail=$("$LOAD_BIN" --print-document detail --principals "$documents_of")
if [[ "$AS" == partner ]]; then
    create='mutation($v: ID!) { createApiToken(name: "Partner portal", capabilities: ["orders:read"], partnerVendorId: $v) { secret } }'
    token=$(curl -sf "$base/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" \
        -d "$(jq -cn --arg q "$create" --arg v "$vendor" '{query: $q, variables: {v: $v}}')" \
        | jq -er .data.createApiToken.secret)
fi
if [[ "$AS" == child-admin || "$AS" == technician ]]; then
    curl -sf "$base/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" \
        -d '{"query": "{ orders(first: 100) { edges { node { id } } } }"}' \
        | jq -r '.data.orders.edges[]?.node.id' > "$OUT/orders.txt"
    [[ -s "$OUT/orders.txt" ]] || { echo "the $AS sees no orders in $DB" >&2; exit 1; }
fi
mapfile -t orders < "$OUT/orders.txt"
sorts=(UPDATED_DESC CREATED_DESC PRIORITY_DESC DUE_ASC)
filters=('{}' '{"status":["OPEN","IN_PROGRESS","ACTION_NEEDED","SENT"]}' '{"status":["PENDING_APPROVAL","PENDING_REVIEW"]}')

# Request n of the scenario; fails unless answered whole, without errors.
request() {
    local n=$1 body answered
    if [[ "$SCENARIO" == dashboard ]]; then
        body=$(jq -cn --arg q "$dashboard" --arg sort "${sorts[n % 4]}" --argjson filter "${filters[(n / 4) % 3]}" \
            '{query: $q, variables: {first: 50, filter: $filter, sort: $sort}}')
        answered='.errors == null and (.data.orders.edges | length) == 50'
    else
        body=$(jq -cn --arg q "$detail" --arg id "${orders[n % ${#orders[@]}]}" '{query: $q, variables: {id: $id}}')
        answered='.errors == null and .data.order != null'
    fi
    curl -sf "$base/graphql" -H 'content-type: application/json' -H "authorization: Bearer $token" -d "$body" \
        | jq -e "$answered" > /dev/null || { echo "request $n failed" >&2; exit 1; }
}

for n in $(seq 0 29); do request "$n"; done
callgrind_control -z "$server" > /dev/null
for n in $(seq 0 $((REQUESTS - 1))); do request "$n"; done
callgrind_control -d "$server" > /dev/null
profile=$(ls -t "$OUT"/callgrind.out.*.* | head -1)
total=$(callgrind_annotate "$profile" | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "$SCENARIO: $total instructions over $REQUESTS requests = $((total / REQUESTS)) a request ($profile)"
