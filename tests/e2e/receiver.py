#!/usr/bin/env python3
"""receiver.py: a stand-in for a CRM or a chat service, on 127.0.0.1.

It records every request it gets (method, path, headers, body, time and
the status it answered) as one JSON line in a log file, and answers as it
is told: 200 by default, or what the last POST /_control said.  It
verifies nothing; the test reads the log and decides.

    receiver.py --port PORT --log FILE --ready FILE

Control (not recorded):

    POST /_control {"status": 503, "times": 3}
        the next 3 requests get 503, then 200 again
    POST /_control {"status": 503, "seconds": 3}
        503 for 3 seconds from now, then 200
    POST /_control {"status": 429, "retry_after": 2, "times": 1}
        one 429 with "Retry-After: 2"
    POST /_control {"status": 200, "delay": 1.5, "times": 1}
        the next request is answered 1.5 s late
    POST /_control {"status": 400}
        400 until told otherwise
    POST /_control {"status": 200, "path": "/slack"}
        a rule may name a path prefix; other paths keep the default 200
    GET /_control
        the rule in force, as JSON

A new POST /_control replaces the rule in force.
"""

import argparse
import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 16 * 1024 * 1024


class State:
    """The rule in force and the log, shared by the handler threads."""

    def __init__(self, log_path):
        self.lock = threading.Lock()
        self.rule = None
        self.log = open(log_path, "a", encoding="utf-8")

    def set_rule(self, rule):
        with self.lock:
            if rule.get("seconds") is not None:
                rule["until"] = time.time() + float(rule["seconds"])
            self.rule = rule

    def get_rule(self):
        with self.lock:
            return dict(self.rule) if self.rule else None

    def answer(self, path):
        """The status, extra headers and delay for a request to PATH."""
        with self.lock:
            r = self.rule
            if r is None:
                return 200, {}, 0
            if r.get("path") and not path.startswith(r["path"]):
                return 200, {}, 0
            if r.get("until") is not None and time.time() >= r["until"]:
                self.rule = None
                return 200, {}, 0
            if r.get("times") is not None:
                if r["times"] <= 0:
                    self.rule = None
                    return 200, {}, 0
                r["times"] -= 1
            headers = {}
            if r.get("retry_after") is not None:
                headers["Retry-After"] = str(r["retry_after"])
            return (int(r.get("status", 200)), headers,
                    float(r.get("delay", 0)))

    def record(self, entry):
        line = json.dumps(entry, ensure_ascii=True)
        with self.lock:
            self.log.write(line + "\n")
            self.log.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "journey-test-receiver/1"

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > BODY_MAX:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n < 0 or n > BODY_MAX:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n)

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, body):
        st = self.server.state
        if self.command == "GET":
            self.reply(200, json.dumps(st.get_rule()).encode())
            return
        try:
            rule = json.loads(body.decode("utf-8") or "null")
            if rule is not None and not isinstance(rule, dict):
                raise ValueError("not an object")
        except ValueError as e:
            self.reply(400, json.dumps({"error": str(e)}).encode())
            return
        st.set_rule(rule or {"status": 200})
        self.reply(200, json.dumps(st.get_rule()).encode())

    def handle_any(self):
        t = time.time()
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            self.reply(400)
            return
        if self.path.startswith("/_control"):
            self.control(body)
            return
        st = self.server.state
        status, extra, delay = st.answer(self.path)
        entry = {
            "time": t,
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", errors="replace"),
            "body_b64": base64.b64encode(body).decode("ascii"),
            "status": status,
        }
        if extra.get("Retry-After") is not None:
            entry["retry_after"] = extra["Retry-After"]
        # Recorded before the answer, so a test that sees the answer's
        # effect also sees the record.
        st.record(entry)
        if delay > 0:
            time.sleep(delay)
        self.reply(status, b'{"ok":%s}' % (b"true" if status < 300
                                              else b"false"), extra)

    do_POST = handle_any
    do_PUT = handle_any
    do_GET = handle_any
    do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.state = State(a.log)
    with open(a.ready, "w") as f:
        f.write("%d\n" % os.getpid())
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
