#!/usr/bin/env python3
"""receiver.py: the CRM and chat endpoint of the benchmark.

A small threaded HTTP server on 127.0.0.1 that answers every POST with
204 No Content at once and appends one line per request to a log file,
"TIME PATH BYTES", so the benchmark can count the webhooks and chat
escalations the daemon delivered.  It stops by itself after a bounded
lifetime, whatever happens to the run that started it.

Usage: receiver.py PORT LOGFILE [MAX_SECONDS]
"""
import http.server
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        remaining = n
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with LOCK:
            LOG.write("%.6f %s %d\n" % (time.time(), self.path, n))

    do_PUT = do_POST

    def log_message(self, fmt, *args):
        pass


def main():
    global LOG
    port, path = int(sys.argv[1]), sys.argv[2]
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 1800.0
    LOG = open(path, "a", buffering=1)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    stop = threading.Timer(limit, server.shutdown)
    stop.daemon = True
    stop.start()
    server.serve_forever(poll_interval=0.2)


LOCK = threading.Lock()
LOG = None

if __name__ == "__main__":
    main()
