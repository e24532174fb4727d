#!/usr/bin/env bash
# Creates every database in DATABASES that is missing, owned by DB_USER. The official
# image creates only one database, and only on an empty data dir, so the rest (queue,
# cache, cable) are made here. Idempotent: a second run creates nothing.
#
# It connects over TCP to PRIVATE_IP, the address the apps use, with DB_USER and the
# password read from the first line of stdin: so it also proves that the apps' credentials
# work. The password travels only in PGPASSWORD (exported here, passed into the container
# with a bare `-e PGPASSWORD`), never on a command line. It never changes a password.
set -euo pipefail

: "${CONTAINER:?CONTAINER (the Postgres container name) is required}"
: "${PRIVATE_IP:?PRIVATE_IP (the address Postgres is published on) is required}"
: "${DB_USER:?DB_USER (postgres.user) is required}"
: "${DATABASES:?DATABASES (space-separated database names) is required}"

fail() {
    printf 'postgres-databases: %s\n' "$@" >&2
    exit 1
}

# Names as Rails and Postgres take them; quoted with %I below all the same.
name_ok() {
    [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]] && ((${#1} <= 63))
}
name_ok "$DB_USER" || fail "DB_USER '$DB_USER' is not a valid role name (letters, digits, _ or -, at most 63, not starting with a digit)."
read -r -a databases <<<"$DATABASES"
((${#databases[@]})) || fail "DATABASES is empty."
for db in "${databases[@]}"; do
    name_ok "$db" || fail "database name '$db' is not valid (letters, digits, _ or -, at most 63, not starting with a digit)."
done

PGPASSWORD=""
IFS= read -r PGPASSWORD || true
PGPASSWORD=${PGPASSWORD%$'\r'}
[[ -n $PGPASSWORD ]] || fail "no password on stdin (the first line must be shred-day:postgresPassword)."
export PGPASSWORD

psql_in_container() {
    docker exec -i -e PGPASSWORD "$CONTAINER" \
        psql -X -q -At -v ON_ERROR_STOP=1 -h "$PRIVATE_IP" -U "$DB_USER" -d postgres "$@"
}

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

created=0
existing=0
for db in "${databases[@]}"; do
    # 1st line: created|exists; 2nd: the owner. \gexec runs the CREATE only when missing.
    result=$(psql_in_container -v db="$db" -v owner="$DB_USER" <<'SQL'
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
        if [[ $owner == "$DB_USER" ]]; then
            echo "exists $db"
        else
            echo "exists $db (owned by $owner, not $DB_USER; left as is)"
        fi
        ;;
    *) fail "unexpected answer from psql for $db: $result" ;;
    esac
done
echo "postgres-databases: $created created, $existing already existed"
