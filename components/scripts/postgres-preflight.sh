#!/usr/bin/env bash
# Runs on the web host whenever the Postgres container is about to be created or replaced
# (its triggers carry everything the container is made of). Read-only: it never stops,
# removes or changes a container and never touches a cluster; it only creates an empty
# DATA_DIR when INITIALIZE=true. It refuses (exit 1: what it found, how to fix it) when:
#   - DATA_DIR holds a cluster of another major version than PG_MAJOR, or one where this
#     image will not look for it;
#   - DATA_DIR holds no cluster and INITIALIZE is not true (an empty cluster next to the real
#     data would be served to the app: never without postgres.initialize: true);
#   - ADOPT_FROM (Kamal's accessory to take over) does not exist, keeps its cluster somewhere
#     else than DATA_DIR (bind mount or named volume, read with docker inspect), or runs
#     another major version;
#   - another container (told apart by labels, not names) mounts DATA_DIR and runs (or would
#     start by itself: restart policy always), or publishes 5432 on PRIVATE_IP, 0.0.0.0 or ::
#     (ADOPT_FROM excepted: the takeover stops it);
#   - INITIALIZE=true while any other Postgres container or cluster exists on the host.
#
# Where the official image keeps its cluster (DATA_DIR is bind-mounted at):
#   postgres < 18:  /var/lib/postgresql/data  -> DATA_DIR/PG_VERSION
#   postgres >= 18: /var/lib/postgresql       -> DATA_DIR/<major>/docker/PG_VERSION
set -euo pipefail

: "${DATA_DIR:?DATA_DIR (postgres.dataDir on the web host) is required}"
: "${PG_MAJOR:?PG_MAJOR (the major version of postgres.image, e.g. 16) is required}"
: "${PRIVATE_IP:?PRIVATE_IP (the address Postgres is published on) is required}"
: "${CONTAINER:?CONTAINER (our Postgres container name) is required}"
# optional: postgres.image as configured (messages), postgres.adoptFrom, postgres.initialize
IMAGE=${IMAGE:-}
ADOPT_FROM=${ADOPT_FROM:-}
INITIALIZE=${INITIALIZE:-false}

# @include lib/pg-containers.sh

fail() {
    {
        printf 'postgres-preflight: REFUSED.\n'
        printf '%s\n' "$@"
        printf 'Nothing was changed on this host.\n'
    } >&2
    exit 1
}

