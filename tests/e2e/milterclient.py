#!/usr/bin/env python3
"""milterclient.py: a small milter protocol (version 6) client for tests.

It plays the MTA's side exactly as Postfix does for the parts journey-milter
uses: option negotiation, macros, MAIL FROM, RCPT TO, DATA, headers, body,
end-of-message, abort and quit, honouring the steps and replies the milter
asked to skip.  Used to time the end-of-message round trip, to drive the
daemon through several messages per connection and aborts, and to hold a
message open across a reload ("start", then "finish" after a "wait" for a
file the test creates).

Usage:
  milterclient.py HOST PORT eomtime N       median/max of N round trips, ms
  milterclient.py HOST PORT session FILE    runs the JSON session in FILE
  milterclient.py HOST PORT eomstats N FILE...
                                            N messages, the FILEs in turn,
                                            each from a sender of its own:
                                            "N P50 P99 MAX CHANGED" (ms)
HOST may be unix:/path (PORT is then ignored) for a unix-domain socket.
"""
import json
import os
import math
import socket
import struct
import sys
import time

SMFIP_NOCONNECT = 0x1
SMFIP_NOHELO = 0x2
SMFIP_NOEOH = 0x40
SMFIP_NR_HDR = 0x80
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_SKIP = 0x400
ALL_PROTOCOL = 0x1FFFFF


class Milter:
    def __init__(self, host, port, timeout=10, nodelay=False):
        if host.startswith("unix:"):
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(timeout)
            self.s.connect(host[5:])
        else:
            self.s = socket.create_connection((host, port), timeout=timeout)
            if nodelay:
                self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(timeout)
        self.pending = b""

    def send(self, cmd, data=b"", flush=True):
        # Like Postfix, macros go out in one write with the command they
        # belong to: two small writes would meet Nagle on our side.
        self.pending += struct.pack("!I", len(data) + 1) + cmd + data
        if flush:
            self.s.sendall(self.pending)
            self.pending = b""

    def recv(self):
        hdr = self._read(4)
        (n,) = struct.unpack("!I", hdr)
        if n < 1 or n > 1 << 24:
            raise ValueError("bad packet length %d" % n)
        body = self._read(n)
        return body[:1], body[1:]

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise EOFError("milter closed the connection")
            out += chunk
        return out

    def negotiate(self):
        self.send(b"O", struct.pack("!III", 6, 0x1FF, ALL_PROTOCOL))
        cmd, data = self.recv()
        assert cmd == b"O", cmd
        self.version, self.actions, self.protocol = struct.unpack("!III", data[:12])
        return self

    def macro(self, for_cmd, pairs):
        data = for_cmd
        for k, v in pairs.items():
            data += k.encode() + b"\0" + v.encode() + b"\0"
        self.send(b"D", data, flush=False)

    def step(self, cmd, data, skip_flag=0, noreply_flag=0):
        if skip_flag and self.protocol & skip_flag:
            self.pending = b""  # macros for a skipped step are not sent
            return None
        self.send(cmd, data)
        if noreply_flag and self.protocol & noreply_flag:
            return None
        return self.recv()

    def mail(self, sender, macros=None):
        self.macro(b"M", macros or {})
        return self.step(b"M", b"<" + sender.encode() + b">\0")

    def rcpt(self, rcpt):
        return self.step(b"R", b"<" + rcpt.encode() + b">\0")

    def data(self, qid):
        self.macro(b"T", {"i": qid})
        return self.step(b"T", b"", SMFIP_NODATA)

    def header(self, name, value):
        return self.step(b"L", name.encode() + b"\0" + value.encode() + b"\0",
                         0, SMFIP_NR_HDR)

    def eoh(self):
        return self.step(b"N", b"", SMFIP_NOEOH)

    def body(self, chunk):
        return self.step(b"B", chunk)

    def eom(self, qid):
        """Returns (modifications, final reply, seconds from EOM to reply)."""
        self.macro(b"E", {"i": qid})
        t0 = time.monotonic()
        self.send(b"E")
        mods = []
        while True:
            cmd, data = self.recv()
            if cmd in (b"a", b"c", b"t", b"r", b"d", b"y"):
                return mods, cmd.decode(), time.monotonic() - t0
            mods.append((cmd.decode(), data))

    def abort(self):
        self.send(b"A")

    def quit(self):
        self.send(b"Q")
        self.s.close()


