#!/usr/bin/env bash
# Waits, for at most TIMEOUT_SECONDS, until the Postgres container accepts TCP connections
# on the web host's private address (`pg_isready -h PRIVATE_IP`: during the image's first
# init the server answers on its socket only, so the socket is not proof of readiness).
# On timeout: exit 1 with how long it waited, the last pg_isready output and the
# container's last 50 log lines.
set -euo pipefail

: "${CONTAINER:?CONTAINER (the Postgres container name) is required}"
: "${PRIVATE_IP:?PRIVATE_IP (the address Postgres is published on) is required}"
: "${DB_USER:?DB_USER (the Postgres role) is required}"
: "${TIMEOUT_SECONDS:?TIMEOUT_SECONDS (how long to wait, 1..3600) is required}"

if ! [[ $TIMEOUT_SECONDS =~ ^[0-9]+$ ]] || ((10#$TIMEOUT_SECONDS < 1 || 10#$TIMEOUT_SECONDS > 3600)); then
    echo "postgres-wait-ready: TIMEOUT_SECONDS must be a whole number of seconds from 1 to 3600, got '$TIMEOUT_SECONDS'" >&2
    exit 2
fi
timeout_s=$((10#$TIMEOUT_SECONDS))

start=$SECONDS
deadline=$((start + timeout_s))
attempts=0
last_output="(pg_isready never ran)"

while :; do
    attempts=$((attempts + 1))
    remaining=$((deadline - SECONDS))
    # each probe is bounded too: a hung `docker exec` must not stretch the wait
    probe_limit=$((remaining < 5 ? (remaining < 1 ? 1 : remaining) : 5))
    if last_output=$(timeout --kill-after=2 "$((probe_limit + 1))" \
        docker exec "$CONTAINER" pg_isready -h "$PRIVATE_IP" -U "$DB_USER" -t "$probe_limit" 2>&1); then
        echo "postgres-wait-ready: $CONTAINER accepts connections on $PRIVATE_IP:5432 (after $((SECONDS - start))s, $attempts attempt(s)): $last_output"
        exit 0
    else
        status=$?
    fi
    if ((status == 124 || status == 137)); then
        last_output="docker exec ... pg_isready did not return within $((probe_limit + 1))s${last_output:+: $last_output}"
    fi
    if ((SECONDS >= deadline)); then
        break
    fi
    sleep 1
done

{
    echo "postgres-wait-ready: $CONTAINER did not accept connections on $PRIVATE_IP:5432 within ${timeout_s}s (waited $((SECONDS - start))s, $attempts attempt(s))."
    echo "Last pg_isready output: ${last_output:-(none)}"
    echo "Check that the container is running and that Postgres listens on $PRIVATE_IP:5432 (docker ps; docker logs $CONTAINER)."
    echo "--- docker logs --tail 50 $CONTAINER ---"
    docker logs --tail 50 "$CONTAINER" 2>&1 || echo "(docker logs failed)"
    echo "--- end of docker logs ---"
} >&2
exit 1
