#!/usr/bin/env bash
# After the proof, before the web switch: stops (docker stop -t STOP_TIMEOUT) and
# removes this host's worker containers of every other release: ours (labels service=SERVICE,
# role=jobs) and Kamal's of the old setup (service=KAMAL_SERVICE, role=KAMAL_ROLE, default
# `job` as in the team's plan, and a destination label equal to KAMAL_DESTINATION, empty when
# none: web.kamal in the stack config; Kamal labels every app container so,
# basecamp/kamal lib/kamal/configuration/role.rb `default_labels`). Other services, roles and
# destinations are never touched.
#
# Gate, checked on this host before anything is stopped: the current release's container
# SERVICE-jobs-RELEASE is running, not restarting (State.Running stays true while Docker
# restarts a crashed container, so State.Restarting and RestartCount are what tell), its
# RestartCount is still RESTART_COUNT and its State.StartedAt still STARTED_AT, as jobs-start
# reported them and as the proof proved its supervisor and workers against. Anything else
# means the container restarted since: nothing is retired and the chain stops here, before
# the web switch, so the old workers keep running the old release's jobs.
#
# Stop timeout: on TERM, Solid Queue's supervisor TERMs its workers, waits
# SolidQueue.shutdown_timeout (5 s by default; lib/solid_queue/fork_supervisor.rb,
# perform_graceful_termination), then QUITs them; jobs still running are released and run
# again from the start elsewhere, not finished. STOP_TIMEOUT (shred-day:jobs.stopTimeout)
# must be above the app's config.solid_queue.shutdown_timeout, or Docker KILLs the
# supervisor first and the claimed jobs are marked failed when the rows are pruned.
#
# Another run of this step at the same time (an earlier one still going on after its SSH
# connection dropped) is fine: a container that the other run removes counts as retired.
#
# The step's triggers hold when jobs-start last ran, so it runs again after every jobs-start run,
# e.g. when a failed release's config is reverted (see jobs-start.sh).
#
# Idempotent: a re-run finds nothing left to retire.
set -euo pipefail

: "${SERVICE:?SERVICE (the app name, e.g. shred-day) is required}"
: "${RELEASE:?RELEASE (the release id) is required}"
: "${STARTED_AT:?STARTED_AT (State.StartedAt of the new container, from jobs-start) is required}"
: "${RESTART_COUNT:?RESTART_COUNT (RestartCount of the new container, from jobs-start) is required}"
: "${STOP_TIMEOUT:=30}"
: "${KAMAL_SERVICE:=$SERVICE}"
: "${KAMAL_ROLE:=job}"
: "${KAMAL_DESTINATION:=}"

fail() {
    printf 'jobs-retire: %s\n' "$@" >&2
    exit 1
}

STARTED_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$'
if [[ ! $STOP_TIMEOUT =~ ^[0-9]{1,4}$ ]] || ((STOP_TIMEOUT < 10 || STOP_TIMEOUT > 3600)); then
    fail "STOP_TIMEOUT must be 10..3600 seconds (shred-day:jobs.stopTimeout, above config.solid_queue.shutdown_timeout), got '$STOP_TIMEOUT'."
fi
[[ $RELEASE =~ ^[A-Za-z0-9_.-]+$ ]] || fail "RELEASE '$RELEASE' may hold only letters, digits, '_', '.', '-'."
[[ $SERVICE =~ ^[A-Za-z0-9_.-]+$ && $SERVICE != -* ]] || fail "SERVICE may hold only letters, digits, '_', '.', '-', got '$SERVICE'."
# @include lib/kamal.sh
check_kamal_names
# @include lib/bounded.sh
# jobs-start's facts, which `pulumi up` always passes on ("unknown": it had none to pass)
[[ $STARTED_AT =~ $STARTED_RE ]] ||
    fail "STARTED_AT '$STARTED_AT' is not docker's State.StartedAt; jobs-start did not report it." \
        "Run pulumi up again with --replace on this host's release-jobs-start step."
[[ $RESTART_COUNT =~ ^[0-9]{1,9}$ ]] || fail "RESTART_COUNT must be a whole number, got '$RESTART_COUNT'."

current="$SERVICE-jobs-$RELEASE"
facts=$(docker container inspect --format '{{.State.Running}} {{.State.Restarting}} {{.RestartCount}} {{.State.StartedAt}}' "$current" 2>/dev/null || true)
read -r running restarting restarts started <<<"$facts" || true
if [[ ! ${running:-} =~ ^(true|false)$ || ! ${restarting:-} =~ ^(true|false)$ || ! ${restarts:-} =~ ^[0-9]{1,9}$ || ! ${started:-} =~ $STARTED_RE ]]; then
    fail "the current worker $current was not found (or docker inspect gave unexpected output), so the previous ones are kept (nothing was stopped)." \
        "Check it: npm run ops -- logs jobs --host <this host>; then pulumi up again."
fi
echo "jobs-retire: $current running=$running restarting=$restarting restart_count=$restarts (at start: $RESTART_COUNT) started_at=$started (at start: $STARTED_AT)"
if [[ $running != true || $restarting != false || $restarts != "$RESTART_COUNT" || $started != "$STARTED_AT" ]]; then
    fail "the current worker $current restarted or stopped since jobs-start (a crash loop?), so the previous workers are kept (nothing was stopped) and the web is not switched." \
        "Check it: npm run ops -- logs jobs --host <this host>. Once fixed, run pulumi up again with --replace on this host's release-jobs-start step (it reports the container's new start)."
fi

ours=$(docker ps -a --filter "label=service=$SERVICE" --filter label=role=jobs --format '{{.Names}}') ||
    fail "cannot list containers."
kamal_old_containers jobs-retire || fail "cannot list Kamal's $KAMAL_ROLE containers."
old=()
while read -r other; do
    [[ -n $other ]] && old+=("$other")
done <<<"$ours"
old+=(${kamal_old[@]+"${kamal_old[@]}"})
# A container another run of this step is stopping or removing at the same moment counts as
# retired once it is gone: after an SSH connection drops mid-step, the dropped run goes on on
# the host while `pulumi up` runs the step again ("removal of container ... is already in
# progress", then "No such container"; the rehearsal caught it).
gone_within() {
    local limit=$1 c=$2 i
    for ((i = 0; i < limit; i++)); do
        docker container inspect "$c" >/dev/null 2>&1 || return 0
        sleep 1
    done
    return 1
}
retired=0
declare -A done_already=()
for other in ${old[@]+"${old[@]}"}; do
    [[ $other != "$current" && -z ${done_already[$other]:-} ]] || continue
    done_already[$other]=1
    if [[ ! $other =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
        fail "docker ps listed a container name that is not a container name; nothing more was stopped."
    fi
    # docker stop kills after STOP_TIMEOUT; the bound is for a daemon that does not answer
    if ! out=$(bounded "$((STOP_TIMEOUT + 30))" "docker stop of $other" docker stop -t "$STOP_TIMEOUT" "$other" 2>&1 >/dev/null); then
        gone_within 10 "$other" || fail "docker stop $other failed." "docker said: $out"
    fi
    if ! out=$(docker rm "$other" 2>&1 >/dev/null); then
        gone_within 30 "$other" || fail "docker rm $other failed (it is stopped)." "docker said: $out"
    fi
    echo "jobs-retire: stopped (within ${STOP_TIMEOUT}s) and removed $other"
    retired=$((retired + 1))
done
echo "jobs-retire: $current keeps running; $retired old worker container(s) retired"
