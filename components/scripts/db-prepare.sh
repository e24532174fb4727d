#!/usr/bin/env bash
# Runs `bin/rails db:prepare` once, in a one-off container of the new IMAGE with the web
# role's env file, before anything of the new release serves. db:prepare creates missing
# databases, loads db/queue_schema.rb into an empty queue database and runs pending
# migrations; it is idempotent, so a re-run with the same image changes nothing.
#
# On failure it exits non-zero with the command's output, so `pulumi up` fails right here:
# nothing else is touched and the old web and jobs containers keep running. The output is
# shown with every env-file value of 8 or more characters replaced by [value of NAME], so a
# secret echoed by the app never reaches the Pulumi log.
set -euo pipefail

: "${IMAGE:?IMAGE (app.image, with its tag) is required}"
: "${ENV_FILE:?ENV_FILE (the web role env file, e.g. /etc/shred-day/web.env) is required}"

fail() {
    printf 'db-prepare: %s\n' "$@" >&2
    exit 1
}

[[ -f $ENV_FILE ]] || fail "env file $ENV_FILE is missing: the release's env-file step writes it first."

# @include lib/redact.sh

if ! docker image inspect --format '{{.Id}}' "$IMAGE" >/dev/null 2>&1; then
    fail "$IMAGE is not on this host: the release's image-pull step pulls it first."
fi

echo "db-prepare: bin/rails db:prepare in a one-off container of $IMAGE"
start=$SECONDS
set +e
out=$(docker run --rm --pull never --env-file "$ENV_FILE" "$IMAGE" bin/rails db:prepare 2>&1)
code=$?
set -e
if ((code != 0)); then
    {
        echo "db-prepare: FAILED: bin/rails db:prepare exited $code after $((SECONDS - start))s (image $IMAGE)."
        echo "Nothing else was changed: the previous web and jobs containers keep running the previous release."
        echo "----- output of bin/rails db:prepare -----"
        redact "$out"
        echo "----- end of output -----"
        echo "Fix the migration (or the database settings it names) and run pulumi up again."
    } >&2
    exit "$code"
fi
if [[ -n $out ]]; then
    redact "$out"
fi
echo "db-prepare: done in $((SECONDS - start))s"
