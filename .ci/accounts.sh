#!/usr/bin/env bash
# The machine's accounts as .ci/run found them, and put back as found.
#
#   accounts.sh snapshot DIR [PREFIX]   record /etc/passwd, group, shadow and gshadow in DIR (0700)
#   accounts.sh restore DIR [PREFIX]    remove every user, then every group, that is not in the
#                                       record (the run's throwaway test account, and those the
#                                       packages it installed add in their postinst: openssh-server's
#                                       `sshd`, docker.io's `docker` group), then check the four
#                                       files are exactly as recorded; exit 1 naming what differs
#
# PREFIX is the root the /etc files live under (the shadow tools' --prefix); empty for the
# machine's own. Only account names are printed, never a line of shadow or gshadow.
set -euo pipefail

cmd=${1:?usage: accounts.sh snapshot|restore DIR [PREFIX]}
dir=${2:?usage: accounts.sh snapshot|restore DIR [PREFIX]}
prefix=${3:-}
files=(passwd group shadow gshadow)
tool_prefix=()
[[ -z $prefix ]] || tool_prefix=(--prefix "$prefix")

names() { cut -d: -f1 -- "$1"; }

case $cmd in
snapshot)
    mkdir -p -- "$dir"
    chmod 0700 -- "$dir"
    for f in "${files[@]}"; do
        cp -p -- "$prefix/etc/$f" "$dir/$f"
    done
    ;;
restore)
    for f in "${files[@]}"; do
        [[ -f $dir/$f ]] || { echo "accounts: no record of /etc/$f in $dir" >&2; exit 1; }
    done
    removed=()
    while read -r user; do
        [[ -n $user ]] || continue
        if ! grep -qxF -- "$user" <(names "$dir/passwd"); then
            userdel "${tool_prefix[@]}" -- "$user"
            removed+=("user $user")
        fi
    done < <(names "$prefix/etc/passwd")
    while read -r group; do
        [[ -n $group ]] || continue
        if ! grep -qxF -- "$group" <(names "$dir/group"); then
            groupdel "${tool_prefix[@]}" -- "$group"
            removed+=("group $group")
        fi
    done < <(names "$prefix/etc/group")
    if ((${#removed[@]} > 0)); then
        echo "accounts: removed what this run added: ${removed[*]}"
    else
        echo "accounts: this run added no account"
    fi
    differ=()
    for f in "${files[@]}"; do
        cmp -s -- "$dir/$f" "$prefix/etc/$f" && continue
        # the names whose lines differ, never the lines themselves (hashes)
        changed=$({ diff <(sort -- "$dir/$f") <(sort -- "$prefix/etc/$f") || true; } | sed -n 's/^[<>] \([^:]*\):.*/\1/p' | sort -u | tr '\n' ' ')
        differ+=("/etc/$f (${changed:-order})")
    done
    if ((${#differ[@]} > 0)); then
        echo "accounts: not as found after the run: ${differ[*]}; compare with the record in $dir" >&2
        exit 1
    fi
    echo "accounts: /etc/passwd, group, shadow and gshadow are as this run found them"
    ;;
*)
    echo "usage: accounts.sh snapshot|restore DIR [PREFIX]" >&2
    exit 2
    ;;
esac
