# shellcheck shell=bash
# Shared by the scripts that show an app's output (db-prepare, web-rollout): inlined where a
# script says `# @include lib/redact.sh` (components/remote.ts), so each remote command is
# still one self-contained text. Needs ENV_FILE.
#
# Replaces each env value (>= 8 chars) in $1 by [value of NAME]; prints the result.
redact() {
    local text=$1 line key value len
    local -a pairs=()
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line == *=* && $line != \#* ]] || continue
        key=${line%%=*}
        value=${line#*=}
        ((${#value} >= 8)) || continue
        pairs+=("${#value} $key")
    done <"$ENV_FILE"
    # whole values first, longest first (a host inside a URL must not break the URL up), then
    # the password inside a URL (scheme://user:PASSWORD@host), which may show up on its own
    local pass
    for pass in value password; do
        while read -r len key; do
            [[ -n $key ]] || continue
            value=$(grep -m1 "^$key=" "$ENV_FILE" | cut -d= -f2-)
            ((${#value} == len)) || continue
            if [[ $pass == value ]]; then
                text=${text//"$value"/"[value of $key]"}
            elif [[ $value =~ ^[a-z][a-z0-9+.-]*://[^:/@]*:([^@]+)@ ]] && ((${#BASH_REMATCH[1]} >= 4)); then
                text=${text//"${BASH_REMATCH[1]}"/"[password in $key]"}
            fi
        done < <(printf '%s\n' ${pairs[@]+"${pairs[@]}"} | sort -rn)
    done
    printf '%s\n' "$text"
}
