#!/usr/bin/env bash
# Starts this jobs host's worker for RELEASE: the container SERVICE-jobs-RELEASE running
# `bin/jobs` (Solid Queue's supervisor, with JOB_CONCURRENCY worker processes from the env
# file), restart unless-stopped, a stop timeout of STOP_TIMEOUT (shred-day:jobs.stopTimeout,
# which must be above the app's config.solid_queue.shutdown_timeout, see jobs-retire.sh), and the hostname
# CONTAINER_HOSTNAME, which names the host and the release: Solid Queue records it in
# solid_queue_processes.hostname, and the proof looks for it there.
#
# It does NOT stop the previous release's worker: both run side by side (safe: Solid Queue
# claims with SKIP LOCKED) until the proof passes and jobs-retire stops the old one, so job
# processing never pauses.
#
# Last line on success, for the proof and the retire step (they compare with it):
#   jobs-start: facts container=NAME started_at=<State.StartedAt> restart_count=<RestartCount> since=<TIME> run=<TIME>
# run is when this step ran (the host's clock): an input of the proof and of jobs-retire, so they
# run again after every run of this step. Without it, reverting a config whose release failed
# (workers that crash-loop or never register) ran jobs-start again (it finds the previous
# release's container running) but not the retire step, whose inputs were those of its last good
# run: the broken containers stayed on the hosts for good (the rehearsal caught it).
# since is the proof's lower bound for this container's Solid Queue rows: the container's
# Created time while it never restarted (RestartCount 0), else State.StartedAt of its current
# life. Not State.StartedAt alone: Docker records StartedAt only after containerd has started
# the process (moby daemon/start.go containerStart: containerd.Start, then
# container.SetRunning, which sets StartedAt = now), so a quick supervisor can register
# BEFORE StartedAt; the proof then never saw it as this container's (the rehearsal caught
# it: a concurrency change that re-ran only the jobs steps waited out the proof's timeout).
#
# Idempotent: if the container is already running, nothing is done (the facts are printed).
set -euo pipefail

: "${SERVICE:?SERVICE (the app name, e.g. shred-day) is required}"
: "${IMAGE:?IMAGE (app.image, with its tag) is required}"
: "${ENV_FILE:?ENV_FILE (the jobs role env file, e.g. /etc/shred-day/jobs.env) is required}"
: "${RELEASE:?RELEASE (the release id) is required}"
: "${CONTAINER_HOSTNAME:?CONTAINER_HOSTNAME (host and release, e.g. shred-day-jobs-ubuntu-<release>) is required}"
: "${STOP_TIMEOUT:=30}"

fail() {
    printf 'jobs-start: %s\n' "$@" >&2
    exit 1
}

if [[ ! $STOP_TIMEOUT =~ ^[0-9]{1,4}$ ]] || ((STOP_TIMEOUT < 10 || STOP_TIMEOUT > 3600)); then
    fail "STOP_TIMEOUT must be 10..3600 seconds (shred-day:jobs.stopTimeout, above config.solid_queue.shutdown_timeout), got '$STOP_TIMEOUT'."
fi
[[ $CONTAINER_HOSTNAME =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$ ]] ||
    fail "CONTAINER_HOSTNAME '$CONTAINER_HOSTNAME' is not a valid hostname (letters, digits, '-', '.', at most 63)."
[[ $RELEASE =~ ^[A-Za-z0-9_.-]+$ ]] || fail "RELEASE '$RELEASE' may hold only letters, digits, '_', '.', '-'."
[[ -f $ENV_FILE ]] || fail "env file $ENV_FILE is missing: the release's env-file step writes it first."
grep -q '^JOB_CONCURRENCY=' "$ENV_FILE" ||
    fail "$ENV_FILE has no JOB_CONCURRENCY (shred-day:jobs.concurrency): the jobs env file must set it."
if grep -q '^SOLID_QUEUE_IN_PUMA=' "$ENV_FILE"; then
    fail "$ENV_FILE sets SOLID_QUEUE_IN_PUMA; it must not be in any role's env."
fi

name="$SERVICE-jobs-$RELEASE"

state=$(docker container inspect --format '{{.State.Running}}|{{.Config.Hostname}}' "$name" 2>/dev/null || true)
# State.StartedAt, RestartCount and Created of the container, checked as data before they are printed.
print_facts() {
    local facts started restarts created since
    local time_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$'
    facts=$(docker container inspect --format '{{.State.StartedAt}} {{.RestartCount}} {{.Created}}' "$name") ||
        fail "cannot inspect $name after starting it."
    read -r started restarts created <<<"$facts" || true
    [[ $started =~ $time_re && $restarts =~ ^[0-9]{1,9}$ && $created =~ $time_re ]] ||
        fail "docker inspect $name gave an unexpected State.StartedAt/RestartCount/Created; cannot report the facts the proof needs."
    # One life since it was created: every process of it started after Created. Restarted: its current life only.
    since=$started
    if [[ $restarts == 0 ]]; then
        since=$created
    fi
    echo "jobs-start: facts container=$name started_at=$started restart_count=$restarts since=$since run=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
}

if [[ $state == "true|$CONTAINER_HOSTNAME" ]]; then
    echo "jobs-start: $name is already running (hostname $CONTAINER_HOSTNAME); nothing to do"
    print_facts
    exit 0
fi
if [[ -n $state ]]; then
    # A leftover of an interrupted run (stopped, or made with another hostname): replace it.
    docker rm -f "$name" >/dev/null || fail "cannot remove the leftover container $name."
    echo "jobs-start: removed the leftover $name ($state)"
fi

if ! out=$(docker run --detach --name "$name" --hostname "$CONTAINER_HOSTNAME" \
    --restart unless-stopped --stop-timeout "$STOP_TIMEOUT" --env-file "$ENV_FILE" \
    --label "service=$SERVICE" --label role=jobs --label "release=$RELEASE" \
    --log-opt max-size=10m "$IMAGE" bin/jobs 2>&1); then
    fail "docker run of $name ($IMAGE bin/jobs) failed; the previous worker (if any) keeps running." "docker said: $out"
fi
echo "jobs-start: started $name (bin/jobs, hostname $CONTAINER_HOSTNAME, stop timeout ${STOP_TIMEOUT}s); the previous worker keeps running until the proof passes"
print_facts
