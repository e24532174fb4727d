#!/usr/bin/env bash
# Makes IMAGE present on this host, then prunes older images of the same repository.
#
# - If IMAGE is already here (a re-run, or a rollback to a tag still kept) nothing is pulled
#   and the registry is not contacted.
# - Otherwise, with REGISTRY_SERVER set, it logs in with REGISTRY_USER and the password read
#   from the first line of stdin, passed to `docker login --password-stdin` (never in argv),
#   then pulls. With REGISTRY_SERVER empty (a public image) stdin is not read.
# - Prune: of the images of IMAGE's repository, the KEEP_IMAGES most recent (by creation)
#   and IMAGE itself are kept, so a rollback needs no pull; older ones are removed, except
#   any image a container (running or stopped) still uses.
#
# Idempotent: a second run finds IMAGE present and nothing left to prune.
set -euo pipefail

: "${IMAGE:?IMAGE (app.image, with its tag) is required}"
: "${REGISTRY_SERVER?REGISTRY_SERVER (the registry to log in to; empty for none) must be set}"
: "${REGISTRY_USER?REGISTRY_USER (the registry username; empty for none) must be set}"
: "${KEEP_IMAGES:=3}"

fail() {
    printf 'image-pull: %s\n' "$@" >&2
    exit 1
}

if [[ ! $KEEP_IMAGES =~ ^[0-9]+$ ]] || ((KEEP_IMAGES < 1)); then
    fail "KEEP_IMAGES must be a whole number of at least 1, got '$KEEP_IMAGES'."
fi
[[ $IMAGE != *[[:space:]]* ]] || fail "IMAGE must not contain spaces, got '$IMAGE'."

# The repository of IMAGE: without a digest, and without a tag (a ':' after the last '/';
# one before it is a registry port).
repository=${IMAGE%%@*}
last=${repository##*/}
if [[ $last == *:* ]]; then
    repository=${repository%:*}
fi

if docker image inspect --format '{{.Id}}' "$IMAGE" >/dev/null 2>&1; then
    echo "image-pull: $IMAGE is already present; no pull"
else
    if [[ -n $REGISTRY_SERVER ]]; then
        [[ -n $REGISTRY_USER ]] || fail "REGISTRY_USER is empty but REGISTRY_SERVER is '$REGISTRY_SERVER'."
        password=""
        IFS= read -r password || true
        password=${password%$'\r'}
        [[ -n $password ]] || fail "no registry password on stdin (the first line must be shred-day:registryPassword) for $REGISTRY_USER@$REGISTRY_SERVER."
        if ! out=$(printf '%s\n' "$password" | docker login "$REGISTRY_SERVER" --username "$REGISTRY_USER" --password-stdin 2>&1); then
            fail "docker login to $REGISTRY_SERVER as $REGISTRY_USER failed; check shred-day:registryPassword (a token with read access to the package) and app.registry." \
                "docker said: $out"
        fi
        unset password
        echo "image-pull: logged in to $REGISTRY_SERVER as $REGISTRY_USER"
    fi
    echo "image-pull: pulling $IMAGE"
    if ! out=$(docker pull "$IMAGE" 2>&1); then
        fail "docker pull $IMAGE failed. Check that the tag was pushed and that the registry credentials can read it." \
            "docker said: $out"
    fi
    echo "image-pull: pulled $IMAGE"
fi

current_id=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null) || fail "$IMAGE is not present after the pull."

# Images of the repository, newest first (docker's order): "ID TAG" per line.
if ! listing=$(docker image ls --no-trunc --format '{{.ID}} {{.Tag}}' "$repository" 2>&1); then
    echo "image-pull: could not list images of $repository, nothing pruned: $listing" >&2
    exit 0
fi

declare -A kept=()
kept_count=0
removed=0
while read -r id tag; do
    [[ -n $id ]] || continue
    if [[ -n ${kept[$id]:-} ]]; then
        continue
    fi
    if [[ $id == "$current_id" ]] || ((kept_count < KEEP_IMAGES)); then
        kept[$id]=1
        kept_count=$((kept_count + 1))
        continue
    fi
    ref="$repository:$tag"
    [[ $tag == "<none>" || -z $tag ]] && ref=$id
    users=$(docker ps -a -q --filter "ancestor=$id" 2>/dev/null || true)
    if [[ -n $users ]]; then
        echo "image-pull: keeping $ref: used by container(s) $(echo "$users" | tr '\n' ' ')"
        kept[$id]=1
        continue
    fi
    if out=$(docker image rm "$ref" 2>&1); then
        echo "image-pull: pruned $ref"
        removed=$((removed + 1))
    else
        echo "image-pull: could not remove $ref (left in place): $out" >&2
    fi
done <<<"$listing"
echo "image-pull: $IMAGE ready; kept ${#kept[@]} image(s) of $repository, pruned $removed"
