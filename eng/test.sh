#!/usr/bin/env bash
# The project's test command: bash eng/test.sh [extra dotnet test arguments, e.g. --filter Category=Docker]
#
# On a fresh Debian machine (as root) it provisions what the tests need and then runs them all:
#   1. a Docker engine on /var/run/docker.sock (apt-get installs docker.io, busybox-static,
#      docker-compose and, for the forwarding tests, openssh-server/openssh-client if missing,
#      starts dockerd in the background and waits for it);
#   2. the local test image edgeagent-test/busybox:latest, made with `docker import` from a root
#      file system around Debian's static busybox (nothing is ever pulled: no registry is reachable);
#   3. dotnet test of the solution with TRX results in artifacts/test-results, then one summary line
#      "tests: N passed, N failed, N skipped" counted from the TRX files.
# Running it again reuses the engine and the image.
#
# Environment:
#   EDGEAGENT_REQUIRE_DOCKER=1   Docker tests fail (instead of being skipped) when no engine answers,
#                                and this script fails if it cannot provision one. CI sets it.
#   EDGEAGENT_DOCKER_SETUP=0     do not install or start anything; Docker tests skip if no engine answers.
#   EDGEAGENT_DOCKERD_ARGS       extra flags for dockerd when this script starts it (default: none).
#   EDGEAGENT_VERIFY_DOCKER=1    run the engine self-check (published port, volume, exec, network)
#                                even when the engine was already running.
#   DOCKER_HOST                  use that engine instead of the local socket (it is never provisioned).
#   EDGEAGENT_SKIP_PACKAGE_SMOKE=1  skip eng/package-smoke.sh (packs the packages and builds a host from
#                                them; it runs after a full, unfiltered test run).
#   EDGEAGENT_SKIP_AOT_SMOKE=1   skip eng/aot-smoke.sh (publishes the sample agent with Native AOT, warnings as
#                                errors, and runs the native binary against a loopback control plane and the
#                                engine; it runs after the package smoke, after a full, unfiltered test run).
#   EDGEAGENT_PROVISION_ONLY=1   provision the engine and the test image, then exit (eng/quickstart.sh uses it).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

readonly test_image="edgeagent-test/busybox:latest"
# Bump when the image recipe below changes, so that existing machines re-import it.
readonly test_image_recipe="3"
readonly results_dir="$repo_root/artifacts/test-results"
readonly dockerd_log="${EDGEAGENT_DOCKERD_LOG:-/tmp/edgeagent-dockerd.log}"
readonly dockerd_wait_seconds=60
readonly default_socket="unix:///var/run/docker.sock"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[test.sh] %s\n' "$*" >&2; }
die() { printf '[test.sh] error: %s\n' "$*" >&2; exit 1; }

require_docker() { [[ "${EDGEAGENT_REQUIRE_DOCKER:-}" == "1" || "${EDGEAGENT_REQUIRE_DOCKER:-}" == "true" ]]; }

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# --- packages ------------------------------------------------------------------------------------

