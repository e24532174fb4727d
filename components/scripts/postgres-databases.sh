#!/usr/bin/env bash
# Makes the app's databases and its role. The official image creates only one database, and
# only on an empty data dir, so the rest (queue, cache, cable) are made here. Idempotent: a
# second run creates nothing.
#
# It connects over TCP to PRIVATE_IP, the address the apps use, as DB_USER (the superuser,
# kept for the program's own steps) with the password read from the first line of stdin.
#
# With APP_USER set (the program always sets it), the app gets a role of its own, without
# superuser rights (NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS), whose
# password is the second line of stdin; it owns every database in DATABASES and is what the
# app's URLs use. A database still owned by DB_USER (a cluster Kamal made, adopted) is handed
# over: the database, its schemas and the tables, views and sequences DB_USER owns in it
# (objects of extensions stay as they are). Databases owned by anyone else are left alone.
# Then it connects as APP_USER to every database: the app's credentials are proven to work.
#
# Passwords travel only in PGPASSWORD (passed into the container with a bare `-e PGPASSWORD`)
# and in SQL on stdin, never on a command line; psql's errors about the role statement are
# not shown (they may quote it). Each psql call is bounded by PSQL_TIMEOUT seconds.
set -euo pipefail

: "${CONTAINER:?CONTAINER (the Postgres container name) is required}"
: "${PRIVATE_IP:?PRIVATE_IP (the address Postgres is published on) is required}"
: "${DB_USER:?DB_USER (postgres.user) is required}"
: "${DATABASES:?DATABASES (space-separated database names) is required}"
APP_USER=${APP_USER:-}
: "${PSQL_TIMEOUT:=30}"

fail() {
    printf 'postgres-databases: %s\n' "$@" >&2
    exit 1
}

# @include lib/bounded.sh
check_seconds PSQL_TIMEOUT

