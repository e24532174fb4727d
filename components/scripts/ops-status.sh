#!/usr/bin/env bash
# What `npm run ops -- status` reads from one host. Read-only: it lists, it never changes
# anything. Prints no secret: container names, images, labels and hostnames only (no env),
# and Solid Queue's counts and process rows (no job arguments).
#
# Parameters (environment):
#   PG_CONTAINER, DB_USER, QUEUE_DB   optional, all three or none: also read Solid Queue's
#                                     tables from the queue database in that container, over
#                                     its local socket (the web host only)
#   LIVE_SECONDS                      optional (300): a heartbeat younger than this is live
#   MEMINFO                           optional (/proc/meminfo): where the memory figures come from
#   PSQL_TIMEOUT                      optional (30): how long the queue database may take to answer
#
# Output: one record a line, tab-separated, the record type first:
#   now          EPOCH                               the host's clock
#   container    NAME IMAGE STATE STARTED_AT HEALTH RESTARTS HOSTNAME SERVICE ROLE
#   docker-error MESSAGE                             `docker ps`/`inspect` failed
#   memory       TOTAL AVAILABLE SWAP_TOTAL SWAP_FREE  (bytes)
#   process      ID KIND HOSTNAME PID HEARTBEAT_AGE_S SUPERVISOR_ID NAME
#   jobs         KIND COUNT OLDEST_AGE_S             KIND: ready scheduled scheduled_due claimed claimed_orphaned failed blocked
#   queue        QUEUE_NAME READY OLDEST_AGE_S       ready jobs per queue
#   paused       QUEUE_NAME
#   queue-error  MESSAGE                             the queue database could not be read
set -euo pipefail

LIVE_SECONDS=${LIVE_SECONDS:-300}
MEMINFO=${MEMINFO:-/proc/meminfo}
PG_CONTAINER=${PG_CONTAINER:-}
if ! [[ $LIVE_SECONDS =~ ^[0-9]+$ ]]; then
    echo "ops-status: LIVE_SECONDS must be a whole number of seconds, got '$LIVE_SECONDS'" >&2
    exit 2
fi
if [[ -n $PG_CONTAINER ]]; then
    : "${DB_USER:?DB_USER (the Postgres role) is required with PG_CONTAINER}"
    : "${QUEUE_DB:?QUEUE_DB (the queue database) is required with PG_CONTAINER}"
fi

# @include lib/bounded.sh
PSQL_TIMEOUT=${PSQL_TIMEOUT:-30}
check_seconds PSQL_TIMEOUT

tab=$'\t'
one_line() { tr '\t\n\r' '   ' | sed 's/  *$//'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf 'now\t%s\n' "$(date -u +%s)"

# Containers: every running (or restarting) one, ours and anyone else's.
format="{{.Name}}${tab}{{.Config.Image}}${tab}{{.State.Status}}${tab}{{.State.StartedAt}}${tab}{{if .State.Health}}{{.State.Health.Status}}{{end}}${tab}{{.RestartCount}}${tab}{{.Config.Hostname}}${tab}{{index .Config.Labels \"service\"}}${tab}{{index .Config.Labels \"role\"}}"
if ids=$(bounded 20 "docker ps" docker ps -q 2>"$tmp/err"); then
    # docker's output is data: only container ids of hex digits are passed on
    ids=$(grep -xE '[0-9a-f]{1,64}' <<<"$ids" || true)
    if [[ -n $ids ]]; then
        # shellcheck disable=SC2086 # one id a word
        if lines=$(bounded 20 "docker inspect" docker inspect --format "$format" -- $ids 2>"$tmp/err"); then
            while IFS= read -r line; do
                [[ -n $line ]] && printf 'container\t%s\n' "${line#/}"
            done <<<"$lines"
        else
            printf 'docker-error\tdocker inspect failed: %s\n' "$(one_line <"$tmp/err")"
        fi
    fi
else
    printf 'docker-error\tdocker ps failed: %s\n' "$(one_line <"$tmp/err")"
fi

# Memory: what is in use is what is not available (MemAvailable counts reclaimable cache).
if [[ -r $MEMINFO ]]; then
    awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2} /^SwapTotal:/ {st = $2} /^SwapFree:/ {sf = $2}
        END {printf "memory\t%.0f\t%.0f\t%.0f\t%.0f\n", t * 1024, a * 1024, st * 1024, sf * 1024}' "$MEMINFO"
fi

[[ -n $PG_CONTAINER ]] || exit 0

# Solid Queue, from the queue database. Timestamps are UTC without a zone (Rails' default).
if bounded "$PSQL_TIMEOUT" "the queue database (psql in $PG_CONTAINER)" docker exec -i "$PG_CONTAINER" psql -X -q -At -v ON_ERROR_STOP=1 -v live="$LIVE_SECONDS" -F "$tab" \
    -U "$DB_USER" -d "$QUEUE_DB" -f - >"$tmp/out" 2>"$tmp/err" <<'SQL'; then
\set now '(now() AT TIME ZONE ''UTC'')'
SELECT 'process', id, translate(kind, E'\t\n', '  '), translate(coalesce(hostname, ''), E'\t\n', '  '), coalesce(pid::text, ''),
       greatest(0, floor(extract(epoch FROM :now - last_heartbeat_at)))::bigint,
       coalesce(supervisor_id::text, ''), translate(coalesce(name, ''), E'\t\n', '  ')
  FROM solid_queue_processes ORDER BY hostname, id;
SELECT 'jobs', 'ready', count(*), coalesce(greatest(0, floor(extract(epoch FROM :now - min(created_at))))::bigint::text, '')
  FROM solid_queue_ready_executions;
SELECT 'jobs', 'scheduled', count(*), '' FROM solid_queue_scheduled_executions;
SELECT 'jobs', 'scheduled_due', count(*), coalesce(greatest(0, floor(extract(epoch FROM :now - min(scheduled_at))))::bigint::text, '')
  FROM solid_queue_scheduled_executions WHERE scheduled_at <= :now;
SELECT 'jobs', 'claimed', count(*), '' FROM solid_queue_claimed_executions;
SELECT 'jobs', 'claimed_orphaned', count(*), ''
  FROM solid_queue_claimed_executions c LEFT JOIN solid_queue_processes p ON p.id = c.process_id
 WHERE p.id IS NULL OR p.last_heartbeat_at < :now - make_interval(secs => :live);
SELECT 'jobs', 'failed', count(*), '' FROM solid_queue_failed_executions;
SELECT 'jobs', 'blocked', count(*), '' FROM solid_queue_blocked_executions;
SELECT 'queue', translate(queue_name, E'\t\n', '  '), count(*), greatest(0, floor(extract(epoch FROM :now - min(created_at))))::bigint
  FROM solid_queue_ready_executions GROUP BY queue_name ORDER BY queue_name;
SELECT 'paused', translate(queue_name, E'\t\n', '  ') FROM solid_queue_pauses ORDER BY queue_name;
SQL
    cat "$tmp/out"
else
    printf 'queue-error\t%s\n' "$(one_line <"$tmp/err")"
fi