install_missing_packages() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v docker >/dev/null 2>&1 || missing+=(docker.io)
    # The image needs a statically linked busybox; Debian's plain "busybox" package is dynamic.
    if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
        missing+=(busybox-static)
    fi
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
    # The forwarding tests run a real sshd on a loopback port and the real ssh client through the tunnel.
    [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
    command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
    command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    [[ $(id -u) == 0 ]] || die "missing packages (${missing[*]}) and not root: install them, or run as root"
    command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get on this machine"
    log "installing ${missing[*]} with apt-get"
    local apt_log=/tmp/edgeagent-apt.log
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
    if ! { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
        tail -n 20 "$apt_log" >&2
        die "apt-get could not install ${missing[*]}; see $apt_log"
    fi
}

# --- the engine ----------------------------------------------------------------------------------

dockerd_running() { pgrep -x dockerd >/dev/null 2>&1; }

start_dockerd() {
    local -a flags=()
    read -r -a flags <<<"${EDGEAGENT_DOCKERD_ARGS:-} ${1:-}"
    # A pid file left by a dockerd that died would stop the new one from starting.
    if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    log "starting dockerd ${flags[*]:-(default flags)}; log: $dockerd_log"
    mkdir -p "$(dirname "$dockerd_log")"
    # setsid + nohup: the engine outlives this script, so later runs reuse it.
    setsid nohup dockerd "${flags[@]}" >>"$dockerd_log" 2>&1 </dev/null &
    echo $! >/tmp/edgeagent-dockerd.pid
}

stop_dockerd() {
    local pid
    pid=$(cat /var/run/docker.pid 2>/dev/null || cat /tmp/edgeagent-dockerd.pid 2>/dev/null || true)
    [[ -n "$pid" ]] || return 0
    log "stopping dockerd (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    die "dockerd (pid $pid) did not stop"
}

wait_for_engine() {
    local deadline=$((SECONDS + dockerd_wait_seconds))
    until engine_answers; do
        if ! dockerd_running; then
            tail -n 30 "$dockerd_log" >&2 || true
            die "dockerd exited before answering; see $dockerd_log"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 30 "$dockerd_log" >&2 || true
            die "no Docker engine answered on /var/run/docker.sock within ${dockerd_wait_seconds}s; see $dockerd_log"
        fi
        sleep 0.5
    done
    log "Docker engine $(docker version --format '{{.Server.Version}}') answers"
}

# --- the test image ------------------------------------------------------------------------------

test_image_current() {
    [[ $(docker image inspect --format '{{index .Config.Labels "edgeagent.test-image.recipe"}}' "$test_image" 2>/dev/null) == "$test_image_recipe" ]]
}

import_test_image() {
    local busybox rootfs applet file_type
    busybox=$(command -v busybox || true)
    [[ -n "$busybox" ]] || die "busybox not found (apt-get install busybox-static)"
    file_type=$(LC_ALL=C od -An -c -N 4 "$busybox" | tr -d ' ')
    [[ "$file_type" == '177ELF' ]] || die "$busybox is not an ELF binary"
    if ldd "$busybox" >/dev/null 2>&1; then
        die "$busybox is dynamically linked; the test image needs busybox-static"
    fi

    rootfs=$(mktemp -d /tmp/edgeagent-rootfs.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$rootfs'; trap - RETURN" RETURN
    mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/www,data}
    cp "$busybox" "$rootfs/bin/busybox"
    # Applet links where busybox expects them (bin/sh, usr/bin/wget, sbin/ifconfig, ...).
    while read -r applet; do
        [[ -e "$rootfs/$applet" || "$applet" == bin/busybox ]] && continue
        ln -s /bin/busybox "$rootfs/$applet"
    done < <("$rootfs/bin/busybox" --list-full)
    [[ -e "$rootfs/bin/sh" ]] || ln -s /bin/busybox "$rootfs/bin/sh"
    chmod 755 "$rootfs"
    chmod 1777 "$rootfs/tmp"
    chmod 700 "$rootfs/root"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$rootfs/etc/group"
    # Note for image users: this busybox wget crashes with -T (use the timeout applet instead).
    # No /etc/nsswitch.conf: static glibc busybox would try to dlopen NSS modules the image lacks and
    # crash on name lookups; without the file it resolves through /etc/hosts and DNS directly.

    log "importing $test_image from $busybox ($("$busybox" 2>&1 | head -n 1 | cut -d' ' -f1-2))"
    tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
        docker import \
            --change 'CMD ["/bin/sh"]' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change "LABEL edgeagent.test-image.recipe=$test_image_recipe" \
            --message "edgeagent test image (busybox-static)" \
            - "$test_image" >/dev/null
}

# --- engine self-check ---------------------------------------------------------------------------

# Prints the body of GET / from host:port with bash's /dev/tcp: a fresh machine may have neither
# curl nor wget, and the host's static busybox wget crashes in glibc's NSS on Debian.
http_get() {
    local response
    exec 3<>"/dev/tcp/$1/$2" || return 1
    printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3
    response=$(timeout 5 cat <&3 || true)
    exec 3<&-
    [[ "$response" == "HTTP/1."?" 200"* ]] || return 1
    printf '%s' "${response#*$'\r\n\r\n'}" | tr -d '\r'
}


# Proves that what the tests rely on works here: a container runs, a published port on 127.0.0.1
# answers HTTP from the host, a named volume mounts, docker exec works, a user-defined network
# resolves container names.
verify_engine() {
    local id name port body
    id="eaverify-$$-$RANDOM"
    name="$id-web"
    # shellcheck disable=SC2064
    trap "docker rm -f '$name' '$id-client' >/dev/null 2>&1; docker network rm '$id' >/dev/null 2>&1; docker volume rm '$id' >/dev/null 2>&1; trap - RETURN" RETURN
    docker run --rm --label edgeagent.test=1 "$test_image" true >/dev/null 2>&1 || return 1
    docker volume create --label edgeagent.test=1 "$id" >/dev/null || return 1
    docker network create --label edgeagent.test=1 "$id" >/dev/null || return 1
    docker run -d --label edgeagent.test=1 --name "$name" --network "$id" -v "$id:/data" -p 127.0.0.1:0:80 \
        "$test_image" sh -c 'echo "verify-ok" > /data/index.html && exec httpd -f -p 80 -h /data' >/dev/null || return 1
    port=$(docker port "$name" 80/tcp | head -n 1 | sed 's/.*://')
    [[ -n "$port" ]] || return 1
    body=""
    for _ in $(seq 1 40); do
        body=$(http_get 127.0.0.1 "$port" 2>/dev/null || true)
        [[ "$body" == "verify-ok" ]] && break
        sleep 0.25
    done
    [[ "$body" == "verify-ok" ]] || { log "self-check: no HTTP answer on published port 127.0.0.1:$port"; return 1; }
    [[ $(docker exec "$name" cat /data/index.html) == "verify-ok" ]] || { log "self-check: docker exec failed"; return 1; }
    [[ $(docker run --rm --label edgeagent.test=1 --name "$id-client" --network "$id" "$test_image" \
        timeout 10 wget -q -O - "http://$name/" 2>/dev/null) == "verify-ok" ]] ||
        { log "self-check: name resolution on a user-defined network failed"; return 1; }
    return 0
}

# --- provisioning --------------------------------------------------------------------------------

provision_docker() {
    if [[ "${EDGEAGENT_DOCKER_SETUP:-1}" == "0" ]]; then
        log "EDGEAGENT_DOCKER_SETUP=0: not provisioning Docker"
        return 0
    fi
    if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != "$default_socket" ]]; then
        command -v docker >/dev/null 2>&1 || install_missing_packages
        if engine_answers; then
            log "using the engine at DOCKER_HOST=$DOCKER_HOST"
        elif require_docker; then
            die "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST (this script only provisions $default_socket)"
        else
            log "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; Docker tests will be skipped"
            return 0
        fi
    else
        install_missing_packages
        local started=0
        if ! engine_answers; then
            if ! dockerd_running; then
                start_dockerd
                started=1
            else
                log "dockerd is running but not answering yet; waiting"
            fi
            wait_for_engine
        fi
        test_image_current || import_test_image
        if ((started == 1)) || [[ "${EDGEAGENT_VERIFY_DOCKER:-}" == "1" ]]; then
            if ! verify_engine; then
                if ((started == 1)) && [[ -z "${EDGEAGENT_DOCKERD_ARGS:-}" ]]; then
                    # Default flags did not give a working engine: retry with the portable storage driver.
                    log "self-check failed with default dockerd flags; retrying with --storage-driver=vfs"
                    stop_dockerd
                    start_dockerd "--storage-driver=vfs"
                    wait_for_engine
                    test_image_current || import_test_image
                    verify_engine || die "the Docker engine self-check failed (see $dockerd_log); set EDGEAGENT_DOCKERD_ARGS to try other dockerd flags"
                else
                    die "the Docker engine self-check failed (see $dockerd_log)"
                fi
            fi
            log "engine self-check passed: container, published port on 127.0.0.1, volume, exec, network"
        fi
    fi
    test_image_current || import_test_image
    # Remove what an interrupted earlier run may have left behind.
    docker ps -aq --filter label=edgeagent.test=1 | xargs -r docker rm -f -v >/dev/null 2>&1 || true
    docker network ls -q --filter label=edgeagent.test=1 | xargs -r docker network rm >/dev/null 2>&1 || true
    docker volume ls -q --filter label=edgeagent.test=1 | xargs -r docker volume rm -f >/dev/null 2>&1 || true
}

