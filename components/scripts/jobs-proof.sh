#!/usr/bin/env bash
# Proves the release's workers registered with Solid Queue, and that nothing on the web host
# did. Runs once, on the web host, after every jobs host started its new `bin/jobs`.
#
# It polls solid_queue_processes in the queue database (through `docker exec CONTAINER psql`
# on the Postgres container's local socket: no password, no -p) until, for EVERY hostname in
# EXPECTED_HOSTNAMES (one per jobs host, the new release's container hostnames):
#   - there is a live supervisor (kind LIKE 'Supervisor%', supervisor_id NULL) with that
#     hostname, and
#   - at least one live Worker with that hostname whose supervisor_id is such a supervisor;
# and there is no live process (of any kind) whose hostname is a WEB_HOSTNAME_PREFIXES entry
# or starts with one followed by '-' or '.' (our web containers: `<web name>-<release>`;
# Kamal 2's: `<server address>-<12 hex>`).
#
# Live: last_heartbeat_at (a UTC `timestamp without time zone`, as Rails writes it) newer
# than now - LIVE_SECONDS, both sides in UTC whatever the session's TimeZone. Solid Queue
# beats every 60 s and calls a process dead after 5 min (LIVE_SECONDS=300). A process
# registers at once when it starts, so there is no need to wait a heartbeat.
#
# Read-only. Exits 0 with a per-host table once proven; 1 after TIMEOUT_SECONDS with the
# same table saying what is missing and what to check. Invalid parameters exit 2.
set -euo pipefail

: "${CONTAINER:?CONTAINER (the Postgres container on the web host) is required}"
: "${DB_USER:?DB_USER (postgres.user) is required}"
: "${QUEUE_DB:?QUEUE_DB (the queue database, e.g. shred_day_production_queue) is required}"
: "${EXPECTED_HOSTNAMES:?EXPECTED_HOSTNAMES (space-separated container hostnames of the new workers, one per jobs host) is required}"
: "${WEB_HOSTNAME_PREFIXES:?WEB_HOSTNAME_PREFIXES (space-separated hostname prefixes of processes on the web host) is required}"
: "${LIVE_SECONDS:=300}"
: "${TIMEOUT_SECONDS:=180}"
: "${INTERVAL_SECONDS:=5}"

usage_error() {
    printf 'jobs-proof: %s\n' "$@" >&2
    exit 2
}

for n in LIVE_SECONDS TIMEOUT_SECONDS INTERVAL_SECONDS; do
    [[ ${!n} =~ ^[0-9]+$ ]] || usage_error "$n must be a whole number of seconds, got '${!n}'."
