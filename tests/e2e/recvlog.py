#!/usr/bin/env python3
"""recvlog.py: questions about what receiver.py recorded.

    recvlog.py LOG count  [--path P] [--status S]
    recvlog.py LOG ids    [--path P] [--status S]    webhook-id per request
    recvlog.py LOG get N FIELD [--path P] [--status S]
        FIELD (dotted, e.g. journey.previous.stage) of the JSON body of the
        Nth matching request, from 1; strings bare, the rest as JSON
    recvlog.py LOG header N NAME [--path P] [--status S]
    recvlog.py LOG time N [--path P] [--status S]    seconds since the epoch
    recvlog.py LOG request N [--path P] [--status S] "METHOD PATH"
    recvlog.py LOG dump [--path P] [--status S]
        every request as "N NAME VALUE" lines, N from 1: "@request" (method
        and path), "@time", "@h:NAME" per header (lower case) and each leaf
        of the JSON body by its dotted name; one call instead of many
    recvlog.py LOG attempts [--path P]
        one line per webhook-id, in order of first arrival: the id, how
        many requests carried it, their statuses joined by commas, the
        shortest gap between two of them in seconds (- for one request),
        and "same" or "differ" for their bodies
    recvlog.py LOG verify SECRET_FILE [--path P] [--status S]
        exit 0 when every matching request (and at least one) carries a
        Standard Webhooks signature that verifies under the secret, a
        timestamp within 5 minutes of its arrival and a webhook-id equal
        to the "id" of its JSON body; each failure is printed

Requests are in the order they arrived.  A missing log is an empty one.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys

TOLERANCE = 300


def load(path, prefix, status):
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if prefix and not r["path"].startswith(prefix):
                    continue
                if status is not None and r["status"] != status:
                    continue
                out.append(r)
    except FileNotFoundError:
        pass
    out.sort(key=lambda r: r["time"])
    return out


def header(r, name):
    for k, v in r["headers"]:
        if k.lower() == name.lower():
            return v
    return None


def field(doc, dotted):
    for part in dotted.split("."):
        if isinstance(doc, list):
            doc = doc[int(part)]
        else:
            doc = doc[part]
    return doc


def secret_key(path):
    with open(path, encoding="ascii") as f:
        s = f.read().strip()
    if s.startswith("whsec_"):
        return base64.b64decode(s[6:])
    return s.encode()


def verify(r, key):
    """The reasons R fails, or an empty list."""
    why = []
    wid = header(r, "webhook-id")
    ts = header(r, "webhook-timestamp")
    sig = header(r, "webhook-signature")
    if not wid or not ts or not sig:
        return ["missing webhook-id, webhook-timestamp or webhook-signature"]
    body = base64.b64decode(r["body_b64"])
    mac = hmac.new(key, b"%s.%s.%s" % (wid.encode(), ts.encode(), body),
                   hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    # The header may carry several space-separated signatures.
    if not any(hmac.compare_digest(s, want) for s in sig.split()):
        why.append("signature %s does not verify (want %s)" % (sig, want))
    try:
        if abs(int(ts) - r["time"]) > TOLERANCE:
            why.append("timestamp %s is %d s away from arrival"
                       % (ts, int(ts) - r["time"]))
    except ValueError:
        why.append("timestamp %r is not a number" % ts)
    try:
        doc = json.loads(body)
        if doc.get("id") != wid:
            why.append("webhook-id %s but JSON id %s" % (wid, doc.get("id")))
    except ValueError:
        why.append("body is not JSON")
    return why


def leaves(doc, prefix=""):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from leaves(v, prefix + k + ".")
    elif isinstance(doc, list) and doc:
        for i, v in enumerate(doc):
            yield from leaves(v, prefix + str(i) + ".")
    else:
        yield prefix[:-1], doc


def show(v):
    if isinstance(v, str):
        return v
    return json.dumps(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("what", choices=["count", "ids", "get", "header", "time",
                                     "request", "dump", "attempts",
                                     "verify"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--path")
    ap.add_argument("--status", type=int)
    a = ap.parse_args()
    rs = load(a.log, a.path, a.status)

    if a.what == "count":
        print(len(rs))
    elif a.what == "ids":
        for r in rs:
            print(header(r, "webhook-id") or "-")
    elif a.what in ("get", "header", "time", "request"):
        n = int(a.args[0])
        if n < 1 or n > len(rs):
            print("recvlog: no request %d (%d recorded)" % (n, len(rs)),
                  file=sys.stderr)
            return 1
        r = rs[n - 1]
        if a.what == "time":
            print("%.3f" % r["time"])
        elif a.what == "request":
            print(r["method"], r["path"])
        elif a.what == "header":
            v = header(r, a.args[1])
            if v is None:
                return 1
            print(v)
        else:
            try:
                print(show(field(json.loads(r["body"]), a.args[1])))
            except (KeyError, IndexError, ValueError, TypeError) as e:
                print("recvlog: %s: %r" % (a.args[1], e), file=sys.stderr)
                return 1
    elif a.what == "dump":
        for i, r in enumerate(rs, 1):
            print(i, "@request", r["method"], r["path"])
            print(i, "@time", "%.3f" % r["time"])
            for k, v in r["headers"]:
                print(i, "@h:" + k.lower(), v)
            try:
                doc = json.loads(r["body"])
            except ValueError:
                continue
            for k, v in leaves(doc):
                print(i, k, show(v).replace("\n", "\\n"))
    elif a.what == "attempts":
        by_id = {}
        for r in rs:
            by_id.setdefault(header(r, "webhook-id") or "-", []).append(r)
        for wid, group in by_id.items():
            gaps = [b["time"] - a_["time"] for a_, b in zip(group, group[1:])]
            bodies = {r["body_b64"] for r in group}
            print(wid, len(group), ",".join(str(r["status"]) for r in group),
                  "%.3f" % min(gaps) if gaps else "-",
                  "same" if len(bodies) == 1 else "differ")
    elif a.what == "verify":
        key = secret_key(a.args[0])
        bad = 0
        for i, r in enumerate(rs, 1):
            for why in verify(r, key):
                print("request %d: %s" % (i, why))
                bad += 1
        if not rs:
            print("no request recorded")
            return 1
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
