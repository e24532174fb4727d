#!/usr/bin/env bash
# The release's migrate step, on the web host, before anything of the new release runs:
#
# 1. Which task: if the image's Gemfile.lock (in its working directory, /rails in Rails'
#    Dockerfile) has the data_migrate gem, `bin/rails db:prepare data:migrate` (schema, then
#    data migrations, in one process: data:migrate exists in every data_migrate version, where
#    db:prepare:with_data does not); else `bin/rails db:prepare`. Both in a one-off container
#    of the new IMAGE with the web role's env file. db:prepare creates missing databases,
#    loads db/queue_schema.rb into a queue database that has no schema_migrations table, and
#    runs pending migrations (from Rails 8.0 db:migrate loads the queue schema too); it is
#    idempotent, so a re-run with the same image changes nothing.
# 2. Solid Queue's tables: db:prepare succeeds and loads NOTHING when db/queue_schema.rb is
#    missing, or when the queue database already has schema_migrations without the Solid
#    Queue tables. So afterwards the tables are looked up in QUEUE_DB (through the Postgres
#    container PG_CONTAINER's local socket); if any is missing this step fails, before the
#    workers start and before the web switch, naming `bin/rails db:schema:load:queue`.
#
# On failure it exits non-zero, so `pulumi up` stops right here: nothing else is touched and
# the old web and jobs containers keep running. Output is shown with every env-file value of
# 8 or more characters replaced by [value of NAME], so a secret echoed by the app never
# reaches the Pulumi log. Output of docker and psql is data: counts are checked as numbers,
# the table check returns only indexes into our own list.
set -euo pipefail

: "${IMAGE:?IMAGE (app.image, with its tag) is required}"
: "${ENV_FILE:?ENV_FILE (the web role env file, e.g. /etc/shred-day/web.env) is required}"
: "${PG_CONTAINER:?PG_CONTAINER (the Postgres container on this host) is required}"
: "${DB_USER:?DB_USER (postgres.user) is required}"
: "${QUEUE_DB:?QUEUE_DB (the queue database, e.g. shred_day_production_queue) is required}"
# The step's triggers hold the env's database variables (components/release.ts databaseEnvText,
# secret), so an env change that can touch the databases re-runs it with the same image.
# How long db:prepare may run (issue 11 point 9, i11): past it, its container is removed and the step fails.
: "${DB_PREPARE_TIMEOUT:=900}"

fail() {
    printf 'db-prepare: %s\n' "$@" >&2
    exit 1
}

[[ -f $ENV_FILE ]] || fail "env file $ENV_FILE is missing: the release's env-file step writes it first."

# @include lib/redact.sh
# @include lib/bounded.sh
check_seconds DB_PREPARE_TIMEOUT

if ! docker image inspect --format '{{.Id}}' "$IMAGE" >/dev/null 2>&1; then
    fail "$IMAGE is not on this host: the release's image-pull step pulls it first."
fi

# 1. data_migrate in the image? `grep -c` prints a count (exit 1 when 0, 2 when no file).
set +e
found=$(bounded 120 "grep in the image's Gemfile.lock" docker run --rm --pull never --entrypoint grep "$IMAGE" -c -E '^    data_migrate( |$)' Gemfile.lock 2>/dev/null)
set -e
found=${found%%$'\n'*}
if [[ $found =~ ^[0-9]{1,6}$ ]] && ((found > 0)); then
    tasks=(db:prepare data:migrate)
    echo "db-prepare: the image's Gemfile.lock has data_migrate: bin/rails db:prepare data:migrate (schema, then data migrations)"
elif [[ $found =~ ^[0-9]{1,6}$ ]]; then
    tasks=(db:prepare)
    echo "db-prepare: no data_migrate in the image's Gemfile.lock: bin/rails db:prepare"
else
    tasks=(db:prepare)
    echo "db-prepare: note: cannot read Gemfile.lock in the image's working directory; assuming no data_migrate: bin/rails db:prepare"
fi

