#!/usr/bin/env bash
# Proves that every jobs host runs this release's `bin/jobs` for real, before any old worker
# is stopped and before the web switch. Runs once, on the web host, after every jobs host
# started its new container (jobs-start), and reads solid_queue_processes in the queue
# database through `docker exec CONTAINER psql` (the Postgres container's local socket).
#
# What a row in solid_queue_processes proves, from Solid Queue's source (rails/solid_queue):
#   - app/models/solid_queue/process.rb: `register` inserts the row with
#     last_heartbeat_at: Time.current, so a row is "fresh" the moment it exists;
#   - lib/solid_queue/processes/registrable.rb: the heartbeat is a Concurrent::TimerTask with
#     execution_interval SolidQueue.process_heartbeat_interval (60 s): the FIRST heartbeat is
#     written one interval after registering;
#   - lib/solid_queue/fork_supervisor.rb (replace_fork): a crashed worker fork is replaced by
#     a new fork, which registers a NEW row; the dead fork's row stays until it is pruned;
#   - lib/solid_queue/supervisor.rb: `kind` is "Supervisor(#{mode})" from 1.3 (plain
#     "Supervisor" before), supervisor_id NULL; lib/solid_queue/configuration.rb (`workers`):
#     in fork mode a pool starts `processes` worker processes (Rails 8's config/queue.yml:
#     processes: JOB_CONCURRENCY), in async mode ONE worker per pool, as threads of the
#     supervisor process, whatever JOB_CONCURRENCY says.
# So "a fresh row" proves nothing: a crash-looping container or worker leaves fresh rows.
#
# The rule (chosen over "stable across two polls": one snapshot decides, no state between
# polls, and a heartbeat is exactly the proof that the process outlived one interval):
# for EVERY jobs host, given its container hostname and the start of its container's current
# life ("since": docker's Created of a container that never restarted, else State.StartedAt;
# both from jobs-start, on the jobs host's clock, the same clock Solid Queue writes
# created_at and last_heartbeat_at with, so no clock offset enters this comparison). Not
# State.StartedAt alone: Docker records it only after the process already runs (moby
# daemon/start.go: containerd.Start, then container.SetRunning), and a supervisor that
# registers within those milliseconds was never counted (the rehearsal caught it):
#   1. a live supervisor (kind Supervisor, Supervisor(fork) or Supervisor(async), supervisor_id NULL) with that hostname, created
#      at or after the container started, that has heartbeated since it registered
#      (last_heartbeat_at > created_at + 1 s; at registration it is <= created_at);
#   2. exactly one supervisor registered since the container started (more means bin/jobs
#      or the container restarted: a crash loop);
#   3. under it, JOB_CONCURRENCY live Workers created since the start that have heartbeated
#      since they registered (fork mode); in async mode at least one (see above); and, in fork
#      mode, no live worker under it that has not heartbeated yet once the others have (a
#      re-forked worker: the supervisor replaced one that crashed). A worker that crashes more
#      than a heartbeat after each start is not caught here: its dead rows look proven until
#      they stop beating; `npm run ops -- status` shows them later;
#   4. the host's clock within MAX_CLOCK_OFFSET_SECONDS of the database's (below);
# and across all jobs hosts at least one live Dispatcher under such a supervisor: without one,
# scheduled jobs and retries are never dispatched once Puma's in-process supervisor is gone.
# The container's restart count and State.Restarting are on the jobs host: jobs-retire
# checks them there (against what jobs-start saw) before it stops any old worker.
#
# Web host: every container on this host is listed (docker ps -a + docker inspect
# Config.Hostname: the exact hostname Solid Queue records, Socket.gethostname). A live
# Solid Queue process in a running container labelled role=web (ours, or Kamal's old web
# with the Puma plugin) is reported: the web switch that follows stops it. A live process
# in any other web-host container fails the proof.
#
# Clock: heartbeats are written by each host's clock and compared with the database's.
# The newest heartbeat of a host was written within the last HEARTBEAT_SECONDS (if it beats),
# so the host's clock offset (host - db) lies in [newest - now, newest - now + HEARTBEAT_SECONDS].
# Past MAX_CLOCK_OFFSET_SECONDS either way the proof fails: a host ahead keeps dead rows
# "live" longer; a host behind by more than LIVE_SECONDS - HEARTBEAT_SECONDS has its live
# processes pruned by other supervisors, and their claimed jobs marked failed.
#
# Output of psql and docker is DATA. The SQL returns only fixed tokens and whole numbers,
# never a value read from the table (hostnames are referred to by their index in our own
# list); every field is checked against a strict pattern before any arithmetic, and any
# other line is an error. Values we send to psql go in as psql variables (:'name' quoting).
#
# The step's triggers hold when each jobs-start last ran, so the proof runs again after every
# jobs-start run (see jobs-start.sh).
#
# Read-only. Exits 0 with a per-host table once proven; 1 after TIMEOUT_SECONDS with the
# same table saying what is missing; 2 on invalid parameters.
set -euo pipefail

