#!/usr/bin/env bash
# The first remote step on every host:
#   - waits for cloud-init to finish, where there is one (the first SSH to a new server races
#     its boot: packages, Docker and the sysctl below come from its cloud-config), for at most
#     CLOUD_INIT_TIMEOUT seconds;
#   - makes sure net.ipv4.ip_nonlocal_bind=1 is set now and at boot (SYSCTL_FILE), so a
#     container published on the private IP starts even before the private interface is up
#     (the adopted web host never ran our cloud-config);
#   - checks that the docker CLI is installed and its daemon answers (waits up to
#     DOCKER_WAIT_SECONDS while it starts).
#
# Idempotent: a second run waits for nothing and writes nothing.
set -euo pipefail

: "${SYSCTL_FILE:=/etc/sysctl.d/60-shred-day.conf}"
: "${DOCKER_WAIT_SECONDS:=60}"
: "${CLOUD_INIT_TIMEOUT:=900}"

fail() {
    printf 'host-ready: %s\n' "$@" >&2
    exit 1
}

[[ $DOCKER_WAIT_SECONDS =~ ^[0-9]+$ ]] || fail "DOCKER_WAIT_SECONDS must be a whole number, got '$DOCKER_WAIT_SECONDS'."

# @include lib/bounded.sh
check_seconds CLOUD_INIT_TIMEOUT

if command -v cloud-init >/dev/null 2>&1; then
    set +e
    out=$(bounded "$CLOUD_INIT_TIMEOUT" "cloud-init to finish the server's first boot (cloud-init status --wait)" cloud-init status --wait 2>&1)
    code=$?
    set -e
    case $code in
    124)
        fail "cloud-init did not finish within ${CLOUD_INIT_TIMEOUT}s: ${out//$'\n'/ }" \
            "See /var/log/cloud-init-output.log on the host (cloud-init status --long). Run pulumi up again once it is done."
        ;;
    0) echo "host-ready: cloud-init is done" ;;
    2) echo "host-ready: cloud-init is done, with recoverable errors (see: cloud-init status --long): ${out//$'\n'/ }" ;;
    *)
        long=$(cloud-init status --long 2>&1 || true)
        fail "cloud-init failed (exit $code); the server's first boot did not complete." "$long" \
            "Logs: /var/log/cloud-init-output.log on the host. A server this program created can be replaced (pulumi up --replace <urn>)."
        ;;
    esac
else
    echo "host-ready: no cloud-init on this host; nothing to wait for"
fi

line="net.ipv4.ip_nonlocal_bind = 1"
if [[ ! -f $SYSCTL_FILE ]] || ! grep -qxF "$line" "$SYSCTL_FILE"; then
    mkdir -p "$(dirname "$SYSCTL_FILE")"
    printf '%s\n' "$line" >"$SYSCTL_FILE"
    echo "host-ready: wrote $SYSCTL_FILE"
fi
if [[ $(sysctl -n net.ipv4.ip_nonlocal_bind 2>/dev/null || echo unknown) != 1 ]]; then
    sysctl -q -w net.ipv4.ip_nonlocal_bind=1 >/dev/null || fail "cannot set net.ipv4.ip_nonlocal_bind=1."
    echo "host-ready: set net.ipv4.ip_nonlocal_bind=1"
fi

command -v docker >/dev/null 2>&1 ||
    fail "docker is not installed. Servers this program creates get it from cloud-config (docker.io);" \
        "on the adopted web host install it (apt-get install -y docker.io) or keep the one Kamal installed."
start=$SECONDS
while ! version=$(bounded 10 "docker info" docker info --format '{{.ServerVersion}}' 2>&1); do
    if ((SECONDS - start >= DOCKER_WAIT_SECONDS)); then
        fail "the docker daemon does not answer after ${DOCKER_WAIT_SECONDS}s: $version" "Check: systemctl status docker"
    fi
    sleep 2
done
echo "host-ready: docker $version is up"
