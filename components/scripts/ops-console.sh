#!/usr/bin/env bash
# What `npm run ops -- console` runs on a jobs host: a Rails console in a one-off container
# (`docker run --rm`) of the image the jobs container runs now, with the jobs env file
# (root-only; read by docker, never printed). Like `kamal app exec -i --reuse 'bin/rails console'`.
# The container carries no service/role labels, so no release step and no `status` takes it
# for a worker; it is removed when the console exits.
#
# Parameters (environment):
#   SERVICE     the service label of the app containers (shred-day)
#   ENV_FILE    the jobs env file (/etc/shred-day/jobs.env)
#   IMAGE       optional: the image to run; default the newest running jobs container's image
#   COMMAND     optional: what to run (default: bin/rails console)
set -euo pipefail

: "${SERVICE:?SERVICE (the service label of the app containers) is required}"
: "${ENV_FILE:?ENV_FILE (the jobs env file) is required}"
IMAGE=${IMAGE:-}
COMMAND=${COMMAND:-bin/rails console}
# COMMAND is words (the program and its arguments), split on blanks only: no glob, no
# expansion, no quote removal; none of them is read as a docker option.
read -r -a words <<<"$COMMAND"
((${#words[@]})) || {
    echo "ops-console: COMMAND is empty" >&2
    exit 2
}

if [[ -z $IMAGE ]]; then
    IMAGE=$(docker ps --filter "label=service=$SERVICE" --filter label=role=jobs --format '{{.Image}}' | head -n 1)
    if [[ -z $IMAGE ]]; then
        echo "ops-console: no $SERVICE jobs container runs on $(hostname) to take the image from; pass --image IMAGE" >&2
        exit 3
    fi
fi

if [[ $IMAGE == -* || $SERVICE == -* ]]; then
    echo "ops-console: IMAGE and SERVICE must not start with '-' (got '$IMAGE', '$SERVICE')" >&2
    exit 2
fi

flags=(-i)
[[ -t 0 && -t 1 ]] && flags=(-it)
echo "ops-console: $IMAGE on $(hostname), env from $ENV_FILE" >&2
exec docker run --rm "${flags[@]}" --name "$SERVICE-console-$(date +%s)-$$" --env-file "$ENV_FILE" -- "$IMAGE" "${words[@]}"
