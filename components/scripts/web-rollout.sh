#!/usr/bin/env bash
# Rolls the web role to RELEASE behind kamal-proxy, without downtime, as Kamal 2 does:
#
#   1. the docker network NETWORK (Kamal's is `kamal`), so the proxy reaches app containers
#      by name;
#   2. the proxy container PROXY_CONTAINER (kamal-proxy: publishes 80 and 443, restart
#      unless-stopped, its state and certificates in the volume PROXY_VOLUME). An existing one
#      (ours, or the one Kamal booted) is kept as it is: replacing it drops connections;
#   3. the app container SERVICE-web-RELEASE (env file, network, restart unless-stopped,
#      labels service/role/release, hostname CONTAINER_HOSTNAME);
#   4. `kamal-proxy deploy SERVICE-web --target NAME:APP_PORT --host APP_HOST --tls
#      --health-check-path /up`: kamal-proxy switches APP_HOST to the new container only once
#      /up answers 200 (within DEPLOY_TIMEOUT), and drains the previous one;
#   5. only then stops (STOP_TIMEOUT, at least 30 s) and removes the previous web containers:
#      ours (labels service=SERVICE, role=web and a release label), and Kamal's of this app
#      (labels service=KAMAL_SERVICE, role=KAMAL_ROLE, destination=KAMAL_DESTINATION, web.kamal
#      in the stack config). Kamal labels every app container with exactly these three
#      (basecamp/kamal lib/kamal/configuration/role.rb `default_labels`: service, role and
#      destination, the latter empty when there is none: lib/kamal/utils.rb `argumentize` makes
#      `--label destination`), and finds its own containers by them (lib/kamal/commands/app.rb
#      `filters`). A container of another service, role or destination is never touched.
#
# If the new container never gets healthy, kamal-proxy keeps routing to the old one: the new
# container is stopped, its last log lines are shown (env values redacted), the old ones are
# left untouched, and the script fails.
#
# Idempotent: a re-run finds the network, the proxy and the container in place, deploys the
# same target again (kamal-proxy keeps serving it) and has no old container left to stop.
set -euo pipefail

: "${SERVICE:?SERVICE (the app name, e.g. shred-day) is required}"
: "${IMAGE:?IMAGE (app.image, with its tag) is required}"
: "${ENV_FILE:?ENV_FILE (the web role env file) is required}"
: "${RELEASE:?RELEASE (the release id) is required}"
: "${APP_HOST:?APP_HOST (web.appHost, the TLS host kamal-proxy serves) is required}"
: "${PROXY_IMAGE:?PROXY_IMAGE (the kamal-proxy image, e.g. basecamp/kamal-proxy:v0.9.0) is required}"
: "${CONTAINER_HOSTNAME:?CONTAINER_HOSTNAME (the new container hostname: web host and release) is required}"
: "${STOP_TIMEOUT:=30}"
: "${NETWORK:=kamal}"
: "${APP_PORT:=80}"
: "${DEPLOY_TIMEOUT:=60}"
: "${DRAIN_TIMEOUT:=30}"
: "${HEALTH_CHECK_PATH:=/up}"
: "${PROXY_CONTAINER:=kamal-proxy}"
: "${PROXY_VOLUME:=kamal-proxy-config}"
: "${PULL_TIMEOUT:=900}"
: "${KAMAL_SERVICE:=$SERVICE}"
: "${KAMAL_ROLE:=web}"
: "${KAMAL_DESTINATION:=}"

fail() {
    printf 'web-rollout: %s\n' "$@" >&2
    exit 1
}

for n in STOP_TIMEOUT APP_PORT DEPLOY_TIMEOUT DRAIN_TIMEOUT; do
    [[ ${!n} =~ ^[0-9]+$ ]] || fail "$n must be a whole number, got '${!n}'."
