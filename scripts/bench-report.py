#!/usr/bin/env python3
"""Helper of scripts/bench (standard library only).

  sample --json F --stdout O --stderr E -- CMD...
      Runs CMD, samples /proc/PID/status every 2 ms (resident memory split into anonymous and
      file-backed pages, thread count) and writes the maxima and the kernel's peak RSS as JSON.
  report --results DIR --doc docs/PERFORMANCE.md
      Writes the report from the raw results that scripts/bench left in DIR, keeping everything
      from the notes marker on, and prints the results table.
"""

import argparse
import json
import os
import subprocess
import sys
import time

NOTES_MARKER = "<!-- notes -->"
FULL_PACKETS = 1_000_000
FULL_RUNS = 3
TOOLS = ["ironward", "ironward-detect", "ndpiReader", "tshark"]
# The peers of the main table (Ironward with detection has its own section).
PEERS = ["ironward", "ndpiReader", "tshark"]
STATUS_FIELDS = ["VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads"]


def sample(args):
    with open(args.stdout, "wb") as out, open(args.stderr, "wb") as err:
        proc = subprocess.Popen(args.cmd, stdout=out, stderr=err)
        peak = {f: 0 for f in STATUS_FIELDS}
        at_peak = {}
        path = f"/proc/{proc.pid}/status"
        while True:
            try:
                with open(path) as f:
                    cur = {}
                    for line in f:
                        key, _, val = line.partition(":")
                        if key in STATUS_FIELDS:
                            cur[key] = int(val.split()[0])
            except (FileNotFoundError, ProcessLookupError):
                cur = {}
            # A zombie has no memory fields left; only count live samples.
            if "VmRSS" in cur:
                for k, v in cur.items():
                    peak[k] = max(peak[k], v)
                if cur["VmRSS"] >= at_peak.get("VmRSS", -1):
                    at_peak = cur
            done, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if done == proc.pid:
                break
            time.sleep(0.002)
    code = os.waitstatus_to_exitcode(status)
    with open(args.json, "w") as f:
        json.dump(
            # Not rusage.ru_maxrss: Linux carries the forking Python's own peak over the exec.
            {"exit": code, "max": peak, "at_peak": at_peak},
            f,
            indent=1,
        )
    return code


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def mib(kib):
    return f"{kib / 1024:.1f}"


def human_int(n):
    return f"{n:,}".replace(",", " ")


