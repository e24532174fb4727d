#!/usr/bin/env bash
# Runs on the web host before the Postgres container is created or replaced. It refuses
# (exit 1, saying what and how to fix it) when:
#   - DATA_DIR holds a cluster of another major version than the configured image
#     (PG_MAJOR), or a cluster where this image will not look for it;
#   - another container (not CONTAINER) is running that publishes 5432 on PRIVATE_IP,
#     0.0.0.0 or ::, or bind-mounts DATA_DIR (two postmasters on one data dir corrupt it).
# It never stops, removes or changes any container, and never touches an existing cluster.
# Otherwise it creates DATA_DIR if missing (mode 0700) and prints what it found.
#
# Where the official image keeps its cluster (DATA_DIR is bind-mounted at):
#   postgres < 18:  /var/lib/postgresql/data  -> DATA_DIR/PG_VERSION
#   postgres >= 18: /var/lib/postgresql       -> DATA_DIR/<major>/docker/PG_VERSION
set -euo pipefail

: "${DATA_DIR:?DATA_DIR (postgres.dataDir on the web host) is required}"
: "${PG_MAJOR:?PG_MAJOR (the major version of postgres.image, e.g. 16) is required}"
: "${PRIVATE_IP:?PRIVATE_IP (the address Postgres is published on) is required}"
: "${CONTAINER:?CONTAINER (our Postgres container name) is required}"
# optional: postgres.image as configured, only used in messages
IMAGE=${IMAGE:-}

fail() {
    {
        printf 'postgres-preflight: REFUSED.\n'
        printf '%s\n' "$@"
        printf 'Nothing was changed on this host.\n'
    } >&2
    exit 1
}

if ! [[ $PG_MAJOR =~ ^[0-9]+$ ]] || ((10#$PG_MAJOR < 9)); then
    fail "PG_MAJOR must be the major version of postgres.image (e.g. 16), got '$PG_MAJOR'."
fi
major=$((10#$PG_MAJOR))
image_desc="a Postgres $major image"
if [[ -n $IMAGE ]]; then
    image_desc="$IMAGE, a Postgres $major image"
fi
if [[ $DATA_DIR != /* || $DATA_DIR =~ (^|/)\.\.?(/|$) ]]; then
    fail "postgres.dataDir must be an absolute path without . or .. components, got '$DATA_DIR'."
fi
# normalise: no trailing or repeated slashes
data_dir=$(printf '%s' "$DATA_DIR" | tr -s '/')
data_dir=${data_dir%/}
if [[ -z $data_dir ]]; then
    fail "postgres.dataDir must not be / ."
fi

if ((major >= 18)); then
    mount_target=/var/lib/postgresql
    expected=$data_dir/$major/docker/PG_VERSION
else
    mount_target=/var/lib/postgresql/data
    expected=$data_dir/PG_VERSION
fi

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

# ---- 2. other containers on the port or the data dir ----------------------------------
if ! command -v docker >/dev/null 2>&1; then
    fail "docker is not installed on this host (needed to run the Postgres container)."
fi
ps_format='{{.Names}}|{{.State}}|{{.Ports}}|{{.Mounts}}'
if ! ps_out=$(docker ps --all --no-trunc --format "$ps_format" 2>&1); then
    fail "cannot list the containers on this host (docker ps failed): $ps_out" \
        "Check that the Docker daemon is running (systemctl status docker)."
fi

real_data_dir=$data_dir
if [[ -d $data_dir ]]; then
    real_data_dir=$(cd "$data_dir" && pwd -P)
fi

# 0 if host path $1 is DATA_DIR, inside it, or contains it
overlaps_data_dir() {
    local src=${1%/} d
    [[ -n $src && $src == /* ]] || return 1
    for d in "$data_dir" "$real_data_dir"; do
        if [[ $src == "$d" || $src == "$d"/* || $d == "$src"/* ]]; then
            return 0
        fi
    done
    return 1
}

# 0 if a `docker ps` Ports field publishes host port 5432/tcp on PRIVATE_IP or all addresses
publishes_5432() {
    local ports=$1 entry host ip range lo hi
    local -a entries
    IFS=',' read -r -a entries <<<"$ports"
    for entry in ${entries[@]+"${entries[@]}"}; do
        entry=${entry# }
        [[ $entry == *'->'*/tcp ]] || continue
        host=${entry%%->*}          # 0.0.0.0:5432 | [::]:5432 | :::5432 | 10.0.0.3:5430-5439
        range=${host##*:}
        ip=${host%:*}
        ip=${ip#[}
        ip=${ip%]}
        lo=${range%-*}
        hi=${range#*-}
        [[ $lo =~ ^[0-9]+$ && $hi =~ ^[0-9]+$ ]] || continue
        ((10#$lo <= 5432 && 5432 <= 10#$hi)) || continue
        case $ip in
        "$PRIVATE_IP" | 0.0.0.0 | :: | "") return 0 ;;
        esac
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
while IFS="|" read -r name state ports mounts; do
    [[ -n $name && $name != "$CONTAINER" ]] || continue
    reasons=()
    mounted=no
    IFS=',' read -r -a sources <<<"$mounts"
    for src in ${sources[@]+"${sources[@]}"}; do
        src=${src# }
        if overlaps_data_dir "$src"; then
            mounted=$src
            break
        fi
    done
    case $state in
    running | restarting | paused)
        if publishes_5432 "$ports"; then
            reasons+=("publishes port 5432 ($ports), which $CONTAINER needs on $PRIVATE_IP:5432")
        fi
        if [[ $mounted != no ]]; then
            reasons+=("bind-mounts $mounted, i.e. postgres.dataDir $data_dir: two Postgres servers on one data directory corrupt it")
        fi
        if ((${#reasons[@]})); then
            conflicts+=("  - container '$name' ($state) $(printf '%s; ' "${reasons[@]}")stop it with: docker stop $name   (if it is the old Kamal accessory, from the app repo: $(kamal_hint "$name"))")
        fi
        ;;
    *)
        if [[ $mounted != no ]]; then
            warnings+=("postgres-preflight: warning: stopped container '$name' ($state) also mounts $mounted (postgres.dataDir). Never start it again while $CONTAINER runs; remove it once the move is done (docker rm $name, or $(kamal_hint "$name" | sed 's/ stop / remove /')).")
        fi
        ;;
    esac
done <<<"$ps_out"

if ((${#conflicts[@]})); then
    fail "other containers hold what the Postgres container $CONTAINER needs:" \
        "${conflicts[@]}" \
        "This step never stops a container itself: stop it yourself (expect downtime for whatever uses it), then run pulumi up again."
fi

# ---- 3. all clear: make sure DATA_DIR exists ------------------------------------------
for w in ${warnings[@]+"${warnings[@]}"}; do
    printf '%s\n' "$w" >&2
done

if [[ -n $existing_version ]]; then
    echo "postgres-preflight: $data_dir holds an existing Postgres $existing_version cluster ($expected): reused as is, never re-initialised (mounted at $mount_target)."
elif [[ -d $data_dir ]]; then
    echo "postgres-preflight: $data_dir exists and holds no cluster: the Postgres $major image will initialise a new one there on first start (mounted at $mount_target)."
else
    install -d -m 0700 "$data_dir"
    echo "postgres-preflight: $data_dir did not exist: created it, empty (mode 0700); the Postgres $major image will initialise a new cluster there on first start (mounted at $mount_target)."
fi
echo "postgres-preflight: no other container publishes 5432 on $PRIVATE_IP, 0.0.0.0 or :: or mounts $data_dir."
