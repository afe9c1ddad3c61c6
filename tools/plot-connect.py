#!/usr/bin/env python3
"""Draws bench/results/connect-cold.svg from `Decart.LoadTest -- connect-cold` outputs: for each run (a file), the
median of each connect phase across its fresh processes, stacked on one bar in the order they happen. Standard
library only. Usage: tools/plot-connect.py OUT.svg LABEL=FILE [LABEL=FILE ...]"""
import statistics
import sys

PHASES = [  # (name, colour, how to read it from one process's line)
    ("before the connect span", "#bbbbbb", lambda r: r["total"] - r["first-frame"]),
    ("websocket-open", "#4e79a7", lambda r: r.get("websocket-open", 0)),
    ("room-info", "#59a14f", lambda r: r.get("room-info", 0)),
    ("peer connection (gap)", "#9c755f", lambda r: r["room-join@"] - r["room-info@"] - r["room-info"] if "room-join@" in r else 0),
    ("signal-join", "#f28e2b", lambda r: r.get("signal-join", 0)),
    ("media-connect (ICE, DTLS)", "#e15759", lambda r: r.get("media-connect", 0)),
    ("publish", "#76b7b2", lambda r: r.get("publish", 0)),
    ("initial-state-ack", "#edc948", lambda r: r.get("initial-state-ack", 0)),
    ("webrtc-handshake", "#b07aa1", lambda r: r.get("webrtc-handshake", 0)),
    ("to the first frame", "#ff9da7", lambda r: r["first-frame"] - r["connect-span"]),
]


def read(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("run ") and ": " in line and "=" in line:
            rows.append({k: float(v) for k, v in (kv.split("=") for kv in line.split(": ", 1)[1].split())})
    return rows


out, runs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
bars = []
for label, path in runs:
    rows = read(path)
    segments = [(name, colour, statistics.median(max(0.0, f(r)) for r in rows)) for name, colour, f in PHASES]
    bars.append((label, [s for s in segments if s[2] > 0.5], statistics.median(r["total"] for r in rows)))

W, L, T, BH, GAP = 820, 190, 40, 26, 14
H = T + len(bars) * (BH + GAP) + 150
scale = (W - L - 40) / max(600.0, max(b[2] for b in bars) * 1.05)
parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="{L}" y="20" font-size="13">Cold connect to the first frame, by phase (median of fresh processes, ms)</text>']
x300 = L + 300 * scale
parts.append(f'<line x1="{x300}" x2="{x300}" y1="{T - 6}" y2="{T + len(bars) * (BH + GAP)}" stroke="black" stroke-dasharray="4 3"/>')
parts.append(f'<text x="{x300 + 3}" y="{T - 8}">300 ms target</text>')
for i, (label, segments, total) in enumerate(bars):
    y = T + i * (BH + GAP)
    parts.append(f'<text x="{L - 8}" y="{y + BH / 2 + 4}" text-anchor="end">{label}</text>')
    x = L
    for name, colour, ms in segments:
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{ms * scale:.1f}" height="{BH}" fill="{colour}"><title>{name}: {ms:.0f} ms</title></rect>')
        x += ms * scale
    parts.append(f'<text x="{x + 4:.1f}" y="{y + BH / 2 + 4}">{total:.0f} ms (total median)</text>')
ly = T + len(bars) * (BH + GAP) + 20
for j, (name, colour, _) in enumerate(PHASES):
    lx, lyy = L + (j % 3) * 200, ly + (j // 3) * 18
    parts.append(f'<rect x="{lx}" y="{lyy - 9}" width="10" height="10" fill="{colour}"/><text x="{lx + 14}" y="{lyy}">{name}</text>')
parts.append("</svg>")
open(out, "w", encoding="utf-8").write("\n".join(parts))