# Names as Rails and Postgres take them; quoted with %I below all the same.
name_ok() {
    [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]] && ((${#1} <= 63))
}
name_ok "$DB_USER" || fail "DB_USER '$DB_USER' is not a valid role name (letters, digits, _ or -, at most 63, not starting with a digit)."
if [[ -n $APP_USER ]]; then
    name_ok "$APP_USER" || fail "APP_USER '$APP_USER' is not a valid role name (letters, digits, _ or -, at most 63, not starting with a digit)."
    [[ $APP_USER != "$DB_USER" ]] || fail "APP_USER must not be DB_USER ($DB_USER): the app's role has no superuser rights; the superuser is kept for the program's own steps."
fi
read -r -a databases <<<"$DATABASES"
((${#databases[@]})) || fail "DATABASES is empty."
for db in "${databases[@]}"; do
    name_ok "$db" || fail "database name '$db' is not valid (letters, digits, _ or -, at most 63, not starting with a digit)."
done

PGPASSWORD=""
IFS= read -r PGPASSWORD || true
PGPASSWORD=${PGPASSWORD%$'\r'}
[[ -n $PGPASSWORD ]] || fail "no password on stdin (the first line must be shred-day:postgresPassword)."
app_password=""
if [[ -n $APP_USER ]]; then
    IFS= read -r app_password || true
    app_password=${app_password%$'\r'}
    [[ -n $app_password ]] || fail "no password for $APP_USER on stdin (its second line)."
fi
export PGPASSWORD

# psql in the container as USER (PGPASSWORD is that user's password) on database DB.
psql_as() {
    local user=$1 db=$2
    shift 2
    bounded "$PSQL_TIMEOUT" "Postgres in $CONTAINER at $PRIVATE_IP:5432 (psql as $user on $db)" \
        docker exec -i -e PGPASSWORD "$CONTAINER" \
        psql -X -q -At -v ON_ERROR_STOP=1 -h "$PRIVATE_IP" -U "$user" -d "$db" "$@"
}
psql_in_container() { psql_as "$DB_USER" postgres "$@"; }

if ! out=$(psql_in_container -c "SELECT current_user" </dev/null 2>&1); then
    if [[ $out == *"password authentication failed"* ]]; then
        fail "Postgres at $PRIVATE_IP:5432 refused the password for role $DB_USER: shred-day:postgresPassword does not match the password the existing role already has." \
            "The official image sets POSTGRES_PASSWORD only when it initialises an empty data dir; an existing cluster keeps its role's password, and this step does not change it." \
            "Set the config to the existing password: pulumi config set --secret shred-day:postgresPassword <the existing password>, then pulumi up." \
            "(The same error means that role $DB_USER does not exist in this cluster: postgres.user must be the existing cluster's role.)" \
            "psql said: $out"
    fi
    fail "cannot connect to Postgres in container $CONTAINER at $PRIVATE_IP:5432 as $DB_USER:" "$out"
fi
echo "postgres-databases: connected to $PRIVATE_IP:5432 as $DB_USER"

owner_wanted=$DB_USER
if [[ -n $APP_USER ]]; then
    owner_wanted=$APP_USER
    # The password goes in as an SQL literal on stdin (standard_conforming_strings: only ' is special).
    quoted=${app_password//\'/\'\'}
    if ! out=$(psql_in_container -v app="$APP_USER" 2>&1 <<SQL
\\set VERBOSITY terse
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SELECT CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') THEN 'role exists' ELSE 'role created' END;
SELECT format('CREATE ROLE %I LOGIN', :'app') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \\gexec
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '$quoted';
SQL
    ); then
        [[ $out == *"gave up waiting"* ]] && fail "$out"
        fail "could not create or update role $APP_USER (psql's error is not shown: it may quote the password). Check the Postgres logs: docker logs $CONTAINER"
    fi
    unset quoted
    echo "postgres-databases: $APP_USER: ${out%%$'\n'*}; login, no superuser rights"
fi

created=0
existing=0
for db in "${databases[@]}"; do
    # 1st line: created|exists; 2nd: the owner. \gexec runs the CREATE only when missing.
    result=$(psql_in_container -v db="$db" -v owner="$owner_wanted" <<'SQL'
SELECT CASE WHEN EXISTS (SELECT FROM pg_database WHERE datname = :'db') THEN 'exists' ELSE 'created' END;
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db';
SQL
    ) || fail "could not create database $db (see the psql error above)."
    state=${result%%$'\n'*}
    owner=${result##*$'\n'}
    case $state in
    created)
        created=$((created + 1))
        echo "created $db (owner $owner)"
        ;;
    exists)
        existing=$((existing + 1))
        if [[ $owner == "$owner_wanted" ]]; then
            echo "exists $db"
        elif [[ -n $APP_USER && $owner == "$DB_USER" ]]; then
            # Hand the database over to the app's role: the database, then inside it the
            # schemas and the relations DB_USER owns (a table's sequences follow it). One
            # transaction (--single-transaction): a failure, or a lock the live app holds past
            # lock_timeout, changes nothing, and the database owner, checked above, stays DB_USER
            # so the next run hands it over again. Both timeouts end it inside the container
            # before PSQL_TIMEOUT ends the client.
            psql_as "$DB_USER" "$db" --single-transaction -v db="$db" -v app="$APP_USER" -v old="$DB_USER" \
                -v lock_timeout="$((PSQL_TIMEOUT * 1000 / 3))" -v statement_timeout="$((PSQL_TIMEOUT * 1000 * 2 / 3))" >/dev/null <<'SQL' ||
SET LOCAL lock_timeout = :lock_timeout;
SET LOCAL statement_timeout = :statement_timeout;
ALTER DATABASE :"db" OWNER TO :"app";
SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, :'app')
  FROM pg_namespace n
 WHERE pg_get_userbyid(n.nspowner) IN (:'old', 'pg_database_owner') AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e') \gexec
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
              n.nspname, c.relname, :'app')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND pg_get_userbyid(c.relowner) = :'old'
   AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i')) \gexec
SQL
                fail "could not hand $db over to $APP_USER (see the psql error above; a lock the running app holds ends it after $((PSQL_TIMEOUT / 3)) s); nothing was changed in it, the next run tries again."
            echo "exists $db (handed over from $DB_USER to $APP_USER: database, schemas, tables, views, sequences)"
        else
            echo "exists $db (owned by $owner, not $owner_wanted; left as is)"
        fi
        ;;
    *) fail "unexpected answer from psql for $db: $result" ;;
    esac
done

if [[ -n $APP_USER ]]; then
    # The app's URLs work: its role logs in to each database with its password, and is no superuser.
    PGPASSWORD=$app_password
    for db in "${databases[@]}"; do
        if ! out=$(psql_as "$APP_USER" "$db" -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user" </dev/null 2>&1); then
            fail "$APP_USER cannot connect to $db at $PRIVATE_IP:5432 with its password: $out"
        fi
        [[ $out == f ]] || fail "$APP_USER is a superuser in this cluster; it must not be (ALTER ROLE $APP_USER NOSUPERUSER)."
    done
    echo "postgres-databases: $APP_USER connects to every database"
fi
echo "postgres-databases: $created created, $existing already existed"