def start(m, sender, rcpts, headers, body, qid, macros=None):
    """A message up to its body; returns (reply, [], step) for the reply
    that ended it early, or None.  MACROS go with MAIL FROM beside the
    queue id, e.g. {"{auth_authen}": "alice"} for a SASL-authenticated
    client."""
    r = m.mail(sender, dict({"i": qid}, **(macros or {})))
    if r is not None and r[0] != b"c":
        return r[0].decode(), [], "mail"
    for rc in rcpts:
        r = m.rcpt(rc)
        if r is not None and r[0] != b"c":
            return r[0].decode(), [], "rcpt"
    r = m.data(qid)
    if r is not None and r[0] != b"c":
        return r[0].decode(), [], "data"
    for name, value in headers:
        r = m.header(name, value)
        if r is not None and r[0] != b"c":
            return r[0].decode(), [], "header"
    r = m.eoh()
    if r is not None and r[0] != b"c":
        return r[0].decode(), [], "eoh"
    if body:
        r = m.body(body.encode())
        if r is not None and r[0] not in (b"c", b"s"):
            return r[0].decode(), [], "body"
    return None


def message(m, sender, rcpts, headers, body, qid, macros=None):
    """One message; returns (reply at the step that ended it, mods, the
    step: "eom", or the one the milter answered early)."""
    early = start(m, sender, rcpts, headers, body, qid, macros)
    if early is not None:
        return early
    mods, final, _ = m.eom(qid)
    return final, mods, "eom"


