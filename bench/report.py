#!/usr/bin/env python3
"""report.py: bench/RESULTS.md from what bench/run measured.

Reads the run directory (facts, throughput.tsv, eom.tsv, ack.txt, rss.tsv,
ctlbench.txt, msgs/SIZE/MANIFEST) and prints the Markdown report: every
figure in it comes from those files; nothing is typed in.  Targets are
shown next to the figures; none is asserted.

Usage: report.py RUN_DIR >RESULTS.md
       report.py --quote RESULTS.md README.md
The second form copies the run's date and targets table from RESULTS.md
into README.md, between the lines "<!-- bench:targets -->" and
"<!-- /bench:targets -->".
"""
import math
import os
import re
import statistics
import sys

CONFIG = {"A": "Postfix alone", "B": "null milter", "C": "journey-milter"}
# The measurements of a throughput round, in their order: (config, socket).
MEASURED = (("A", "-"), ("B", "unix"), ("B", "inet"), ("C", "unix"),
            ("C", "inet"))
MILTERS = MEASURED[1:]
T_RATIO = 0.90
T_EOM_P99_MS = 2.0
T_ACK_P99_S = 1.0
T_RSS_MB = 32.0
T_CLASSIFY = 20000
EOM_FIELD = re.compile(r"\beom=([0-9.]+)ms\b")
# milterclient.py's untimed first messages of each eomstats run.
EOM_WARMUP = 20
CTL_RATE = re.compile(r"messages/s per core\s+([0-9.]+)")
CTL_MB = re.compile(r"MB/s per core\s+([0-9.]+)")
CTL_HEAD = re.compile(r"^== (\S+) jit (on|off) run \d+$", re.M)


