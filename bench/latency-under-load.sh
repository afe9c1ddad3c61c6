#!/usr/bin/env bash
# Latency under load: N camera-rate sessions (default 30) through one standalone simulator in echo mode, first on a
# quiet machine, then with a CPU hog competing (one busy `yes` per core, at the same priority), then the plot.
# Usage: bench/latency-under-load.sh [sessions=30] [seconds=20] [outdir=bench/results] [livekit|direct]
# Writes <outdir>/<date>-latency-under-load-{quiet,hog}[-direct].txt and <outdir>/latency-under-load[-direct].svg.
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-30}; seconds=${2:-20}; out=${3:-bench/results}; transport=${4:-livekit}
[ -f artifacts/clips/camera-1088x624-30fps.ivf ] || tools/make-camera-clip.sh
dotnet build bench/Decart.LoadTest -c Release -v quiet -nologo > /dev/null   # builds the simulator it starts too
load=bench/Decart.LoadTest/bin/Release/net10.0/Decart.LoadTest.dll
stamp=$(date +%F); suffix=$([ "$transport" = direct ] && echo -direct || true)
mkdir -p "$out"
run() { # $1: label
  local file="$out/$stamp-latency-under-load-$1$suffix.txt"
  dotnet "$load" sessions "$sessions" "$seconds" camera "$transport" "latencies=$file.samples" | tee "$file.log"
  if [ ! -s "$file.samples" ]; then
    echo "no echo latencies were recorded in the $1 run (see $file.log)" >&2
    exit 1
  fi
  cat "$file.log" "$file.samples" > "$file" && rm -f "$file.log" "$file.samples"
}
run quiet
hogs=()
for _ in $(seq "$(nproc)"); do yes > /dev/null & hogs+=($!); done
trap 'kill "${hogs[@]}" 2>/dev/null || true' EXIT
run hog
kill "${hogs[@]}"; trap - EXIT
python3 tools/plot-latency.py "$out/latency-under-load$suffix.svg" \
  "quiet=$out/$stamp-latency-under-load-quiet$suffix.txt" "CPU hog=$out/$stamp-latency-under-load-hog$suffix.txt"
