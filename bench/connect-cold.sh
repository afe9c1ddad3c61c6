#!/usr/bin/env bash
# Cold connect: 20 fresh processes per row, each one connect from ConnectAsync to the model's first frame against one
# standalone simulator on loopback (bench/Decart.LoadTest -- connect-cold), for both transports, with the app as
# `dotnet build` leaves it (JIT), with only the SDK's own assemblies ReadyToRun (ours: what the packages give an app on
# linux-x64), and published ReadyToRun (what
# an app does for start-up), the three alternated.
# Usage: bench/connect-cold.sh [runs=20] [sittings=1] [out-dir]   (writes one file per row, prints the medians)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
sittings=${2:-1}
out=${3:-$(mktemp -d)}
mkdir -p "$out"
dotnet build bench/Decart.LoadTest -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
# Published inside the repository: the load program finds the simulator from there.
dotnet publish bench/Decart.LoadTest -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
  -o bench/Decart.LoadTest/bin/r2r -nologo -v q -clp:ErrorsOnly >/dev/null
cd bench/Decart.LoadTest
# What the packages ship (runtimes/linux-x64): ReadyToRun code for the SDK's two assemblies only (every other
# assembly, the app's, Protobuf's, the runtime extensions', put back as IL from the JIT build).
rm -rf bin/r2r-ours && cp -r bin/r2r bin/r2r-ours
for dll in bin/r2r-ours/*.dll; do
  name=$(basename "$dll")
  case "$name" in Decart.Sdk.dll|Decart.Rtc.dll) ;; *) [ ! -f "bin/Release/net10.0/$name" ] || cp "bin/Release/net10.0/$name" "$dll" ;; esac
done
for sitting in $(seq 1 "$sittings"); do
  for transport in livekit direct; do
    for build in jit ours r2r; do
      dll=bin/Release/net10.0/Decart.LoadTest.dll
      [ "$build" = r2r ] && dll=bin/r2r/Decart.LoadTest.dll
      [ "$build" = ours ] && dll=bin/r2r-ours/Decart.LoadTest.dll
      file="$out/connect-cold-$transport-$build-$sitting.txt"
      dotnet "$dll" connect-cold "$runs" "$transport" > "$file" 2>&1 || true
      echo "sitting $sitting, $transport, $build: $(grep -E '^ *total ' "$file" | awk '{print "median " $2 " ms, p95 " $3 " ms"}')"
    done
  done
done
echo "raw output: $out"
