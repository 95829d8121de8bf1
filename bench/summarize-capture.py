#!/usr/bin/env python3
"""Summarise bench/capture-guest.sh's runs.jsonl: per workload and capturer,
frames captured / frames the link delivered, kernel drops, CPU; ratios
vsockdump/dumpcap. Prints a Markdown table, writes the JSON results file.
Exit 1 if a measurement is missing or the two sent counters disagree."""
import datetime
import json
import os
import sys

CAPTURERS = ("vsockdump", "dumpcap", "tcpdump", "vsockdump-ring2")


def main():
    runs_path, json_out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    runs = [json.loads(line) for line in open(runs_path) if line.strip()]
    workloads = []
    for r in runs:
        if r["workload"] not in workloads:
            workloads.append(r["workload"])
    table, problems = {}, [] if workloads else ["no runs recorded"]
    for w in workloads:
        table[w] = {}
        for c in CAPTURERS:
            got = [r for r in runs if r["workload"] == w and r["capturer"] == c]
            if not got:
                problems.append(f"{w}/{c}: no run")
                continue
            bad = [r for r in got if r["sent_ethtool"] != r["sent_rx_packets"]]
            if bad:
                problems.append(f"{w}/{c}: rx_packets != ethtool frame counters in {len(bad)} runs")
            r = {k: sum(x[k] for x in got) for k in
                 ("sent_rx_packets", "sent_ethtool", "captured", "kernel_drops", "file_bytes")}
            r["cpu_s"] = round(sum(x["cpu_s"] for x in got), 2)
            r["snaplen"] = got[0]["snaplen"]
            r["runs"] = len(got)
            sent = r["sent_rx_packets"]
            if sent <= 0:
                problems.append(f"{w}/{c}: no frames sent")
                continue
            r["captured_fraction"] = round(r["captured"] / sent, 4)
            r["captured_fraction_per_run"] = [round(x["captured"] / x["sent_rx_packets"], 4)
                                              for x in got if x["sent_rx_packets"]]
            # frames neither captured nor reported dropped (should be 0)
            r["unaccounted"] = sent - r["captured"] - r["kernel_drops"]
            r["frames_per_s"] = round(sent / seconds / len(got))
            r["cpu_us_per_captured_frame"] = (round(r["cpu_s"] * 1e6 / r["captured"], 2)
                                              if r["captured"] else None)
            table[w][c] = r
        v, d = table[w].get("vsockdump"), table[w].get("dumpcap")
        if v and d:
            table[w]["ratio_vsockdump_dumpcap"] = {
                "captured": round(v["captured_fraction"] / d["captured_fraction"], 3)
                if d["captured_fraction"] else None,
                # per captured frame: unpaced workloads send a different number each run
                "cpu_per_frame": round(v["cpu_us_per_captured_frame"] / d["cpu_us_per_captured_frame"], 3)
                if v["cpu_us_per_captured_frame"] and d["cpu_us_per_captured_frame"] else None,
            }
    unaccounted = {f"{w}/{c}": r["unaccounted"] for w in table for c, r in table[w].items()
                   if c in CAPTURERS and r["unaccounted"]}
    hdr = [table[w].get("vsockdump") for w in workloads if w.endswith("-hdr")]
    targets = {"snaplen76_vsockdump_zero_drops":
               bool(hdr) and all(r and r["kernel_drops"] == 0 and r["captured"] == r["sent_rx_packets"]
                                 for r in hdr),
               # the other target: no fewer frames than dumpcap at every rate
               "vsockdump_captures_at_least_dumpcap": bool(workloads) and all(
                   table[w].get("vsockdump") and table[w].get("dumpcap")
                   and table[w]["vsockdump"]["captured_fraction"] >= table[w]["dumpcap"]["captured_fraction"]
                   for w in workloads)}
    result = {
        "bench": "capture",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"host_nproc": os.cpu_count(), "guest": "QEMU TCG, 1 vCPU, Debian 6.1 kernel"},
        "seconds_per_workload": seconds,
        "workloads": table,
        "targets_met": targets,
        "frames_neither_captured_nor_reported_dropped": unaccounted,
        "problems": problems,
    }
    with open(json_out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    print()
    nruns = max((r.get("rep", 1) for r in runs), default=0)
    print(f"Capture in the VM lab (QEMU TCG, 1 vCPU), {nruns} x {seconds:g} s per workload and "
          "capturer (summed), one vsockmon link (our module), each capturer alone")
    print()
    print("| workload | snaplen | frames sent | captured: vsockdump / dumpcap / tcpdump "
          "| kernel drops | CPU µs per captured frame | vsockdump/dumpcap: captured, CPU per frame "
          "| vsockdump --ring-size 2 (as dumpcap): captured |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for w in workloads:
        t = table[w]
        rows = [t.get(c) for c in CAPTURERS[:3]]
        small = t.get("vsockdump-ring2")
        if not all(rows) or not small:
            continue
        sent = "/".join(f"{r['sent_rx_packets']:,}" for r in rows)
        # whole percent and the worst run, e.g. "59.1 % (min 40.2)"
        cap = " / ".join(f"{r['captured_fraction'] * 100:.1f} %"
                         + (f" (min {min(r['captured_fraction_per_run']) * 100:.1f})"
                            if min(r['captured_fraction_per_run']) < r['captured_fraction'] else "")
                         for r in rows)
        drops = " / ".join(str(r["kernel_drops"]) for r in rows)
        cpu = " / ".join(f"{r['cpu_us_per_captured_frame']:.0f}" for r in rows)
        ratio = t.get("ratio_vsockdump_dumpcap", {})
        print(f"| {w} | {rows[0]['snaplen']} | {sent} | {cap} | {drops} | {cpu} | "
              f"**{ratio.get('captured')}x**, {ratio.get('cpu_per_frame')}x | "
              f"{small['captured_fraction'] * 100:.1f} % ({small['kernel_drops']} drops) |")
    print()
    print("Targets met: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in targets.items()))
    print("Frames neither captured nor reported as dropped: "
          + (", ".join(f"{k} {v}" for k, v in unaccounted.items()) if unaccounted else "none"))
    if problems:
        print("Problems: " + "; ".join(problems))
    print(f"Results: {json_out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