: "${CONTAINER:?CONTAINER (the Postgres container on the web host) is required}"
: "${DB_USER:?DB_USER (postgres.user) is required}"
: "${QUEUE_DB:?QUEUE_DB (the queue database, e.g. shred_day_production_queue) is required}"
: "${JOBS_HOSTS:?JOBS_HOSTS (space-separated HOSTNAME,SINCE per jobs host: the container hostname and the since= time jobs-start reported) is required}"
: "${JOB_CONCURRENCY:?JOB_CONCURRENCY (shred-day:jobs.concurrency) is required}"
: "${LIVE_SECONDS:=300}"
: "${HEARTBEAT_SECONDS:=60}"
: "${MAX_CLOCK_OFFSET_SECONDS:=30}"
: "${TIMEOUT_SECONDS:=360}"
: "${INTERVAL_SECONDS:=5}"
# Each poll (docker ps, psql) is bounded too (issue 11 point 9, i11): a hung one must not stretch TIMEOUT_SECONDS.
: "${POLL_TIMEOUT:=30}"

usage_error() {
    printf 'jobs-proof: %s\n' "$@" >&2
    exit 2
}

HOSTNAME_RE='^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$'
STARTED_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$'

for n in LIVE_SECONDS HEARTBEAT_SECONDS MAX_CLOCK_OFFSET_SECONDS TIMEOUT_SECONDS INTERVAL_SECONDS JOB_CONCURRENCY; do
    [[ ${!n} =~ ^[0-9]{1,6}$ ]] || usage_error "$n must be a whole number, got '${!n}'."
done
((LIVE_SECONDS > 0 && HEARTBEAT_SECONDS > 0 && INTERVAL_SECONDS > 0 && JOB_CONCURRENCY > 0)) ||
    usage_error "LIVE_SECONDS, HEARTBEAT_SECONDS, INTERVAL_SECONDS and JOB_CONCURRENCY must be above 0."

