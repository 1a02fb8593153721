#!/usr/bin/env bash
# Packs the shipped packages and proves they work outside the solution: a throwaway project
# restores them from a local folder (plus the machine's package source for their dependencies)
# and builds a host that calls AddEdgeAgent and AddEdgeControlPlane.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
suffix="smoke.$(date +%s)"
out="$root/artifacts/packages"
rm -rf "$out"
mkdir -p "$out"
for project in src/*/*.csproj; do
    dotnet pack "$project" -c Release -o "$out" --version-suffix "$suffix" -v quiet -nologo >/dev/null
done
version="0.1.0-$suffix"
for id in EdgeAgent.Protocol EdgeAgent.Agent EdgeAgent.ControlPlane EdgeAgent.ControlPlane.Sqlite EdgeAgent.LocalAgent; do
    [[ -f "$out/$id.$version.nupkg" && -f "$out/$id.$version.snupkg" ]] || { echo "[package-smoke] missing $id $version (.nupkg and .snupkg)" >&2; exit 1; }
    # Captured first: grep -q on a pipe would end it early and pipefail would report SIGPIPE.
    nuspec=$(unzip -p "$out/$id.$version.nupkg" "$id.nuspec")
    listing=$(unzip -l "$out/$id.$version.nupkg")
    [[ "$nuspec" == *'<repository type="git"'* && "$nuspec" == *'<license type="expression">'* ]] || { echo "[package-smoke] $id has no repository or license metadata" >&2; exit 1; }
    [[ "$listing" == *"lib/net10.0/$id.xml"* && "$listing" == *"README.md"* ]] || { echo "[package-smoke] $id has no XML docs or README" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$out" />
  </packageSources>
</configuration>
XML
cat > "$work/Smoke.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="EdgeAgent.Agent" Version="$version" />
    <PackageReference Include="EdgeAgent.ControlPlane" Version="$version" />
    <PackageReference Include="EdgeAgent.ControlPlane.Sqlite" Version="$version" />
    <PackageReference Include="EdgeAgent.LocalAgent" Version="$version" />
    <PackageReference Include="Microsoft.NET.StringTools" Version="17.7.2" />
  </ItemGroup>
</Project>
XML
cat > "$work/Program.cs" <<'CS'
var web = WebApplication.CreateBuilder(args);
web.Services.AddEdgeControlPlane().UseSqlite("Data Source=smoke.db").AddLocalAgent().AddDocker().AddStacks();
var app = web.Build();
app.MapEdgeAgents();

var agent = Host.CreateApplicationBuilder(args);
agent.Services.AddEdgeAgent(o =>
{
    o.ControlPlaneUrl = "https://fleet.example";
    o.Token = "smoke-agent.0123456789abcdefghijklmnopqrstuv";
}).AddDocker().AddStacks();
using var agentHost = agent.Build();
Console.WriteLine(app.Services.GetService(typeof(EdgeAgent.ControlPlane.IEdgeAgents)) is not null && agentHost.Services.GetService(typeof(EdgeAgent.Agent.IEdgeAgentConnection)) is not null ? "ok" : "missing services");
CS
if ! result=$(cd "$work" && dotnet build -c Release -v quiet -nologo 2>&1 && dotnet bin/Release/net10.0/Smoke.dll 2>&1) || [[ "$(tail -n 1 <<<"$result")" != "ok" ]]; then
    echo "[package-smoke] the throwaway host did not build or run:" >&2
    tail -n 30 <<<"$result" >&2
    exit 1
fi
echo "[package-smoke] packages $version install from a local folder and a host builds with AddEdgeAgent and AddEdgeControlPlane"
