#!/usr/bin/env bash
# A private Docker engine for one test process: started by startDocker() (tests/support/docker.ts),
# never by hand. It owns everything it makes and removes all of it when it ends.
#
#   dockerd-session.sh DIR NETNS OWNER_PID [ADDRESS/PREFIX...]
#
# 1. makes the network namespace NETNS (lo up, holding each
#    ADDRESS, e.g. 10.0.0.3/32, on its lo: the "private IP" containers publish on; this kernel
#    has no dummy interfaces). Bridges, published
#    ports and docker-proxy live inside it, so parallel test files never share port 80 or 5432
#    and nothing reaches the machine's own network;
# 2. starts Debian's dockerd 20.10 in it (nsenter --net, which keeps /sys and the cgroup
#    mounts, unlike `ip netns exec`) with --storage-driver overlay2 (vfs when DIR is itself on
#    overlayfs, as in a CI container, where overlay2 cannot stack) --iptables=false and its own
#    --data-root DIR/data, --exec-root DIR/exec, --pidfile and socket DIR/docker.sock, and its
#    own containerd namespace; prints "READY" once `docker version` answers (within 60 s);
# 3. waits until it gets TERM/INT/HUP, or OWNER_PID (the test process) is gone (checked every
#    second: a SIGKILLed jest worker is cleaned up too), or dockerd dies;
# 4. tears down: removes every container (rm -f), every user network and volume, stops dockerd
#    (TERM, then KILL after 20 s) and its containerd, unmounts whatever is left under DIR,
#    deletes NETNS and DIR.
set -euo pipefail

dir=$1 netns=$2 owner=$3
shift 3
addresses=("$@")

docker_bin=/usr/bin/docker # Debian's docker.io client (20.10), the same release as the daemon
sock="$dir/docker.sock"
export DOCKER_HOST="unix://$sock"
dockerd_pid=""
torn_down=no

log() { printf 'dockerd-session[%s]: %s\n' "$netns" "$*" >&2; }

teardown() {
    [[ $torn_down == no ]] || return 0
    torn_down=yes
    trap '' TERM INT HUP
    if [[ -n $dockerd_pid ]] && kill -0 "$dockerd_pid" 2>/dev/null; then
        local ids nets vols
        ids=$(timeout 20 "$docker_bin" ps -aq 2>/dev/null || true)
        # shellcheck disable=SC2086 # ids are docker's hex ids, one a line
        [[ -z $ids ]] || timeout 60 "$docker_bin" rm -f -v $ids >/dev/null 2>&1 || true
        nets=$(timeout 20 "$docker_bin" network ls -q --filter type=custom 2>/dev/null || true)
        # shellcheck disable=SC2086
        [[ -z $nets ]] || timeout 20 "$docker_bin" network rm $nets >/dev/null 2>&1 || true
        vols=$(timeout 20 "$docker_bin" volume ls -q 2>/dev/null || true)
        # shellcheck disable=SC2086
        [[ -z $vols ]] || timeout 20 "$docker_bin" volume rm -f $vols >/dev/null 2>&1 || true
        kill -TERM "$dockerd_pid" 2>/dev/null || true
        for _ in $(seq 1 200); do
            kill -0 "$dockerd_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$dockerd_pid" 2>/dev/null || true
    fi
    # containerd (dockerd's child) and any shim it left: only processes whose command line names DIR
    local pids
    pids=$(pgrep -f -- "$dir/" || true)
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
    # mounts under DIR (container shm, netns bind mounts), deepest first
    local m
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
    ip netns delete "$netns" 2>/dev/null || true
    rm -rf "$dir"
}
trap 'teardown; exit 0' TERM INT HUP
trap teardown EXIT

mkdir -p "$dir/data" "$dir/exec"
ip netns add "$netns"
ip -n "$netns" link set lo up
for a in ${addresses[@]+"${addresses[@]}"}; do
    ip -n "$netns" addr add "$a" dev lo
done

# overlay2 shares image layers between containers; vfs copies the whole image for each
# container (a 200 MB copy per `docker run` of postgres: most of the suite's system time).
storage_driver=overlay2
[[ $(stat -f -c %T "$dir") != overlayfs ]] || storage_driver=vfs
nsenter --net="/var/run/netns/$netns" -- /usr/sbin/dockerd \
    --storage-driver "$storage_driver" --iptables=false --ip-masq=false \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$sock" --containerd-namespace "$netns" --containerd-plugins-namespace "$netns-plugins" \
    >"$dir/dockerd.log" 2>&1 &
dockerd_pid=$!

ready=no
for _ in $(seq 1 600); do
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
        log "dockerd exited before it answered; its log:"
        cat "$dir/dockerd.log" >&2
        exit 1
    fi
    if timeout 5 "$docker_bin" version >/dev/null 2>&1; then
        ready=yes
        break
    fi
    sleep 0.1
done
if [[ $ready != yes ]]; then
    log "dockerd did not answer on $sock within 60 s; its log:"
    cat "$dir/dockerd.log" >&2
    exit 1
fi
echo READY

while kill -0 "$owner" 2>/dev/null && kill -0 "$dockerd_pid" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
kill -0 "$dockerd_pid" 2>/dev/null || { log "dockerd died; its log:"; tail -50 "$dir/dockerd.log" >&2; }
