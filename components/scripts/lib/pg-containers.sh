# shellcheck shell=bash
# Shared by postgres-preflight, postgres-takeover and postgres-handback: inlined where a script
# says `# @include lib/pg-containers.sh` (components/remote.ts).
#
# What Docker really has, read with `docker inspect` (never `docker ps --format {{.Mounts}}`,
# which shows a named volume's NAME, not its path). Containers are told apart by labels:
# a name proves nothing (Kamal
# calls an accessory named `postgres` shred-day-postgres, like ours). Ours carries the labels
# shred-day.part=postgres and managed-by=pulumi (components/postgresAccessory.ts).
#
# Everything docker prints is DATA: it is split into fields with `read` and compared as
# strings, never evaluated, and numbers are used only after a strict ^[0-9]+$ check.

# One record per container, lines separated by newlines, fields by PG_FS (the ASCII unit
# separator: a tab would collapse empty fields in `read`):
#   C <name> <status> <restart policy> <part label> <manager label> <image> <id>
#   M <type> <source> <volume name> <destination>      (one per mount)
#   P <container port> <host ip> <host port>             (one per published binding)
#   E <NAME=value>                                       (each env entry; only PGDATA, PG_MAJOR, POSTGRES_USER are read)
PG_FS=$'\x1f'
# shellcheck disable=SC2016 # a Go template, not a shell expansion
# (`with index` prints nothing for a missing key: docker's templates fail on a missing .Field,
# and a bind mount has no Name)
PG_INSPECT_FORMAT="C${PG_FS}{{.Name}}${PG_FS}{{.State.Status}}${PG_FS}{{.HostConfig.RestartPolicy.Name}}${PG_FS}{{with .Config.Labels}}{{with index . \"shred-day.part\"}}{{.}}{{end}}{{end}}${PG_FS}{{with .Config.Labels}}{{with index . \"managed-by\"}}{{.}}{{end}}{{end}}${PG_FS}{{.Config.Image}}${PG_FS}{{.Id}}
{{range .Mounts}}M${PG_FS}{{.Type}}${PG_FS}{{.Source}}${PG_FS}{{with index . \"Name\"}}{{.}}{{end}}${PG_FS}{{.Destination}}
{{end}}{{range \$p, \$b := .HostConfig.PortBindings}}{{range \$b}}P${PG_FS}{{\$p}}${PG_FS}{{.HostIp}}${PG_FS}{{.HostPort}}
{{end}}{{end}}{{range .Config.Env}}E${PG_FS}{{.}}
{{end}}"

# Print the records of every container on the host.
# Returns non-zero (with the error on stderr) when docker cannot be asked.
pg_inventory() {
    local ids id
    ids=$(docker ps --all --quiet --no-trunc) || return 1
    local -a list=()
    # one id per line; ids are hex (checked), never evaluated
    while IFS= read -r id; do
        [[ $id =~ ^[0-9a-f]+$ ]] && list+=("$id")
    done <<<"$ids"
    ((${#list[@]})) || return 0
    docker container inspect --format "$PG_INSPECT_FORMAT" "${list[@]}"
}

# Print the records of the named container; non-zero when it does not exist.
pg_inspect() {
    docker container inspect --format "$PG_INSPECT_FORMAT" "$1"
}

# Remove trailing and repeated slashes; resolve symlinks when the path exists.
pg_norm_path() {
    local p
    p=$(printf '%s' "$1" | tr -s '/')
    [[ $p == / ]] || p=${p%/}
    if [[ -e $p ]]; then
        p=$(cd "$p" 2>/dev/null && pwd -P) || p=$1
    fi
    printf '%s' "$p"
}

# Where a Postgres image of major $2 keeps its cluster when postgres.dataDir $1 is mounted
# (our container mounts dataDir at /var/lib/postgresql/data before 18, /var/lib/postgresql from 18).
pg_expected_cluster() {
    local dir=$1 major=$2
    if ((10#$major >= 18)); then
        printf '%s/%s/docker' "$dir" "$major"
    else
        printf '%s' "$dir"
    fi
}

# The postgres.dataDir that puts a cluster at $1 for major $2 (inverse of pg_expected_cluster).
# shellcheck disable=SC2317 # not every script that includes this library calls every function
pg_data_dir_for_cluster() {
    local cluster=$1 major=$2
    if ((10#$major >= 18)) && [[ $cluster == */"$major"/docker ]]; then
        printf '%s' "${cluster%/"$major"/docker}"
    else
        printf '%s' "$cluster"
    fi
}

# From the records of ONE container on stdin: where its cluster lives on the host.
# Prints, PG_FS-separated: <cluster host path> <how: mount type, source, name, destination> <PGDATA> <PG_MAJOR env> <POSTGRES_USER>
# The cluster is the mount covering PGDATA (the official image sets PGDATA; default
# /var/lib/postgresql/data), longest destination first, plus the rest of PGDATA below it.
pg_cluster_of() {
    local kind a b c d pgdata="" pgmajor="" pguser="" best_dest="" best_src="" best_how=""
    local -a mounts=()
    while IFS=$PG_FS read -r kind a b c d; do
        case $kind in
        M) mounts+=("$a$PG_FS$b$PG_FS$c$PG_FS$d") ;;
        E)
            case $a in
            PGDATA=*) pgdata=${a#PGDATA=} ;;
            PG_MAJOR=*) pgmajor=${a#PG_MAJOR=} ;;
            POSTGRES_USER=*) pguser=${a#POSTGRES_USER=} ;;
            esac
            ;;
        esac
    done
    [[ -n $pgdata ]] || pgdata=/var/lib/postgresql/data
    local m type src name dest
    for m in ${mounts[@]+"${mounts[@]}"}; do
        IFS=$PG_FS read -r type src name dest <<<"$m"
        dest=${dest%/}
        if [[ $pgdata == "$dest" || $pgdata == "$dest"/* ]] && ((${#dest} > ${#best_dest})); then
            best_dest=$dest
            best_src=$src
            best_how="$type mount ${name:+$name }$src -> $dest"
        fi
    done
    if [[ -z $best_dest ]]; then
        printf '%s%s%s%s%s%s%s%s%s\n' "" "$PG_FS" "no mount covers PGDATA $pgdata (the data is inside the container)" "$PG_FS" "$pgdata" "$PG_FS" "$pgmajor" "$PG_FS" "$pguser"
        return 0
    fi
    printf '%s%s%s%s%s%s%s%s%s\n' "$(pg_norm_path "$best_src${pgdata#"$best_dest"}")" "$PG_FS" "$best_how" "$PG_FS" "$pgdata" "$PG_FS" "$pgmajor" "$PG_FS" "$pguser"
}

# 0 if host port spec $1 (e.g. 5432 or 5430-5439) covers 5432. Strictly numeric, else no.
# shellcheck disable=SC2317 # not every script that includes this library calls every function
pg_port_covers_5432() {
    local range=$1 lo hi
    lo=${range%-*}
    hi=${range#*-}
    [[ $lo =~ ^[0-9]{1,5}$ && $hi =~ ^[0-9]{1,5}$ ]] || return 1
    ((10#$lo <= 5432 && 5432 <= 10#$hi))
}

# Timestamps for the takeover's timeline.
pg_now() {
    date -u +%H:%M:%S.%3N
}
