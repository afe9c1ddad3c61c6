#!/usr/bin/env bash
# The main job: the whole toolkit in one run (samples/Quickstart) — an embedded Decart simulator, a synthetic front
# camera streaming to lucy-latest, prompt changes, a dropped connection the SDK reconnects by itself, snapshots and
# a summary. On a fresh Debian machine with the .NET 10 SDK it first installs what the quickstart needs (libvpx for
# VP8). Arguments go to the quickstart: ./run.sh --short | --out DIR | --live (real service, DECART_API_KEY).
set -euo pipefail
cd "$(dirname "$0")"
# Not "ldconfig -p | grep -q": under pipefail, grep quitting at the first match kills ldconfig with SIGPIPE, the
# pipeline fails, and the script would install (with sudo) a library that is already there.
libraries=$(ldconfig -p 2>/dev/null || true)
if [[ "$libraries" != *libvpx.so* ]]; then
  echo "==> installing libvpx7 (VP8 encoder/decoder)"
  sudo_cmd=""
  [ "$(id -u)" != "0" ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends libvpx7 >/dev/null
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet run --project samples/Quickstart -c Release -- "$@"