read -r -a host_items <<<"$JOBS_HOSTS"
((${#host_items[@]})) || usage_error "JOBS_HOSTS is empty."
hostnames=()
sql_hosts=()
for item in "${host_items[@]}"; do
    name=${item%%,*}
    started=${item#*,}
    [[ $item == *,* && $name =~ $HOSTNAME_RE ]] ||
        usage_error "JOBS_HOSTS item '$item' must be HOSTNAME,SINCE with a valid container hostname."
    # Without it, rows of an earlier container with this hostname would count (after a revert):
    # `pulumi up` always passes jobs-start's output on; "unknown" means it had none to pass.
    if [[ ! $started =~ $STARTED_RE ]]; then
        usage_error "JOBS_HOSTS item '$item': SINCE must be a docker time in UTC (jobs-start's since=: Created or State.StartedAt) (e.g. 2026-01-02T03:04:05.123456789Z), got '$started'." \
            "jobs-start prints it; if it is missing, run pulumi up again with --replace on that host's release-jobs-start step."
    fi
    hostnames+=("$name")
    sql_hosts+=("$name,$started")
done

# The web host's containers: exact hostnames, split into the web role (replaced by the web
# switch that follows) and everything else. Docker's output is data: ids must be hex,
# hostnames valid hostnames, the rest compared as fixed strings.
web_replaced=()
web_other=()
web_notes=()
read_web_containers() {
    local ids id info hn running role
    web_replaced=() web_other=() web_notes=()
    ids=$(bounded "$POLL_TIMEOUT" "docker ps on the web host" docker ps -a --no-trunc --format '{{.ID}}') || return 1
    while IFS= read -r id; do
        [[ -n $id ]] || continue
        if [[ ! $id =~ ^[0-9a-f]{12,64}$ ]]; then
            web_notes+=("docker ps printed a line that is not a container id; ignored")
            continue
        fi
        info=$(bounded "$POLL_TIMEOUT" "docker inspect of ${id:0:12}" docker container inspect --format '{{.Config.Hostname}} {{.State.Running}} {{index .Config.Labels "role"}}' "$id" 2>/dev/null) || continue
        read -r hn running role <<<"$info" || true
        if [[ ! $hn =~ $HOSTNAME_RE ]]; then
            web_notes+=("container ${id:0:12} has a hostname that is not a valid hostname; not checked")
            continue
        fi
        if [[ " ${hostnames[*]} " == *" $hn "* ]]; then
            # One of the new jobs containers (a jobs host is never the web host; only a test
            # that runs both roles on one engine shows it here).
            continue
        elif [[ $running == true && $role == web ]]; then
            web_replaced+=("$hn")
        else
            web_other+=("$hn")
        fi
    done <<<"$ids"
}

# One query, one snapshot. Every output line is fixed tokens and whole numbers:
#   host IDX STATUS SUPS_SINCE_START GOOD_WORKERS WORKER_ROWS DISPATCHERS ROWS LIVE_ROWS AGE OFF_LO OFF_HI MODE
#   web  LIST IDX SUPERVISORS WORKERS DISPATCHERS OTHER       (LIST: replaced | other; live rows only)
#   dispatchers COUNT
# AGE/OFF_* are `none` when the host has no row. IDX is the position in our own list.
read -r -d '' PROOF_SQL <<'SQL' || true
WITH params AS (
  SELECT (now() AT TIME ZONE 'UTC') AS now_utc,
         make_interval(secs => :'live_seconds'::int) AS alive,
         :'heartbeat_seconds'::int AS beat,
         :'max_offset'::int AS max_offset,
         :'concurrency'::int AS n
), expected AS (
  SELECT t.ord::int AS idx, split_part(t.x, ',', 1) AS hostname,
         (split_part(t.x, ',', 2)::timestamptz AT TIME ZONE 'UTC') AS started
    FROM unnest(string_to_array(:'hosts', ' ')) WITH ORDINALITY AS t(x, ord)
   WHERE t.x <> ''
), live AS (
  SELECT p.* FROM solid_queue_processes p, params WHERE p.last_heartbeat_at > params.now_utc - params.alive
), since_start AS (
  -- supervisors of this container's life: registered at or after it started
  SELECT e.idx, s.* FROM expected e JOIN solid_queue_processes s
      ON s.hostname = e.hostname AND s.kind IN ('Supervisor', 'Supervisor(fork)', 'Supervisor(async)')
     AND s.supervisor_id IS NULL AND s.created_at >= e.started
), proven_sups AS (
  SELECT ss.idx, ss.id, ss.kind,
         (SELECT count(*) FROM live w JOIN expected e ON e.idx = ss.idx
           WHERE w.supervisor_id = ss.id AND w.kind = 'Worker' AND w.hostname = e.hostname
             AND w.created_at >= e.started AND w.last_heartbeat_at > w.created_at + interval '1 second') AS good_workers,
         (SELECT count(*) FROM live w WHERE w.supervisor_id = ss.id AND w.kind = 'Worker') AS worker_rows,
         (SELECT count(*) FROM live d
           WHERE d.supervisor_id = ss.id AND d.kind = 'Dispatcher'
             AND d.last_heartbeat_at > d.created_at + interval '1 second') AS dispatchers
    FROM since_start ss, params
   WHERE ss.last_heartbeat_at > params.now_utc - params.alive
     AND ss.last_heartbeat_at > ss.created_at + interval '1 second'
), best AS (
  SELECT DISTINCT ON (idx) * FROM proven_sups ORDER BY idx, good_workers DESC, dispatchers DESC, id DESC
), facts AS (
  SELECT e.idx,
         (SELECT count(*) FROM since_start ss WHERE ss.idx = e.idx) AS sups_since_start,
         (SELECT count(*) FROM since_start ss, params
           WHERE ss.idx = e.idx AND ss.last_heartbeat_at > params.now_utc - params.alive) AS live_sups_since_start,
         coalesce(b.good_workers, 0) AS good_workers,
         coalesce(b.worker_rows, 0) AS worker_rows,
         coalesce(b.dispatchers, 0) AS dispatchers,
         b.id IS NOT NULL AS proven,
         coalesce(b.kind = 'Supervisor(async)', false) AS async,
         (SELECT count(*) FROM solid_queue_processes p WHERE p.hostname = e.hostname) AS rows_all,
         (SELECT count(*) FROM live l WHERE l.hostname = e.hostname) AS rows_live,
         (SELECT floor(extract(epoch FROM (max(p.last_heartbeat_at) - params.now_utc)))::bigint
            FROM solid_queue_processes p WHERE p.hostname = e.hostname) AS off_lo
    FROM expected e CROSS JOIN params LEFT JOIN best b ON b.idx = e.idx
), decided AS (
  SELECT f.*,
         CASE
           WHEN f.rows_all = 0 THEN 'no_rows'
           WHEN f.rows_live = 0 THEN 'stale'
           WHEN f.live_sups_since_start = 0 THEN 'no_supervisor'
           WHEN f.sups_since_start > 1 THEN 'restarted'
           WHEN NOT f.proven THEN 'not_heartbeated'
           WHEN f.async AND f.good_workers < 1 THEN 'workers'
           WHEN NOT f.async AND f.good_workers < params.n THEN 'workers'
           WHEN NOT f.async AND f.worker_rows > f.good_workers THEN 'reforked'
           WHEN f.off_lo > params.max_offset THEN 'clock_ahead'
           WHEN f.off_lo + params.beat < -params.max_offset THEN 'clock_behind'
           ELSE 'ok'
         END AS status
    FROM facts f, params
), web AS (
  SELECT 'replaced' AS list, t.ord::int AS idx, t.h AS hostname
    FROM unnest(string_to_array(:'web_replaced', ' ')) WITH ORDINALITY AS t(h, ord) WHERE t.h <> ''
  UNION ALL
  SELECT 'other', t.ord::int, t.h
    FROM unnest(string_to_array(:'web_other', ' ')) WITH ORDINALITY AS t(h, ord) WHERE t.h <> ''
)
SELECT concat_ws(' ', 'host', d.idx, d.status, d.sups_since_start, d.good_workers, d.worker_rows, d.dispatchers,
                 d.rows_all, d.rows_live, coalesce((-d.off_lo)::text, 'none'), coalesce(d.off_lo::text, 'none'),
                 coalesce((d.off_lo + params.beat)::text, 'none'), CASE WHEN d.async THEN 'async' ELSE 'fork' END)
  FROM decided d, params
UNION ALL
SELECT concat_ws(' ', 'web', w.list, w.idx,
                 count(*) FILTER (WHERE l.kind LIKE 'Supervisor%'),
                 count(*) FILTER (WHERE l.kind = 'Worker'),
                 count(*) FILTER (WHERE l.kind = 'Dispatcher'),
                 count(*) FILTER (WHERE l.kind NOT LIKE 'Supervisor%' AND l.kind NOT IN ('Worker', 'Dispatcher')))
  FROM web w JOIN live l ON l.hostname = w.hostname
 GROUP BY w.list, w.idx
UNION ALL
SELECT concat_ws(' ', 'dispatchers', coalesce(sum(d.dispatchers) FILTER (WHERE d.status = 'ok'), 0))
  FROM decided d;
SQL

# @include lib/bounded.sh
check_seconds POLL_TIMEOUT

query() {
    local IFS=' '
    bounded "$POLL_TIMEOUT" "the proof query (psql in $CONTAINER)" docker exec -i "$CONTAINER" \
        psql -X -q -At -v ON_ERROR_STOP=1 -U "$DB_USER" -d "$QUEUE_DB" \
        -v live_seconds="$LIVE_SECONDS" -v heartbeat_seconds="$HEARTBEAT_SECONDS" -v max_offset="$MAX_CLOCK_OFFSET_SECONDS" \
        -v concurrency="$JOB_CONCURRENCY" -v hosts="${sql_hosts[*]}" \
        -v web_replaced="${web_replaced[*]}" -v web_other="${web_other[*]}" \
        -f - <<<"$PROOF_SQL"
}

NUM_RE='^-?[0-9]{1,12}$'
OPT_RE='^(-?[0-9]{1,12}|none)$'

status_text() {
    case $1 in
    ok) echo "ok" ;;
    no_rows) echo "MISSING: no Solid Queue process ever registered with this hostname" ;;
    stale) echo "MISSING: only dead rows (no heartbeat within ${LIVE_SECONDS}s)" ;;
    no_supervisor) echo "MISSING: no live supervisor registered since the container started" ;;
    not_heartbeated) echo "WAITING: the supervisor has not heartbeated since it registered (first beat ${HEARTBEAT_SECONDS}s after boot)" ;;
    restarted) echo "RESTARTED: more than one supervisor registered since the container started (bin/jobs or the container is crash-looping)" ;;
    workers) echo "WORKERS: fewer than JOB_CONCURRENCY=$JOB_CONCURRENCY workers that registered since the start and heartbeated since" ;;
    reforked) echo "RE-FORKED: a live worker under the supervisor has not heartbeated yet although the others have: the supervisor replaced a crashed worker" ;;
    clock_ahead) echo "CLOCK: this host's clock is more than ${MAX_CLOCK_OFFSET_SECONDS}s ahead of the database's" ;;
    clock_behind) echo "CLOCK: this host's clock is more than ${MAX_CLOCK_OFFSET_SECONDS}s behind the database's (or its heartbeats stopped)" ;;
    *) return 1 ;;
    esac
}