# --- tests ---------------------------------------------------------------------------------------

# Counts the results of every TRX file: prints "passed failed skipped", then one line per distinct
# skip reason ("skipped N: reason"). VSTest's <Counters> leave dynamically skipped tests out of
# notExecuted, so the UnitTestResult outcomes are counted instead.
trx_counts() {
    local files=("$results_dir"/*.trx)
    [[ -e "${files[0]}" ]] || { echo "0 0 0"; return 0; }
    awk '
        /<UnitTestResult / {
            outcome = ""
            if (match($0, / outcome="[A-Za-z]*"/)) outcome = substr($0, RSTART + 10, RLENGTH - 11)
            if (outcome == "Passed") passed++
            else if (outcome == "NotExecuted") { skipped++; want_reason = 1 }
            else if (outcome != "") failed++
            if ($0 ~ /\/>[[:space:]]*$/) want_reason = 0
        }
        want_reason && /<Message>/ {
            line = $0
            sub(/.*<Message>/, "", line); sub(/<\/Message>.*/, "", line)
            reasons[line]++
            want_reason = 0
        }
        /<\/UnitTestResult>/ { want_reason = 0 }
        END {
            printf "%d %d %d\n", passed, failed, skipped
            for (r in reasons) printf "skipped %d: %s\n", reasons[r], r
        }
    ' "${files[@]}"
}

