# shellcheck shell=bash
# Kamal's containers of the old setup, as the release retires them: inlined where a script says
# `# @include lib/kamal.sh` (web-rollout.sh for Kamal's web role, jobs-retire.sh for its `job`
# role). Kamal labels every app container service=<service>, role=<role> and
# destination=<destination>, an empty value when there is none (basecamp/kamal
# lib/kamal/configuration/role.rb `default_labels`, lib/kamal/utils.rb `argumentize`), and finds
# them by those labels (lib/kamal/commands/app.rb `filters`). web.kamal in the stack config says
# which service and destination this app had.

# check_kamal_names: KAMAL_SERVICE, KAMAL_ROLE and KAMAL_DESTINATION are plain label values (what
# the filters match, exactly; never an option), the first two not empty. Exits through `fail`.
check_kamal_names() {
    local n
    for n in KAMAL_SERVICE KAMAL_ROLE KAMAL_DESTINATION; do
        [[ ${!n} =~ ^[A-Za-z0-9_.-]*$ && ${!n} != -* ]] ||
            fail "$n may hold only letters, digits, '_', '.', '-' (web.kamal in the stack config), got '${!n}'."
    done
    [[ -n $KAMAL_SERVICE && -n $KAMAL_ROLE ]] || fail "KAMAL_SERVICE and KAMAL_ROLE must not be empty (web.kamal.service, web.kamal.role)."
}

# kamal_old_containers WHO: sets the array kamal_old to Kamal's containers labelled
# service=KAMAL_SERVICE, role=KAMAL_ROLE and destination=KAMAL_DESTINATION; one of another
# destination is kept, and a line "WHO: kept NAME: ..." says so. Returns 1 when docker cannot
# list them.
kamal_old_containers() {
    local who=$1 listing name destination
    kamal_old=()
    listing=$(docker ps -a --filter "label=service=$KAMAL_SERVICE" --filter "label=role=$KAMAL_ROLE" --format '{{.Names}}|{{.Label "destination"}}') || return 1
    while IFS='|' read -r name destination; do
        [[ -n $name ]] || continue
        if [[ $destination == "$KAMAL_DESTINATION" ]]; then
            kamal_old+=("$name")
        else
            echo "$who: kept $name: Kamal destination '$destination', not '$KAMAL_DESTINATION' (web.kamal.destination)"
        fi
    done <<<"$listing"
}
