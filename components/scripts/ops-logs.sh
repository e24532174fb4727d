#!/usr/bin/env bash
# What `npm run ops -- logs ROLE` runs on a host: the logs of one container, found by
# name (CONTAINER) or as the newest running container labelled service=SERVICE role=ROLE.
# With no running one, the newest stopped one is shown instead (a crashed worker's last
# words), and stderr says so. Read-only.
#
# Parameters (environment):
#   CONTAINER            a container name (postgres, proxy), or:
#   SERVICE, ROLE        the labels of the app containers (web, jobs)
#   FOLLOW               optional, 1: keep following
#   SINCE                optional: docker's --since (10m, 2h, 2024-05-01T10:00:00)
#   TAIL                 optional: docker's --tail (lines from the end)
# Exit: docker logs' status; 3 when there is no such container on this host.
set -euo pipefail

CONTAINER=${CONTAINER:-}
FOLLOW=${FOLLOW:-0}
SINCE=${SINCE:-}
TAIL=${TAIL:-}
if [[ -n $SINCE && ! $SINCE =~ ^[0-9A-Za-z:.+-]+$ ]]; then
    echo "ops-logs: SINCE '$SINCE' is not a duration (10m) or a timestamp" >&2
    exit 2
fi
if [[ -n $TAIL && ! $TAIL =~ ^([0-9]+|all)$ ]]; then
    echo "ops-logs: TAIL '$TAIL' is not a number of lines" >&2
    exit 2
fi

for n in CONTAINER SERVICE ROLE; do
    if [[ ${!n:-} == -* ]]; then
        echo "ops-logs: $n must not start with '-' (got '${!n}')" >&2
        exit 2
    fi
done

if [[ -n $CONTAINER ]]; then
    if ! docker inspect --format '{{.Name}}' -- "$CONTAINER" >/dev/null 2>&1; then
        echo "ops-logs: no container '$CONTAINER' on $(hostname)" >&2
        exit 3
    fi
    name=$CONTAINER
else
    : "${SERVICE:?SERVICE (the service label) is required without CONTAINER}"
    : "${ROLE:?ROLE (the role label) is required without CONTAINER}"
    filters=(--filter "label=service=$SERVICE" --filter "label=role=$ROLE")
    name=$(docker ps "${filters[@]}" --format '{{.Names}}' | head -n 1)
    if [[ -z $name ]]; then
        name=$(docker ps -a "${filters[@]}" --format '{{.Names}}' | head -n 1)
        if [[ -z $name ]]; then
            echo "ops-logs: no $SERVICE $ROLE container on $(hostname), running or stopped" >&2
            exit 3
        fi
        echo "ops-logs: no $ROLE container is running on $(hostname); showing the newest stopped one, $name" >&2
    fi
fi

args=(logs --timestamps)
[[ $FOLLOW == 1 ]] && args+=(--follow)
[[ -n $SINCE ]] && args+=(--since "$SINCE")
[[ -n $TAIL ]] && args+=(--tail "$TAIL")
echo "ops-logs: docker ${args[*]} $name" >&2
exec docker "${args[@]}" -- "$name"
