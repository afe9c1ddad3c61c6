#!/usr/bin/env bash
# Runs the BenchmarkDotNet suites and writes bench/results/ (markdown, CSV, SVG plots of suites 5-6).
#   bench/run.sh                      every suite, full jobs (about 25 minutes on a 2-core machine)
#   bench/run.sh '*Srtp*' '*Mirror*'  the suites whose names match
#   bench/run.sh --smoke              every benchmark once, in process (what CI runs; about 20 s)
# Installs what the baselines need first: libsrtp2 (Debian's libsrtp2-1) for suite 1, libvpx for the SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in libsrtp2-1 libvpx7; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" != "0" ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

smoke=()
filters=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=(--smoke) ;;
    *) filters+=("$arg") ;;
  esac
done
[ ${#filters[@]} -eq 0 ] && filters=('*')

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet run -c Release --project bench/Decart.Benchmarks -- "${smoke[@]}" --filter "${filters[@]}"
