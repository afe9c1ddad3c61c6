#!/usr/bin/env bash
# Makes the camera-rate clips the load program's `camera` mode sends: 1088x624 (lucy-2.1's size), 30 fps, 10 s of
# content that compresses like a camera — ffmpeg's moving test pattern under per-frame, per-pixel noise (what a
# sensor adds), so the encoder has to spend its bits: VP8 (libvpx, IVF) and H.264 (libx264 constrained baseline,
# Annex B), each at 3 Mbit/s with a keyframe every 3 s, about 10 RTP packets per frame. Needs ffmpeg (apt-get install
# ffmpeg). Usage: tools/make-camera-clip.sh [output dir, default artifacts/clips]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/clips}
mkdir -p "$out"
source="testsrc2=size=1088x624:rate=30,noise=alls=28:allf=t+u"
ffmpeg -loglevel error -y -f lavfi -i "$source" -t 10 \
  -c:v libvpx -b:v 3M -minrate 3M -maxrate 3M -bufsize 1M -deadline realtime -cpu-used 8 -g 90 -auto-alt-ref 0 -lag-in-frames 0 \
  -f ivf "$out/camera-1088x624-30fps.ivf"
ffmpeg -loglevel error -y -f lavfi -i "$source" -t 10 \
  -c:v libx264 -profile:v baseline -preset veryfast -tune zerolatency -b:v 3M -maxrate 3M -bufsize 1M -g 90 -pix_fmt yuv420p \
  -bsf:v h264_mp4toannexb -f h264 "$out/camera-1088x624-30fps.h264"
for f in "$out"/camera-1088x624-30fps.*; do
  printf '%s: %d bytes, %.2f Mbit/s over 10 s\n' "$f" "$(stat -c %s "$f")" "$(echo "$(stat -c %s "$f") * 8 / 10 / 1000000" | bc -l)"
done
