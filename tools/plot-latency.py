#!/usr/bin/env python3
"""Draws the latency-under-load plot from `Decart.LoadTest -- sessions ... latencies=FILE` outputs: on the left each
run's latency by quantile (the tail stretched: 50 %, 90 %, 99 %, 99.9 % equally spaced), on the right each second's
p99 over the measured window. Standard library only.
Usage: tools/plot-latency.py OUT.svg LABEL=FILE [LABEL=FILE ...]"""
import math
import sys

COLOURS = ["#4e79a7", "#e15759", "#59a14f", "#f28e2b"]


def read(path):
    quantiles, seconds, title = [], [], ""
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if line.startswith("# sessions"):
            title = line[2:].strip()
        elif parts[:1] == ["q"]:
            quantiles.append((float(parts[1]), float(parts[2])))
        elif parts[:1] == ["s"]:
            seconds.append((int(parts[1]), float(parts[4])))
    return title, quantiles, seconds


def tail(q):  # 0 -> 0, 0.9 -> 1, 0.99 -> 2, 0.999 -> 3 (the tail gets the room)
    return -math.log10(max(1e-3, 1 - q))


if len(sys.argv) < 3 or any("=" not in a for a in sys.argv[2:]):
    sys.exit(__doc__)
out, runs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
data = [(label,) + read(path) for label, path in runs]
empty = [label for label, _, quantiles, seconds in data if not quantiles or not seconds]
if empty:
    sys.exit("no latencies in: " + ", ".join(empty))
top = max(max(v for _, v in d[2]) for d in data)
ymax = max(150.0, math.ceil(top * 1.1 / 50) * 50)
W, L, T, PW, PH, GAP = 900, 60, 50, 360, 250, 80
H = T + PH + 56 + 16 * len(data)
parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="{L}" y="20" font-size="13">Echo latency under load (send to echoed frame, includes the model\'s 30 ms)</text>']


def panel(x0, xlabel, xticks, xpos):
    parts.append(f'<rect x="{x0}" y="{T}" width="{PW}" height="{PH}" fill="none" stroke="#888"/>')
    for v in range(0, int(ymax) + 1, 50):
        y = T + PH - v / ymax * PH
        parts.append(f'<line x1="{x0}" x2="{x0 + PW}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{v}</text>')
    for label, value in xticks:
        x = x0 + xpos(value) * PW
        parts.append(f'<text x="{x:.1f}" y="{T + PH + 15}" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{x0 + PW / 2}" y="{T + PH + 32}" text-anchor="middle">{xlabel}</text>')
    parts.append(f'<text x="{x0 - 42}" y="{T + PH / 2}" transform="rotate(-90 {x0 - 42} {T + PH / 2})" text-anchor="middle">ms</text>')


def y_of(v):
    return T + PH - min(v, ymax) / ymax * PH


panel(L, "quantile", [("0", 0), ("90 %", 1), ("99 %", 2), ("99.9 %", 3)], lambda t: t / 3)
x1 = L + PW + GAP
last = max(max(s for s, _ in d[3]) for d in data) or 1
panel(x1, "second of the measured window (p99 of each)", [(str(s), s) for s in range(0, last + 1, 5)], lambda s: s / last)
# The 300 ms target line on both panels, when the scale reaches it.
if ymax >= 300:
    for x0 in (L, x1):
        parts.append(f'<line x1="{x0}" x2="{x0 + PW}" y1="{y_of(300):.1f}" y2="{y_of(300):.1f}" stroke="#999" stroke-dasharray="4 3"/>')
for i, (label, title, quantiles, seconds) in enumerate(data):
    colour = COLOURS[i % len(COLOURS)]
    points = " ".join(f"{L + tail(q) / 3 * PW:.1f},{y_of(v):.1f}" for q, v in quantiles if q < 1)
    parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
    points = " ".join(f"{x1 + s / last * PW:.1f},{y_of(v):.1f}" for s, v in seconds)
    parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
    p50 = next(v for q, v in quantiles if q >= 0.5)
    p99 = next(v for q, v in quantiles if q >= 0.99)
    y = T + PH + 58 + i * 16
    parts.append(f'<rect x="{L}" y="{y - 9}" width="12" height="10" fill="{colour}"/>')
    parts.append(f'<text x="{L + 18}" y="{y}">{label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {quantiles[-1][1]:.0f} ms — {title}</text>')
parts.append("</svg>")
open(out, "w", encoding="utf-8").write("\n".join(parts) + "\n")