# Fills REPORT and returns 0 when the snapshot in $1 proves the release; 3 on output it
# does not understand (never trusted, never evaluated).
evaluate() {
    local out=$1 line ok=0 idx status sups good rows_under disp rows live age lo hi mode text
    local list sup wrk dsp oth name dispatchers=-1 offset v
    local -a f
    local -A seen=()
    REPORT=$(printf '%-44s %-8s %-19s %-11s %-22s %s' "JOBS HOST (container hostname)" "MODE" "WORKERS (proven/N)" "DISPATCHER" "CLOCK OFFSET (host-db)" "STATUS")
    WEB_REPORT=""
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        read -r -a f <<<"$line"
        case ${f[0]} in
        host)
            ((${#f[@]} == 13)) || return 3
            idx=${f[1]} status=${f[2]} sups=${f[3]} good=${f[4]} rows_under=${f[5]} disp=${f[6]} rows=${f[7]} live=${f[8]}
            age=${f[9]} lo=${f[10]} hi=${f[11]} mode=${f[12]}
            for v in "$idx" "$sups" "$good" "$rows_under" "$disp" "$rows" "$live"; do [[ $v =~ $NUM_RE ]] || return 3; done
            for v in "$age" "$lo" "$hi"; do [[ $v =~ $OPT_RE ]] || return 3; done
            [[ $mode == fork || $mode == async ]] || return 3
            ((idx >= 1 && idx <= ${#hostnames[@]})) || return 3
            text=$(status_text "$status") || return 3
            name=${hostnames[idx - 1]}
            seen[$idx]=1
            [[ $status == ok ]] || ok=1
            if [[ $lo == none ]]; then
                offset="-"
            else
                offset="${lo}s..${hi}s (beat ${age}s ago)"
            fi
            if [[ $mode == async ]]; then
                text+=" [async mode: one Worker per pool, threads of the supervisor; JOB_CONCURRENCY is ignored]"
            fi
            if ((rows_under > good)); then
                text+=" [$rows_under live worker rows under the supervisor: $((rows_under - good)) not proven (re-forked after a crash, or still booting)]"
            fi
            if ((sups > 1)); then
                text+=" [$sups supervisors since start]"
            fi
            REPORT+=$'\n'$(printf '%-44s %-8s %-19s %-11s %-22s %s' "$name" "$mode" "$good/$JOB_CONCURRENCY" "$disp" "$offset" "$text")
            ;;
        web)
            ((${#f[@]} == 7)) || return 3
            list=${f[1]} idx=${f[2]} sup=${f[3]} wrk=${f[4]} dsp=${f[5]} oth=${f[6]}
            for v in "$idx" "$sup" "$wrk" "$dsp" "$oth"; do [[ $v =~ $NUM_RE ]] || return 3; done
            if [[ $list == replaced ]]; then
                ((idx >= 1 && idx <= ${#web_replaced[@]})) || return 3
                name=${web_replaced[idx - 1]}
                WEB_REPORT+=$'\n'"  $name (running web container; the web switch stops it): supervisors $sup, workers $wrk, dispatchers $dsp, other $oth"
            elif [[ $list == other ]]; then
                ((idx >= 1 && idx <= ${#web_other[@]})) || return 3
                name=${web_other[idx - 1]}
                ok=1
                WEB_REPORT+=$'\n'"  $name (NOT a running web container: FAIL): supervisors $sup, workers $wrk, dispatchers $dsp, other $oth"
            else
                return 3
            fi
            ;;
        dispatchers)
            if ((${#f[@]} != 2)) || [[ ! ${f[1]} =~ $NUM_RE ]]; then
                return 3
            fi
            dispatchers=${f[1]}
            ;;
        *) return 3 ;;
        esac
    done <<<"$out"
    for ((idx = 1; idx <= ${#hostnames[@]}; idx++)); do
        [[ -n ${seen[$idx]:-} ]] || return 3
    done
    ((dispatchers >= 0)) || return 3
    if ((dispatchers == 0)); then
        ok=1
        REPORT+=$'\n'"DISPATCHER: MISSING: no live Dispatcher under a proven supervisor on any jobs host (scheduled jobs and retries would never run)"
    else
        REPORT+=$'\n'"dispatchers: $dispatchers live under proven supervisors"
    fi
    if [[ -n $WEB_REPORT ]]; then
        REPORT+=$'\n'"Solid Queue processes live on the web host (exact container hostnames):$WEB_REPORT"
    else
        REPORT+=$'\n'"web host: no live Solid Queue process in any of its ${#web_replaced[@]}+${#web_other[@]} containers"
    fi
    if ((${#web_notes[@]})); then
        REPORT+=$'\n'"$(printf '  note: %s\n' "${web_notes[@]}")"
    fi
    return "$ok"
}

start=$SECONDS
attempts=0
last_error=""
REPORT=""
WEB_REPORT=""
while :; do
    attempts=$((attempts + 1))
    if ! read_web_containers; then
        last_error="docker ps failed on the web host"
    elif out=$(query 2>&1); then
        last_error=""
        set +e
        evaluate "$out"
        verdict=$?
        set -e
        if ((verdict == 0)); then
            echo "jobs-proof: PROVEN after $((SECONDS - start))s ($attempts attempt(s)): every jobs host runs this release's bin/jobs (supervisor and JOB_CONCURRENCY=$JOB_CONCURRENCY workers registered since the container started and heartbeating), a Dispatcher is live, and no other web-host container runs Solid Queue."
            echo "$REPORT"
            exit 0
        elif ((verdict == 3)); then
            REPORT=""
            last_error="the proof query returned output it does not understand (${#out} bytes); not evaluated"
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
    echo "jobs-proof: FAILED after $((SECONDS - start))s ($attempts attempt(s), timeout ${TIMEOUT_SECONDS}s): not every jobs host is proven to run this release's bin/jobs ($QUEUE_DB.solid_queue_processes). No old worker was stopped and the web was not switched."
    if [[ -n $last_error ]]; then
        echo "The last query failed (docker exec $CONTAINER psql -U $DB_USER -d $QUEUE_DB):"
        printf '  %s\n' "${last_error:0:2000}"
        if [[ $last_error == *solid_queue_processes*"does not exist"* ]]; then
            echo "  The queue schema is not loaded: bin/rails db:schema:load:queue loads db/queue_schema.rb (the migrate step checks this)."
        fi
    fi
    if [[ -n $REPORT ]]; then
        echo "Last snapshot (live = heartbeat within ${LIVE_SECONDS}s; proven = registered since the container started and heartbeated since):"
        echo "$REPORT"
    fi
    echo "What to check:"
    echo "  - the worker's log on each host not ok: npm run ops -- logs jobs --host <jobs host>"
    echo "    (a crash at boot, a bad RAILS_MASTER_KEY, or a failed connection to the queue database show there);"
    echo "  - JOB_CONCURRENCY in the jobs env file (/etc/shred-day/jobs.env, from shred-day:jobs.concurrency) and config/queue.yml (workers: processes);"
    echo "  - that the jobs host reaches Postgres on the private network (QUEUE_DATABASE_URL, DB_HOST; port 5432 on the web host's private IP);"
    echo "  - CLOCK: run timedatectl on the host (NTP must be on);"
    echo "  - a live process in a web-host container that is not the running web means Solid Queue runs there: stop that container."
} >&2
exit 1
