#!/usr/bin/env bash
# Takes over Kamal's Postgres accessory ADOPT_FROM, just before our container CONTAINER is
# created on the same data (the preflight has run first). In order, with a timestamp each:
#   1. inspect ADOPT_FROM (docker inspect): its cluster's host path (bind mount or named
#      volume, under PGDATA) must be the one postgres.dataDir gives ours, its major PG_MAJOR,
#      and it must be on NETWORK (Kamal's `kamal`), where ours takes over its name as alias;
#      otherwise REFUSED, printing what was found, with nothing changed;
#   2. pg_dumpall of it into DUMP_DIR (root-only), size and sha256 printed; a failed or
#      incomplete dump stops the takeover with nothing changed;
#   3. its restart policy set to `no` (so neither a daemon restart nor a reboot starts it
#      again), then `docker stop`; the cluster's postmaster.pid must be gone (clean stop);
#   4. if its name is CONTAINER's (Kamal's name for an accessory called `postgres`), renamed
#      to <name>-kamal-retired so ours can take the name.
# It is kept, stopped: `kamal accessory boot` skips an accessory whose container exists
# (basecamp/kamal lib/kamal/cli/accessory.rb `boot`: "a container already exists").
#
# Never are two servers on the data: ours does not exist or is not running while the old one
# runs (checked first), and ours is created only after this step. Idempotent: a stopped
# ADOPT_FROM with restart policy `no` is already taken over (nothing to do); one that was
# stopped by hand only gets its restart policy set.
set -euo pipefail

: "${ADOPT_FROM:?ADOPT_FROM (postgres.adoptFrom: the Kamal accessory container) is required}"
: "${DATA_DIR:?DATA_DIR (postgres.dataDir) is required}"
: "${PG_MAJOR:?PG_MAJOR (the major version of postgres.image) is required}"
: "${CONTAINER:?CONTAINER (our Postgres container name) is required}"
: "${DUMP_DIR:=/var/backups/shred-day}"
: "${NETWORK:=kamal}"
: "${STOP_TIMEOUT:=120}"
: "${DUMP_TIMEOUT:=3600}"

# @include lib/pg-containers.sh
# @include lib/bounded.sh

say() {
    printf 'postgres-takeover: %s %s\n' "$(pg_now)" "$*"
}

refuse() {
    {
        printf 'postgres-takeover: REFUSED.\n'
        printf '%s\n' "$@"
        printf 'Nothing was changed: %s keeps running as it was.\n' "$ADOPT_FROM"
    } >&2
    exit 1
}

