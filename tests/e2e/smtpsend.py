#!/usr/bin/env python3
"""smtpsend.py: sends raw messages to the private Postfix of a test.

swaks reads and rewrites what it sends; these tests need the bytes sent
as they are (NULs, invalid UTF-8, a 50 MB body) and bursts of many
messages, so they use plain SMTP from Python's library.

Usage:
  smtpsend.py PORT one FROM TO FILE
      sends FILE as it is; exit 0 if it was accepted.
  smtpsend.py PORT burst N CONNS FROM TO FILE
      sends N messages over CONNS connections at once, each FILE with
      every "{i}" replaced by its number and every "{c}" by that number
      modulo $SMTPSEND_CUSTOMERS (default N); prints how many were
      accepted and exits 0 if all were.
"""
import os
import smtplib
import sys
import threading

TIMEOUT = 60


def read(path):
    with open(path, "rb") as f:
        return f.read()


def one(port, sender, rcpt, data):
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as s:
        s.sendmail(sender, [rcpt], data)


def burst(port, n, conns, sender, rcpt, template):
    accepted = [0] * conns
    errors = []
    customers = int(os.environ.get("SMTPSEND_CUSTOMERS", str(n)))

    def worker(k):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as s:
                for i in range(k, n, conns):
                    msg = template.replace(b"{i}", str(i).encode())
                    msg = msg.replace(b"{c}", str(i % customers).encode())
                    s.sendmail(sender, [rcpt], msg)
                    accepted[k] += 1
        except (OSError, smtplib.SMTPException) as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,))
               for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sum(accepted))
    for e in errors[:5]:
        print("error: " + e, file=sys.stderr)
    return sum(accepted) == n


def main(argv):
    port, what = int(argv[1]), argv[2]
    if what == "one":
        one(port, argv[3], argv[4], read(argv[5]))
        return 0
    if what == "burst":
        ok = burst(port, int(argv[3]), int(argv[4]), argv[5], argv[6],
                   read(argv[7]))
        return 0 if ok else 1
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
