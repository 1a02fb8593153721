#!/usr/bin/env bash
# Records new public API in each shipped project's PublicAPI.Unshipped.txt (RS0016/RS0017 code fixes).
set -euo pipefail
cd "$(dirname "$0")/.."
for project in src/*/*.csproj; do
  dotnet format analyzers "$project" --diagnostics RS0016 RS0017 RS0036 RS0037 --severity info >/dev/null 2>&1 || true
done
