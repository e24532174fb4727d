# shellcheck shell=bash
# Shared by every script that waits on something outside it (cloud-init, a registry, a
# database, a container): inlined where a script says `# @include lib/bounded.sh`.
#
# bounded SECONDS WHAT COMMAND [ARG...]: runs COMMAND (a program, not a shell function), for
# at most SECONDS; stdin, stdout and stderr are COMMAND's. When time runs out, COMMAND is
# sent TERM (then KILL 10 s later), "gave up waiting for WHAT after SECONDS s" goes to
# stderr, and the status is 124. Otherwise the status is COMMAND's.
#
# No wait of a remote step may hold `pulumi up` (and its stack lock) for ever; each step's
# customTimeouts (components/remote.ts) is the last resort above these bounds.
bounded() {
    local limit=$1 what=$2 code=0
    shift 2
    if [[ ! $limit =~ ^[0-9]+$ ]] || ((10#$limit < 1)); then
        printf 'bounded: the time limit for %s must be a whole number of seconds, got %s\n' "$what" "'$limit'" >&2
        return 2
    fi
    local start=$SECONDS
    timeout --kill-after=10 "$((10#$limit))" "$@" || code=$?
    # 124: timeout's own TERM; 137: its KILL 10 s later. A command can exit so itself (a
    # container killed by the OOM killer exits 137): only a limit reached is a timeout.
    if ((code == 124 || code == 137)) && ((SECONDS - start >= 10#$limit)); then
        printf 'gave up waiting for %s after %s s\n' "$what" "$((10#$limit))" >&2
        return 124
    fi
    return "$code"
}

# check_seconds NAME: NAME's value must be a whole number of seconds from 1 to 86400.
check_seconds() {
    local name=$1
    local value=${!name:-}
    if [[ ! $value =~ ^[0-9]+$ ]] || ((10#$value < 1 || 10#$value > 86400)); then
        printf '%s must be a whole number of seconds from 1 to 86400, got %s\n' "$name" "'$value'" >&2
        exit 2
    fi
}
