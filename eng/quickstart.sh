#!/usr/bin/env bash
# The quick start: provisions a Docker engine and the local demo image if needed (as eng/test.sh
# does), then runs samples/QuickStart: a control plane and an agent in one process over loopback,
# a demo stack deployed to the local engine, its logs followed for a few seconds, the fleet table,
# and the stack removed again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EDGEAGENT_PROVISION_ONLY=1 bash eng/test.sh
exec dotnet run --project samples/QuickStart -c Release -- "$@"