command -v dotnet >/dev/null 2>&1 || die "dotnet is not on PATH; install the .NET SDK named in global.json"

# Called plainly (not in an if) so that set -e stays in force inside it.
provision_docker
if ! engine_answers; then
    if require_docker; then
        die "EDGEAGENT_REQUIRE_DOCKER=1 but no Docker engine answers"
    fi
    log "no Docker engine answers: Docker tests will be skipped"
fi

if [[ "${EDGEAGENT_PROVISION_ONLY:-}" == "1" ]]; then
    engine_answers || die "no Docker engine answers"
    exit 0
fi

rm -rf "$results_dir"
mkdir -p "$results_dir"
log "dotnet test EdgeAgent.Sdk.sln -c Release${*:+ $*}"
test_exit=0
dotnet test EdgeAgent.Sdk.sln -c Release \
    --results-directory "$results_dir" \
    --logger "trx" \
    --logger "console;verbosity=minimal" \
    -v quiet -nologo \
    "$@" || test_exit=$?

counts=$(trx_counts)
read -r passed failed skipped <<<"$(head -n 1 <<<"$counts")"
tail -n +2 <<<"$counts" | sed 's/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&apos;/'"'"'/g; s/&amp;/\&/g' >&2
echo "tests: $passed passed, $failed failed, $skipped skipped"
if ((test_exit != 0)); then
    if ((failed == 0)); then
        log "dotnet test exited with $test_exit: a project did not build or the test run aborted (see the errors above)"
    else
        log "dotnet test exited with $test_exit: $failed test(s) failed"
    fi
    exit "$test_exit"
fi
if ((failed > 0)); then
    exit 1
fi
if [[ "${EDGEAGENT_SKIP_PACKAGE_SMOKE:-}" != "1" && $# -eq 0 ]]; then
    bash "$(dirname "${BASH_SOURCE[0]}")/package-smoke.sh"
fi
if [[ "${EDGEAGENT_SKIP_AOT_SMOKE:-}" != "1" && $# -eq 0 ]]; then
    bash "$(dirname "${BASH_SOURCE[0]}")/aot-smoke.sh"
fi
if ((passed + skipped == 0)); then
    log "warning: no test ran"
fi