done
((STOP_TIMEOUT >= 30)) || fail "STOP_TIMEOUT must be at least 30 seconds (Puma and Solid Queue need time to finish), got $STOP_TIMEOUT."
[[ $CONTAINER_HOSTNAME =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$ ]] || fail "CONTAINER_HOSTNAME '$CONTAINER_HOSTNAME' is not a valid hostname (letters, digits, '-', '.', at most 63)."
[[ $RELEASE =~ ^[A-Za-z0-9_.-]+$ ]] || fail "RELEASE '$RELEASE' may hold only letters, digits, '_', '.', '-'."
# Kamal's names (web.kamal): what the filters of step 5 match, exactly.
# @include lib/kamal.sh
check_kamal_names
[[ -f $ENV_FILE ]] || fail "env file $ENV_FILE is missing: the release's env-file step writes it first."
# Values that reach docker's command line must not be taken for options.
for n in SERVICE IMAGE APP_HOST PROXY_IMAGE NETWORK PROXY_CONTAINER PROXY_VOLUME HEALTH_CHECK_PATH KAMAL_SERVICE KAMAL_ROLE; do
    [[ ${!n} != -* ]] || fail "$n must not start with '-' (it would be read as an option), got '${!n}'."
    [[ ${!n} != *[[:space:]]* ]] || fail "$n must not contain spaces, got '${!n}'."
done

# @include lib/bounded.sh
check_seconds PULL_TIMEOUT

name="$SERVICE-web-$RELEASE"
# Kamal's name for the role's kamal-proxy service (service-role[-destination]): the same name
# replaces Kamal's route for APP_HOST instead of adding a second service.
proxy_service=${PROXY_SERVICE:-$SERVICE-web}
[[ $proxy_service != -* && $proxy_service != *[[:space:]]* ]] || fail "PROXY_SERVICE must not start with '-' or contain spaces, got '$proxy_service'."

# @include lib/redact.sh

# 1. network
if docker network inspect "$NETWORK" >/dev/null 2>&1; then
    echo "web-rollout: network $NETWORK exists"
else
    docker network create "$NETWORK" >/dev/null || fail "cannot create docker network $NETWORK."
    echo "web-rollout: created network $NETWORK"
fi