done
((LIVE_SECONDS > 0)) || usage_error "LIVE_SECONDS must be above 0."
((INTERVAL_SECONDS > 0)) || usage_error "INTERVAL_SECONDS must be above 0."
read -r -a expected <<<"$EXPECTED_HOSTNAMES"
read -r -a web_prefixes <<<"$WEB_HOSTNAME_PREFIXES"
((${#expected[@]})) || usage_error "EXPECTED_HOSTNAMES is empty."
((${#web_prefixes[@]})) || usage_error "WEB_HOSTNAME_PREFIXES is empty."

# One query, one snapshot. Lines (fields split by '|'):
#   host|HOSTNAME|live supervisors|live workers under a live supervisor of that host|
#        live workers|live processes (kind x count)|newest heartbeat age in s (any row)|rows
#   web|HOSTNAME|KIND|PID|heartbeat age in s
read -r -d '' PROOF_SQL <<'SQL' || true
WITH params AS (
  SELECT (now() AT TIME ZONE 'UTC') AS now_utc,
         make_interval(secs => :'live_seconds'::int) AS alive
), live AS (
  SELECT p.* FROM solid_queue_processes p, params
   WHERE p.last_heartbeat_at > params.now_utc - params.alive
), expected AS (
  SELECT DISTINCT h AS hostname FROM unnest(string_to_array(:'expected', ' ')) AS h WHERE h <> ''
), prefixes AS (
  SELECT DISTINCT x AS prefix FROM unnest(string_to_array(:'web_prefixes', ' ')) AS x WHERE x <> ''
), supervisors AS (
  SELECT * FROM live WHERE kind LIKE 'Supervisor%' AND supervisor_id IS NULL
)
SELECT concat_ws('|', 'host', e.hostname,
  (SELECT count(*) FROM supervisors s WHERE s.hostname = e.hostname),
  (SELECT count(*) FROM live w JOIN supervisors s ON s.id = w.supervisor_id
    WHERE w.kind = 'Worker' AND w.hostname = e.hostname AND s.hostname = e.hostname),
  (SELECT count(*) FROM live w WHERE w.kind = 'Worker' AND w.hostname = e.hostname),
  (SELECT coalesce(string_agg(k.kind || ' x' || k.n, ', ' ORDER BY k.kind), '-')
     FROM (SELECT kind, count(*) AS n FROM live l WHERE l.hostname = e.hostname GROUP BY kind) k),
  (SELECT coalesce(floor(extract(epoch FROM ((SELECT now_utc FROM params) - max(p.last_heartbeat_at))))::bigint::text, '-')
     FROM solid_queue_processes p WHERE p.hostname = e.hostname),
  (SELECT count(*) FROM solid_queue_processes p WHERE p.hostname = e.hostname))
FROM expected e
UNION ALL
SELECT concat_ws('|', 'web', l.hostname, l.kind, l.pid,
  floor(extract(epoch FROM (params.now_utc - l.last_heartbeat_at)))::bigint)
FROM live l, params
WHERE EXISTS (SELECT 1 FROM prefixes x
               WHERE l.hostname = x.prefix
                  OR starts_with(l.hostname, x.prefix || '-')
                  OR starts_with(l.hostname, x.prefix || '.'));
SQL

query() {
    docker exec -i "$CONTAINER" \
        psql -X -q -At -v ON_ERROR_STOP=1 -U "$DB_USER" -d "$QUEUE_DB" \
        -v live_seconds="$LIVE_SECONDS" -v expected="$EXPECTED_HOSTNAMES" -v web_prefixes="$WEB_HOSTNAME_PREFIXES" \
        -f - <<<"$PROOF_SQL"
}

# Fills REPORT (a table) and returns 0 when the snapshot in $1 proves the release.
evaluate() {
    local out=$1 line kind host sups good workers kinds age rows status ok=0
    local -a f web_lines=()
    REPORT=$(printf '%-44s %-11s %-22s %-40s %s\n' "JOBS HOST (container hostname)" "SUPERVISOR" "WORKERS (supervised)" "LIVE PROCESSES" "STATUS")
    local -A seen=()
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        IFS='|' read -r -a f <<<"$line"
        kind=${f[0]}
        if [[ $kind == host ]]; then
            host=${f[1]} sups=${f[2]} good=${f[3]} workers=${f[4]} kinds=${f[5]} age=${f[6]} rows=${f[7]}
            seen[$host]=1
            if ((sups > 0 && good > 0)); then
                status="ok"
            else
                ok=1
                if ((rows == 0)); then
                    status="MISSING: no Solid Queue process ever registered with this hostname"
                elif ((sups == 0 && workers == 0)); then
                    status="MISSING: only stale rows (newest heartbeat ${age}s ago, live = under ${LIVE_SECONDS}s)"
                elif ((sups == 0)); then
                    status="MISSING: no live supervisor (kind Supervisor*, supervisor_id NULL)"
                elif ((workers == 0)); then
                    status="MISSING: no live Worker"
                else
                    status="MISSING: no live Worker under a live supervisor of this host"
                fi
            fi
            REPORT+=$(printf '\n%-44s %-11s %-22s %-40s %s' "$host" "$sups" "$good (of $workers live)" "$kinds" "$status")
        elif [[ $kind == web ]]; then
            web_lines+=("$(printf '  %s  %s  pid %s  heartbeat %ss ago' "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}")")
        fi
    done <<<"$out"
    for host in "${expected[@]}"; do
        if [[ -z ${seen[$host]:-} ]]; then
            ok=1
            REPORT+=$(printf '\n%-44s %s' "$host" "MISSING: not in the query result")
        fi
    done
    if ((${#web_lines[@]})); then
        ok=1
        REPORT+=$'\n'"LIVE ON THE WEB HOST (must be none; hostname matches one of: ${WEB_HOSTNAME_PREFIXES}):"
        REPORT+=$(printf '\n%s' "${web_lines[@]}")
    else
        REPORT+=$'\n'"web host: no live Solid Queue process (prefixes: ${WEB_HOSTNAME_PREFIXES})"
    fi
    return "$ok"
}

start=$SECONDS
attempts=0
last_error=""
REPORT=""
while :; do
    attempts=$((attempts + 1))
    if out=$(query 2>&1); then
        last_error=""
        if evaluate "$out"; then
            echo "jobs-proof: every jobs host has a live supervisor and worker of this release, and nothing runs on the web host (after $((SECONDS - start))s, $attempts attempt(s)):"
            echo "$REPORT"
            exit 0
        fi
    else
        last_error=$out
    fi
    elapsed=$((SECONDS - start))
    if ((elapsed + INTERVAL_SECONDS > TIMEOUT_SECONDS)); then
        break
    fi
    sleep "$INTERVAL_SECONDS"
done

{
    echo "jobs-proof: FAILED after $((SECONDS - start))s ($attempts attempt(s), timeout ${TIMEOUT_SECONDS}s): not every jobs host has a live supervisor and worker of this release, or Solid Queue still runs on the web host ($QUEUE_DB.solid_queue_processes)."
    if [[ -n $last_error ]]; then
        echo "The last query failed (docker exec $CONTAINER psql -U $DB_USER -d $QUEUE_DB):"
        printf '  %s\n' "$last_error"
        if [[ $last_error == *solid_queue_processes*"does not exist"* ]]; then
            echo "  The queue schema is not loaded: bin/rails db:prepare (the release's migrate step) loads db/queue_schema.rb."
        fi
    fi
    if [[ -n $REPORT ]]; then
        echo "Last snapshot (live = heartbeat within ${LIVE_SECONDS}s):"
        echo "$REPORT"
    fi
    echo "What to check:"
    echo "  - the worker's log on each host marked MISSING: npm run ops -- logs jobs --host <jobs host>"
    echo "    (a crash at boot, a bad RAILS_MASTER_KEY, or a failed connection to the queue database show there);"
    echo "  - JOB_CONCURRENCY in the jobs env file (/etc/shred-day/jobs.env, from shred-day:jobs.concurrency) and config/queue.yml;"
    echo "  - that the jobs host reaches Postgres on the private network (QUEUE_DATABASE_URL, DB_HOST; port 5432 on the web host's private IP);"
    echo "  - a live process on the web host means Solid Queue still runs there: SOLID_QUEUE_IN_PUMA must not be in the web env,"
    echo "    and an old web container must be stopped (npm run ops -- status)."
} >&2
exit 1
