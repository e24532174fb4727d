#!/usr/bin/env bash
# Entry point of the test Postgres image: the official image's contract, as far as the program
# relies on it (docker-library/postgres docker-entrypoint.sh):
#   - POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (a root-only file is fine: read as root, before
#     dropping to postgres), POSTGRES_USER (default postgres), POSTGRES_DB (default
#     POSTGRES_USER); the *_FILE form of each; both set is an error;
#   - PGDATA (default /var/lib/postgresql/data); init ONLY when it holds no PG_VERSION: an
#     existing cluster is started as it is, whatever POSTGRES_* say;
#   - /docker-entrypoint-initdb.d/*.sh|*.sql run once, on first init, against a temporary
#     server listening on the socket only (so pg_isready over TCP fails during init);
#   - started as root it fixes PGDATA's owner/mode and re-executes itself as `postgres`;
#   - the server listens on * port 5432; remote logins use scram-sha-256 passwords.
set -Eeo pipefail

file_env() {
    local var=$1 file_var="${1}_FILE" def=${2:-}
    if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
        echo "error: both $var and $file_var are set (but are exclusive)" >&2
        exit 1
    fi
    local val=$def
    if [[ -n ${!var:-} ]]; then
        val=${!var}
    elif [[ -n ${!file_var:-} ]]; then
        val=$(<"${!file_var}")
    fi
    export "$var"="$val"
    unset "$file_var"
}

if [[ ${1:-} != postgres ]]; then
    exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chmod 00700 "$PGDATA"
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    # read the *_FILE secrets as root (the file may be root-only), pass the values on
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" "$@"
fi

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    if [[ -z ${POSTGRES_PASSWORD:-} && ${POSTGRES_HOST_AUTH_METHOD:-} != trust ]]; then
        cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
MSG
        exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    printf 'host all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
    if [[ $POSTGRES_DB != postgres ]]; then
        psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -q \
            -c "CREATE DATABASE \"${POSTGRES_DB//\"/\"\"}\""
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
        *.sh)
            echo "running $f"
            # shellcheck disable=SC1090 # init scripts are whatever the user mounted
            . "$f"
            ;;
        *.sql) echo "running $f"; psql -X -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -q -f "$f" ;;
        *) ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "PostgreSQL init process complete; ready for start up."
else
    echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

unset POSTGRES_PASSWORD
exec postgres "${@:2}"