if ! [[ $PG_MAJOR =~ ^[0-9]{1,3}$ ]] || ((10#$PG_MAJOR < 9)); then
    fail "PG_MAJOR must be the major version of postgres.image (e.g. 16), got '$PG_MAJOR'."
fi
major=$((10#$PG_MAJOR))
[[ $INITIALIZE == true || $INITIALIZE == false ]] || fail "INITIALIZE must be true or false, got '$INITIALIZE'."
if [[ -n $ADOPT_FROM && $INITIALIZE == true ]]; then
    fail "postgres.initialize: true and postgres.adoptFrom ($ADOPT_FROM) exclude each other: a taken-over cluster is never initialised."
fi
image_desc="a Postgres $major image"
if [[ -n $IMAGE ]]; then
    image_desc="$IMAGE, a Postgres $major image"
fi
if [[ $DATA_DIR != /* || $DATA_DIR =~ (^|/)\.\.?(/|$) ]]; then
    fail "postgres.dataDir must be an absolute path without . or .. components, got '$DATA_DIR'."
fi
data_dir=$(printf '%s' "$DATA_DIR" | tr -s '/')
data_dir=${data_dir%/}
if [[ -z $data_dir ]]; then
    fail "postgres.dataDir must not be / ."
fi

if ((major >= 18)); then
    mount_target=/var/lib/postgresql
else
    mount_target=/var/lib/postgresql/data
fi
expected=$(pg_expected_cluster "$data_dir" "$major")/PG_VERSION

read_version() {
    local v
    v=$(<"$1")
    printf '%s' "${v//[[:space:]]/}"
}

upgrade_help() {
    local found=$1
    printf '%s\n' \
        "A Postgres $major server cannot open a Postgres $found cluster, and this program never re-initialises or upgrades data by itself. Either:" \
        "  - keep the image at the cluster's major version, e.g.: pulumi config set --path postgres.image postgres:$found (then pulumi up), or" \
        "  - upgrade the cluster first, with a backup: pg_upgrade (e.g. with both versions' binaries, or an image such as pgautoupgrade), or pg_dumpall from the $found server and restore into a new, empty postgres.dataDir under the $major image; then pulumi up."
}

# ---- 1. the cluster in DATA_DIR -------------------------------------------------------
existing_version=""
if [[ -e $data_dir && ! -d $data_dir ]]; then
    fail "postgres.dataDir $data_dir exists but is not a directory."
fi
if [[ -d $data_dir ]]; then
    shopt -s nullglob
    candidates=("$data_dir/PG_VERSION" "$data_dir"/*/docker/PG_VERSION)
    shopt -u nullglob
    for f in "${candidates[@]}"; do
        [[ -f $f ]] || continue
        v=$(read_version "$f")
        if [[ $f == "$expected" && $v == "$major" ]]; then
            existing_version=$v
            continue
        fi
        if [[ $v == "$major" ]]; then
            fail "postgres.dataDir $data_dir holds a Postgres $v cluster at $f, but a Postgres $major image mounts $data_dir at $mount_target and looks for its cluster at $expected: it would initialise a new, empty cluster and hide this one." \
                "Point postgres.dataDir at the directory that matches the image's layout (for a $major image: the directory mounted at $mount_target), or move the cluster there with the container stopped."
        fi
        fail "postgres.dataDir $data_dir holds a Postgres $v cluster ($f), but postgres.image is $image_desc." \
            "$(upgrade_help "$v")"
    done
    if [[ -z $existing_version && -f $data_dir/data/PG_VERSION ]]; then
        v=$(read_version "$data_dir/data/PG_VERSION")
        fail "postgres.dataDir $data_dir holds no cluster itself, but $data_dir/data does (Postgres $v): that is probably the data of the old accessory." \
            "Set postgres.dataDir to $data_dir/data (pulumi config set --path postgres.dataDir $data_dir/data) if that is the cluster to keep; it must match postgres.image's major ($major)."
    fi
    if [[ -z $existing_version ]] && ((major < 18)) && [[ -n $(ls -A "$data_dir") ]]; then
        fail "postgres.dataDir $data_dir is not empty but holds no Postgres cluster (no $expected): the image's initdb refuses a non-empty directory." \
            "Point postgres.dataDir at the cluster's directory (the one with PG_VERSION in it) or at a new, empty directory."
    fi
fi

# ---- 2. every container, read with docker inspect -------------------------------------
if ! command -v docker >/dev/null 2>&1; then
    fail "docker is not installed on this host (needed to run the Postgres container)."
fi
if ! inventory=$(pg_inventory 2>&1); then
    fail "cannot read the containers on this host (docker ps / docker inspect failed): $inventory" \
        "Check that the Docker daemon is running (systemctl status docker)."
fi

real_data_dir=$(pg_norm_path "$data_dir")
expected_cluster=$(pg_norm_path "$(pg_expected_cluster "$data_dir" "$major")")

# 0 if host path $1 is DATA_DIR, inside it, or contains it
overlaps_data_dir() {
    local src d
    src=$(pg_norm_path "$1")
    [[ -n $src && $src == /* ]] || return 1
    for d in "$data_dir" "$real_data_dir"; do
        if [[ $src == "$d" || $src == "$d"/* || $d == "$src"/* ]]; then
            return 0
        fi
    done
    return 1
}

kamal_hint() {
    local name=$1
    if [[ $name == *-* ]]; then
        printf 'kamal accessory stop %s' "${name##*-}"
    else
        printf 'kamal accessory stop db'
    fi
}

conflicts=()
warnings=()
others_postgres=()
adopt_seen=no
ours_running=no

# Evaluate one container's records (in $records).
check_container() {
    local records=$1 kind a b c d e f _
    local name="" status="" restart="" part="" manager="" image="" mounted=no publishes="" postgresish=no
    while IFS=$PG_FS read -r kind a b c d e f _; do
        case $kind in
        C)
            name=${a#/} status=$b restart=$c part=$d manager=$e image=$f
            ;;
        M)
            if overlaps_data_dir "$b"; then mounted="$a mount ${c:+$c }$b -> $d"; fi
            [[ $d == /var/lib/postgresql || $d == /var/lib/postgresql/* ]] && postgresish=yes
            ;;
        P)
            if [[ $a == */tcp ]] && pg_port_covers_5432 "$c"; then
                case $b in
                "$PRIVATE_IP" | 0.0.0.0 | :: | "") publishes="${b:-*}:$c" ;;
                esac
            fi
            ;;
        E)
            [[ $a == PG_MAJOR=* ]] && postgresish=yes
            ;;
        esac
    done <<<"$records"
    [[ -n $name ]] || return 0
    [[ $image == *postgres* ]] && postgresish=yes

    if [[ $part == postgres && $manager == pulumi ]]; then
        # ours (by labels): replaced by this run, it never conflicts with itself
        [[ $status == running ]] && ours_running=yes
        return 0
    fi
    local live=no
    case $status in running | restarting | paused) live=yes ;; esac

    if [[ -n $ADOPT_FROM && $name == "$ADOPT_FROM" ]]; then
        adopt_seen=yes
        local cluster how pgdata envmajor found_version=""
        IFS=$PG_FS read -r cluster how pgdata envmajor _ < <(pg_cluster_of <<<"$records")
        if [[ -z $cluster ]]; then
            conflicts+=("  - postgres.adoptFrom = $ADOPT_FROM: $how; its data cannot be taken over from a host directory. Move it to a volume first (pg_dumpall, then restore into a bind-mounted directory), then set postgres.dataDir to that directory.")
            return 0
        fi
        if [[ -f $cluster/PG_VERSION ]]; then found_version=$(read_version "$cluster/PG_VERSION"); fi
        if [[ $cluster != "$expected_cluster" ]]; then
            local suggest
            suggest=$(pg_data_dir_for_cluster "$cluster" "${found_version:-$major}")
            conflicts+=("  - postgres.adoptFrom = $ADOPT_FROM keeps its cluster at $cluster ($how; PGDATA $pgdata${found_version:+; Postgres $found_version}), but postgres.dataDir = $data_dir puts ours at $expected_cluster: ours would not run on the old data. Set postgres.dataDir to $suggest (pulumi config set --path postgres.dataDir $suggest).")
            return 0
        fi
        local old_major=${envmajor:-$found_version}
        old_major=${old_major%%.*}
        if [[ -n $old_major && $old_major != "$major" ]]; then
            conflicts+=("  - postgres.adoptFrom = $ADOPT_FROM runs Postgres $old_major (image $image, PG_MAJOR ${envmajor:-unset}, cluster PG_VERSION ${found_version:-unknown}), but postgres.image is $image_desc. Set postgres.image to postgres:$old_major (pulumi config set --path postgres.image postgres:$old_major); upgrading is a separate step.")
            return 0
        fi
        printf 'postgres-preflight: postgres.adoptFrom %s (%s, %s) keeps its Postgres %s cluster at %s (%s): the one postgres.dataDir names; the takeover stops it before ours starts.\n' \
            "$ADOPT_FROM" "$image" "$status" "${old_major:-$major}" "$cluster" "$how"
        return 0
    fi

    [[ $postgresish == yes ]] && others_postgres+=("$name ($image, $status)")
    local reasons=()
    if [[ $mounted != no ]]; then
        if [[ $live == yes ]]; then
            reasons+=("mounts $mounted, i.e. postgres.dataDir $data_dir: two Postgres servers on one data directory corrupt it")
        elif [[ $restart == always ]]; then
            reasons+=("is stopped but mounts $mounted (postgres.dataDir) with restart policy 'always': Docker starts it again when the daemon restarts (docker update --restart=no $name, or remove it)")
        else
            warnings+=("postgres-preflight: warning: stopped container '$name' ($status) also mounts $mounted (postgres.dataDir). Never start it again while $CONTAINER runs; remove it once the move is done (docker rm $name).")
        fi
    fi
    if [[ $live == yes && -n $publishes ]]; then
        reasons+=("publishes port 5432 ($publishes), which $CONTAINER needs on $PRIVATE_IP:5432")
    fi
    if ((${#reasons[@]})); then
        conflicts+=("  - container '$name' ($status, image $image) $(printf '%s; ' "${reasons[@]}")stop it with: docker stop $name   (if it is the old Kamal accessory, from the app repo: $(kamal_hint "$name"); or name it in postgres.adoptFrom to have it taken over)")
    fi
    return 0
}

records=""
while IFS= read -r line; do
    if [[ $line == C"$PG_FS"* && -n $records ]]; then
        check_container "$records"
        records=""
    fi
    [[ -z $line ]] || records+="$line"$'\n'
done <<<"$inventory"
[[ -z $records ]] || check_container "$records"

if [[ -n $ADOPT_FROM && $adopt_seen == no ]]; then
    if [[ $ours_running == yes && -n $existing_version ]]; then
        echo "postgres-preflight: postgres.adoptFrom $ADOPT_FROM no longer exists; $CONTAINER already runs on $data_dir (taken over earlier)."
    else
        names=$(printf '%s\n' "$inventory" | while IFS=$PG_FS read -r kind a _; do if [[ $kind == C ]]; then printf '%s ' "${a#/}"; fi; done)
        conflicts+=("  - postgres.adoptFrom = $ADOPT_FROM: no container of that name on this host (containers: ${names:-none}). Set it to Kamal's accessory container (docker ps -a --format '{{.Names}} {{.Image}}').")
    fi
fi

if [[ $INITIALIZE == true ]]; then
    for o in ${others_postgres[@]+"${others_postgres[@]}"}; do
        conflicts+=("  - postgres.initialize: true, but another Postgres container exists on this host: $o. A new, empty cluster is refused while another one may hold the real data: take it over with postgres.adoptFrom instead, or remove it first.")
    done
    docker_root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || printf '/var/lib/docker')
    # where clusters live on a host: Docker's volumes and Debian/Ubuntu's own clusters
    # (CLUSTER_SEARCH_ROOTS, space-separated, replaces the list: tests point it at their own engine)
    read -r -a roots <<<"${CLUSTER_SEARCH_ROOTS:-$docker_root/volumes /var/lib/postgresql}"
    for root in "${roots[@]}"; do
        [[ -d $root ]] || continue
        while IFS= read -r -d '' f; do
            # each database's directory (base/<oid>) has a PG_VERSION too: only cluster roots count
            [[ $f == */base/*/PG_VERSION ]] && continue
            cluster=$(pg_norm_path "${f%/PG_VERSION}")
            [[ $cluster == "$expected_cluster" ]] && continue
            conflicts+=("  - postgres.initialize: true, but a Postgres cluster exists on this host at $cluster (Postgres $(read_version "$f")). A new, empty cluster is refused while another one may hold the real data: take it over (postgres.adoptFrom / postgres.dataDir), or remove it first.")
        done < <(find "$root" -maxdepth 5 -name PG_VERSION -type f -print0 2>/dev/null)
    done
fi

if ((${#conflicts[@]})); then
    fail "what the Postgres container $CONTAINER needs is not safe to use:" \
        "${conflicts[@]}" \
        "This step never stops or changes a container itself."
fi

# ---- 3. all clear ---------------------------------------------------------------------
for w in ${warnings[@]+"${warnings[@]}"}; do
    printf '%s\n' "$w" >&2
done

if [[ -n $existing_version ]]; then
    echo "postgres-preflight: $data_dir holds an existing Postgres $existing_version cluster ($expected): reused as is, never re-initialised (mounted at $mount_target)."
elif [[ $INITIALIZE != true ]]; then
    found=""
    if [[ -n $ADOPT_FROM ]]; then found=" (postgres.adoptFrom $ADOPT_FROM names it, but its cluster is not there)"; fi
    fail "postgres.dataDir $data_dir holds no Postgres cluster (no $expected)$found. This program starts Postgres only on existing data, unless asked for a new cluster." \
        "For the data the app uses today: set postgres.dataDir to the old accessory's data directory (docker inspect -f '{{range .Mounts}}{{.Type}} {{.Source}} -> {{.Destination}}{{\"\\n\"}}{{end}}' <container>) and postgres.adoptFrom to its container." \
        "Only for a brand-new, empty cluster: pulumi config set --path postgres.initialize true."
elif [[ -d $data_dir ]]; then
    echo "postgres-preflight: $data_dir exists and holds no cluster; postgres.initialize is true: the Postgres $major image will initialise a new one there on first start (mounted at $mount_target)."
else
    install -d -m 0700 "$data_dir"
    echo "postgres-preflight: $data_dir did not exist: created it, empty (mode 0700); postgres.initialize is true: the Postgres $major image will initialise a new cluster there on first start (mounted at $mount_target)."
fi
echo "postgres-preflight: no other container runs on $data_dir or publishes 5432 on $PRIVATE_IP, 0.0.0.0 or ::${ADOPT_FROM:+ (except $ADOPT_FROM, which the takeover stops first)}."
