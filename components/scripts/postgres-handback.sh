#!/usr/bin/env bash
# The way back from a takeover (postgres.handBack: true): the data goes back to Kamal's
# accessory ADOPT_FROM, and this program's Postgres container is stopped for good.
#   1. the old accessory (ADOPT_FROM, or its retired name <ADOPT_FROM>-kamal-retired) must
#      exist and keep its cluster where postgres.dataDir says (docker inspect): else REFUSED,
#      nothing changed (restore from the takeover's dump instead: the runbook says how);
#   2. ours (by labels: shred-day.part=postgres, managed-by=pulumi) gets restart policy `no`
#      and is stopped (and renamed away if it holds the old name); the same `pulumi up`
#      then deletes it from the host and the state, since the program no longer declares it;
#   3. only when ours is stopped: the old one gets its name and RESTART_POLICY back and starts;
#      the step waits (bounded) until it accepts connections.
# Never two servers on the data: the old one starts only after ours is confirmed stopped.
# Idempotent: with ours stopped or gone and the old one running, nothing changes.
set -euo pipefail

: "${ADOPT_FROM:?ADOPT_FROM (postgres.adoptFrom) is required}"
: "${DATA_DIR:?DATA_DIR (postgres.dataDir) is required}"
: "${PG_MAJOR:?PG_MAJOR (the major version of postgres.image) is required}"
: "${CONTAINER:?CONTAINER (our Postgres container name) is required}"
: "${RESTART_POLICY:=unless-stopped}"
: "${STOP_TIMEOUT:=120}"
: "${TIMEOUT_SECONDS:=120}"

# @include lib/pg-containers.sh

say() {
    printf 'postgres-handback: %s %s\n' "$(pg_now)" "$*"
}

refuse() {
    {
        printf 'postgres-handback: REFUSED.\n'
        printf '%s\n' "$@"
    } >&2
    exit 1
}

[[ $PG_MAJOR =~ ^[0-9]{1,3}$ ]] || refuse "PG_MAJOR must be a major version such as 16, got '$PG_MAJOR'."
[[ $STOP_TIMEOUT =~ ^[0-9]{1,4}$ ]] || refuse "STOP_TIMEOUT must be a whole number of seconds, got '$STOP_TIMEOUT'."
[[ $TIMEOUT_SECONDS =~ ^[0-9]{1,4}$ ]] || refuse "TIMEOUT_SECONDS must be a whole number of seconds, got '$TIMEOUT_SECONDS'."
case $RESTART_POLICY in no | always | unless-stopped | on-failure) ;; *) refuse "RESTART_POLICY must be a docker restart policy, got '$RESTART_POLICY'." ;; esac
major=$((10#$PG_MAJOR))
retired="$ADOPT_FROM-kamal-retired"

# ---- 1. the old accessory and its data ----------------------------------------------------
old=$ADOPT_FROM
if ! records=$(pg_inspect "$old" 2>/dev/null) || { IFS=$PG_FS read -r _ _ _ _ p m _ < <(head -n 1 <<<"$records") && [[ $p == postgres && $m == pulumi ]]; }; then
    old=$retired
    records=$(pg_inspect "$old" 2>/dev/null) ||
        refuse "postgres.handBack: there is no old accessory $ADOPT_FROM (nor $retired) on this host to hand the data back to; nothing was changed." \
            "Keep ours (remove postgres.handBack), or restore the takeover's dump into a new accessory (docs/runbook-from-kamal.md, 'Restore from the dump')."
fi
IFS=$PG_FS read -r _ _ old_status _ _ _ old_image _ < <(head -n 1 <<<"$records")
IFS=$PG_FS read -r cluster how _ _ _ < <(pg_cluster_of <<<"$records")
expected=$(pg_norm_path "$(pg_expected_cluster "$DATA_DIR" "$major")")
if [[ $cluster != "$expected" ]]; then
    refuse "postgres.handBack: $old ($old_image) keeps its cluster at ${cluster:-nowhere on the host} ($how), not at $expected where ours runs: handing back would start it on other data. Nothing was changed."
fi
say "old accessory $old ($old_image, $old_status) on $cluster ($how)"

# ---- 2. ours stops for good first ----------------------------------------------------------
ours=""
while IFS=$PG_FS read -r kind name status _ part manager _ id; do
    [[ $kind == C && $part == postgres && $manager == pulumi ]] || continue
    ours=${name#/}
    if [[ $status == running || $status == restarting || $status == paused ]]; then
        docker update --restart=no "$id" >/dev/null
        say "stopping ours, $ours (up to ${STOP_TIMEOUT}s)"
        docker stop --time "$STOP_TIMEOUT" "$id" >/dev/null || refuse "docker stop $ours failed; the old accessory was not started."
    else
        docker update --restart=no "$id" >/dev/null || true
    fi
    state=$(docker container inspect --format '{{.State.Status}}' "$id")
    [[ $state != running && $state != restarting ]] || refuse "$ours still runs after docker stop; the old accessory was not started."
    say "ours, $ours, is $state (restart policy no)"
    if [[ $ours == "$ADOPT_FROM" ]]; then
        docker rename "$id" "$ADOPT_FROM-pulumi-handed-back"
        say "renamed ours to $ADOPT_FROM-pulumi-handed-back (the old accessory takes its name back)"
    fi
done < <(pg_inventory | grep "^C$PG_FS" || true)

# ---- 3. the old one starts again ------------------------------------------------------------
if [[ $old == "$retired" ]]; then
    docker rename "$old" "$ADOPT_FROM"
    old=$ADOPT_FROM
    say "renamed $retired back to $ADOPT_FROM"
fi
docker update --restart="$RESTART_POLICY" "$old" >/dev/null
if [[ $old_status != running ]]; then
    docker start "$old" >/dev/null || refuse "docker start $old failed: docker logs --tail 50 $old"
    say "started $old (restart policy $RESTART_POLICY)"
fi
for ((i = 0; i < TIMEOUT_SECONDS; i++)); do
    if out=$(docker exec "$old" pg_isready -t 2 2>&1); then
        say "$old accepts connections: $out"
        say "done: the data is served by $old again; ours is stopped and this pulumi up removes it"
        exit 0
    fi
    sleep 1
done
refuse "$old did not accept connections within ${TIMEOUT_SECONDS}s: $out" "See docker logs --tail 50 $old. Ours stays stopped: never start both."