def report(args):
    d = args.results
    meta = dict(read_tsv(os.path.join(d, "meta.tsv")))
    skipped = dict(read_tsv(os.path.join(d, "skipped.tsv")))
    verify = {r[0]: r[1:] for r in read_tsv(os.path.join(d, "verify.tsv"))}
    runs, startup = {}, {}
    for tool, which, run, wall, rss in read_tsv(os.path.join(d, "runs.tsv")):
        dest = runs if which == "main" else startup
        dest.setdefault(tool, []).append((float(wall), int(rss), int(run)))
    samples, samples_startup = {}, {}
    for tool in TOOLS:
        for dest, name in ((samples, f"sample-{tool}.json"), (samples_startup, f"sample-startup-{tool}.json")):
            p = os.path.join(d, name)
            if os.path.exists(p):
                with open(p) as f:
                    dest[tool] = json.load(f)

    frames = int(meta["frames"])
    packets_req = int(meta["packets_requested"])
    n_runs = int(meta["runs"])
    small = packets_req < FULL_PACKETS or n_runs < FULL_RUNS
    # Best run: lowest wall time, then lowest RSS.
    best = {t: min(rs) for t, rs in runs.items()}
    best_startup = {t: min(rs) for t, rs in startup.items()}
    iw = best.get("ironward")

    def pps(wall):
        return frames / wall if wall > 0 else None

    rows = []
    for tool in PEERS:
        if tool in best:
            wall, rss, _ = best[tool]
            p = pps(wall)
            speed = f"{p / 1e6:.2f} M" if p else "below timer resolution"
            if tool == "ironward":
                r_speed, r_mem = "—", "—"
            else:
                r_speed = f"{wall / iw[0]:.2f}×" if iw[0] > 0 else "n/a"
                r_mem = f"{iw[1] / rss:.2f}" if rss > 0 else "n/a"
            rows.append([tool, speed, f"{wall:.2f}", mib(rss), r_speed, r_mem])
        else:
            rows.append([tool, "skipped: " + skipped.get(tool, "not run"), "", "", "", ""])
    header = [
        "tool",
        "packets/s",
        "wall (s)",
        "peak RSS (MiB)",
        "Ironward packets/s ratio (peer wall / Ironward wall)",
        "Ironward memory ratio (Ironward RSS / peer RSS)",
    ]
    table = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|",
    ] + ["| " + " | ".join(r) + " |" for r in rows]

    # Targets of the issue, against ndpiReader.
    nd = best.get("ndpiReader")
    if nd and iw and iw[0] > 0:
        speed_ratio = nd[0] / iw[0]
        speed_t = (
            f"{speed_ratio:.2f}× ndpiReader's packets/s",
            "met" if speed_ratio >= 2 else "not met",
        )
    else:
        speed_t = ("not measured", "not evaluated")
    if nd and iw:
        mem_ratio = iw[1] / nd[1]
        mem_t = (f"{mem_ratio:.2f} of ndpiReader's peak RSS", "met" if mem_ratio <= 0.25 else "not met")
    else:
        mem_t = ("not measured", "not evaluated")
    iw_threads = samples.get("ironward", {}).get("max", {}).get("Threads")
    if iw_threads:
        thr_t = (
            f"at most {iw_threads} thread(s) seen in /proc/PID/status",
            "met" if iw_threads == 1 else "not met",
        )
    else:
        thr_t = ("not sampled", "not evaluated")
    qualifier = " (at this small size only)" if small else ""
    targets = [
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        f"| ≥ 2× ndpiReader's packets/s, every dissector on | {speed_t[0]} | {speed_t[1]}{qualifier if speed_t[1] != 'not evaluated' else ''} |",
        f"| ≤ 1/4 of ndpiReader's peak memory | {mem_t[0]} | {mem_t[1]}{qualifier if mem_t[1] != 'not evaluated' else ''} |",
        f"| single-threaded | {thr_t[0]} | {thr_t[1]} |",
    ]

    # Detection: Ironward with every engine on, against itself and the peers.
    detect = []
    idt = best.get("ironward-detect")
    if idt and iw:
        learning = meta.get("learning", "?")
        detect.append("## With detection\n")
        detect.append(
            f"`ironward analyze --format json --detect --learning {learning} FILE`: every detection "
            f"engine on (policy after learning the first {learning} of capture time; protocol, "
            "malware, anomaly and operational from the first frame), its alerts in the JSON report. "
            f"Same capture, runs interleaved with the others, best of RUNS; load average "
            f"{meta.get('loadavg_start', '?')} before and {meta.get('loadavg_end', '?')} after the "
            f"runs on {meta.get('nproc', '?')} cores, so the wall times and their ratios carry the "
            "machine's noise (the instruction counts below do not):\n"
        )
        hdr = ["run", "packets/s", "wall (s)", "peak RSS (MiB)", "wall / without detection",
               "RSS / without detection"]
        for peer in ("ndpiReader", "tshark"):
            if peer in best:
                hdr += [f"packets/s ratio to {peer} ({peer} wall / wall)", f"memory ratio to {peer} (RSS / {peer} RSS)"]
        detect.append("| " + " | ".join(hdr) + " |")
        detect.append("|" + "|".join([" --- "] + [" ---: "] * (len(hdr) - 1)) + "|")
        for name, (wall, rss, _) in (("Ironward", iw), ("Ironward with detection", idt)):
            p = pps(wall)
            cells = [name, f"{p / 1e6:.2f} M" if p else "below timer resolution", f"{wall:.2f}", mib(rss),
                     f"{wall / iw[0]:.2f}" if iw[0] > 0 else "n/a", f"{rss / iw[1]:.2f}"]
            for peer in ("ndpiReader", "tshark"):
                if peer in best:
                    pw, pr, _ = best[peer]
                    cells += [f"{pw / wall:.2f}×" if wall > 0 else "n/a", f"{rss / pr:.2f}"]
            detect.append("| " + " | ".join(cells) + " |")
        detect.append("")
        ci, cd = meta.get("callgrind:ironward"), meta.get("callgrind:ironward-detect")
        if ci and cd and ci.isdigit() and cd.isdigit() and int(ci) > 0:
            ci, cd = int(ci), int(cd)
            detect.append(
                f"Instructions (callgrind, whole run, independent of the machine's load): "
                f"{ci / 1e9:.2f} G without detection, {cd / 1e9:.2f} G with it: **×{cd / ci:.3f}**, "
                f"{(cd - ci) / frames:.0f} instructions per packet for detection.\n"
            )
        if "detect_alerts" in meta:
            detect.append(
                f"The detection run reported {meta['detect_alerts']} alerts counting "
                f"{meta.get('detect_occurrences', '?')} occurrences (most frequent kinds, distinct "
                f"alerts: {meta.get('detect_kinds', '?').replace(',', ', ')}).\n"
            )

    # Memory split observed in the verification pass.
    mem_rows = [
        "| tool | peak RSS, best timed run (MiB) | sampled: peak RSS (MiB) | max anonymous (MiB) "
        "| max file-backed (MiB) | max file-backed on 100 frames (MiB) | max threads |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for tool in TOOLS:
        s = samples.get(tool)
        if not s:
            continue
        m = s["max"]
        mem_rows.append(
            f"| {tool} | {mib(best[tool][1]) if tool in best else ''} | {mib(m['VmHWM'])} | "
            f"{mib(m['RssAnon'])} | {mib(m['RssFile'])} | "
            f"{mib(samples_startup[tool]['max']['RssFile']) if tool in samples_startup else ''} | {m['Threads']} |"
        )

    runs_rows = ["| tool | run | wall (s) | peak RSS (MiB) |", "| --- | ---: | ---: | ---: |"]
    for tool in TOOLS:
        for wall, rss, run in sorted(runs.get(tool, []), key=lambda x: x[2]):
            runs_rows.append(f"| {tool} | {run} | {wall:.2f} | {mib(rss)} |")

    verify_rows = ["| tool | frames it reports | how |", "| --- | ---: | --- |"]
    for tool in TOOLS:
        if tool in verify:
            seen, how = verify[tool]
            verify_rows.append(f"| {tool} | {human_int(int(seen))} | {how} |")

    versions = [f"- Ironward: {meta.get('ironward_version', '?')}, commit {meta.get('ironward_commit', '?')}, "
                f"built with `cargo build --release` ({meta.get('rustc', '?')})"]
    if "ndpi_version" in meta:
        versions.append(f"- ndpiReader: {meta['ndpi_version']}")
    if "tshark_version" in meta:
        versions.append(f"- tshark: {meta['tshark_version']}")
    versions.append(f"- {meta.get('capinfos_version', 'capinfos')}; {meta.get('time_version', 'GNU time')}")

    ndpi_self = {k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("ndpi_self:")}
    iw_wall = iw[0] if iw else 0
    resolution_note = ""
    if iw and iw_wall < 1.0:
        resolution_note = (
            f" `%e` has a resolution of 10 ms: Ironward's {iw_wall:.2f} s is known to "
            f"±{0.005 / max(iw_wall, 0.005) * 100:.0f}%, and so are its ratios."
        )

    # The hand-written notes survive regeneration.
    notes = None
    if os.path.exists(args.doc):
        with open(args.doc) as f:
            old = f.read()
        i = old.find(NOTES_MARKER)
        if i >= 0:
            notes = old[i:]
    if notes is None:
        notes = (
            f"{NOTES_MARKER}\n## Notes\n\n"
            "_Hand-written notes go below the marker above; `scripts/bench` keeps everything from "
            "the marker on when it regenerates this file._\n"
        )

    L = []
    L.append("# Performance\n")
    L.append(
        "_Generated by `scripts/bench` (everything above the notes marker at the end is "
        "rewritten on every run)._\n"
    )
    if small:
        L.append(
            f"> **Small validation run, not the benchmark.** PACKETS={packets_req}, RUNS={n_runs}, "
            f"on a shared, busy machine (load average {meta.get('loadavg_start', '?')} at the start "
            f"on {meta.get('nproc', '?')} cores). It only checks the script; at this size fixed "
            "start-up costs weigh heavily. The full run (`scripts/bench` with the defaults, 1 M "
            "packets, best of 3, on a quiet machine) overwrites this file.\n"
        )
    L.append(f"Run {meta.get('date', '?')}.\n")
    L.append("## Results\n")
    L.append(
        f"Capture of {human_int(frames)} packets ({int(meta['file_bytes']) / 1e6:.1f} MB). "
        f"Best wall time of {n_runs} run(s) per tool and the peak RSS of that run; packets/s = "
        f"packets / wall time.{resolution_note}\n"
    )
    L += table
    L.append("")
    L.append("### Targets of the issue\n")
    L.append("Ironward, single-threaded, against ndpiReader on the same capture:\n")
    L += targets
    L.append("")
    L += detect
    L.append("## What was measured, and how\n")
    L.append("### Machine\n")
    L.append(f"- {meta.get('nproc', '?')} cores (`nproc`), {meta.get('cpu', '?')}, {meta.get('mem', '?')} memory")
    L.append(f"- {meta.get('kernel', '?')}, {meta.get('os', '?')}")
    L.append(
        f"- load average (1, 5, 15 min) {meta.get('loadavg_start', '?')} before the runs, "
        f"{meta.get('loadavg_end', '?')} after them"
    )
    L.append("")
    L.append("### Tools\n")
    L += versions
    L.append("")
    L.append("### Capture\n")
    L.append(
        f"`ironward synth scale --from {meta.get('inputs_dir', '?')} --packets {packets_req}` "
        f"repeats the Ethernet frames of the {meta.get('inputs_n', '?')} real captures there "
        f"({int(meta.get('inputs_bytes', 0)) / 1e6:.1f} MB) in whole passes, rewriting MAC and IPv4 "
        "addresses on every pass so that each pass brings new devices and flows (checksums stay "
        "valid). Result: a classic pcap (Ethernet link type) of "
        f"{human_int(frames)} frames (`capinfos -c -M`), {human_int(int(meta['file_bytes']))} bytes. "
        "It lives outside the repository (`BENCH_DIR`) and is reused while the packet count and "
        "the inputs are unchanged.\n"
    )
    L.append("### Commands\n")
    L.append(
        "After `cat FILE > /dev/null` (page cache warm), each command runs RUNS times, the tools "
        "round-robin, each under `/usr/bin/time -f '%e %M'` (wall seconds, peak RSS in KiB):\n"
    )
    L.append("```sh")
    L.append("ironward analyze --format json FILE > /dev/null")
    L.append(f"ironward analyze --format json --detect --learning {meta.get('learning', '115h')} FILE > /dev/null")
    L.append("ndpiReader -i FILE -q          # prints nothing with -q, exit status 0")
    L.append("tshark -r FILE -q -z conv,tcp > /dev/null")
    L.append("```\n")
    L.append(
        "Before the timed runs each tool makes one untimed pass, which also loads its binary and "
        "libraries into the page cache, to check that it read every frame of the capture (each "
        "tool's own count against `capinfos`):\n"
    )
    L += verify_rows
    L.append("")
    L.append("All timed runs:\n")
    L += runs_rows
    L.append("")
    L.append("## Fairness\n")
    L.append(
        "- **Different work.** ndpiReader runs nDPI's deep packet inspection on every flow (up to "
        "80 TCP / 24 UDP packets per flow by default, then it only counts) and keeps per-flow "
        "statistics. Ironward decodes link to transport layers, reassembles IP fragments and "
        "TCP streams, tracks flows, runs every application dissector on every flow it "
        "recognises (DHCP, DNS/mDNS/NBNS, SSDP/UPnP, LLDP/CDP, SNMP, HTTP, TLS with JA3/JA4 and "
        "certificates, SSH, Telnet, RFB, MQTT, SMB/NTLMSSP, RDP, FTP, NTP, ..., each until it has what it needs, "
        "not a fixed number of packets), classifies every device with its rules and writes "
        "the full JSON report (devices with every fact, connections, events). tshark dissects every layer of every frame with all its "
        "dissectors (and keeps per-frame state), far more work than either; it is a reference "
        "point, not a peer on equal terms."
    )
    L.append(
        "- **Threads.** Ironward's `analyze` runs on one thread (the sampled thread count below). "
        "ndpiReader reads a pcap file with one packet-processing thread beside its main thread "
        "(`-n` is ignored for files); tshark dissects on one thread (a second, helper thread may "
        "show in the samples). None of the three uses more than one core for the packet work."
    )
    L.append(
        "- **Start-up is included** in every wall time and peak RSS: loading nDPI's protocol "
        "tables, tshark's registration of all its dissectors (a large fixed cost), Ironward's own "
        "set-up. The same commands on the first 100 frames of the capture (`editcap -r FILE "
        "startup.pcap 1-100`, best of RUNS) show that floor:\n"
    )
    L.append("  | tool | wall (s), 100 frames | peak RSS (MiB), 100 frames |")
    L.append("  | --- | ---: | ---: |")
    for tool in TOOLS:
        if tool in best_startup:
            w, r, _ = best_startup[tool]
            L.append(f"  | {tool} | {w:.2f} | {mib(r)} |")
    L.append("")
    if ndpi_self:
        L.append(
            f"  ndpiReader also reports its own split (verification pass, without `-q`): setup "
            f"{ndpi_self.get('Setup Time', '?')}, packet processing "
            f"{ndpi_self.get('Packet Processing Time', '?')} for {ndpi_self.get('Unique flows', '?')} "
            f"flows, i.e. {ndpi_self.get('nDPI throughput', '?')} on packet processing alone; nDPI's "
            f"own peak memory {ndpi_self.get('Peak Memory', '?')}.\n"
        )
    L.append(
        "- **Output.** Ironward writes its full JSON report (to /dev/null), tshark its TCP "
        "conversation table (to /dev/null), ndpiReader nothing (`-q`)."
    )
    L.append(
        "- **Memory.** Ironward memory-maps the capture, so some file pages count in its RSS; see [Memory](#memory).\n"
    )
    L.append("## Memory\n")
    L.append(
        "Ironward memory-maps the capture, so file pages it "
        "touches count in its RSS; it hands the pages it has read back to the kernel every 8 MiB "
        "(`MADV_DONTNEED`), so at most a window of the file is resident in the process. ndpiReader "
        "(libpcap) and tshark read the file with buffered reads into their own memory, so the file "
        "itself does not show in their RSS. Each tool's RSS also counts the pages of its own "
        "binary and shared libraries that it touched (large for tshark's libwireshark). The split "
        "sampled from `/proc/PID/status` (every 2 ms) during the verification pass (and during one "
        "pass over the 100-frame capture):\n"
    )
    L += mem_rows
    L.append("")
    obs = ""
    si, ss = samples.get("ironward"), samples_startup.get("ironward")
    if si and ss and si.get("at_peak"):
        base = ss["max"]["RssFile"]
        pk = si["at_peak"]
        obs = (
            f" Observed here: at its largest sampled RSS ({mib(pk['VmRSS'])} MiB) Ironward held "
            f"{mib(pk['RssAnon'])} MiB of heap and {mib(pk['RssFile'])} MiB of file pages; its "
            f"binary and libraries account for about {mib(base)} MiB of file pages (the 100-frame "
            f"run), so about {mib(max(pk['RssFile'] - base, 0))} MiB of the capture was mapped at "
            f"that moment. The mapped window of the capture peaked at about "
            f"{mib(max(si['max']['RssFile'] - base, 0))} MiB at some point of the run."
        )
    L.append(
        "File-backed pages are binary and library pages, plus, for Ironward, the mapped window of "
        "the capture; anonymous pages are heap and stacks. Sampled maxima can miss a short peak, so "
        "they may stay below the kernel's peak RSS. The memory target is judged on the whole peak "
        f"RSS of the timed run, file pages included, which does not favour Ironward.{obs}\n"
    )
    L.append("## How to reproduce\n")
    L.append("```sh")
    L.append("scripts/bench                        # 1 M packets, best of 3; as root installs missing peers")
    L.append("PACKETS=100000 RUNS=1 scripts/bench  # quick check of the script")
    L.append("```\n")
    L.append(
        "- `PACKETS` (default 1000000): packets to generate, at least (whole passes over the inputs).\n"
        "- `RUNS` (default 3): timed runs per tool; the best is kept.\n"
        "- `LEARNING` (default 115h): learning period of the run with detection.\n"
        "- `CALLGRIND` (default 1 when valgrind is installed): count Ironward's instructions with "
        "and without detection under callgrind (a few minutes more); 0 skips it.\n"
        "- `BENCH_DIR` (default `/tmp/ironward-bench`): capture and raw results "
        "(`results/`: per-run times, verification output, memory samples); never inside the repository.\n"
        "- `IRONWARD_DATA` (default `../shared/data`): data directory whose `pcaps/` holds the real captures.\n"
        "\nAs root the script installs missing Debian packages (`libndpi-bin`, `tshark`, `time`) "
        "non-interactively; otherwise a missing peer is skipped with the reason. Run it on a quiet "
        "machine: the load average is recorded above.\n"
    )
    doc = "\n".join(L) + "\n" + notes
    with open(args.doc + ".tmp", "w") as f:
        f.write(doc)
    os.replace(args.doc + ".tmp", args.doc)

    print()
    print(f"{human_int(frames)} packets, {int(meta['file_bytes']) / 1e6:.1f} MB, best of {n_runs}"
          + ("  [SMALL VALIDATION RUN]" if small else ""))
    short = ["tool", "packets/s", "wall (s)", "peak RSS (MiB)", "packets/s ratio", "memory ratio"]
    measured = [r for r in rows if not r[1].startswith("skipped")]
    widths = [max(len(r[i]) for r in [short] + (rows if i == 0 else measured)) for i in range(6)]
    for r in [short] + rows:
        if r[1].startswith("skipped"):
            print(f"{r[0].ljust(widths[0])}  {r[1]}")
            continue
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()
    for line in targets[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        print(f"target {cells[0]}: {cells[1]} -> {cells[2]}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--json", required=True)
    s.add_argument("--stdout", required=True)
    s.add_argument("--stderr", required=True)
    s.add_argument("cmd", nargs="+")
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--doc", required=True)
    args = ap.parse_args()
    return sample(args) if args.what == "sample" else report(args)


if __name__ == "__main__":
    sys.exit(main())
