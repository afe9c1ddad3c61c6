#!/usr/bin/env python3
"""Draws bench/results/bandwidth.svg from two `Decart.LoadTest -- bandwidth` logs (fixed, adaptive): the send rate of
each against the 1 Mbit/s cap, and the frames per second the simulator received. Standard library only."""
import re
import sys

def read(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\s*(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+) %\s+(\d+)", line)
        if m:
            rows.append(tuple(float(x) for x in m.groups()))
    return rows

fixed, adaptive, out = read(sys.argv[1]), read(sys.argv[2]), sys.argv[3]
W, H, L, T, PH = 760, 420, 60, 30, 220   # width, height, left margin, top margin, rate panel height
seconds = max(r[0] for r in fixed + adaptive)
def x(s): return L + (W - L - 20) * s / seconds
def y_rate(k): return T + PH - PH * min(k, 6000) / 6000
def y_fps(f): return T + PH + 60 + 100 - 100 * min(f, 60) / 60
parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="{L}" y="18" font-size="13">Send rate under a 1 Mbit/s cap (10-40 s), and frames received by the simulator</text>',
         f'<rect x="{x(10)}" y="{T}" width="{x(40) - x(10)}" height="{PH}" fill="#f3f3f3"/>',
         f'<line x1="{x(10)}" x2="{x(40)}" y1="{y_rate(1000)}" y2="{y_rate(1000)}" stroke="black" stroke-dasharray="4 3"/>',
         f'<text x="{x(40) + 4}" y="{y_rate(1000) + 4}">cap</text>']
for k in (0, 2000, 4000, 6000):
    parts.append(f'<text x="{L - 6}" y="{y_rate(k) + 4}" text-anchor="end">{k}</text>')
parts.append(f'<text x="12" y="{T + PH / 2}" transform="rotate(-90 12 {T + PH / 2})">kbit/s</text>')
for f in (0, 30, 60):
    parts.append(f'<text x="{L - 6}" y="{y_fps(f) + 4}" text-anchor="end">{f}</text>')
parts.append(f'<text x="12" y="{T + PH + 110}" transform="rotate(-90 12 {T + PH + 110})">fps</text>')
for s in range(0, int(seconds) + 1, 10):
    parts.append(f'<text x="{x(s)}" y="{H - 8}" text-anchor="middle">{s} s</text>')
for rows, color, name in ((fixed, "#d62728", "fixed 3 Mbit/s"), (adaptive, "#1f77b4", "adaptive (TWCC, delay-based)")):
    rate = " ".join(f"{x(r[0]):.1f},{y_rate(r[1]):.1f}" for r in rows)
    fps = " ".join(f"{x(r[0]):.1f},{y_fps(r[4]):.1f}" for r in rows)
    parts.append(f'<polyline points="{rate}" fill="none" stroke="{color}" stroke-width="1.8"/>')
    parts.append(f'<polyline points="{fps}" fill="none" stroke="{color}" stroke-width="1.4"/>')
parts.append(f'<text x="{L + 10}" y="{T + 14}" fill="#d62728">fixed 3 Mbit/s</text>')
parts.append(f'<text x="{L + 110}" y="{T + 14}" fill="#1f77b4">adaptive (TWCC, delay-based)</text>')
parts.append("</svg>")
open(out, "w", encoding="utf-8").write("\n".join(parts))
