#!/usr/bin/env bash
# EXPLAIN (ANALYZE, BUFFERS) of the statements the gateway really runs for a
# site-scoped technician's `orders(first: 50) { totalCount }` on PostgreSQL
# with 100,000 orders. Results: BENCHMARKS.md.
#
#   scripts/explain-orders.sh
#
# 1. creates a scratch database, runs `workgate migrate` and `bootstrap`;
# 2. fills it (scripts/explain-orders-seed.sql) and ANALYZEs;
# 3. sets log_min_duration_statement = 0 on that database only, starts
#    `workgate serve` against it and asks, as the technician: page 1 with
#    totalCount, then 12 more pages through real cursors (page 13 starts
#    after the 600th visible order);
# 4. takes the logged statements and parameters from the PostgreSQL server
#    log, inlines the parameters and runs EXPLAIN (ANALYZE, BUFFERS) on them
#    (and on two rewritten shapes, for comparison);
# 5. drops the scratch database (KEEP_DB=1 keeps it).
#
# Environment (defaults in brackets):
#   WGBENCH_PG      [postgres://postgres@127.0.0.1:5432]  superuser URL, no db
#   WGBENCH_DB      [wgbench_explain]                     scratch database
#   WGBENCH_PG_LOG  [/var/log/postgresql/postgresql-15-main.log] server log
#   WGBENCH_OUT     [target/wgbench-explain]              captured SQL, plans
#   WORKGATE_BIN    [target/release/workgate, built with cargo if unset]
#   KEEP_DB         [0]
# Needs psql, curl, jq, python3, and read access to the server log, whose
# line prefix must carry the backend pid and user@database (Debian's default
# '%m [%p] %q%u@%d '). Nothing outside the scratch database is changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${WGBENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=${WGBENCH_DB:-wgbench_explain}
PG_LOG=${WGBENCH_PG_LOG:-/var/log/postgresql/postgresql-15-main.log}
OUT=${WGBENCH_OUT:-target/wgbench-explain}
KEEP_DB=${KEEP_DB:-0}
if [[ -z "${WORKGATE_BIN:-}" ]]; then
    cargo build --release --bin workgate
    WORKGATE_BIN=target/release/workgate
fi
[[ -r "$PG_LOG" ]] || { echo "cannot read the PostgreSQL log $PG_LOG (set WGBENCH_PG_LOG)" >&2; exit 2; }
mkdir -p "$OUT"

admin() { psql "$PG/postgres" -X -q -v ON_ERROR_STOP=1 "$@"; }
db() { psql "$PG/$DB" -X -q -v ON_ERROR_STOP=1 "$@"; }