# 2. proxy
proxy_state=$(docker container inspect --format '{{.State.Running}}|{{.Config.Image}}|{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$PROXY_CONTAINER" 2>/dev/null || true)
if [[ -z $proxy_state ]]; then
    bounded "$PULL_TIMEOUT" "the proxy container $PROXY_CONTAINER to start (its image may be pulled)" \
        docker run --detach --name "$PROXY_CONTAINER" --network "$NETWORK" --restart unless-stopped \
        --publish 80:80 --publish 443:443 --log-opt max-size=10m \
        --volume "$PROXY_VOLUME:/home/kamal-proxy/.config/kamal-proxy" \
        --label service=kamal-proxy -- "$PROXY_IMAGE" >/dev/null ||
        fail "cannot start the proxy container $PROXY_CONTAINER from $PROXY_IMAGE (are ports 80 and 443 free on this host?)."
    echo "web-rollout: started $PROXY_CONTAINER ($PROXY_IMAGE) on 80/443"
else
    IFS='|' read -r proxy_running proxy_image proxy_networks <<<"$proxy_state"
    if [[ $proxy_running != true ]]; then
        docker start "$PROXY_CONTAINER" >/dev/null || fail "cannot start the existing proxy container $PROXY_CONTAINER."
        echo "web-rollout: started the existing $PROXY_CONTAINER"
    else
        echo "web-rollout: $PROXY_CONTAINER is running"
    fi
    if [[ " $proxy_networks " != *" $NETWORK "* ]]; then
        docker network connect "$NETWORK" "$PROXY_CONTAINER" || fail "cannot connect $PROXY_CONTAINER to network $NETWORK."
        echo "web-rollout: connected $PROXY_CONTAINER to $NETWORK"
    fi
    if [[ $proxy_image != "$PROXY_IMAGE" ]]; then
        echo "web-rollout: note: $PROXY_CONTAINER runs $proxy_image, not $PROXY_IMAGE; it is kept (replacing it drops connections). To switch: docker rm -f $PROXY_CONTAINER, then pulumi up."
    fi
fi
# The proxy answers on its control socket once it is up (at once, unless it was just started).
for ((i = 0; ; i++)); do
    if out=$(bounded 10 "kamal-proxy list in $PROXY_CONTAINER" docker exec "$PROXY_CONTAINER" kamal-proxy list 2>&1); then
        break
    fi
    ((i < 30)) || fail "kamal-proxy in $PROXY_CONTAINER does not answer after 30 s: $out" "See: docker logs $PROXY_CONTAINER"
    sleep 1
done

# 3. the new app container
state=$(docker container inspect --format '{{.State.Running}}' "$name" 2>/dev/null || true)
if [[ $state == true ]]; then
    echo "web-rollout: $name is already running"
else
    if [[ -n $state ]]; then
        docker rm -f "$name" >/dev/null || fail "cannot remove the stopped container $name."
        echo "web-rollout: removed the stopped $name, starting it again"
    fi
    bounded 120 "docker run of $name" docker run --detach --name "$name" --hostname "$CONTAINER_HOSTNAME" --network "$NETWORK" \
        --restart unless-stopped --stop-timeout "$STOP_TIMEOUT" --env-file "$ENV_FILE" \
        --label "service=$SERVICE" --label role=web --label "release=$RELEASE" \
        --log-opt max-size=10m -- "$IMAGE" >/dev/null ||
        fail "docker run of $name ($IMAGE) failed; nothing else was changed."
    echo "web-rollout: started $name (hostname $CONTAINER_HOSTNAME)"
fi

# 4. switch the proxy once healthy
echo "web-rollout: kamal-proxy deploy $proxy_service -> $name:$APP_PORT for $APP_HOST (waits up to ${DEPLOY_TIMEOUT}s for $HEALTH_CHECK_PATH)"
if ! out=$(bounded "$((DEPLOY_TIMEOUT + DRAIN_TIMEOUT + 30))" "kamal-proxy deploy of $name (health check on $HEALTH_CHECK_PATH)" \
    docker exec "$PROXY_CONTAINER" kamal-proxy deploy "$proxy_service" \
    --target "$name:$APP_PORT" --host "$APP_HOST" --tls \
    --health-check-path "$HEALTH_CHECK_PATH" \
    --deploy-timeout "${DEPLOY_TIMEOUT}s" --drain-timeout "${DRAIN_TIMEOUT}s" \
    --buffer-requests --buffer-responses 2>&1); then
    logs=$(bounded 30 "docker logs of $name" docker logs --tail 50 "$name" 2>&1 || true)
    # Stopped AND removed: a stopped leftover would stay on the host after a corrected `up` (whose
    # web step, with the inputs of the last good rollout, does not run again; the rehearsal caught it).
    bounded "$((STOP_TIMEOUT + 30))" "docker stop of $name" docker stop -t "$STOP_TIMEOUT" "$name" >/dev/null 2>&1 || true
    docker rm -f "$name" >/dev/null 2>&1 || true
    {
        echo "web-rollout: FAILED: $name did not become healthy on $HEALTH_CHECK_PATH within ${DEPLOY_TIMEOUT}s, or kamal-proxy refused the deploy."
        echo "kamal-proxy said: $out"
        echo "kamal-proxy keeps serving $APP_HOST from the previous container; no old container was stopped. $name was stopped and removed (its last log lines follow)."
        echo "----- last 50 log lines of $name (env values redacted) -----"
        redact "$logs"
        echo "----- end -----"
        echo "More: npm run ops -- logs web; npm run ops -- logs proxy"
    } >&2
    exit 1
fi
[[ -z $out ]] || echo "$out"
echo "web-rollout: kamal-proxy serves $APP_HOST from $name"

# 5. retire the previous web containers: ours (every release has a release label), and Kamal's
# of this service, role and destination (its destination label is empty when it has none).
ours=$(docker ps -a --filter "label=service=$SERVICE" --filter label=role=web --filter label=release --format '{{.Names}}') ||
    fail "cannot list the old web containers (the new release serves; re-run to retire them)."
kamal_old_containers web-rollout || fail "cannot list Kamal's web containers (the new release serves; re-run to retire them)."
declare -A picked=()
old=()
while read -r other; do
    [[ -n $other ]] && old+=("$other")
done <<<"$ours"
old+=(${kamal_old[@]+"${kamal_old[@]}"})
stopped=0
for other in ${old[@]+"${old[@]}"}; do
    # once each (ours can be Kamal's too, when web.kamal names this service), never the new one or the proxy
    [[ $other != "$name" && $other != "$PROXY_CONTAINER" && -z ${picked[$other]:-} ]] || continue
    picked[$other]=1
    bounded "$((STOP_TIMEOUT + 30))" "docker stop of $other" docker stop -t "$STOP_TIMEOUT" "$other" >/dev/null || fail "docker stop $other failed (the new release serves; re-run to retire it)."
    docker rm "$other" >/dev/null || fail "docker rm $other failed (it is stopped; the new release serves)."
    echo "web-rollout: stopped and removed $other"
    stopped=$((stopped + 1))
done
echo "web-rollout: done; $name serves $APP_HOST, $stopped old web container(s) retired"
