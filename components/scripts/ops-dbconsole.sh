#!/usr/bin/env bash
# What `npm run ops -- dbconsole` runs on the web host: psql in the Postgres container,
# over its local socket (no password crosses the wire or the command line).
#
# Parameters (environment):
#   PG_CONTAINER   the Postgres container
#   DB_USER        the role to connect as
#   DATABASE       the database
set -euo pipefail

: "${PG_CONTAINER:?PG_CONTAINER (the Postgres container) is required}"
: "${DB_USER:?DB_USER (the Postgres role) is required}"
: "${DATABASE:?DATABASE is required}"

for n in PG_CONTAINER DB_USER DATABASE; do
    if [[ ${!n} == -* ]]; then
        echo "ops-dbconsole: $n must not start with '-' (got '${!n}')" >&2
        exit 2
    fi
done

flags=(-i)
[[ -t 0 && -t 1 ]] && flags=(-it)
exec docker exec "${flags[@]}" "$PG_CONTAINER" psql -U "$DB_USER" -d "$DATABASE"
