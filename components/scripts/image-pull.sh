#!/usr/bin/env bash
# Makes IMAGE present on this host, says which content it is, then prunes older images of
# the same repository.
#
# - IMAGE is `repo:tag`, `repo@sha256:...` or `repo:tag@sha256:...`; `:latest` or no tag at
#   all is refused (a release must name one content), and so is anything starting with '-'.
# - If IMAGE is already here (a re-run, or a rollback to a tag still kept) nothing is pulled
#   and the registry is not contacted.
# - Otherwise, with REGISTRY_SERVER set, it logs in with REGISTRY_USER and the password read
#   from the first line of stdin, passed to `docker login --password-stdin` (never in argv),
#   then pulls. The login goes to a throwaway DOCKER_CONFIG (a private temp dir, removed on
#   exit), so no registry token is left on the host. With REGISTRY_SERVER empty (a public
#   image) stdin is not read. Login waits at most LOGIN_TIMEOUT s, the pull PULL_TIMEOUT s.
# - The content: a line of stdout `image-pull: content REF`, REF being the
#   image's registry digest `repo@sha256:<64 hex>` (or, for an image that never came from a
#   registry, its id `sha256:<64 hex>`). The release runs containers by REF, and refuses to
#   go on when two hosts report different ones (components/release.ts).
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
: "${LOGIN_TIMEOUT:=60}"
: "${PULL_TIMEOUT:=900}"

fail() {
    printf 'image-pull: %s\n' "$@" >&2
    exit 1
}

if [[ ! $KEEP_IMAGES =~ ^[0-9]+$ ]] || ((KEEP_IMAGES < 1)); then
    fail "KEEP_IMAGES must be a whole number of at least 1, got '$KEEP_IMAGES'."
fi
[[ $IMAGE != *[[:space:]]* ]] || fail "IMAGE must not contain spaces, got '$IMAGE'."
for n in IMAGE REGISTRY_SERVER REGISTRY_USER; do
    [[ ${!n} != -* ]] || fail "$n must not start with '-' (it would be read as an option), got '${!n}'."
done

# @include lib/bounded.sh
check_seconds LOGIN_TIMEOUT
check_seconds PULL_TIMEOUT

