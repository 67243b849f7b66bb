#!/usr/bin/env python3
"""ackload.py: time from Postfix's acceptance to the acknowledgement.

Sends N messages at RATE per second over one SMTP connection to the private
Postfix, each from a customer of its own with a Message-ID of its own (the
bench message FILEs in turn, From rewritten), and notes when Postfix
answered 250 to the end of each message's data: that reply is Postfix's
acceptance, after the milter's end-of-message.  Then it watches DUMP_DIR,
where smtp-sink -d writes one file per acknowledgement received, and
matches each acknowledgement to its message by In-Reply-To (or
References).  The arrival time is the file's modification time, written
as the sink took the final ".".  Both clocks are this machine's.

Prints one line:
  "sent S RATE acks A matched M p50 P p99 P max P"   (seconds), or
  "sent S RATE acks 0" when nothing arrived within FIRST_WAIT seconds.

Usage: ackload.py PORT DUMP_DIR N RATE FIRST_WAIT LAST_WAIT FILE...
"""
import math
import os
import re
import smtplib
import sys
import time


def percentile(values, q):
    k = max(1, math.ceil(q * len(values)))
    return values[k - 1]


def load(path, i):
    with open(path, "rb") as f:
        raw = f.read().replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    sender = "ack-%05d@customer.example" % i
    msgid = "<ack-%05d.%d@customer.example>" % (i, os.getpid())
    lines = [ln for ln in head.split(b"\n")
             if not ln.lower().startswith(b"from:")]
    lines.insert(0, b"From: Customer <" + sender.encode() + b">")
    lines.append(b"Message-ID: " + msgid.encode())
    return sender, msgid, b"\r\n".join(lines) + b"\r\n\r\n" + \
        body.replace(b"\n", b"\r\n")


IDS = re.compile(rb"^(?:In-Reply-To|References):(.*(?:\n[ \t].*)*)",
                 re.IGNORECASE | re.MULTILINE)


def scan(dump, seen, sent):
    """Adds newly complete acknowledgement files to SEEN: name -> (mtime, id)."""
    for name in os.listdir(dump):
        if name in seen:
            continue
        path = os.path.join(dump, name)
        try:
            st = os.stat(path)
            with open(path, "rb") as f:
                data = f.read(256 * 1024)
        except OSError:
            continue
        if time.time() - st.st_mtime < 0.2:
            continue            # perhaps still being written; next pass
        head = data.split(b"\n\n", 2)
        match = None
        for m in IDS.finditer(b"\n".join(head[:2])):
            for mid in re.findall(rb"<[^>]+>", m.group(1)):
                if mid.decode("ascii", "replace") in sent:
                    match = mid.decode("ascii")
        seen[name] = (st.st_mtime, match)


def main():
    if len(sys.argv) < 8:
        raise SystemExit(__doc__)
    port, dump = int(sys.argv[1]), sys.argv[2]
    n, rate = int(sys.argv[3]), float(sys.argv[4])
    first_wait, last_wait = float(sys.argv[5]), float(sys.argv[6])
    files = sys.argv[7:]
    sent = {}
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=30)
    smtp.ehlo("client.customer.example")
    t0 = time.time()
    for i in range(n):
        due = t0 + i / rate
        now = time.time()
        if due > now:
            time.sleep(due - now)
        sender, msgid, data = load(files[i % len(files)], i)
        smtp.sendmail(sender, ["support@bench.example"], data)
        sent[msgid] = time.time()
    elapsed = time.time() - t0
    smtp.quit()
    achieved = n / elapsed if elapsed > 0 else 0.0

    seen = {}
    last_send = time.time()
    deadline = last_send + first_wait
    while time.time() < deadline:
        scan(dump, seen, sent)
        if seen:
            break
        time.sleep(0.2)
    if not seen:
        print("sent %d %.1f acks 0" % (n, achieved))
        return
    # Acknowledgements are coming: wait for the rest, or until none has
    # come for LAST_WAIT seconds.
    quiet_since = time.time()
    count = len(seen)
    while time.time() - quiet_since < last_wait:
        scan(dump, seen, sent)
        if sum(1 for v in seen.values() if v[1]) >= n:
            break
        if len(seen) != count:
            count = len(seen)
            quiet_since = time.time()
        time.sleep(0.2)
    scan(dump, seen, sent)
    lat = sorted(mtime - sent[mid] for mtime, mid in seen.values() if mid)
    if not lat:
        print("sent %d %.1f acks %d matched 0" % (n, achieved, len(seen)))
        return
    print("sent %d %.1f acks %d matched %d p50 %.3f p99 %.3f max %.3f" %
          (n, achieved, len(seen), len(lat), percentile(lat, 0.5),
           percentile(lat, 0.99), lat[-1]))


if __name__ == "__main__":
    main()
