#!/usr/bin/env bash
# Footprint of the sample agent: bash benchmarks/footprint.sh [idle seconds, default 60]
#
# Publishes samples/Agent twice — Native AOT (linux-x64) and framework-dependent (run with `dotnet
# edgeagent.dll`) — and, for each, starts it against a control plane on 127.0.0.1 (eng/AgentSmokeHost),
# lets it connect and exchange keepalives for 35 s, then measures over the idle window: RSS (VmRSS,
# and the peak VmHWM) and CPU time (utime+stime from /proc/<pid>/stat) of the agent process. Then it
# runs a few real commands (system.info, containers.list, images.list, stacks) and reads RSS again.
# Prints the binary sizes and the measurements; nothing is written elsewhere.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

idle="${1:-60}"
readonly aot_out="$repo_root/artifacts/footprint/aot" jit_out="$repo_root/artifacts/footprint/jit"

rm -rf "$aot_out" "$jit_out"
echo "== publish"
# EDGEAGENT_FOOTPRINT_AOT_ARGS adds publish properties, e.g. "-p:EdgeAgentFixedAddress=true".
# shellcheck disable=SC2086
dotnet publish samples/Agent -c Release -r linux-x64 -p:PublishAot=true -p:TreatWarningsAsErrors=true -warnaserror ${EDGEAGENT_FOOTPRINT_AOT_ARGS:-} \
    -o "$aot_out" -nologo -v quiet >/tmp/edgeagent-footprint-aot.log 2>&1 || { tail -n 30 /tmp/edgeagent-footprint-aot.log; exit 1; }
dotnet publish samples/Agent -c Release -o "$jit_out" -nologo -v quiet >/tmp/edgeagent-footprint-jit.log 2>&1 || { tail -n 30 /tmp/edgeagent-footprint-jit.log; exit 1; }
dotnet build eng/AgentSmokeHost -c Release -nologo -v quiet >/dev/null

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "aot: edgeagent $(mib "$(stat -c %s "$aot_out/edgeagent")") (+ edgeagent.dbg $(mib "$(stat -c %s "$aot_out/edgeagent.dbg")"), not needed to run)"
echo "jit: publish directory $(mib "$(du -sb --exclude='*.pdb' --exclude='*.xml' "$jit_out" | cut -f1)") without .pdb/.xml, $(find "$jit_out" -name '*.dll' | wc -l) assemblies (+ the shared .NET runtime, $(mib "$(du -sb "$(dirname "$(dirname "$(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ { v=$2; p=$3 } END { gsub(/[][]/, "", p); print p "/" v "/x" }')")")" | cut -f1)"))"

host=eng/AgentSmokeHost/bin/Release/net10.0/AgentSmokeHost.dll
echo "== aot: native binary, ${idle} s idle"
dotnet "$host" --idle-seconds "$idle" -- "$aot_out/edgeagent" | grep -E '^(smoke|footprint):'
echo "== jit: dotnet edgeagent.dll, ${idle} s idle"
dotnet "$host" --idle-seconds "$idle" -- dotnet "$jit_out/edgeagent.dll" | grep -E '^(smoke|footprint):'