server=""
cleanup() {
    [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    if [[ "$KEEP_DB" != 1 ]]; then
        admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
    fi
}
trap cleanup EXIT

echo "== scratch database $DB"
admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export WORKGATE_DATABASE_URL="$PG/$DB"
export WORKGATE_JWT_SECRET=${WORKGATE_JWT_SECRET:-wgbench-explain-only-secret-0123456789abcdef}
"$WORKGATE_BIN" migrate
boot=$("$WORKGATE_BIN" bootstrap --org Bench --admin-name A --admin-email a@bench.example)
org=$(jq -r .organizationId <<<"$boot")
root=$(jq -r .accountId <<<"$boot")

echo "== seeding (10 accounts, 200 sites, 2,000 users, 100,000 orders)"
time db -v org="$org" -v root="$root" -f scripts/explain-orders-seed.sql
db -c "SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_assignees) AS assignees,
              (SELECT count(*) FROM approval_step_approvers) AS step_approvers, (SELECT count(*) FROM users) AS users"

echo "== capturing the gateway's statements"
admin -c "ALTER DATABASE $DB SET log_min_duration_statement = 0"
technician="usr_$(printf '%032x' 42)"
token=$("$WORKGATE_BIN" token --user "$technician" --ttl 10m)
log_from=$(($(wc -l <"$PG_LOG") + 1))
WORKGATE_LISTEN=127.0.0.1:0 "$WORKGATE_BIN" serve >"$OUT/serve.out" 2>"$OUT/serve.err" &
server=$!
addr=""
for _ in $(seq 1 100); do
    addr=$(grep -o 'http://[0-9.:]*' "$OUT/serve.out" | head -1 || true)
    [[ -n "$addr" ]] && break
    sleep 0.1
done
[[ -n "$addr" ]] || { echo "the server did not start; see $OUT/serve.err" >&2; exit 1; }

gql() {
    curl -sf -X POST "$addr/graphql" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
        -d "$(jq -n --arg q "$1" '{query: $q}')"
}
page=$(gql '{ orders(first: 50) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }')
echo "page 1: $(jq -c '{totalCount: .data.orders.totalCount, edges: (.data.orders.edges | length)}' <<<"$page")"
for n in $(seq 2 13); do
    cursor=$(jq -r .data.orders.pageInfo.endCursor <<<"$page")
    page=$(gql "{ orders(first: 50, after: \"$cursor\") { pageInfo { hasNextPage endCursor } edges { node { id } } } }")
done
echo "page 13: $(jq -c '{edges: (.data.orders.edges | length)}' <<<"$page")"
kill "$server"
wait "$server" 2>/dev/null || true
server=""
sleep 0.5

# The logged statements (execute lines and their parameters) with the
# parameters inlined: page1.sql, count.sql, page13.sql; and two rewritten
# shapes to compare: page13-row.sql (row-value cursor) and count-union.sql.
tail -n +"$log_from" "$PG_LOG" | grep -F "@$DB " >"$OUT/postgres.log" || true
python3 - "$DB" "$OUT" <<'PY'
import re, sys
db, out = sys.argv[1], sys.argv[2]
lines = open(f'{out}/postgres.log').read().splitlines()
found = {}
for i, line in enumerate(lines):
    m = re.search(r'@' + re.escape(db) + r' LOG:  duration: ([0-9.]+) ms  execute [^:]+: (SELECT .*FROM "orders" .*)$', line)
    if not m:
        continue
    sql = m.group(2)
    # The parameters: the next line of the same backend, if it is a DETAIL.
    pid = re.search(r' \[(\d+)\] ', line).group(1)
    detail = next((l for l in lines[i + 1:] if f' [{pid}] ' in l), '')
    params = {}
    if 'DETAIL:  parameters:' in detail:
        params = {int(k): v for k, v in re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", detail)}
    for k in sorted(params, reverse=True):
        sql = sql.replace('$%d' % k, params[k])
    if sql.startswith('SELECT COUNT(*)'):
        key = 'count'
    elif '"orders"."created_at" <' in sql:
        key = 'page13'  # the last cursor page wins
    elif 'LIMIT' in sql:
        key = 'page1'
    else:
        continue
    found[key] = (sql, m.group(1))
for key, (sql, ms) in found.items():
    open(f'{out}/{key}.sql', 'w').write(sql + ';\n')
    print(f'{key}: {ms} ms as executed by the gateway')

cursor = re.compile(r'\("orders"\."created_at" < (\'\d+\') OR \("orders"\."created_at" = \1 AND "orders"\."id" < (\'[^\']+\')\)\)')
if 'page13' in found and cursor.search(found['page13'][0]):
    sql = cursor.sub(r'("orders"."created_at", "orders"."id") < (\1, \2)', found['page13'][0])
    open(f'{out}/page13-row.sql', 'w').write(sql + ';\n')

# The visibility OR as one IN over a UNION ALL of its arms (creator, owner,
# assignee, designated approver, sites in scope).
arms = re.compile(
    r'\("orders"\."creator_id" = (\'[^\']+\') OR "orders"\."owner_id" = \'[^\']+\' '
    r'OR "orders"\."id" IN (\(SELECT "order_id" FROM "order_assignees" WHERE [^)]*\)) '
    r'OR "orders"\."id" IN (\(SELECT "order_id" FROM "approval_step_approvers" WHERE [^)]*\)) '
    r'OR (\(\("orders"\."scope_account_id" IS NULL OR "orders"\."scope_account_id" = \'[^\']+\'\) '
    r'AND "orders"\."site_id" IN \([^)]*\)\))\)')
if 'count' in found and arms.search(found['count'][0]):
    def union(m):
        me, assignee, approver, sites = m.groups()
        return ('"orders"."id" IN (SELECT "id" FROM "orders" WHERE "creator_id" = %s '
                'UNION ALL SELECT "id" FROM "orders" WHERE "owner_id" = %s '
                'UNION ALL %s UNION ALL %s UNION ALL SELECT "id" FROM "orders" WHERE %s)'
                % (me, me, assignee[1:-1], approver[1:-1], sites))
    open(f'{out}/count-union.sql', 'w').write(arms.sub(union, found['count'][0]) + ';\n')
PY

explain() {
    local name=$1
    [[ -f "$OUT/$name.sql" ]] || { echo "($name: not captured)"; return; }
    # Warm twice, keep the third run.
    for _ in 1 2; do { echo "EXPLAIN (ANALYZE, BUFFERS)"; cat "$OUT/$name.sql"; } | db -At >/dev/null; done
    { echo "EXPLAIN (ANALYZE, BUFFERS)"; cat "$OUT/$name.sql"; } | db -At >"$OUT/$name.plan"
    echo "== $name: $(grep 'Execution Time' "$OUT/$name.plan")"
    cat "$OUT/$name.plan"
}
for name in page1 count page13 page13-row count-union; do
    explain "$name"
done
# The rewritten shapes must return what the gateway's statements return.
same() {
    [[ -f "$OUT/$1.sql" && -f "$OUT/$2.sql" ]] || return 0
    local a b
    a=$(db -At -f "$OUT/$1.sql" | md5sum)
    b=$(db -At -f "$OUT/$2.sql" | md5sum)
    if [[ "$a" == "$b" ]]; then echo "$2 returns the same rows as $1"; else echo "$2 DIFFERS from $1" >&2; exit 1; fi
}
same count count-union
same page13 page13-row
echo "captured SQL and plans: $OUT/"
