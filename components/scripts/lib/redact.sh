# shellcheck shell=bash
# Shared by the scripts that show an app's output (db-prepare, web-rollout): inlined where a
# script says `# @include lib/redact.sh` (components/remote.ts), so each remote command is
# still one self-contained text. Needs ENV_FILE.
#
# redact TEXT: prints TEXT with every secret of ENV_FILE hidden, in the forms an app may
# print it: as is, URL-encoded (upper- or lower-case hex), base64 (at any byte alignment
# inside a longer base64 text), and, for a URL value (scheme://user:PASSWORD@host), its
# password on its own, decoded and encoded.
#
# Which variables are secret: the names on the file's `# secret: NAME ...` line (written by
# the program, components/appEnv.ts); a file without that line (written before the program
# marked them) has every value of REDACT_MIN characters or more treated as secret, as it
# cannot tell a short secret from a clear setting such as WEB_CONCURRENCY=2. A secret shorter than REDACT_MIN (8) characters cannot be hidden reliably (its
# text is found everywhere), so then the whole output is withheld and only its line count
# shown: the operator reads it on the host.
: "${REDACT_MIN:=8}"

# URL-encoding of $1 as encodeURIComponent does (unreserved: A-Z a-z 0-9 - _ . ! ~ * ' ( )).
redact_urlencode() {
    local LC_ALL=C s=$1 out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [A-Za-z0-9_.!~*\'\(\)-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# Percent-decoding of $1.
redact_urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

# The base64 text of $1 as it shows inside any longer base64 text: for each of the 3 byte
# alignments, the characters that depend on $1's bytes alone. One form a line.
redact_base64_forms() {
    local value=$1 k enc first last bits
    for k in 0 1 2; do
        enc=$({ head -c "$k" /dev/zero; printf '%s' "$value"; } | base64 -w0)
        bits=$((8 * (k + ${#value})))
        first=$(((8 * k + 5) / 6))
        last=$((bits / 6))
        ((last > first)) && printf '%s\n' "${enc:first:last-first}"
    done
    # and the whole encoding, padding included, as `base64` prints it
    printf '%s' "$value" | base64 -w0
    printf '\n'
}

# Every (form, label) to hide, "LENGTH<TAB>LABEL<TAB>FORM" a line.
redact_forms() {
    local line key value pass lines_secret=""
    local -a names=()
    lines_secret=$(grep -m1 '^# secret:' "$ENV_FILE" || true)
    if [[ -n $lines_secret ]]; then
        read -ra names <<<"${lines_secret#\# secret:}"
    fi
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line == *=* && $line != \#* ]] || continue
        key=${line%%=*}
        value=${line#*=}
        if [[ -n $lines_secret ]]; then
            [[ " ${names[*]} " == *" $key "* ]] || continue
        else
            ((${#value} >= REDACT_MIN)) || continue
        fi
        [[ -n $value ]] || continue
        redact_form "$key" "value of $key" "$value"
        if [[ $value =~ ^[a-z][a-z0-9+.-]*://[^:/@]*:([^@]+)@ ]]; then
            pass=${BASH_REMATCH[1]}
            redact_form "$key" "password in $key" "$pass"
            redact_form "$key" "password in $key" "$(redact_urldecode "$pass")"
        fi
    done <"$ENV_FILE"
}

redact_form() {
    local key=$1 label=$2 value=$3 form
    if ((${#value} < REDACT_MIN)); then
        printf 'SHORT\t%s\n' "$key"
        return
    fi
    {
        printf '%s\n' "$value"
        redact_urlencode "$value"
        printf '\n'
        redact_urlencode "$value" | sed 's/%[0-9A-F][0-9A-F]/\L&/g'
        printf '\n'
        redact_base64_forms "$value"
    } | while IFS= read -r form; do
        ((${#form} >= REDACT_MIN)) && printf '%s\t%s\t%s\n' "${#form}" "$label" "$form"
    done
    return 0
}

redact() {
    local text=$1 label form short
    local forms
    forms=$(redact_forms | sort -u)
    short=$(printf '%s\n' "$forms" | awk -F'\t' '$1 == "SHORT" {print $2}' | sort -u | tr '\n' ' ')
    if [[ -n $short ]]; then
        printf '[output withheld: %s line(s); the secret(s) %s are shorter than %s characters and cannot be hidden in it. Read it on the host.]\n' \
            "$(printf '%s\n' "$text" | wc -l)" "${short% }" "$REDACT_MIN"
        return 0
    fi
    # longest first: a host inside a URL must not break the URL up
    while IFS=$'\t' read -r _ label form; do
        [[ -n $form ]] || continue
        text=${text//"$form"/"[$label]"}
    done < <(printf '%s\n' "$forms" | grep -v '^SHORT' | sort -t$'\t' -k1,1rn)
    printf '%s\n' "$text"
}
