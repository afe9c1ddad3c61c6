#!/usr/bin/env bash
# Regenerates assets/clips/ from the synthetic test pattern (frame counter + moving box).
# VP8 clips come from the SDK's own libvpx encoder; H.264 clips from Debian's ffmpeg (libx264,
# constrained baseline, Annex B) fed the same raw frames. Needs: libvpx7, ffmpeg (apt-get install ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/.."
out=assets/clips
mkdir -p "$out"
run() { dotnet run -c Release --project tools/ClipMaker -- "$@"; }
for size in 1088x624 1280x704; do
  w=${size%x*}; h=${size#*x}
  run vp8 "$out/pattern-${size}-30fps.ivf" "$w" "$h" 30 90 1000
  if command -v ffmpeg >/dev/null; then
    tmp=$(mktemp --suffix=.yuv)
    run raw "$tmp" "$w" "$h" 90
    ffmpeg -loglevel error -y -f rawvideo -pix_fmt yuv420p -s:v "$size" -r 30 -i "$tmp" \
      -c:v libx264 -profile:v baseline -level 3.1 -preset veryfast -tune zerolatency -g 90 -b:v 1M \
      -bsf:v h264_mp4toannexb -f h264 "$out/pattern-${size}-30fps.h264"
    rm -f "$tmp"
  else
    echo "ffmpeg not found: H.264 clips not regenerated (apt-get install ffmpeg)" >&2
  fi
done
ls -l "$out"