def ctl_runs(text):
    """{(set, jit): [(msg/s, MB/s), ...]} from the runs in ctlbench.txt."""
    out = {}
    heads = list(CTL_HEAD.finditer(text))
    for i, h in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[h.end():end]
        r, mb = CTL_RATE.search(body), CTL_MB.search(body)
        if r and mb:
            out.setdefault((h.group(1), h.group(2)), []).append(
                (float(r.group(1)), float(mb.group(1))))
    return out


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [ln.rstrip("\n") for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def size_name(size):
    size = int(size)
    return "%d KB" % (size // 1024) if size % 1024 == 0 else "%d B" % size


def acks_timed(ack):
    """ackload.py's line when acknowledgements came and were matched."""
    return len(ack) == 13 and ack[0] == "sent" and ack[3] == "acks" and \
        ack[5] == "matched"


def acks_none(ack):
    """ackload.py's line when no acknowledgement came at all."""
    return len(ack) == 5 and ack[0] == "sent" and ack[3] == "acks" and \
        ack[4] == "0"


def percentile(values, q):
    """Nearest rank, as milterclient.py and ackload.py compute it."""
    v = sorted(values)
    return v[max(1, math.ceil(q * len(v))) - 1]


def met(ok):
    return "met" if ok else "**not met**"


def main():
    run = sys.argv[1]
    facts = dict(ln.split("=", 1) for ln in read_lines(os.path.join(run, "facts")))
    sizes = facts["sizes"].split()
    out = []
    w = out.append

    # Throughput: (size, cfg, sock) -> list of (accepted/s, delivered/s).
    tp = {}
    # CPU milliseconds per message: (size, cfg, sock) -> list of
    # (the milter's, the whole machine's).
    cpu = {}
    outbox = {}
    failed = []
    for ln in read_lines(os.path.join(run, "throughput.tsv")):
        f = ln.split("\t")
        rnd, size, cfg, sock, msgs, acc, dlv, ob, status = f[:9]
        key = (size, cfg, sock)
        if status != "ok":
            failed.append("round %s, %s, %s %s: %s" % (
                rnd, size_name(size), CONFIG[cfg], sock, status))
            continue
        tp.setdefault(key, []).append((int(msgs) / float(acc),
                                       int(msgs) / float(dlv)))
        if len(f) >= 12:
            ms = 1000.0 / int(f[11]) / int(msgs)
            cpu.setdefault(key, []).append((int(f[9]) * ms, int(f[10]) * ms))
        if cfg == "C":
            crm, chat, acks = (int(x) for x in ob.split("/"))
            t = outbox.setdefault(size, [0, 0, 0, 0])
            t[0] += int(msgs)
            t[1] += crm
            t[2] += chat
            t[3] += acks

    def med(key, i):
        v = [x[i] for x in tp.get(key, [])]
        return statistics.median(v) if v else None

    eom = {}
    for ln in read_lines(os.path.join(run, "eom.tsv")):
        size, cfg, sock, res = ln.split("\t")
        f = res.split()
        eom[(size, cfg, sock)] = f if len(f) == 5 else None

    # The daemon's own end-of-message times, if its log lines carry them.
    eomd = {}
    logs = {}
    for ln in read_lines(os.path.join(run, "eomd.tsv")):
        phase, size, sock, first, last = ln.split("\t")
        if sock not in logs:
            logs[sock] = read_lines(os.path.join(run, "journey-%s.log" % sock))
        values = [float(m.group(1)) for m in
                  (EOM_FIELD.search(line)
                   for line in logs[sock][int(first):int(last)]) if m]
        if phase == "client":
            values = values[EOM_WARMUP:]
        if values:
            eomd.setdefault((phase, size, sock), []).extend(values)

    ack = (read_lines(os.path.join(run, "ack.txt")) or ["failed"])[0].split()
    rss = {}
    for ln in read_lines(os.path.join(run, "rss.tsv")):
        f = ln.split("\t")
        cfg, idle, peak, sess, msgs, status = f[:6]
        anon, files = (f[6], f[7]) if len(f) >= 8 else ("", "")
        rss[cfg] = (idle, peak, sess, msgs, status, anon, files)
    ctl = None
    if os.path.exists(os.path.join(run, "ctlbench.txt")):
        with open(os.path.join(run, "ctlbench.txt"), encoding="utf-8",
                  errors="replace") as f:
            ctl = f.read().rstrip()

    w("# journey-milter benchmark results")
    w("")
    w("Written by `make bench` (bench/run) on %s; every figure below comes "
      "from that run and the file is overwritten by the next one. "
      "bench/README.md says how the figures are measured." % facts["date"])
    w("")
    busy = float(facts.get("load1", "0") or 0)
    if busy > float(facts["nproc"]) / 2:
        w("**The machine was busy with other work when this run started** "
          "(1-minute load average %.1f on %s CPUs): differences between "
          "configurations no larger than the spread between rounds are "
          "noise." % (busy, facts["nproc"]))
        w("")
    w("## Machine and versions")
    w("")
    w("| | |")
    w("| --- | --- |")
    w("| CPUs (nproc) | %s |" % facts["nproc"])
    w("| CPU model | %s |" % facts["cpu"])
    w("| memory | %s |" % facts["mem"])
    w("| kernel | %s |" % facts["kernel"])
    w("| load average (1, 5, 15 min) | %s |" % facts.get("loadavg", "?"))
    w("| Postfix mail_version | %s |" % facts["postfix"])
    w("| journey-milter -V | %s |" % facts["journey"])
    w("| source tree | %s |" % facts.get("source", "unknown"))
    w("| load and sinks | Postfix smtp-source and smtp-sink; %s |" % facts["python"])
    w("")
    w("## Parameters")
    w("")
    w("- Rounds: %s, interleaved (A, B unix, B inet, C unix, C inet for each "
      "size, then the next round); each figure is the median of the rounds." %
      facts["rounds"])
    w("- Load per measurement: %s, over %s concurrent SMTP sessions, one "
      "message per session, all to the watched address support@bench.example." %
      (", ".join("%s messages of %s" % (facts["msgs_%s" % s], size_name(s))
                 for s in sizes), facts["sessions"]))
    for s in sizes:
        names = [ln.split()[0] for ln in
                 read_lines(os.path.join(run, "msgs", s, "MANIFEST"))]
        lens = [os.path.getsize(os.path.join(run, "msgs", s, n)) for n in names]
        w("- %s messages (%d files, %d to %d bytes, one customer each): %s." % (
            size_name(s), len(names), min(lens), max(lens),
            ", ".join("`%s`" % n.rsplit(".", 1)[0] for n in names)))
    w("- End-of-message timing: %s messages per size and socket over one "
      "milter connection." % facts["eom_n"])
    w("- Acknowledgements: %s messages at %s messages/s, one customer each." %
      (facts["ack_n"], facts["ack_rate"]))
    w("- Peak RSS: %s messages of %s over %s concurrent sessions, fresh "
      "daemons." % (facts["rss_msgs"], size_name(sizes[-1]),
                    facts["rss_sessions"]))
    w("")

    # ---------------------------------------------------------- summary
    w("## Targets")
    w("")
    w("Shown next to the figures; no test asserts them.")
    w("")
    w("| target | measured | |")
    w("| --- | --- | --- |")
    for s in sizes:
        parts, oks = [], []
        for sock in ("unix", "inet"):
            b, c = med((s, "B", sock), 1), med((s, "C", sock), 1)
            if b and c:
                parts.append("%s %.2f" % (sock, c / b))
                oks.append(c / b >= T_RATIO)
            else:
                parts.append("%s n/a" % sock)
                oks.append(False)
        w("| journey-milter >= %.2f x null milter messages/s, %s | %s | %s |" %
          (T_RATIO, size_name(s), ", ".join(parts), met(all(oks))))
    worst = None
    for (s, cfg, sock), f in eom.items():
        if cfg == "C" and f is not None:
            if worst is None or float(f[2]) > worst[0]:
                worst = (float(f[2]), s, sock)
    for (phase, s, sock), v in sorted(eomd.items()):
        if phase == "load":
            p99 = percentile(v, 0.99)
            w("| end-of-message p99 < %.0f ms (daemon's own, under the %s "
              "load, %s) | %.3f ms | %s |" % (T_EOM_P99_MS, size_name(s),
                                             sock, p99,
                                             met(p99 < T_EOM_P99_MS)))
    for (phase, s, sock), v in sorted(eomd.items()):
        if phase == "rate":
            p99 = percentile(v, 0.99)
            w("| end-of-message p99 < %.0f ms (daemon's own, %s at %s msg/s "
              "through Postfix, %s) | %.3f ms | %s |" % (
                  T_EOM_P99_MS, size_name(s), facts["ack_rate"], sock, p99,
                  met(p99 < T_EOM_P99_MS)))
    if worst:
        w("| end-of-message p99 < %.0f ms (client-side round trip) | %.3f ms "
          "(worst: %s, %s) | %s |" % (T_EOM_P99_MS, worst[0],
                                     size_name(worst[1]), worst[2],
                                     met(worst[0] < T_EOM_P99_MS)))
    else:
        w("| end-of-message p99 < %.0f ms | not measured | |" % T_EOM_P99_MS)
    if acks_timed(ack):
        p99 = float(ack[10])
        w("| acknowledgement in the sink p99 < %.0f s at %s msg/s | %.3f s | "
          "%s |" % (T_ACK_P99_S, facts["ack_rate"], p99, met(p99 < T_ACK_P99_S)))
    elif acks_none(ack):
        w("| acknowledgement in the sink p99 < %.0f s at %s msg/s | "
          "acknowledgements not sent by this build | |" %
          (T_ACK_P99_S, facts["ack_rate"]))
    else:
        w("| acknowledgement in the sink p99 < %.0f s at %s msg/s | %s | |" %
          (T_ACK_P99_S, facts["ack_rate"], " ".join(ack)))
    if "C" in rss and rss["C"][4] == "ok":
        mb = int(rss["C"][1]) / 1024.0
        w("| peak RSS < %.0f MB with %s sessions | %.1f MB | %s |" %
          (T_RSS_MB, rss["C"][2], mb, met(mb < T_RSS_MB)))
    else:
        w("| peak RSS < %.0f MB with %s sessions | not measured | |" %
          (T_RSS_MB, facts["rss_sessions"]))
    runs = ctl_runs(ctl) if ctl is not None else {}
    small_on = runs.get((str(sizes[0]), "on"))
    if small_on:
        m = median([r[0] for r in small_on])
        w("| classification >= %d msg/s per core on 4 KB | %.0f msg/s per "
          "core (median of %d runs, JIT on) | %s |" % (
              T_CLASSIFY, m, len(small_on), met(m >= T_CLASSIFY)))
    else:
        w("| classification >= %d msg/s per core on 4 KB | %s | |" % (
            T_CLASSIFY, "see below" if ctl is not None else
            "classification micro-benchmark: not available in this build"))
    w("")

    # ------------------------------------------------------- throughput
    w("## Throughput")
    w("")
    w("Delivered: from the first connection until the sink had every message "
      "and Postfix's queue was empty. Accepted: until every smtp-source had "
      "its last 250 (the rate the milter can slow down directly).")
    w("")
    w("| size | configuration | socket | delivered msg/s | accepted msg/s | "
      "delivered, per round | vs Postfix alone |")
    w("| --- | --- | --- | ---: | ---: | --- | ---: |")
    for s in sizes:
        base = med((s, "A", "-"), 1)
        for cfg, sock in MEASURED:
            key = (s, cfg, sock)
            d, a = med(key, 1), med(key, 0)
            if d is None:
                w("| %s | %s | %s | failed | | | |" % (size_name(s),
                                                     CONFIG[cfg], sock))
                continue
            w("| %s | %s | %s | %.1f | %.1f | %s | %s |" % (
                size_name(s), CONFIG[cfg], sock, d, a,
                " ".join("%.1f" % x[1] for x in tp[key]),
                "%.2f" % (d / base) if base else ""))
    w("")
    w("| size | socket | journey-milter / null milter, delivered | "
      "accepted | target |")
    w("| --- | --- | ---: | ---: | --- |")
    for s in sizes:
        for sock in ("unix", "inet"):
            bd, cd = med((s, "B", sock), 1), med((s, "C", sock), 1)
            ba, ca = med((s, "B", sock), 0), med((s, "C", sock), 0)
            if bd and cd and ba and ca:
                w("| %s | %s | %.2f | %.2f | >= %.2f: %s |" % (
                    size_name(s), sock, cd / bd, ca / ba, T_RATIO,
                    met(cd / bd >= T_RATIO)))
            else:
                w("| %s | %s | n/a | n/a | |" % (size_name(s), sock))
    w("")
    if outbox:
        w("What journey-milter's outbox delivered during its throughput "
          "measurements (all rounds, both sockets):")
        w("")
        w("| size | messages | CRM webhooks | chat escalations | "
          "acknowledgements |")
        w("| --- | ---: | ---: | ---: | ---: |")
        for s in sizes:
            if s in outbox:
                t = outbox[s]
                w("| %s | %d | %d | %d | %d |" % (size_name(s), t[0], t[1],
                                                  t[2], t[3]))
        w("")
    if failed:
        w("Measurements left out: " + "; ".join(failed) + ".")
        w("")

    if cpu:
        w("### CPU time per message")
        w("")
        w("Read from /proc during the same measurements (median of the "
          "rounds): the milter process's user and system time (for "
          "journey-milter, until its outbox had delivered everything), and "
          "the whole machine's (Postfix, the load, the sinks and the milter; "
          "from the first connection until the queue was empty). When the "
          "machine's CPUs are the limit, the rate is about their number "
          "divided by the machine's CPU time per message, and the ratio to "
          "the null milter about the inverse ratio of these times: it tells "
          "what the milter's work costs on this machine, and the milter's "
          "own column what it would cost on another.")
        w("")
        w("| size | configuration | socket | milter ms/msg | machine ms/msg "
          "| machine, per round |")
        w("| --- | --- | --- | ---: | ---: | --- |")
        for s in sizes:
            for cfg, sock in MEASURED:
                v = cpu.get((s, cfg, sock))
                if not v:
                    continue
                w("| %s | %s | %s | %s | %.3f | %s |" % (
                    size_name(s), CONFIG[cfg], sock,
                    "-" if cfg == "A" else
                    "%.3f" % statistics.median(x[0] for x in v),
                    statistics.median(x[1] for x in v),
                    " ".join("%.3f" % x[1] for x in v)))
        w("")

    # -------------------------------------------------------------- EOM
    w("## End-of-message latency")
    w("")
    w("Client-side round trip, measured from outside by "
      "tests/e2e/milterclient.py (eomstats): from sending end-of-message to "
      "reading the final reply, header changes included, over one connection "
      "to the running daemon, with no Postfix in between. It includes the "
      "socket and the Python client's own time.")
    w("")
    w("| size | milter | socket | messages | p50 ms | p99 ms | max ms | "
      "answered with changes |")
    w("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for s in sizes:
        for cfg, sock in MILTERS:
            f = eom.get((s, cfg, sock))
            if f is None:
                w("| %s | %s | %s | failed | | | | |" % (size_name(s),
                                                       CONFIG[cfg], sock))
            else:
                w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    size_name(s), CONFIG[cfg], sock, f[0], f[1], f[2], f[3],
                    f[4]))
    w("")

    w("The daemon's own end-of-message time, from the eom= field of its "
      "log line per message: under the throughput load through Postfix (all "
      "rounds; the machine is saturated, so this is mostly waiting for a "
      "CPU), at a steady %s messages/s through Postfix (the "
      "acknowledgement phase below), and during the client's timing above "
      "(its %d untimed first messages left out)." % (facts["ack_rate"],
                                                     EOM_WARMUP))
    w("")
    if eomd:
        w("| phase | size | socket | messages | p50 ms | p99 ms | max ms |")
        w("| --- | --- | --- | ---: | ---: | ---: | ---: |")
        names = {"load": "throughput load",
                 "rate": "%s msg/s" % facts["ack_rate"],
                 "client": "client timing"}
        for phase in ("load", "rate", "client"):
            for s in sizes:
                for sock in ("unix", "inet"):
                    v = eomd.get((phase, s, sock))
                    if v:
                        w("| %s | %s | %s | %d | %.3f | %.3f | %.3f |" % (
                            names[phase], size_name(s), sock, len(v),
                            percentile(v, 0.5), percentile(v, 0.99), max(v)))
    else:
        w("This build's journey-milter does not log its end-of-message time "
          "(no eom= field in its log lines).")
    w("")

    # ------------------------------------------------------------- acks
    w("## Acknowledgements")
    w("")
    if acks_timed(ack):
        w("%s messages sent at %s messages/s (achieved %s/s); %s "
          "acknowledgements reached the sink, %s matched to their message by "
          "In-Reply-To or References. From Postfix's 250 to the end of data "
          "to the acknowledgement's arrival in the sink: p50 %s s, p99 %s s, "
          "max %s s." % (ack[1], facts["ack_rate"], ack[2], ack[4], ack[6],
                         ack[8], ack[10], ack[12]))
    elif acks_none(ack):
        w("acknowledgements not sent by this build: none reached the sink "
          "within 20 s of the last of %s messages sent at %s/s to the watched "
          "address." % (ack[1], facts["ack_rate"]))
    else:
        w("Not measured: `%s`." % " ".join(ack))
    w("")

    # -------------------------------------------------------------- RSS
    w("## Peak memory")
    w("")
    w("VmHWM from /proc/PID/status of a freshly started daemon, before and "
      "after the load; and what its resident set was made of at start "
      "(RssAnon: its own memory; RssFile: pages of the shared libraries and "
      "the program, shared with every other process that maps them).")
    w("")
    w("| milter | sessions | messages | at start | peak | at start: anonymous "
      "| at start: files |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for cfg in ("C", "B"):
        if cfg in rss:
            idle, peak, sess, msgs, status, anon, files = rss[cfg]
            w("| %s | %s | %s | %.1f MB | %s | %s | %s |" % (
                CONFIG[cfg], sess, msgs, int(idle or 0) / 1024.0,
                "%.1f MB" % (int(peak) / 1024.0) if status == "ok" and peak
                else status,
                "%.1f MB" % (int(anon) / 1024.0) if anon else "-",
                "%.1f MB" % (int(files) / 1024.0) if files else "-"))
    w("")

    # --------------------------------------------------------- classify
    w("## Classification micro-benchmark")
    w("")
    if ctl is None:
        w("classification micro-benchmark: not available in this build "
          "(`journeyctl bench --help` failed).")
    else:
        w("`journeyctl bench` (MIME to text and the shipped rules, one "
          "thread, CPU time), each run a process of its own, on the %s "
          "benchmark messages and on the test corpus (tests/corpus: the "
          "English, Turkish and Persian customer emails the accuracy tests "
          "use), with PCRE2's JIT and without:" % size_name(sizes[0]))
        w("")
        w("| messages | JIT | msg/s per core, median | MB/s per core, median "
          "| msg/s per core, each run |")
        w("| --- | --- | ---: | ---: | --- |")
        for (name, jit), v in sorted(runs.items(),
                                     key=lambda kv: (kv[0][0] == "corpus",
                                                     kv[0][1] == "off")):
            label = "tests/corpus" if name == "corpus" else \
                size_name(int(name)) + " benchmark mail"
            w("| %s | %s | %.0f | %.2f | %s |" % (
                label, jit, median([r[0] for r in v]),
                median([r[1] for r in v]),
                " ".join("%.0f" % r[0] for r in v)))
        w("")
        w("The last run's own output:")
        w("")
        w("```")
        w(ctl.split("== ")[-1].split("\n", 1)[-1].rstrip())
        w("```")
    w("")

    w("## Notes")
    w("")
    w("- journey-milter adds X-Journey-* headers to every watched message "
      "(and removes forged ones); the null milter returns accept and changes "
      "nothing. The difference in the tables is the whole cost of "
      "journey-milter's work, header changes included.")
    w("- Every message is to a watched address: the worst case, where every "
      "message is parsed and classified. Unwatched mail is accepted at DATA.")
    w("- Postfix's cleanup adds a unique Message-ID to each message, so each "
      "is a thread of its own; the senders are one per message file. "
      "journey-milter runs with ack_interval = 0 and high rate limits so "
      "that the acknowledgement and escalation rules, not the limits, decide.")
    w("- The load generator, the sinks, the HTTP receiver and Postfix share "
      "the machine's %s CPUs with the milter." % facts["nproc"])
    return "\n".join(out) + "\n"


def quote(results, readme):
    """The README's quoted figures, replaced by RESULTS.md's."""
    with open(results, encoding="utf-8") as f:
        text = f.read()
    when = re.search(r"Written by `make bench` \(bench/run\) on ([^;]+);",
                     text)
    table = re.search(r"^## Targets\n.*?\n(\| target .*?)\n\n", text,
                      re.S | re.M)
    if not when or not table:
        sys.exit("report.py: %s has no date or targets table" % results)
    with open(readme, encoding="utf-8") as f:
        old = f.read()
    begin, end = "<!-- bench:targets -->\n", "<!-- /bench:targets -->\n"
    a, b = old.find(begin), old.find(end)
    if a < 0 or b < a:
        sys.exit("report.py: %s has no bench:targets markers" % readme)
    new = (old[:a + len(begin)] + "The run of %s gave:\n\n%s\n" %
           (when.group(1), table.group(1)) + old[b:])
    with open(readme + ".tmp", "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(readme + ".tmp", readme)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--quote":
        quote(sys.argv[2], sys.argv[3])
    else:
        sys.stdout.write(main())