def eomtime(host, port, n):
    m = Milter(host, port).negotiate()
    times = []
    for i in range(n):
        qid = "TIME%04d" % i
        m.mail("customer%d@customer.example" % i, {"i": qid})
        m.rcpt("support@example.com")
        m.data(qid)
        for name, value in (("From", "customer@customer.example"),
                            ("To", "support@example.com"),
                            ("Subject", "Order question %d" % i),
                            ("Message-ID", "<t%d@customer.example>" % i)):
            m.header(name, value)
        m.eoh()
        m.body(b"Hello, where is my order?\r\n")
        mods, final, secs = m.eom(qid)
        if final != "a" or not mods:
            raise SystemExit("unexpected reply %s with %d changes" % (final, len(mods)))
        times.append(secs * 1000.0)
    m.quit()
    times.sort()
    print("%.3f %.3f" % (times[len(times) // 2], times[-1]))


def parse_eml(path):
    """Unfolded (name, value) headers and the body, CRLF, of a file."""
    with open(path, "rb") as f:
        raw = f.read().replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    headers = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line.decode("utf-8", "replace"))
        elif b":" in line:
            name, value = line.split(b":", 1)
            headers.append((name.decode("ascii", "replace"),
                            value.decode("utf-8", "replace").lstrip(" ")))
    return headers, body.replace(b"\n", b"\r\n")


def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending list."""
    k = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[k - 1]


EOM_WARMUP = 20


def eomstats(host, port, n, paths):
    """N messages over one connection, as Postfix sends them: headers, then
    the body in chunks of at most 64 KB (MILTER_CHUNK_SIZE), stopping when
    the milter says skip.  Each has a sender and a Message-ID of its own, so
    every one is a new customer and a new thread.  EOM_WARMUP messages go
    first, untimed (the client's and the connection's start-up).  Prints
    the count, the p50, p99 and max of the end-of-message round trip in ms,
    and how many messages came back with changes."""
    msgs = [parse_eml(p) for p in paths]
    # Headers get no reply: without TCP_NODELAY a small body chunk after
    # them would wait for the daemon's delayed ACK, 40 ms a message.
    m = Milter(host, port, nodelay=True).negotiate()
    times = []
    changed = 0
    for i in range(-EOM_WARMUP, n):
        headers, body = msgs[i % len(msgs)]
        qid = "BENCH%05d" % (i + EOM_WARMUP)
        sender = "eom-%05d@customer.example" % (i + EOM_WARMUP)
        r = m.mail(sender, {"i": qid})
        if r is not None and r[0] != b"c":
            raise SystemExit("MAIL FROM answered %r" % r[0])
        m.rcpt("support@bench.example")
        m.data(qid)
        for name, value in headers:
            if name.lower() == "from":
                value = "Customer <%s>" % sender
            m.header(name, value)
        m.header("Message-ID",
                 "<eom-%05d@customer.example>" % (i + EOM_WARMUP))
        m.eoh()
        for off in range(0, len(body), 65535):
            r = m.body(body[off:off + 65535])
            if r is not None and r[0] == b"s":
                break
        mods, final, secs = m.eom(qid)
        if final != "a":
            raise SystemExit("unexpected final reply %s" % final)
        if i < 0:
            continue
        changed += 1 if mods else 0
        times.append(secs * 1000.0)
    m.quit()
    times.sort()
    print("%d %.3f %.3f %.3f %d" % (n, percentile(times, 0.50),
                                   percentile(times, 0.99), times[-1], changed))


def describe(cmd, data):
    """A modification as text: "add NAME: VALUE", "change NAME[I]: VALUE"."""
    if cmd == "m":
        (index,) = struct.unpack("!I", data[:4])
        name, value = data[4:].split(b"\0")[:2]
        return "change %s[%d]: %s" % (name.decode(), index,
                                      value.decode("utf-8", "replace"))
    if cmd == "h":
        name, value = data.split(b"\0")[:2]
        return "add %s: %s" % (name.decode(), value.decode("utf-8", "replace"))
    return "%s %r" % (cmd, data)


def session(host, port, path):
    """Runs a JSON list of steps; prints one JSON result line per message."""
    with open(path) as f:
        steps = json.load(f)
    m = Milter(host, port).negotiate()
    started = None
    for st in steps:
        if st["do"] == "message":
            final, mods, at = message(m, st["from"], st["rcpt"],
                                      st["headers"], st.get("body", ""),
                                      st.get("qid", "Q1"), st.get("macros"))
            print(json.dumps({"final": final,
                              "mods": [describe(c, d) for c, d in mods],
                              "at": at}))
        elif st["do"] == "start":
            # Everything but end-of-message; "finish" sends it.
            started = st.get("qid", "Q1")
            early = start(m, st["from"], st["rcpt"], st["headers"],
                          st.get("body", ""), started, st.get("macros"))
            if early is not None:
                raise SystemExit("message ended early: %r" % (early,))
        elif st["do"] == "finish":
            mods, final, _ = m.eom(started)
            print(json.dumps({"final": final,
                              "mods": [describe(c, d) for c, d in mods]}))
        elif st["do"] == "signal":
            open(st["path"], "w").close()
        elif st["do"] == "wait":
            deadline = time.monotonic() + st.get("timeout", 30)
            while not os.path.exists(st["path"]):
                if time.monotonic() > deadline:
                    raise SystemExit("timed out waiting for " + st["path"])
                time.sleep(0.05)
        elif st["do"] == "abort_after_headers":
            m.mail(st["from"], {"i": "AB1"})
            m.rcpt(st["rcpt"][0])
            m.data("AB1")
            for name, value in st["headers"]:
                m.header(name, value)
            m.abort()
            print(json.dumps({"aborted": True}))
        elif st["do"] == "close":
            m.s.close()
            m = Milter(host, port).negotiate()
    m.quit()


if __name__ == "__main__":
    host, port, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if what == "eomtime":
        eomtime(host, port, int(sys.argv[4]))
    elif what == "session":
        session(host, port, sys.argv[4])
    elif what == "eomstats":
        eomstats(host, port, int(sys.argv[4]), sys.argv[5:])
    elif what == "negotiate":
        m = Milter(host, port).negotiate()
        print("version %d actions 0x%x protocol 0x%x"
              % (m.version, m.actions, m.protocol))
        m.quit()
    else:
        raise SystemExit(__doc__)
