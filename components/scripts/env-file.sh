#!/usr/bin/env bash
# Writes a role's env file, ENV_DIR/ROLE.env, from stdin: the text of a `docker run
# --env-file` file (NAME=value lines, values taken literally). It holds the app's secrets,
# so: the content arrives only on stdin, the file is root-only 0600 in a root-only 0700
# directory, it is replaced atomically (write a temp file in the same dir, then rename),
# and only the variable NAMES are ever printed, never a value, not even on error.
#
# Idempotent: the same content leaves the file (and its mtime) untouched.
set -euo pipefail

: "${ENV_DIR:?ENV_DIR (the root-only directory for env files, e.g. /etc/shred-day) is required}"
: "${ROLE:?ROLE (web or jobs) is required}"
# Owner of the dir and files: root on the servers (what docker, run by root, reads). A parameter
# only so the integration tests' unprivileged sshd user can run this script.
: "${ENV_OWNER:=root}"

fail() {
    printf 'env-file: %s\n' "$@" >&2
    exit 1
}

case $ROLE in
web | jobs) ;;
*) fail "ROLE must be web or jobs, got '$ROLE'." ;;
esac
[[ $ENV_DIR == /* ]] || fail "ENV_DIR must be an absolute path, got '$ENV_DIR'."

umask 077
target="$ENV_DIR/$ROLE.env"
if [[ ! -d $ENV_DIR ]]; then
    install -d -m 0700 -o "$ENV_OWNER" -g "$ENV_OWNER" "$ENV_DIR" || fail "cannot create $ENV_DIR."
fi
chown "$ENV_OWNER:$ENV_OWNER" "$ENV_DIR"
chmod 0700 "$ENV_DIR"

tmp=$(mktemp "$ENV_DIR/.$ROLE.env.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"

# Check the file as docker reads it: each line NAME=value (or a comment / blank line).
names=()
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
    lineno=$((lineno + 1))
    [[ -z $line || $line == \#* ]] && continue
    name=${line%%=*}
    if [[ $line != *=* || ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
        fail "line $lineno of the $ROLE env on stdin is not NAME=value (its content is not shown: it may be secret); nothing was written."
    fi
    if [[ $name == SOLID_QUEUE_IN_PUMA ]]; then
        fail "the $ROLE env sets SOLID_QUEUE_IN_PUMA (line $lineno): any non-empty value starts Solid Queue inside Puma; jobs run only on the jobs hosts. Nothing was written."
    fi
    names+=("$name")
done <"$tmp"
((${#names[@]})) || fail "the $ROLE env on stdin is empty; nothing was written (the command's stdin must carry the env file)."

dupes=$(printf '%s\n' "${names[@]}" | sort | uniq -d | tr '\n' ' ')
[[ -z $dupes ]] || fail "the $ROLE env sets ${dupes% } more than once; nothing was written."

listing="${#names[@]} variables: ${names[*]}"
if [[ -f $target ]] && cmp -s "$tmp" "$target"; then
    chown "$ENV_OWNER:$ENV_OWNER" "$target"
    chmod 0600 "$target"
    echo "env-file: $target unchanged ($listing)"
    exit 0
fi

chown "$ENV_OWNER:$ENV_OWNER" "$tmp"
chmod 0600 "$tmp"
mv -f "$tmp" "$target"
trap - EXIT
echo "env-file: wrote $target, root-only 0600 ($listing)"
