#!/usr/bin/env python3
"""mkmail.py: the benchmark's messages, made from templates and the corpus.

Each message is a customer's email to support in English, Turkish or
Persian: the customer's own words (a corpus message: complaint,
cancellation, praise or a plain question), a signature, and enough of an
earlier thread quoted below it, or an attached screenshot, to reach the
wanted size.  The templates in bench/templates give the MIME shapes seen in
real support mail: plain UTF-8 text, text and HTML alternatives in
quoted-printable (an Outlook reply), and text with a base64 image.

The output is deterministic (fixed seed, fixed dates): two runs on the same
sources send the same bytes.  The messages carry no Message-ID: Postfix's
cleanup adds a unique one to each, so every message is a thread of its own.

Usage: mkmail.py CORPUS_DIR TEMPLATE_DIR OUT_DIR SIZE...
Writes OUT_DIR/SIZE/NN-LANG-CATEGORY-TEMPLATE.eml and OUT_DIR/SIZE/MANIFEST
(one "FILE SENDER" line per message).
"""
import base64
import email
import email.header
import email.policy
import html
import os
import quopri
import random
import re
import sys

LANGS = ("en", "tr", "fa")
# One of each per language: what a support inbox gets, every action taken.
CATEGORIES = ("complaint", "cancellation", "praise", "none")
TEMPLATES = ("plain", "html", "attachment", "html")
TO = {"en": "Support <support@bench.example>",
      "tr": "Destek <support@bench.example>",
      "fa": "=?utf-8?b?2b7YtNiq24zYqNin2YbbjA==?= <support@bench.example>"}
ATTRIBUTION = {"en": "On Mon, 3 Nov 2025 at 09:%02d, Support <support@bench.example> wrote:",
               "tr": "3 Kas 2025 Pzt 09:%02d tarihinde Destek <support@bench.example> şunu yazdı:",
               "fa": "در تاریخ ۱۲ آبان ۱۴۰۴ ساعت ۰۹:%02d، پشتیبانی <support@bench.example> نوشت:"}
SIGNATURE = {"en": "-- \nSent from my phone",
             "tr": "-- \nİyi çalışmalar,\nMüşteri",
             "fa": "-- \nبا سپاس"}


def corpus_text(path):
    """Subject and plain text of a corpus message, or None if unreadable."""
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    try:
        subject = str(msg.get("Subject", "")) or "(no subject)"
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return None
        text = part.get_content()
    except (LookupError, UnicodeError, ValueError):
        return None
    if part.get_content_type() == "text/html":
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return subject, text


def expected(corpus, lang):
    out = []
    with open(os.path.join(corpus, lang, "EXPECTED"), encoding="utf-8") as f:
        for line in f:
            name, cat = line.split()
            out.append((name, cat))
    return out


def qp(text):
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def to_html(text, quoted):
    paras = "".join("<p>%s</p>\n" % html.escape(p).replace("\n", "<br>\n")
                    for p in text.split("\n\n"))
    quote = ""
    if quoted:
        quote = ("<blockquote style=\"margin:0 0 0 .8ex;border-left:1px "
                 "solid #ccc;padding-left:1ex\">\n%s</blockquote>\n" %
                 html.escape(quoted).replace("\n", "<br>\n"))
    return ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html;"
            " charset=utf-8\"></head>\n<body dir=\"auto\">\n<div style=\"font-"
            "family:Calibri,Arial,sans-serif;font-size:11pt\">\n%s</div>\n%s"
            "</body></html>" % (paras, quote))


def render(template, fields):
    out = template
    for k, v in fields.items():
        out = out.replace("@@%s@@" % k, v)
    return out


def build(template, kind, lang, sender, subject, own, pool, rng, size):
    """The message text of about SIZE bytes; the filler grows by bisection."""
    boundary = "%016x" % rng.getrandbits(64)
    blob = b"\x89PNG\r\n\x1a\n" + rng.randbytes(size * 2)

    def make(n):
        text = own + "\n\n" + SIGNATURE[lang]
        quoted = ""
        attach = b""
        if kind == "attachment":
            attach = blob[:max(n, 64)]
        elif n > 0:
            quoted = "\n".join("> " + line for line in pool[:n].splitlines())
            text += "\n\n" + quoted
        b64 = base64.encodebytes(attach).decode("ascii").rstrip("\n")
        return render(template, {
            "FROM": sender, "TO": TO[lang], "SUBJECT": subject,
            "DATE": "Tue, 4 Nov 2025 10:%02d:00 +0000" % rng.randrange(60),
            "BOUNDARY": boundary, "TEXT": text, "TEXT_QP": qp(text),
            "HTML_QP": qp(to_html(own + "\n\n" + SIGNATURE[lang], quoted)),
            "ATTACHMENT_NAME": "screenshot.png", "ATTACHMENT_B64": b64})

    lo, hi = 0, len(pool) if kind != "attachment" else len(blob)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(make(mid).encode("utf-8")) <= size:
            lo = mid
        else:
            hi = mid - 1
    return make(lo)


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    corpus, tdir, out = sys.argv[1:4]
    sizes = [int(s) for s in sys.argv[4:]]
    templates = {}
    for name in set(TEMPLATES):
        with open(os.path.join(tdir, name + ".eml"), encoding="utf-8") as f:
            templates[name] = f.read().rstrip("\n") + "\n"
    rng = random.Random(20251104)
    for size in sizes:
        d = os.path.join(out, str(size))
        os.makedirs(d, exist_ok=True)
        manifest = []
        n = 0
        for lang in LANGS:
            files = expected(corpus, lang)
            texts = {}
            for name, cat in files:
                t = corpus_text(os.path.join(corpus, lang, name))
                if t is not None and t[1]:
                    texts[name] = (cat, t)
            # The quoted history: the rest of the language's corpus.
            for i, cat in enumerate(CATEGORIES):
                name = next(nm for nm, (c, _) in texts.items() if c == cat)
                subject, own = texts[name][1]
                pool = "\n\n".join(
                    (ATTRIBUTION[lang] % (j % 60)) + "\n" + t[1]
                    for j, (nm, (c, t)) in enumerate(sorted(texts.items()))
                    if nm != name)
                while len(pool) < 2 * size:
                    pool += "\n\n" + pool
                n += 1
                kind = TEMPLATES[i]
                addr = "%s-%02d@customer.example" % (lang, n)
                sender = "%s <%s>" % (
                    email.header.Header("Müşteri %d" % n if lang == "tr"
                                        else "Customer %d" % n,
                                        "utf-8").encode(), addr)
                subj = email.header.Header(subject, "utf-8").encode() \
                    if not subject.isascii() else subject
                msg = build(templates[kind], kind, lang, sender, subj, own,
                            pool, rng, size)
                fname = "%02d-%s-%s-%s.eml" % (n, lang, cat, kind)
                with open(os.path.join(d, fname), "w", encoding="utf-8",
                          newline="\n") as f:
                    f.write(msg)
                manifest.append("%s %s" % (fname, addr))
        with open(os.path.join(d, "MANIFEST"), "w") as f:
            f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