start=$SECONDS
# Named, so that a run past DB_PREPARE_TIMEOUT can be removed (killing the client leaves the container running).
migrator="db-prepare-$$-$RANDOM"
set +e
if ((${#tasks[@]} == 2)); then
    out=$(bounded "$DB_PREPARE_TIMEOUT" "bin/rails ${tasks[*]}" docker run --rm --name "$migrator" --pull never --env-file "$ENV_FILE" "$IMAGE" bin/rails db:prepare data:migrate 2>&1)
else
    out=$(bounded "$DB_PREPARE_TIMEOUT" "bin/rails ${tasks[*]}" docker run --rm --name "$migrator" --pull never --env-file "$ENV_FILE" "$IMAGE" bin/rails db:prepare 2>&1)
fi
code=$?
set -e
if ((code == 124)); then
    docker rm -f "$migrator" >/dev/null 2>&1 || true
    out+=$'\n'"(its container $migrator was removed; a migration cut off in its transaction is rolled back)"
fi
if ((code != 0)); then
    {
        echo "db-prepare: FAILED: bin/rails ${tasks[*]} exited $code after $((SECONDS - start))s (image $IMAGE)."
        echo "Nothing else was changed: the previous web and jobs containers keep running the previous release."
        echo "----- output of bin/rails ${tasks[*]} -----"
        redact "$out"
        echo "----- end of output -----"
        echo "Fix the migration (or the database settings it names) and run pulumi up again."
    } >&2
    exit "$code"
fi
if [[ -n $out ]]; then
    redact "$out"
fi
echo "db-prepare: bin/rails ${tasks[*]} done in $((SECONDS - start))s"

# 2. Solid Queue's tables in the queue database (solid_queue 1.x, db/queue_schema.rb).
TABLES=(solid_queue_jobs solid_queue_processes solid_queue_ready_executions solid_queue_claimed_executions
    solid_queue_failed_executions solid_queue_scheduled_executions solid_queue_blocked_executions
    solid_queue_pauses solid_queue_semaphores solid_queue_recurring_tasks solid_queue_recurring_executions)
read -r -d '' TABLES_SQL <<'SQL' || true
SELECT 'missing ' || count(*) FILTER (WHERE to_regclass(t.name) IS NULL) || ' '
       || coalesce(string_agg(t.ord::text, ' ' ORDER BY t.ord) FILTER (WHERE to_regclass(t.name) IS NULL), '')
  FROM unnest(string_to_array(:'tables', ' ')) WITH ORDINALITY AS t(name, ord);
SQL
if ! check=$(bounded 60 "the Solid Queue table check (psql in $PG_CONTAINER)" docker exec -i "$PG_CONTAINER" psql -X -q -At -v ON_ERROR_STOP=1 -U "$DB_USER" -d "$QUEUE_DB" \
    -v tables="${TABLES[*]}" -f - <<<"$TABLES_SQL" 2>&1); then
    fail "cannot look up Solid Queue's tables in $QUEUE_DB (docker exec $PG_CONTAINER psql): ${check:0:500}"
fi
read -r word count rest <<<"$check" || true
if [[ $word != missing || ! $count =~ ^[0-9]{1,3}$ || ! ${rest:-} =~ ^[0-9\ ]*$ ]]; then
    fail "the table check in $QUEUE_DB returned output it does not understand; not trusted."
fi
if ((count > 0)); then
    missing=()
    for i in $rest; do
        ((i >= 1 && i <= ${#TABLES[@]})) && missing+=("${TABLES[i - 1]}")
    done
    {
        echo "db-prepare: FAILED: bin/rails ${tasks[*]} succeeded, but the queue database $QUEUE_DB lacks $count of Solid Queue's tables: ${missing[*]}."
        echo "db:prepare loads db/queue_schema.rb only into a queue database without schema_migrations, and loads nothing when the file is missing."
        echo "No worker was started and the web was not switched; the previous release keeps running."
        echo "Load the queue schema (it creates the Solid Queue tables in the queue database), then run pulumi up again:"
        echo "  ssh root@<web host> docker run --rm --env-file $ENV_FILE $IMAGE bin/rails db:schema:load:queue"
        echo "(check first that db/queue_schema.rb is in the image and config/database.yml has the queue database with migrations_paths: db/queue_migrate)."
    } >&2
    exit 1
fi
echo "db-prepare: Solid Queue's ${#TABLES[@]} tables are in $QUEUE_DB"
