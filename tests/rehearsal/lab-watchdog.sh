#!/usr/bin/env bash
# Tears a rehearsal lab down when the process that owns it dies without doing so itself
# (SIGKILL, a jest worker killed on timeout, an OOM kill): lab.ts starts it detached and stops
# it (SIGTERM: exit, nothing removed) at the start of its own teardown.
# Usage: lab-watchdog.sh OWNER_PID LAB_ID LAB_DIR NAMESPACE...
set -uo pipefail
owner=$1 id=$2 dir=$3
shift 3
[[ $owner =~ ^[0-9]+$ && $id =~ ^sdr[0-9a-f]{6}$ ]] || { echo "lab-watchdog: bad arguments" >&2; exit 2; }
trap 'exit 0' TERM
while kill -0 "$owner" 2>/dev/null; do sleep 1 & wait $!; done
for _ in 1 2 3 4 5; do
    pids=()
    for ns in "$@"; do
        while read -r pid; do [[ $pid =~ ^[0-9]+$ ]] && pids+=("$pid"); done < <(ip netns pids "$ns" 2>/dev/null)
    done
    [[ ${#pids[@]} -eq 0 ]] && break
    kill -9 "${pids[@]}" 2>/dev/null
    sleep 0.5
done
for ns in "$@"; do ip netns delete "$ns" 2>/dev/null; done
find /sys/fs/cgroup -depth -type d -name "*${id}*" -exec rmdir {} \; 2>/dev/null
for _ in 1 2 3 4 5 6 7 8 9 10; do rm -rf -- "$dir" 2>/dev/null && break; sleep 0.5; done
exit 0
