#!/usr/bin/env bash
# Native AOT smoke: bash eng/aot-smoke.sh
#
#   1. publishes the sample agent (samples/Agent) with Native AOT and trimming, warnings as errors: any
#      trim or AOT warning (IL2xxx, IL3xxx) from our code or a dependency fails the publish;
#   2. starts the native binary against a control plane on 127.0.0.1 (eng/AgentSmokeHost, enrollment
#      and the agent endpoint of EdgeAgent.ControlPlane) and has it run real commands through the tunnel
#      against the local Docker engine: system.info, containers.list, images.list, stacks.status/list.
# Fails loudly when any step does. eng/test.sh runs it after a full, unfiltered test run
# (EDGEAGENT_SKIP_AOT_SMOKE=1 skips it there).
#
# The native link needs a C toolchain (clang or gcc, libc6-dev, binutils); as root on Debian it installs
# what is missing with apt-get, as Microsoft's Native AOT prerequisites list (clang, zlib1g-dev).
#
# Environment:
#   EDGEAGENT_AOT_OUT   where the native agent is published (default: artifacts/aot/agent)
#   DOCKER_HOST         the engine the agent drives (default: the local socket)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

readonly out="${EDGEAGENT_AOT_OUT:-$repo_root/artifacts/aot/agent}"
readonly publish_log=/tmp/edgeagent-aot-publish.log
readonly smoke_log=/tmp/edgeagent-aot-smoke.log

log() { printf '[aot-smoke] %s\n' "$*" >&2; }
die() { printf '[aot-smoke] FAILED: %s\n' "$*" >&2; exit 1; }

ensure_native_toolchain() {
    local missing=()
    command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || missing+=(clang)
    command -v objcopy >/dev/null 2>&1 || command -v llvm-objcopy >/dev/null 2>&1 || missing+=(binutils)
    if command -v dpkg-query >/dev/null 2>&1; then
        for package in libc6-dev zlib1g-dev; do
            dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
        done
    fi
    ((${#missing[@]} == 0)) && return 0
    [[ $(id -u) == 0 ]] || die "the native link needs ${missing[*]}; install them (not root, so not installing)"
    command -v apt-get >/dev/null 2>&1 || die "the native link needs ${missing[*]} and there is no apt-get"
    log "installing ${missing[*]} with apt-get (Native AOT prerequisites)"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
    if ! { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } >/tmp/edgeagent-aot-apt.log 2>&1; then
        tail -n 20 /tmp/edgeagent-aot-apt.log >&2
        die "apt-get could not install ${missing[*]}; see /tmp/edgeagent-aot-apt.log"
    fi
}

ensure_native_toolchain
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers (run: EDGEAGENT_PROVISION_ONLY=1 bash eng/test.sh)"

started=$SECONDS
log "publishing samples/Agent with Native AOT, warnings as errors -> $out (log: $publish_log)"
rm -rf "$out"
if ! dotnet publish samples/Agent -c Release -r linux-x64 -p:PublishAot=true \
        -p:TreatWarningsAsErrors=true -p:IlcTreatWarningsAsErrors=true -p:TrimmerSingleWarn=false \
        -warnaserror -o "$out" -nologo >"$publish_log" 2>&1; then
    grep -E 'error|warning' "$publish_log" | sort -u | head -n 40 >&2 || true
    die "the Native AOT publish failed (see $publish_log)"
fi
if grep -E '(warning|error) IL[0-9]{4}' "$publish_log" >&2; then
    die "the Native AOT publish reported trim/AOT diagnostics (see $publish_log)"
fi
[[ -x "$out/edgeagent" ]] || die "no native binary at $out/edgeagent"
file_size=$(stat -c %s "$out/edgeagent")
log "published in $((SECONDS - started)) s: $out/edgeagent ($((file_size / 1024 / 1024)) MiB), no warnings"

log "building eng/AgentSmokeHost"
dotnet build eng/AgentSmokeHost -c Release -nologo -v quiet >"$smoke_log" 2>&1 || { cat "$smoke_log" >&2; die "eng/AgentSmokeHost did not build"; }

# A running container the agent must list (the local test image eng/test.sh imports; nothing is pulled).
container="edgeagent-aot-smoke-$$"
expect=()
if docker image inspect edgeagent-test/busybox:latest >/dev/null 2>&1; then
    docker run -d --label edgeagent.test=1 --name "$container" edgeagent-test/busybox:latest sleep 300 >/dev/null
    trap 'docker rm -f "$container" >/dev/null 2>&1 || true' EXIT
    expect=(--expect-container "$container")
fi

log "running the native agent against a control plane on 127.0.0.1"
if ! timeout 180 dotnet eng/AgentSmokeHost/bin/Release/net10.0/AgentSmokeHost.dll --settle-seconds 0 "${expect[@]}" -- "$out/edgeagent" 2>&1 | tee -a "$smoke_log"; then
    die "the native agent did not run the commands (see $smoke_log)"
fi
grep -q '^smoke: ok$' "$smoke_log" || die "the smoke host did not report success (see $smoke_log)"
log "passed in $((SECONDS - started)) s"