[[ $PG_MAJOR =~ ^[0-9]{1,3}$ ]] || refuse "PG_MAJOR must be a major version such as 16, got '$PG_MAJOR'."
[[ $STOP_TIMEOUT =~ ^[0-9]{1,4}$ ]] || refuse "STOP_TIMEOUT must be a whole number of seconds, got '$STOP_TIMEOUT'."
if [[ ! $DUMP_TIMEOUT =~ ^[0-9]{1,5}$ ]] || ((10#$DUMP_TIMEOUT < 1)); then
    refuse "DUMP_TIMEOUT must be a whole number of seconds, got '$DUMP_TIMEOUT'."
fi
[[ $DATA_DIR == /* ]] || refuse "postgres.dataDir must be an absolute path, got '$DATA_DIR'."
major=$((10#$PG_MAJOR))
retired="$ADOPT_FROM-kamal-retired"

# Which container is the old accessory: ADOPT_FROM, unless that name is ours now (Kamal's
# accessory called `postgres` has our name; the takeover renamed it <name>-kamal-retired).
is_ours() {
    local part manager
    IFS=$PG_FS read -r _ _ _ _ part manager _ < <(head -n 1 <<<"$1")
    [[ $part == postgres && $manager == pulumi ]]
}
old=$ADOPT_FROM
records=""
if records=$(pg_inspect "$old" 2>/dev/null) && is_ours "$records"; then
    records=""
fi
if [[ -z $records ]]; then
    old=$retired
    if ! records=$(pg_inspect "$old" 2>/dev/null); then
        if ours=$(pg_inspect "$CONTAINER" 2>/dev/null) && is_ours "$ours" && [[ $(head -n 1 <<<"$ours" | cut -d "$PG_FS" -f 3) == running ]]; then
            say "$ADOPT_FROM no longer exists and $CONTAINER runs: taken over earlier, nothing to do."
            exit 0
        fi
        refuse "postgres.adoptFrom = $ADOPT_FROM: no container of that name (nor $retired) on this host." \
            "Set postgres.adoptFrom to Kamal's accessory container: docker ps -a --format '{{.Names}} {{.Image}}'."
    fi
fi
IFS=$PG_FS read -r _ _ status restart _ _ image _ < <(head -n 1 <<<"$records")
say "found $old: $status, image $image, restart policy ${restart:-none}"

# Ours must not run while the old one does: never two servers on one data directory.
our_status=""
if our=$(pg_inspect "$CONTAINER" 2>/dev/null | head -n 1); then
    IFS=$PG_FS read -r _ _ our_status _ our_part our_manager _ <<<"$our"
    if [[ $our_part != postgres || $our_manager != pulumi ]]; then
        our_status=""
    fi
fi

if [[ $status != running && $status != restarting && $status != paused ]]; then
    # Already stopped (by an earlier takeover, or by hand): make sure it stays stopped.
    if [[ $restart != no && -n $restart ]]; then
        docker update --restart=no "$old" >/dev/null || refuse "cannot set the restart policy of the stopped $old to no."
        say "$old is stopped; its restart policy $restart is now no (it will not start by itself)"
    fi
    if [[ $old == "$ADOPT_FROM" && $ADOPT_FROM == "$CONTAINER" ]]; then
        docker rename "$old" "$retired"
        say "renamed the stopped $old to $retired (so $CONTAINER can take the name)"
    fi
    say "$old is stopped: taken over already, nothing else to do."
    exit 0
fi
if [[ $our_status == running || $our_status == restarting ]]; then
    refuse "$CONTAINER (ours) is $our_status while $old is running: two Postgres servers may be on one data directory." \
        "Stop one of them now (docker stop $CONTAINER), check the data, then run pulumi up again."
fi

# ---- 1. what the old accessory really has ---------------------------------------------
IFS=$PG_FS read -r cluster how pgdata envmajor pguser < <(pg_cluster_of <<<"$records")
expected=$(pg_norm_path "$(pg_expected_cluster "$DATA_DIR" "$major")")
say "$old keeps its cluster at ${cluster:-?} ($how; PGDATA $pgdata; PG_MAJOR ${envmajor:-unset})"
[[ -n $cluster ]] || refuse "postgres.adoptFrom = $ADOPT_FROM: $how; there is no host directory to start ours on."
if [[ $cluster != "$expected" ]]; then
    refuse "postgres.adoptFrom = $ADOPT_FROM keeps its cluster at $cluster ($how), but postgres.dataDir = $DATA_DIR puts ours at $expected." \
        "Set postgres.dataDir to $(pg_data_dir_for_cluster "$cluster" "$major")."
fi
found_version=""
if [[ -f $cluster/PG_VERSION ]]; then
    found_version=$(tr -d '[:space:]' <"$cluster/PG_VERSION")
fi
old_major=${envmajor:-$found_version}
old_major=${old_major%%.*}
if [[ $old_major != "$major" || (-n $found_version && $found_version != "$major") ]]; then
    refuse "postgres.adoptFrom = $ADOPT_FROM runs Postgres ${old_major:-?} (image $image, PG_MAJOR ${envmajor:-unset}, cluster PG_VERSION ${found_version:-unknown}), but postgres.image is Postgres $major." \
        "Set postgres.image to postgres:${old_major:-?}; upgrading is a separate step, with a backup."
fi
networks=$(docker container inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$old")
if [[ " $networks " != *" $NETWORK "* ]]; then
    refuse "postgres.adoptFrom = $ADOPT_FROM is on the docker network(s) '${networks% }', not $NETWORK: the Kamal web container reaches it there by name, and ours would not be found." \
        "Connect it first (docker network connect $NETWORK $ADOPT_FROM) or check that it is Kamal's accessory."
fi

# ---- 2. the dump: root-only, complete, or nothing changes --------------------------------
[[ -n $pguser ]] || pguser=postgres
install -d -m 0700 -o root -g root "$DUMP_DIR"
dump="$DUMP_DIR/$ADOPT_FROM-$(date -u +%Y%m%dT%H%M%SZ).sql"
partial="$dump.partial"
say "pg_dumpall of $old (as $pguser) to $dump"
dump_ok=yes
# bounded: a dump that has not finished in DUMP_TIMEOUT is a failure like any other (nothing changes)
(umask 077 && bounded "$DUMP_TIMEOUT" "pg_dumpall of $old" docker exec "$old" pg_dumpall -U "$pguser" >"$partial") || dump_ok=no
if [[ $dump_ok == yes ]] && ! tail -n 5 "$partial" | grep -q -- '-- PostgreSQL database cluster dump complete'; then
    dump_ok=incomplete
fi
if [[ $dump_ok != yes ]]; then
    rm -f -- "$partial"
    refuse "pg_dumpall of $ADOPT_FROM failed ($dump_ok): without a complete dump the takeover does not stop it." \
        "See its logs (docker logs --tail 50 $ADOPT_FROM), free disk space in $DUMP_DIR if needed, then pulumi up again."
fi
mv -- "$partial" "$dump"
chmod 0600 "$dump"
size=$(stat -c %s "$dump")
sum=$(sha256sum "$dump")
sum=${sum%% *}
say "dump complete: $dump, $size bytes, sha256 $sum (restore: docs/runbook-from-kamal.md)"

# ---- 3. stop it for good ----------------------------------------------------------------
docker update --restart=no "$old" >/dev/null || refuse "cannot set the restart policy of $old to no."
say "$old: restart policy ${restart:-none} -> no"
say "stopping $old (up to ${STOP_TIMEOUT}s)"
if ! bounded "$((STOP_TIMEOUT + 30))" "docker stop of $old" docker stop --time "$STOP_TIMEOUT" "$old" >/dev/null; then
    docker update --restart="${restart:-unless-stopped}" "$old" >/dev/null || true
    refuse "docker stop $old failed; its restart policy is back to ${restart:-unless-stopped}. The dump $dump stays."
fi
for ((i = 0; i < 30; i++)); do
    state=$(docker container inspect --format '{{.State.Status}}' "$old")
    [[ $state == running || $state == restarting ]] || break
    sleep 1
done
[[ $state != running && $state != restarting ]] || refuse "$old still runs 30 s after docker stop."
say "$old stopped ($state)"
if [[ -e $cluster/postmaster.pid ]]; then
    say "warning: $cluster/postmaster.pid is still there: the old server did not shut down cleanly; ours will run crash recovery on start"
fi

# ---- 4. free the name if ours needs it ----------------------------------------------------
if [[ $old == "$ADOPT_FROM" && $ADOPT_FROM == "$CONTAINER" ]]; then
    docker rename "$old" "$retired"
    say "renamed $old to $retired (so $CONTAINER can take the name)"
fi
say "done: $ADOPT_FROM is stopped for good; $CONTAINER may start on $cluster and take the alias $ADOPT_FROM on $NETWORK"
