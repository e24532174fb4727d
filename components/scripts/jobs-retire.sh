#!/usr/bin/env bash
# After the proof: stops (STOP_TIMEOUT, >= 30 s, so Solid Queue's supervisor can finish and
# hand back unfinished jobs) and removes this host's worker containers of every other
# release: label service=SERVICE with role jobs (ours) or job (Kamal's `job` role of the old
# setup). The current release's container, SERVICE-jobs-RELEASE, is never touched, and if it
# is not running nothing is retired at all: the host is never left without a worker.
#
# Idempotent: a re-run finds nothing left to retire.
set -euo pipefail

: "${SERVICE:?SERVICE (the app name, e.g. shred-day) is required}"
: "${RELEASE:?RELEASE (the release id) is required}"
: "${STOP_TIMEOUT:=30}"

fail() {
    printf 'jobs-retire: %s\n' "$@" >&2
    exit 1
}

if [[ ! $STOP_TIMEOUT =~ ^[0-9]+$ ]] || ((STOP_TIMEOUT < 30)); then
    fail "STOP_TIMEOUT must be at least 30 seconds (above Solid Queue's shutdown_timeout, as Kamal does), got '$STOP_TIMEOUT'."
fi

current="$SERVICE-jobs-$RELEASE"
running=$(docker container inspect --format '{{.State.Running}}' "$current" 2>/dev/null || true)
[[ $running == true ]] ||
    fail "the current worker $current is not running, so the previous ones are kept (nothing was stopped)." \
        "Check it: npm run ops -- logs jobs --host <this host>; then pulumi up again."

listing=$(docker ps -a --filter "label=service=$SERVICE" --format '{{.Names}}|{{.Label "role"}}') ||
    fail "cannot list containers."
retired=0
while IFS='|' read -r other role; do
    [[ -n $other && $other != "$current" ]] || continue
    [[ $role == jobs || $role == job ]] || continue
    docker stop --time "$STOP_TIMEOUT" "$other" >/dev/null || fail "docker stop $other failed."
    docker rm "$other" >/dev/null || fail "docker rm $other failed (it is stopped)."
    echo "jobs-retire: stopped (within ${STOP_TIMEOUT}s) and removed $other"
    retired=$((retired + 1))
done <<<"$listing"
echo "jobs-retire: $current keeps running; $retired old worker container(s) retired"
