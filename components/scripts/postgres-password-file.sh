#!/usr/bin/env bash
# Writes the Postgres superuser's password (the first line of stdin) to FILE, root-only
# (0600 in a 0700 directory), for the container's POSTGRES_PASSWORD_FILE: the password is then
# in no container's configuration (`docker inspect` shows the file's path only; the image's
# entrypoint still reads it into the server process's own environment, /proc/1/environ in the
# container, readable by root and postgres there). Written
# atomically; the same content leaves the file untouched. Never prints the password.
set -euo pipefail

: "${FILE:?FILE (where the password file goes, e.g. /etc/shred-day/postgres-password) is required}"
# Who owns it (root on the hosts; the tests' unprivileged sshd user there), like env-file.sh's ENV_OWNER.
: "${FILE_OWNER:=root}"

fail() {
    printf 'postgres-password-file: %s\n' "$@" >&2
    exit 1
}

[[ $FILE == /* && $FILE != */ ]] || fail "FILE must be an absolute file path, got '$FILE'."
dir=$(dirname "$FILE")
password=""
IFS= read -r password || true
password=${password%$'\r'}
[[ -n $password ]] || fail "no password on stdin (the first line must be shred-day:postgresPassword); nothing was written."

umask 077
[[ -d $dir ]] || install -d -m 0700 -o "$FILE_OWNER" -g "$FILE_OWNER" "$dir" || fail "cannot create $dir."
chown "$FILE_OWNER:$FILE_OWNER" "$dir"
chmod 0700 "$dir"
tmp=$(mktemp "$dir/.postgres-password.XXXXXX")
trap 'rm -f "$tmp"' EXIT
printf '%s' "$password" >"$tmp"
unset password
if [[ -f $FILE ]] && cmp -s "$tmp" "$FILE"; then
    chown "$FILE_OWNER:$FILE_OWNER" "$FILE"
    chmod 0600 "$FILE"
    echo "postgres-password-file: $FILE unchanged (root-only 0600)"
    exit 0
fi
chown "$FILE_OWNER:$FILE_OWNER" "$tmp"
chmod 0600 "$tmp"
mv -f "$tmp" "$FILE"
trap - EXIT
echo "postgres-password-file: wrote $FILE (root-only 0600)"
