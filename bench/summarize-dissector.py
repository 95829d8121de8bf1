#!/usr/bin/env python3
"""Summarise bench/dissector.sh's timed runs: medians, ratios plugin/built-in,
memory per conversation, instruction counts. Prints a Markdown table (ready to
paste into a README) and writes the JSON results file."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

TARGET_COLUMNS = 1.00
TARGET_ANALYSIS = 1.30
TARGET_BYTES_PER_CONV = 200


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    tshark = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "tshark": tshark.splitlines()[0] if tshark else "?",
        "load_avg_1m_at_end": os.getloadavg()[0],
    }


def load_rows(path):
    rows = {}
    with open(path) as f:
        for line in f:
            label, mode, size, _run, wall, user, sys_, rss = line.split("\t")
            rows.setdefault((label, mode, size), []).append(
                (float(wall), float(user), float(sys_), int(rss)))
    return rows


def medians(samples):
    return {
        "runs": len(samples),
        "wall_s": statistics.median(s[0] for s in samples),
        "user_s": statistics.median(s[1] for s in samples),
        "sys_s": statistics.median(s[2] for s in samples),
        "cpu_s": statistics.median(s[1] + s[2] for s in samples),
        # the least disturbed run: other jobs on the machine only ever add time
        "cpu_s_min": min(s[1] + s[2] for s in samples),
        "maxrss_kib": statistics.median(s[3] for s in samples),
        "samples": [list(s) for s in samples],
    }


def ratio(a, b):
    return round(a / b, 3) if b else None


def compare(rows, mode, size):
    p = medians(rows[("plugin", mode, size)])
    b = medians(rows[("builtin", mode, size)])
    return {
        "plugin": p,
        "builtin": b,
        "ratio_wall": ratio(p["wall_s"], b["wall_s"]),
        "ratio_user": ratio(p["user_s"], b["user_s"]),
        "ratio_cpu": ratio(p["cpu_s"], b["cpu_s"]),
        "ratio_cpu_min": ratio(p["cpu_s_min"], b["cpu_s_min"]),
    }


def memory(big, half, conns_big, conns_half, reasm_big, reasm_half):
    """Extra bytes per conversation: (plugin - built-in) RSS difference between
    two capture sizes, divided by the difference in conversations; and the same
    without the reassembled multi-fragment messages (payload the plugin keeps
    for the file, as TCP keeps its reassembled PDUs; the built-in dissector
    does not reassemble)."""
    d_big = (big["plugin"]["maxrss_kib"] - big["builtin"]["maxrss_kib"]) * 1024
    d_half = (half["plugin"]["maxrss_kib"] - half["builtin"]["maxrss_kib"]) * 1024
    per_conv = (d_big - d_half) / (conns_big - conns_half)
    reasm_per_conv = (reasm_big - reasm_half) / (conns_big - conns_half)
    return {
        "extra_rss_bytes_big": d_big,
        "extra_rss_bytes_half": d_half,
        "connections_big": conns_big,
        "connections_half": conns_half,
        "reassembled_bytes_big": reasm_big,
        "reassembled_bytes_half": reasm_half,
        "bytes_per_conversation": round(per_conv),
        "reassembled_payload_bytes_per_conversation": round(reasm_per_conv),
        "state_bytes_per_conversation": round(per_conv - reasm_per_conv),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("times")
    ap.add_argument("json_out")
    for name in ("frames", "connections", "half-frames", "half-connections",
                 "analysis-frames", "analysis-connections", "analysis-half-frames",
                 "analysis-half-connections", "cg-frames", "cg-connections", "runs", "seed"):
        ap.add_argument("--" + name, type=int, required=True)
    ap.add_argument("--reassembled", type=int, nargs=4, required=True,
                    metavar=("BIG", "HALF", "ANALYSIS", "ANALYSIS_HALF"),
                    help="bytes of multi-fragment messages in each capture")
    ap.add_argument("--ir-analysis-split", type=int, nargs=4, required=True,
                    metavar=("PLUGIN_DISSECT", "PLUGIN_PRINT", "BUILTIN_DISSECT", "BUILTIN_PRINT"),
                    help="instructions of the full analysis in epan_dissect_run* and proto_tree_print")
    ap.add_argument("--ir", type=int, nargs=4, required=True,
                    metavar=("PLUGIN_COLUMNS", "BUILTIN_COLUMNS", "PLUGIN_ANALYSIS", "BUILTIN_ANALYSIS"))
    a = ap.parse_args()

    rows = load_rows(a.times)
    columns = compare(rows, "columns", "big")
    columns_half = compare(rows, "columns", "half")
    analysis = compare(rows, "analysis", "big")
    analysis_half = compare(rows, "analysis", "half")
    analysis_x = compare(rows, "analysis-x", "big")
    mem_columns = memory(columns, columns_half, a.connections, a.half_connections,
                         a.reassembled[0], a.reassembled[1])
    mem_analysis = memory(analysis, analysis_half, a.analysis_connections,
                          a.analysis_half_connections, a.reassembled[2], a.reassembled[3])
    ir = {
        "frames": a.cg_frames,
        "connections": a.cg_connections,
        "columns": {"plugin": a.ir[0], "builtin": a.ir[1], "ratio": ratio(a.ir[0], a.ir[1]),
                    "plugin_per_frame": round(a.ir[0] / a.cg_frames),
                    "builtin_per_frame": round(a.ir[1] / a.cg_frames)},
        "analysis": {"plugin": a.ir[2], "builtin": a.ir[3], "ratio": ratio(a.ir[2], a.ir[3]),
                     "plugin_per_frame": round(a.ir[2] / a.cg_frames / 2),
                     "builtin_per_frame": round(a.ir[3] / a.cg_frames / 2),
                     "dissection": {"plugin": a.ir_analysis_split[0], "builtin": a.ir_analysis_split[2],
                                    "ratio": ratio(a.ir_analysis_split[0], a.ir_analysis_split[2])},
                     "tree_printing": {"plugin": a.ir_analysis_split[1], "builtin": a.ir_analysis_split[3],
                                       "ratio": ratio(a.ir_analysis_split[1], a.ir_analysis_split[3])}},
    }
    worst_mem = max(mem_columns["bytes_per_conversation"], mem_analysis["bytes_per_conversation"])
    worst_state = max(mem_columns["state_bytes_per_conversation"],
                      mem_analysis["state_bytes_per_conversation"])
    targets = {
        "columns_cpu_ratio_le_1.00": columns["ratio_cpu"] <= TARGET_COLUMNS,
        "analysis_cpu_ratio_le_1.30": analysis["ratio_cpu"] <= TARGET_ANALYSIS,
        "analysis_with_bytes_cpu_ratio_le_1.30": analysis_x["ratio_cpu"] <= TARGET_ANALYSIS,
        "bytes_per_conversation_le_200": worst_mem <= TARGET_BYTES_PER_CONV,
        "state_bytes_per_conversation_le_200": worst_state <= TARGET_BYTES_PER_CONV,
    }
    result = {
        "bench": "dissector",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "seed": a.seed,
        "captures": {
            "columns": {"frames": a.frames, "connections": a.connections},
            "columns_half": {"frames": a.half_frames, "connections": a.half_connections},
            "analysis": {"frames": a.analysis_frames, "connections": a.analysis_connections},
            "analysis_half": {"frames": a.analysis_half_frames,
                              "connections": a.analysis_half_connections},
        },
        "commands": {
            "columns": "tshark -r CAP > /dev/null (piped to wc -l)",
            "analysis": "tshark -2 -V -r CAP > /dev/null",
            "analysis_with_bytes": "tshark -2 -V -x -r CAP > /dev/null",
            "instructions": "valgrind --tool=callgrind --collect-atstart=no "
                            "--toggle-collect='epan_dissect_run*' "
                            "--toggle-collect=epan_dissect_fill_in_columns "
                            "--toggle-collect=proto_tree_print tshark ...",
        },
        "columns": columns,
        "columns_half": columns_half,
        "analysis": analysis,
        "analysis_half": analysis_half,
        "analysis_with_bytes": analysis_x,
        "memory_columns": mem_columns,
        "memory_analysis": mem_analysis,
        "instructions": ir,
        "targets_met": targets,
    }
    with open(a.json_out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    def line(name, c, frames, irr, target):
        p, b = c["plugin"], c["builtin"]
        return (f"| {name} | {frames:,} | {p['wall_s']:.2f} / {b['wall_s']:.2f} | "
                f"{p['user_s']:.2f} / {b['user_s']:.2f} | **{c['ratio_cpu']:.2f}x** "
                f"(fastest runs {c['ratio_cpu_min']:.2f}x, wall {c['ratio_wall']:.2f}x) | {irr:.2f}x | {target} |")

    print()
    print(f"Dissector: plugin vs built-in vSocket, medians of {a.runs} runs "
          f"({result['machine']['nproc']} x {result['machine']['cpu']}, tshark 4.0)")
    print()
    print("| run | frames | wall s plugin / built-in | user s plugin / built-in "
          "| CPU (user+sys) ratio | instructions ratio | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(line("columns `tshark -r`", columns, a.frames, ir["columns"]["ratio"], "<= 1.00x"))
    print(line("full analysis `tshark -2 -V -r`", analysis, a.analysis_frames,
               ir["analysis"]["ratio"], "<= 1.30x"))
    print(line("full analysis with bytes `tshark -2 -V -x -r`", analysis_x, a.analysis_frames,
               float("nan"), "<= 1.30x").replace("| nanx |", "| - |"))
    print()
    print("| memory (max RSS plugin - built-in) | small capture | large capture "
          "| per extra conversation | of which reassembled messages | state per conversation | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, m in (("columns, one pass", mem_columns), ("full analysis, two passes", mem_analysis)):
        print(f"| {name} | {m['extra_rss_bytes_half'] / 2**20:.1f} MiB "
              f"({m['connections_half']:,} conv) | {m['extra_rss_bytes_big'] / 2**20:.1f} MiB "
              f"({m['connections_big']:,} conv) | **{m['bytes_per_conversation']:,} B** | "
              f"{m['reassembled_payload_bytes_per_conversation']:,} B | "
              f"**{m['state_bytes_per_conversation']:,} B** | <= 200 B |")
    print()
    print(f"Instructions per frame ({a.cg_frames:,} frames, callgrind): columns "
          f"{ir['columns']['plugin_per_frame']:,} vs {ir['columns']['builtin_per_frame']:,}; "
          f"analysis (per frame per pass) {ir['analysis']['plugin_per_frame']:,} vs "
          f"{ir['analysis']['builtin_per_frame']:,}")
    d, t = ir["analysis"]["dissection"], ir["analysis"]["tree_printing"]
    print(f"Full analysis instructions split: dissection (epan_dissect_run*) {d['ratio']:.2f}x, "
          f"-V tree printing (proto_tree_print) {t['ratio']:.2f}x")
    print("Targets met: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in targets.items()))
    print(f"Results: {a.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