# The repository of IMAGE: without a digest, and without a tag (a ':' after the last '/';
# one before it is a registry port).
repository=${IMAGE%%@*}
last=${repository##*/}
tag=""
if [[ $last == *:* ]]; then
    tag=${last##*:}
    repository=${repository%:*}
fi
pinned=""
[[ $IMAGE == *@* ]] && pinned=${IMAGE#*@}
if [[ -n $pinned && ! $pinned =~ ^sha256:[0-9a-f]{64}$ ]]; then
    fail "IMAGE '$IMAGE' has a digest that is not sha256:<64 hex>."
fi
if [[ -z $pinned && ( -z $tag || $tag == latest ) ]]; then
    fail "IMAGE '$IMAGE' names no fixed content (${tag:-no tag, so latest}): a release must be one image on every host. Use a version tag (or a digest), e.g. $repository:v42 (shred-day:app.image)."
fi

if docker image inspect --format '{{.Id}}' -- "$IMAGE" >/dev/null 2>&1; then
    echo "image-pull: $IMAGE is already present; no pull"
else
    if [[ -n $REGISTRY_SERVER ]]; then
        # A throwaway client config: the token docker login stores lives only for this pull.
        DOCKER_CONFIG=$(mktemp -d "${TMPDIR:-/tmp}/image-pull-docker.XXXXXX")
        export DOCKER_CONFIG
        trap 'rm -rf "$DOCKER_CONFIG"' EXIT
        [[ -n $REGISTRY_USER ]] || fail "REGISTRY_USER is empty but REGISTRY_SERVER is '$REGISTRY_SERVER'."
        password=""
        IFS= read -r password || true
        password=${password%$'\r'}
        [[ -n $password ]] || fail "no registry password on stdin (the first line must be shred-day:registryPassword) for $REGISTRY_USER@$REGISTRY_SERVER."
        if ! out=$(printf '%s\n' "$password" | bounded "$LOGIN_TIMEOUT" "docker login to $REGISTRY_SERVER" docker login --username "$REGISTRY_USER" --password-stdin -- "$REGISTRY_SERVER" 2>&1); then
            fail "docker login to $REGISTRY_SERVER as $REGISTRY_USER failed; check shred-day:registryPassword (a token with read access to the package) and app.registry." \
                "docker said: $out"
        fi
        unset password
        echo "image-pull: logged in to $REGISTRY_SERVER as $REGISTRY_USER"
    fi
    echo "image-pull: pulling $IMAGE"
    if ! out=$(bounded "$PULL_TIMEOUT" "docker pull $IMAGE" docker pull -- "$IMAGE" 2>&1); then
        fail "docker pull $IMAGE failed. Check that the tag was pushed and that the registry credentials can read it." \
            "docker said: $out"
    fi
    echo "image-pull: pulled $IMAGE"
    if [[ -n ${DOCKER_CONFIG:-} ]]; then
        rm -rf "$DOCKER_CONFIG"
        trap - EXIT
        unset DOCKER_CONFIG
    fi
fi

current_id=$(docker image inspect --format '{{.Id}}' -- "$IMAGE" 2>/dev/null) || fail "$IMAGE is not present after the pull."
[[ $current_id =~ ^sha256:[0-9a-z]+$ ]] || fail "docker gave '$current_id' as the id of $IMAGE, not sha256:<hex>."

# The content the release runs: the registry digest of IMAGE's repository (docker output is
# data: only a line of the exact form is taken), else the image id.
content=""
if digests=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' -- "$IMAGE" 2>/dev/null); then
    while IFS= read -r line; do
        if [[ $line == "$repository@"* && ${line#"$repository@"} =~ ^sha256:[0-9a-f]{64}$ ]]; then
            content=$line
            break
        fi
    done <<<"$digests"
fi
if [[ -n $pinned && -n $content && $content != "$repository@$pinned" ]]; then
    fail "IMAGE '$IMAGE' is pinned to $pinned, but this host's image has $content."
fi
if [[ -z $content ]]; then
    content=$current_id
    echo "image-pull: note: $IMAGE has no registry digest here (it was not pulled from a registry); its content is its id"
fi
echo "image-pull: content $content"

# Images of the repository, newest first (docker's order): "ID TAG" per line.
if ! listing=$(docker image ls --no-trunc --format '{{.ID}} {{.Tag}}' -- "$repository" 2>&1); then
    echo "image-pull: could not list images of $repository, nothing pruned: $listing" >&2
    exit 0
fi

declare -A kept=()
kept_count=0
removed=0
while read -r id image_tag; do
    [[ -n $id ]] || continue
    if [[ -n ${kept[$id]:-} ]]; then
        continue
    fi
    if [[ $id == "$current_id" ]] || ((kept_count < KEEP_IMAGES)); then
        kept[$id]=1
        kept_count=$((kept_count + 1))
        continue
    fi
    ref="$repository:$image_tag"
    [[ $image_tag == "<none>" || -z $image_tag ]] && ref=$id
    users=$(docker ps -a -q --filter "ancestor=$id" 2>/dev/null || true)
    if [[ -n $users ]]; then
        echo "image-pull: keeping $ref: used by container(s) $(echo "$users" | tr '\n' ' ')"
        kept[$id]=1
        continue
    fi
    if out=$(docker image rm -- "$ref" 2>&1); then
        echo "image-pull: pruned $ref"
        removed=$((removed + 1))
    else
        echo "image-pull: could not remove $ref (left in place): $out" >&2
    fi
done <<<"$listing"
echo "image-pull: $IMAGE ready; kept ${#kept[@]} image(s) of $repository, pruned $removed"
