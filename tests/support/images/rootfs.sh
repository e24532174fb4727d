#!/usr/bin/env bash
# Builds the two root filesystems the test images start FROM, as tars for `docker import`:
#
#   rootfs.sh OUT_DIR MIRROR DEB_CACHE_DIR      -> OUT_DIR/{postgres.tar,postgres.version,slim.tar}
#
# One debootstrap --variant=minbase of Debian bookworm from MIRROR (the machine's apt mirror,
# read from /etc/apt/sources.list* by docker.ts), with Debian's packages:
#   postgresql-15, postgresql-client-15  the Postgres image's server; psql for the stand-ins
#   socat                                the stand-ins' tiny HTTP servers and the proxy's forwarding
#   tini                                 PID 1 that forwards signals
# Both are trimmed of what no container needs (apt and dpkg, perl, caches and lists, docs, man
# pages, translations, locale sources, the JIT: without llvmjit.so Postgres silently runs
# without JIT) and of the cluster the postgresql package creates at install (the image inits
# its own); /usr/bin/psql and pg_isready point at Debian's binaries instead of the perl pg_wrapper.
#   postgres.tar  the Postgres server and client (the Postgres image); postgres.version holds
#                 the postgresql-15 package version (PG_VERSION, and the image's major tag)
#   slim.tar      without the Postgres server and ICU (the app and kamal-proxy stand-ins).
# The storage driver is vfs, which copies a whole image for every container: small matters.
# Each tar is checked: the binaries its images run start in a chroot.
# Downloaded .debs are kept in DEB_CACHE_DIR so a rebuild does not download them again.
set -euo pipefail
out=$1 mirror=$2 cache=$3
work=$(mktemp -d /var/tmp/shred-day-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache" "$out"
debootstrap --variant=minbase --include=postgresql-15,postgresql-client-15,socat,tini \
    --cache-dir="$cache" bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -40 "$work/debootstrap.log" >&2; echo "rootfs.sh: debootstrap from $mirror failed" >&2; exit 1; }
r=$work/root
lib=$r/usr/lib/x86_64-linux-gnu
rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* "$r"/usr/share/man/* \
    "$r"/usr/share/locale/* "$r"/usr/share/info/* "$r"/usr/share/i18n "$r"/usr/share/lintian \
    "$r"/usr/lib/postgresql/15/lib/bitcode "$r"/usr/lib/postgresql/15/lib/llvmjit* \
    "$lib"/libLLVM* "$lib"/libz3* \
    "$r"/var/lib/postgresql/15 "$r"/etc/postgresql/15 "$r"/var/log/postgresql/* "$r"/var/log/*.log
rm -f "$r"/etc/resolv.conf "$r"/etc/hostname # docker provides them
# the Postgres image runs Debian's binaries from /usr/lib/postgresql/15/bin directly (the
# entrypoint, like the official image's, needs no pg_wrapper/pg_ctlcluster): no perl, no apt
# shellcheck disable=SC2016 # dpkg's format, not a shell expansion
chroot "$r" dpkg-query -W -f='${Version}' postgresql-15 >"$work/postgres.version"
rm -rf "$lib"/perl* "$lib"/libperl* "$r"/usr/share/perl* "$r"/usr/bin/perl* "$r"/usr/lib/apt "$lib"/libapt* \
    "$r"/var/lib/dpkg/info "$lib"/gconv "$r"/usr/share/zoneinfo/right "$r"/usr/share/zoneinfo/posix
ln -sf /usr/lib/postgresql/15/bin/psql "$r/usr/bin/psql"
ln -sf /usr/lib/postgresql/15/bin/pg_isready "$r/usr/bin/pg_isready"
for check in "/usr/lib/postgresql/15/bin/postgres --version" "/usr/lib/postgresql/15/bin/initdb --version" "/usr/bin/psql --version"; do
    # shellcheck disable=SC2086 # the check is a command line
    chroot "$r" $check >/dev/null 2>&1 || { echo "rootfs.sh: postgres rootfs cannot run: $check" >&2; chroot "$r" $check >&2 || true; exit 1; }
done
tar -C "$r" --numeric-owner -cf "$out/postgres.tar.part" .

# slim: keep psql and pg_isready, drop the server and what only it (or apt/perl) needs
pgbin=$r/usr/lib/postgresql/15/bin
find "$pgbin" -mindepth 1 ! -name psql ! -name pg_isready -delete
rm -rf "$r"/usr/lib/postgresql/15/lib "$r"/usr/share/postgresql "$r"/usr/share/postgresql-common \
    "$lib"/libicu* "$lib"/libxml2* "$r"/usr/share/bash-completion "$lib"/libdb-5* "$lib"/libstdc++*
for check in "/usr/bin/psql --version" "/usr/bin/pg_isready --version" "/usr/bin/socat -V" "/usr/bin/tini --version" "/bin/bash -c true"; do
    # shellcheck disable=SC2086 # the check is a command line
    chroot "$r" $check >/dev/null 2>&1 || { echo "rootfs.sh: slim rootfs cannot run: $check" >&2; chroot "$r" $check >&2 || true; exit 1; }
done
tar -C "$r" --numeric-owner -cf "$out/slim.tar.part" .
mv -f "$work/postgres.version" "$out/postgres.version"
mv -f "$out/postgres.tar.part" "$out/postgres.tar"
mv -f "$out/slim.tar.part" "$out/slim.tar"
