#!/usr/bin/env bash
# Test double for the `docker` CLI: no Docker engine runs in the integration tests.
# createDockerDouble() (tests/support/integration.ts) copies this file to <dir>/bin/docker.
#
# Every call appends its argv as one JSON array line to $DOCKER_DOUBLE_DIR/calls.jsonl.
# Then:
#   docker exec [-i] [-t] [-e VAR[=VAL]]... [-u USER] [-w DIR] CONTAINER TOOL ARGS...
#     with TOOL one of psql, pg_isready, createdb, dropdb, createuser, pg_dump, runs the
#     local TOOL from $DOCKER_DOUBLE_PGBIN against the test cluster: PGPORT is
#     $DOCKER_DOUBLE_PGPORT (scripts never pass -p: in the container Postgres is on 5432),
#     PGHOST is $DOCKER_DOUBLE_PGHOST (the socket dir) unless ARGS hold -h/--host, stdin is
#     kept, and, as in a container, only the -e variables reach TOOL (a bare `-e VAR`
#     takes VAR from this environment, like the real CLI). If respond.sh defines
#     respond_exec, that is called instead; it may call `forward_exec "$@"`.
#   anything else: if $DOCKER_DOUBLE_DIR/respond.sh defines respond, `respond "$@"` answers
#     (its output and exit status are docker's); otherwise nothing is printed, exit 0.
set -euo pipefail

: "${DOCKER_DOUBLE_DIR:?docker test double: DOCKER_DOUBLE_DIR is not set (pass createDockerDouble().env to startSshd)}"

PG_TOOLS=" psql pg_isready createdb dropdb createuser pg_dump "

json_string() {
    local s=$1 i c out=""
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    s=${s//$'\r'/\\r}
    if [[ $s == *[[:cntrl:]]* ]]; then
        for ((i = 0; i < ${#s}; i++)); do
            c=${s:i:1}
            if [[ $c == [[:cntrl:]] ]]; then
                printf -v c '\\u%04x' "'$c"
            fi
            out+=$c
        done
        s=$out
    fi
    printf '"%s"' "$s"
}

log_call() {
    local line="[" sep="" arg
    for arg in "$@"; do
        line+="$sep$(json_string "$arg")"
        sep=","
    done
    printf '%s]\n' "$line" >>"$DOCKER_DOUBLE_DIR/calls.jsonl"
}

# Parses `exec [options] CONTAINER TOOL ARGS...` into EXEC_ENVS, EXEC_USER, EXEC_CONTAINER,
# EXEC_ARGV (TOOL ARGS...). Fails on anything else.
parse_exec() {
    EXEC_ENVS=()
    EXEC_USER=""
    EXEC_CONTAINER=""
    EXEC_ARGV=()
    [[ ${1:-} == exec ]] || return 1
    shift
    while (($#)); do
        case $1 in
        -i | -t | -it | -ti | --interactive | --tty | -d | --detach | --privileged) shift ;;
        -e | --env) EXEC_ENVS+=("$2"); shift 2 ;;
        --env=*) EXEC_ENVS+=("${1#--env=}"); shift ;;
        -u | --user) EXEC_USER=$2; shift 2 ;;
        --user=*) EXEC_USER=${1#--user=}; shift ;;
        -w | --workdir) shift 2 ;;
        --workdir=*) shift ;;
        --) shift; break ;;
        -*) return 1 ;;
        *) break ;;
        esac
    done
    (($# >= 2)) || return 1
    # shellcheck disable=SC2034 # for respond_exec responders
    EXEC_CONTAINER=$1
    shift
    EXEC_ARGV=("$@")
}

is_pg_exec() {
    parse_exec "$@" || return 1
    [[ $PG_TOOLS == *" ${EXEC_ARGV[0]} "* ]]
}

# Runs the exec'd Postgres tool locally against the test cluster (see the header).
forward_exec() {
    parse_exec "$@" || { echo "docker test double: cannot parse: docker $*" >&2; return 125; }
    if [[ -z ${DOCKER_DOUBLE_PGPORT:-} || -z ${DOCKER_DOUBLE_PGBIN:-} ]]; then
        echo "docker test double: no test PostgreSQL wired (createDockerDouble(pg)); cannot run docker $*" >&2
        return 125
    fi
    local -a envs=("PATH=$DOCKER_DOUBLE_PGBIN:/usr/bin:/bin" "PGPORT=$DOCKER_DOUBLE_PGPORT")
    local arg has_host=no
    for arg in "${EXEC_ARGV[@]:1}"; do
        case $arg in -h | --host | -h?* | --host=*) has_host=yes ;; esac
    done
    if [[ $has_host == no ]]; then
        envs+=("PGHOST=${DOCKER_DOUBLE_PGHOST:?docker test double: DOCKER_DOUBLE_PGHOST is not set}")
    fi
    if [[ -n $EXEC_USER ]]; then
        envs+=("PGUSER=${EXEC_USER%%:*}")
    fi
    local e
    for e in ${EXEC_ENVS[@]+"${EXEC_ENVS[@]}"}; do
        if [[ $e == *=* ]]; then
            envs+=("$e")
        elif [[ -n ${!e+set} ]]; then
            envs+=("$e=${!e}")
        fi
    done
    env -i "${envs[@]}" "$DOCKER_DOUBLE_PGBIN/${EXEC_ARGV[0]}" "${EXEC_ARGV[@]:1}"
}

log_call "$@"

responder="$DOCKER_DOUBLE_DIR/respond.sh"
if [[ -f $responder ]]; then
    # shellcheck source=/dev/null
    source "$responder"
fi

if is_pg_exec "$@"; then
    if declare -F respond_exec >/dev/null; then
        set +eu
        respond_exec "$@"
        exit $?
    fi
    forward_exec "$@"
    exit $?
fi

if declare -F respond >/dev/null; then
    set +eu
    respond "$@"
    exit $?
fi
exit 0
