/*
 * test_message.c: MIME shapes, charsets, RFC 2047 words, damaged messages
 * and limits, from raw bytes to the text the rules read.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/buf.h"
#include "journey/message.h"
#include "journey/text.h"

#define FFFD	"\xef\xbf\xbd"
#define SCAN	65536

#define HDR	"From: Ann Lee <ann@example.com>\r\n" \
		"To: support@example.com\r\n" \
		"Subject: hello\r\nMIME-Version: 1.0\r\n"
#define PLAIN(cs) "Content-Type: text/plain; charset=" cs "\r\n"

/*
 * RAW is LEN bytes (a C string when LEN is 0).  NULL wants are not
 * checked; SET flags must be set and CLEAR flags must not.
 */
struct msg_case {
	const char	*label;
	const char	*raw;
	size_t		 len;
	size_t		 max_scan;
	const char	*text;
	const char	*norm;
	const char	*subject;
	const char	*from_addr;
	const char	*from_name;
	unsigned	 set;
	unsigned	 clear;
};

static const struct msg_case msg_cases[] = {
	/* MIME shapes. */
	{ "plain 8bit",
	    "From: Ann Lee <Ann.Lee@Example.COM>\nSubject: Refund\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\nHello caf\xc3\xa9\n",
	    0, SCAN, "Hello caf\xc3\xa9", NULL, "Refund",
	    "ann.lee@example.com", "Ann Lee", 0,
	    JM_MSG_MALFORMED | JM_MSG_HTML | JM_MSG_TRUNCATED },
	{ "no content-type is text/plain",
	    "Subject: x\n\nJust text.\n", 0, SCAN, "Just text.", NULL, "x", "",
	    "", 0, JM_MSG_MALFORMED },
	{ "quoted-printable",
	    HDR PLAIN("utf-8") "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\nCaf=C3=A9 soft=\r\n break =3D ok\r\n",
	    0, SCAN, "Caf\xc3\xa9 soft break = ok", NULL, NULL, NULL, NULL, 0,
	    JM_MSG_MALFORMED },
	{ "base64",
	    HDR PLAIN("us-ascii") "Content-Transfer-Encoding: base64\r\n\r\n"
	    "SGVsbG8g\r\nd29ybGQ=\r\n",
	    0, SCAN, "Hello world", NULL, NULL, NULL, NULL, 0,
	    JM_MSG_MALFORMED },
	{ "alternative prefers plain",
	    HDR "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
	    "--b\r\n" PLAIN("utf-8") "\r\nplain version\r\n"
	    "--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n"
	    "--b--\r\n",
	    0, SCAN, "plain version", NULL, NULL, NULL, NULL, 0,
	    JM_MSG_HTML | JM_MSG_MALFORMED },
	{ "alternative prefers plain, html first",
	    HDR "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n"
	    "--b\r\n" PLAIN("utf-8") "\r\nplain version\r\n--b--\r\n",
	    0, SCAN, "plain version", NULL, NULL, NULL, NULL, 0, JM_MSG_HTML },
	{ "alternative with an empty plain part",
	    HDR "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
	    "--b\r\n" PLAIN("utf-8") "\r\n\r\n"
	    "--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n"
	    "--b--\r\n",
	    0, SCAN, "html version", NULL, NULL, NULL, NULL, JM_MSG_HTML, 0 },
	{ "html only",
	    HDR "Content-Type: text/html; charset=utf-8\r\n\r\n"
	    "<html><head><style>p{}</style></head><body><p>Please "
	    "<b>cancel</b> &amp; refund</p><script>x()</script></body>"
	    "</html>\r\n",
	    0, SCAN, "Please cancel & refund", NULL, NULL, NULL, NULL,
	    JM_MSG_HTML, JM_MSG_MALFORMED },
	{ "html only, quoted history dropped",
	    HDR "Content-Type: text/html; charset=utf-8\r\n\r\n"
	    "<div>Thanks!</div><div class=\"gmail_quote\">"
	    "On Mon, 3 Mar 2025 at 10:00, Care &lt;c@example.com&gt; wrote:"
	    "<blockquote>We are sorry</blockquote></div>\r\n",
	    0, SCAN, "Thanks!", NULL, NULL, NULL, NULL, JM_MSG_HTML, 0 },
	{ "mixed with a text attachment",
	    HDR "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\n" PLAIN("utf-8") "\r\nSee the log.\r\n"
	    "--m\r\n" PLAIN("utf-8")
	    "Content-Disposition: attachment; filename=\"log.txt\"\r\n\r\n"
	    "I want to cancel everything\r\n--m--\r\n",
	    0, SCAN, "See the log.", NULL, NULL, NULL, NULL, 0, 0 },
	{ "mixed with a named inline text file",
	    HDR "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\n" PLAIN("utf-8") "\r\nSee the log.\r\n"
	    "--m\r\nContent-Type: text/plain; name=\"log.txt\"\r\n"
	    "Content-Disposition: inline; filename=\"log.txt\"\r\n\r\n"
	    "terrible\r\n--m--\r\n",
	    0, SCAN, "See the log.", NULL, NULL, NULL, NULL, 0, 0 },
	{ "mixed with an image",
	    HDR "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\n" PLAIN("utf-8") "\r\nPhoto attached.\r\n"
	    "--m\r\nContent-Type: image/png\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "iVBORw0KGgo=\r\n--m--\r\n",
	    0, SCAN, "Photo attached.", NULL, NULL, NULL, NULL, 0, 0 },
	{ "two text parts joined by a blank line",
	    HDR "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\n" PLAIN("utf-8") "\r\nfirst\r\n"
	    "--m\r\n" PLAIN("utf-8") "\r\nsecond\r\n--m--\r\n",
	    0, SCAN, "first\n\nsecond", "first second", NULL, NULL, NULL, 0,
	    0 },
	{ "nested multipart",
	    HDR "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
	    "--a\r\n" PLAIN("utf-8") "\r\nnested plain\r\n"
	    "--a\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n"
	    "--r\r\nContent-Type: text/html\r\n\r\n<p>nested html</p>\r\n"
	    "--r\r\nContent-Type: image/gif\r\n\r\nGIF89a\r\n--r--\r\n"
	    "--a--\r\n"
	    "--m\r\nContent-Type: application/pdf\r\n"
	    "Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n"
	    "%PDF\r\n--m--\r\n",
	    0, SCAN, "nested plain", NULL, NULL, NULL, NULL, 0, JM_MSG_HTML },
	{ "nested html when there is no plain",
	    HDR "Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
	    "--a\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n"
	    "--r\r\nContent-Type: text/html\r\n\r\n<p>nested html</p>\r\n"
	    "--r--\r\n--a--\r\n",
	    0, SCAN, "nested html", NULL, NULL, NULL, NULL, JM_MSG_HTML, 0 },
	{ "attached message is not read",
	    HDR "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\n" PLAIN("utf-8") "\r\nForwarding this.\r\n"
	    "--m\r\nContent-Type: message/rfc822\r\n\r\n"
	    "From: x@example.com\r\nSubject: old\r\n\r\nterrible service\r\n"
	    "--m--\r\n",
	    0, SCAN, "Forwarding this.", NULL, NULL, NULL, NULL, 0, 0 },
	{ "quoted history and signature stripped",
	    HDR PLAIN("utf-8") "\r\nCancel it.\r\n\r\n-- \r\nAnn\r\n\r\n"
	    "On Mon, 3 Mar 2025 at 10:00, Care <c@example.com> wrote:\r\n"
	    "> Offer!\r\n",
	    0, SCAN, "Cancel it.", NULL, NULL, NULL, NULL, 0, 0 },
	/* Charsets, with the bytes each one really uses. */
	{ "iso-8859-1",
	    HDR PLAIN("iso-8859-1") "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "caf\xe9 cr\xe8me \x80" "5\r\n",
	    0, SCAN, "caf\xc3\xa9 cr\xc3\xa8me \xe2\x82\xac" "5", NULL, NULL,
	    NULL, NULL, 0, JM_MSG_MALFORMED },
	{ "iso-8859-9",
	    HDR PLAIN("ISO-8859-9") "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "\xdeikayet \xfd\xe7in \xd0\xf0 \xdd" "ade\r\n",
	    0, SCAN, "\xc5\x9eikayet \xc4\xb1\xc3\xa7in \xc4\x9e\xc4\x9f "
	    "\xc4\xb0" "ade",
	    "\xc5\x9eikayet i\xc3\xa7in \xc4\x9e\xc4\x9f iade", NULL, NULL,
	    NULL, 0, JM_MSG_MALFORMED },
	{ "windows-1252",
	    HDR PLAIN("windows-1252") "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "\x93Hi\x94 \x80" "5 na\xefve\r\n",
	    0, SCAN, "\xe2\x80\x9cHi\xe2\x80\x9d \xe2\x82\xac" "5 na\xc3\xafve",
	    NULL, NULL, NULL, NULL, 0, JM_MSG_MALFORMED },
	{ "windows-1254",
	    HDR PLAIN("windows-1254")
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "=DDptal ediyorum, =E7ok k=F6t=FC hizmet=2E\r\n",
	    0, SCAN,
	    "\xc4\xb0ptal ediyorum, \xc3\xa7ok k\xc3\xb6t\xc3\xbc hizmet.",
	    "iptal ediyorum, \xc3\xa7ok k\xc3\xb6t\xc3\xbc hizmet.", NULL, NULL,
	    NULL, 0, JM_MSG_MALFORMED },
	{ "windows-1256",
	    HDR PLAIN("windows-1256") "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "\xd3\xe1\xc7\xe3 \xe1\xdb\xe6 \xc7\xd4\xca\xd1\xc7\xdf "
	    "\xdf\xed\r\n",
	    0, SCAN,
	    "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \xd9\x84\xd8\xba\xd9\x88 \xd8\xa7"
	    "\xd8\xb4\xd8\xaa\xd8\xb1\xd8\xa7\xd9\x83 \xd9\x83\xd9\x8a",
	    "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \xd9\x84\xd8\xba\xd9\x88 \xd8\xa7"
	    "\xd8\xb4\xd8\xaa\xd8\xb1\xd8\xa7\xda\xa9 \xda\xa9\xdb\x8c",
	    NULL, NULL, NULL, 0, JM_MSG_MALFORMED },
	{ "windows-1256 as cp1256",
	    HDR PLAIN("cp1256") "\r\n\xd3\xe1\xc7\xe3\r\n",
	    0, SCAN, "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85", NULL, NULL, NULL, NULL,
	    0, JM_MSG_MALFORMED },
	{ "no charset, latin-1 bytes read as windows-1252",
	    "Subject: x\n\ncaf\xe9\n", 0, SCAN, "caf\xc3\xa9", NULL, NULL,
	    NULL, NULL, 0, 0 },
	{ "utf-8 label with a bad byte",
	    HDR PLAIN("utf-8") "\r\nok \xff ok\r\n", 0, SCAN, "ok " FFFD " ok",
	    NULL, NULL, NULL, NULL, 0, 0 },
	{ "unknown charset, UTF-8 bytes",
	    HDR PLAIN("\"x-unknown\"") "\r\nh\xc3\xa9llo\r\n", 0, SCAN,
	    "h\xc3\xa9llo", NULL, NULL, NULL, NULL, JM_MSG_MALFORMED, 0 },
	{ "unknown charset, latin-1 bytes",
	    HDR PLAIN("x-bogus-42") "\r\nh\xe9llo\r\n", 0, SCAN,
	    "h\xc3\xa9llo", NULL, NULL, NULL, NULL, JM_MSG_MALFORMED, 0 },
	/* RFC 2047. */
	{ "utf-8 B subject and name",
	    "From: =?UTF-8?B?QXnFn2UgWcSxbG1heg==?= <AYSE@example.com.tr>\n"
	    "Subject: =?UTF-8?B?xLBwdGFsIGlzdGl5b3J1bQ==?=\n\nx\n",
	    0, SCAN, "x", NULL, "\xc4\xb0ptal istiyorum", "ayse@example.com.tr",
	    "Ay\xc5\x9f" "e Y\xc4\xb1lmaz", 0, 0 },
	{ "iso-8859-9 Q subject and name",
	    "From: =?iso-8859-9?Q?Ay=FEe_Y=FDlmaz?= <ayse@example.com.tr>\n"
	    "Subject: =?ISO-8859-9?Q?=DEikayet_=FDade?=\n\nx\n",
	    0, SCAN, NULL, NULL, "\xc5\x9eikayet \xc4\xb1" "ade", NULL,
	    "Ay\xc5\x9f" "e Y\xc4\xb1lmaz", 0, 0 },
	{ "windows-1256 B subject and name",
	    "From: =?windows-1256?B?zdPt5CDt0s/H5O0=?= <h@example.ir>\n"
	    "Subject: =?windows-1256?B?4dvmIMfUytHH3w==?=\n\nx\n",
	    0, SCAN, NULL, NULL,
	    "\xd9\x84\xd8\xba\xd9\x88 \xd8\xa7\xd8\xb4\xd8\xaa\xd8\xb1\xd8\xa7"
	    "\xd9\x83", "h@example.ir",
	    "\xd8\xad\xd8\xb3\xd9\x8a\xd9\x86 \xd9\x8a\xd8\xb2\xd8\xaf\xd8\xa7"
	    "\xd9\x86\xd9\x8a", 0, 0 },
	{ "padded B words in a row",
	    "Subject: =?utf-8?B?YQ==?=\n =?utf-8?B?Yg==?= =?UTF-8?B?Yw==?= d\n"
	    "\nx\n",
	    0, SCAN, NULL, NULL, "abc d", NULL, NULL, 0, 0 },
	{ "a character split across B words",
	    "Subject: =?utf-8?B?Y2Fmww==?= =?utf-8?B?qSE=?=\n\nx\n",
	    0, SCAN, NULL, NULL, "caf\xc3\xa9!", NULL, NULL, 0, 0 },
	{ "raw 8-bit UTF-8 subject",
	    "Subject: cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e\n\nx\n", 0, SCAN,
	    NULL, NULL, "cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e", NULL, NULL, 0,
	    0 },
	{ "raw 8-bit latin-1 subject",
	    "Subject: caf\xe9\n\nx\n", 0, SCAN, NULL, NULL, "caf\xc3\xa9",
	    NULL, NULL, 0, 0 },
	{ "quoted display name",
	    "From: \"Lee, Ann\" <ann@example.com>\n\nx\n", 0, SCAN, NULL, NULL,
	    "", "ann@example.com", "Lee, Ann", 0, 0 },
	{ "bare address",
	    "From: ANN@example.com\n\nx\n", 0, SCAN, NULL, NULL, NULL,
	    "ann@example.com", "", 0, 0 },
	{ "group address",
	    "From: Team: Bob <bob@example.com>;\n\nx\n", 0, SCAN, NULL, NULL,
	    NULL, "bob@example.com", "Bob", 0, 0 },
	/* Damage. */
	{ "bad base64",
	    HDR PLAIN("utf-8") "Content-Transfer-Encoding: base64\r\n\r\n"
	    "SGVsbG8gd29y\r\nbGQ@@##%%~~\r\n",
	    0, SCAN, "Hello world", NULL, NULL, NULL, NULL, JM_MSG_MALFORMED,
	    0 },
	{ "missing closing boundary",
	    HDR "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
	    "--b\r\n" PLAIN("utf-8") "\r\nstill here\r\n",
	    0, SCAN, "still here", NULL, NULL, NULL, NULL, JM_MSG_MALFORMED,
	    0 },
	{ "multipart without a boundary",
	    HDR "Content-Type: multipart/mixed\r\n\r\nsome text\r\n",
	    0, SCAN, NULL, NULL, NULL, NULL, NULL, JM_MSG_MALFORMED, 0 },
	{ "headers only, no empty line",
	    "From: a@example.com\nSubject: only headers", 0, SCAN, "", "",
	    "only headers", "a@example.com", "", 0, 0 },
	{ "no body",
	    "From: a@example.com\nSubject: empty\n\n", 0, SCAN, "", "",
	    "empty", NULL, NULL, 0, 0 },
	{ "body without headers",
	    "Hello, I want to cancel.\nThanks\n", 0, SCAN,
	    "Hello, I want to cancel.\nThanks", NULL, "", "",
	    "", JM_MSG_MALFORMED, 0 },
	{ "nothing at all", "", 0, SCAN, "", "", "", "", "", 0, 0 },
	{ "NULs in the body",
	    HDR PLAIN("utf-8") "\r\na\0b\0\r\n",
	    sizeof(HDR PLAIN("utf-8") "\r\na\0b\0\r\n") - 1, SCAN,
	    "a" FFFD "b" FFFD, NULL, NULL, NULL, NULL, 0, 0 },
	{ "NUL in a header",
	    "Subject: a\0b\n\nx\n", sizeof("Subject: a\0b\n\nx\n") - 1, SCAN,
	    "x", NULL, "ab", NULL, NULL, JM_MSG_MALFORMED, 0 },
	{ "a stray line in the header",
	    "Subject: s\nthis is not a header\nmore\n", 0, SCAN,
	    "this is not a header\nmore", NULL,
	    "s", NULL, NULL, JM_MSG_MALFORMED, 0 },
	/*
	 * What GMime is given: only the Content-* fields of a clean block,
	 * which must still be read folded, in any case, and only as fields.
	 */
	{ "folded content-type with the boundary on the next line",
	    HDR "Content-Type: multipart/alternative;\r\n\tboundary=\"b\"\r\n"
	    "\r\n--b\r\n" PLAIN("utf-8") "\r\nfolded ok\r\n--b--\r\n",
	    0, SCAN, "folded ok", NULL, NULL, NULL, NULL, 0,
	    JM_MSG_MALFORMED | JM_MSG_HTML },
	{ "content-type in lower case",
	    HDR "content-type: TEXT/HTML; charset=utf-8\r\n\r\n"
	    "<p>lower</p>\r\n",
	    0, SCAN, "lower", NULL, NULL, NULL, NULL, JM_MSG_HTML,
	    JM_MSG_MALFORMED },
	{ "a continuation that looks like a content field is not one",
	    HDR "X-Note: see\r\n Content-Type: text/html\r\n\r\n<p>x</p>\r\n",
	    0, SCAN, "<p>x</p>", NULL, NULL, NULL, NULL, 0, JM_MSG_HTML },
	{ "subject twice with different values is damage",
	    "Subject: a\nSubject: b\n" PLAIN("utf-8") "\nbody\n", 0, SCAN,
	    "body", NULL, "a", NULL, NULL, JM_MSG_MALFORMED, 0 },
	{ "subject twice, the same, is not",
	    "Subject: a\nSubject: a\n" PLAIN("utf-8") "\nbody\n", 0, SCAN,
	    "body", NULL, "a", NULL, NULL, 0, JM_MSG_MALFORMED },
	{ "content-type twice with different values is damage",
	    "Subject: a\n" PLAIN("utf-8") "Content-Type: text/html\n\nbody\n",
	    0, SCAN, NULL, NULL, "a", NULL, NULL, JM_MSG_MALFORMED, 0 },
	{ "an mbox From line before the headers",
	    "From ann@example.com Mon Mar  3 10:00:00 2025\n" HDR
	    PLAIN("utf-8") "\r\nmbox body\r\n", 0, SCAN, "mbox body", NULL,
	    "hello", "ann@example.com", "Ann Lee", 0, JM_MSG_MALFORMED },
	{ "uuencoded part",
	    HDR PLAIN("us-ascii") "Content-Transfer-Encoding: x-uuencode\r\n"
	    "\r\nbegin 644 a.txt\r\n%:&5L;&\\`\r\n`\r\nend\r\n",
	    0, SCAN, "hello", NULL, NULL, NULL, NULL, 0, JM_MSG_MALFORMED },
	{ "quoted-printable with a soft break at the very end",
	    HDR PLAIN("utf-8") "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\nend =C3=\r\n=A9=",
	    0, SCAN, "end \xc3\xa9", NULL, NULL, NULL, NULL, 0,
	    JM_MSG_MALFORMED },
	{ "base64 in iso-8859-9",
	    HDR PLAIN("iso-8859-9") "Content-Transfer-Encoding: base64\r\n\r\n"
	    "3mlrYXlldA==\r\n",
	    0, SCAN, "\xc5\x9eikayet", NULL, NULL, NULL, NULL, 0,
	    JM_MSG_MALFORMED },
	/* Limits. */
	{ "max_scan cuts at a character",
	    HDR PLAIN("utf-8") "\r\n\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\r\n",
	    0, 5, "\xc3\xa9\xc3\xa9", NULL, NULL, NULL, NULL, JM_MSG_TRUNCATED,
	    0 },
	{ "max_scan across parts",
	    HDR "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\n" PLAIN("utf-8") "\r\n0123456789\r\n"
	    "--m\r\n" PLAIN("utf-8") "\r\nabcdefghij\r\n--m--\r\n",
	    0, 15, "0123456789\n\nabc", NULL, NULL, NULL, NULL,
	    JM_MSG_TRUNCATED, 0 },
	{ "max_scan exactly the text and its line end",
	    HDR PLAIN("utf-8") "\r\n0123456789\r\n", 0, 11, "0123456789", NULL,
	    NULL, NULL, NULL, 0, JM_MSG_TRUNCATED },
};

START_TEST(test_parse)
{
	const struct msg_case *c = &msg_cases[_i];
	struct jm_message *m;
	size_t		 len = c->len ? c->len : strlen(c->raw);

	ck_assert_int_eq(jm_message_parse(c->raw, len, c->max_scan, &m), 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(m->text);
	ck_assert_ptr_nonnull(m->norm_text);
	ck_assert_ptr_nonnull(m->norm_subject);
	ck_assert_ptr_nonnull(m->subject);
	ck_assert_ptr_nonnull(m->from_addr);
	ck_assert_ptr_nonnull(m->from_name);
	ck_assert_uint_eq(strlen(m->text), m->text_len);
	ck_assert_uint_eq(strlen(m->norm_text), m->norm_text_len);
	ck_assert_uint_le(m->text_len, c->max_scan);
	ck_assert(jm_text_valid_utf8(m->text, m->text_len));
	ck_assert(jm_text_valid_utf8(m->subject, strlen(m->subject)));
	ck_assert(jm_text_valid_utf8(m->from_name, strlen(m->from_name)));
	if (c->text != NULL)
		ck_assert_msg(strcmp(m->text, c->text) == 0,
		    "%s: text \"%s\", want \"%s\"", c->label, m->text, c->text);
	if (c->norm != NULL)
		ck_assert_msg(strcmp(m->norm_text, c->norm) == 0,
		    "%s: norm_text \"%s\", want \"%s\"", c->label, m->norm_text,
		    c->norm);
	if (c->subject != NULL)
		ck_assert_msg(strcmp(m->subject, c->subject) == 0,
		    "%s: subject \"%s\", want \"%s\"", c->label, m->subject,
		    c->subject);
	if (c->from_addr != NULL)
		ck_assert_msg(strcmp(m->from_addr, c->from_addr) == 0,
		    "%s: from_addr \"%s\", want \"%s\"", c->label, m->from_addr,
		    c->from_addr);
	if (c->from_name != NULL)
		ck_assert_msg(strcmp(m->from_name, c->from_name) == 0,
		    "%s: from_name \"%s\", want \"%s\"", c->label, m->from_name,
		    c->from_name);
	ck_assert_msg((m->flags & c->set) == c->set,
	    "%s: flags %#x, want %#x set", c->label, m->flags, c->set);
	ck_assert_msg((m->flags & c->clear) == 0,
	    "%s: flags %#x, want %#x clear", c->label, m->flags, c->clear);
	jm_message_free(m);
}
END_TEST

/*
 * A clean header block takes a short way: a message of one text part is
 * read without GMime's parser, any other is given to GMime as its
 * Content-* fields only.  A block that is not clean (here a field
 * repeated with the same value) gives GMime the message as it came, and
 * so, for a message of parts, does an mbox From line before it.  Each
 * body below must come out the same every way.
 */
static const char *const same_bodies[] = {
	PLAIN("utf-8") "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "caf\xc3\xa9 \xff bad\r\n\r\n> quoted\r\n",
	PLAIN("windows-1254") "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n=DDptal soft=\r\n break=\r\n",
	PLAIN("\"x-unknown\"") "Content-Transfer-Encoding: base64\r\n\r\n"
	    "aOlsbG8=\r\n",
	PLAIN("utf-8") "Content-Transfer-Encoding: base64\r\n\r\n"
	    "SGVsbG8gd29y\r\nbGQ@@##%%~~\r\n",
	"Content-Type: text/html; charset=iso-8859-1\r\n\r\n"
	    "<p>caf\xe9 <b>cr\xe8me</b></p><blockquote>old</blockquote>\r\n",
	"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
	    "--a\r\nContent-Type: text/html\r\n\r\n<p>nested html</p>\r\n"
	    "--a\r\n" PLAIN("koi8-r") "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n\xf0\xd2\xc9\xd7\xc5\xd4\r\n--a--\r\n"
	    "--m\r\n" PLAIN("utf-8") "Content-Transfer-Encoding: base64\r\n"
	    "\r\nc2Vjb25k\r\n--m\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: old\r\n\r\nold text\r\n--m--\r\n",
	"Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
	    "--b\r\n" PLAIN("utf-8") "\r\nno closing boundary\r\n",
	"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n",
	"\r\nno content fields\r\n",
	/* One part: read without GMime's parser when the head is clean. */
	PLAIN("utf-8") "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\nsee you =\r\nsoon =C3=A7ok\r\n-- \r\nAnn\r\n",
	"Content-Type: TEXT/HTML; CHARSET=windows-1256\r\n\r\n"
	    "<b>\xe3\xe3\xe4\xe6\xe4</b><script>x()</script>\r\n",
	"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n",
	"Content-Type: text/plain; name=\"notes.txt\"\r\n\r\nfile text\r\n",
	"Content-Type: text/plain\r\nContent-Disposition: attachment\r\n"
	    "\r\nattached text\r\n",
	"Content-Type: text/plain\r\nContent-Disposition: inline; "
	    "filename=a.txt\r\n\r\nnamed inline\r\n",
	"Content-Type: text/plain\r\nContent-Disposition: inline\r\n"
	    "\r\nplain inline\r\n",
	"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode"
	    "\r\n\r\nbegin 644 a.txt\r\n#86)C\r\n`\r\nend\r\n",
	"Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\n"
	    "<p>two types</p>\r\n",
	"Content-Type: text\r\n\r\nno subtype\r\n",
	"Content-Type: ;;\r\n\r\nno type at all\r\n",
	"Content-Type: application/pdf\r\n\r\n%PDF-1.4 iptal\r\n",
	"Content-Type: message/rfc822\r\n\r\nSubject: old\r\n\r\nold\r\n",
	PLAIN("utf-8") "\r\n\r\n",
	PLAIN("utf-8") "\r\n",
	PLAIN("iso-8859-9") "Content-Transfer-Encoding: base64\r\n\r\n"
	    "3XB0YWwg/G4=\r\n!!\r\n",
};

static void
same_parse(const char *raw, struct jm_message **m)
{
	ck_assert_int_eq(jm_message_parse(raw, strlen(raw), SCAN, m), 0);
	ck_assert_ptr_nonnull(*m);
}

START_TEST(test_content_fields_only)
{
	static const char *const heads[] = {
		"From: =?iso-8859-9?Q?Ay=FEe?= <ayse@example.com.tr>\r\n"
		    "To: support@example.com\r\n"
		    "Subject: =?utf-8?B?xLBwdGFs?=\r\n"
		    "MIME-Version: 1.0\r\nReceived: from a\r\n\tby b\r\n",
		"From ayse@example.com.tr Mon Mar  3 10:00:00 2025\r\n"
		    "From: =?iso-8859-9?Q?Ay=FEe?= <ayse@example.com.tr>\r\n"
		    "To: support@example.com\r\n"
		    "Subject: =?utf-8?B?xLBwdGFs?=\r\n"
		    "MIME-Version: 1.0\r\nReceived: from a\r\n\tby b\r\n",
		"From: =?iso-8859-9?Q?Ay=FEe?= <ayse@example.com.tr>\r\n"
		    "To: support@example.com\r\n"
		    "Subject: =?utf-8?B?xLBwdGFs?=\r\n"
		    "MIME-Version: 1.0\r\nReceived: from a\r\n\tby b\r\n"
		    "To: support@example.com\r\n",
	};
	struct jm_message *m[3];
	char		*raw;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_ne(asprintf(&raw, "%s%s", heads[i],
		    same_bodies[_i]), -1);
		same_parse(raw, &m[i]);
		free(raw);
	}
	ck_assert_str_eq(m[0]->subject, "\xc4\xb0ptal");
	ck_assert_str_eq(m[0]->from_name, "Ay\xc5\x9f" "e");
	for (i = 1; i < 3; i++) {
		ck_assert_msg(strcmp(m[i]->text, m[0]->text) == 0,
		    "body %d, head %zu: text \"%s\", want \"%s\"", _i, i,
		    m[i]->text, m[0]->text);
		ck_assert_str_eq(m[i]->norm_text, m[0]->norm_text);
		ck_assert_str_eq(m[i]->subject, m[0]->subject);
		ck_assert_str_eq(m[i]->from_addr, m[0]->from_addr);
		ck_assert_str_eq(m[i]->from_name, m[0]->from_name);
		ck_assert_msg(m[i]->flags == m[0]->flags,
		    "body %d, head %zu: flags %#x, want %#x", _i, i,
		    m[i]->flags, m[0]->flags);
	}
	for (i = 0; i < 3; i++)
		jm_message_free(m[i]);
}
END_TEST

static char *
read_file(const char *path, size_t *len)
{
	FILE	*fp = fopen(path, "rb");
	char	*buf = NULL;
	long	 n;

	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) !=
	    NULL) {
		*len = fread(buf, 1, (size_t)n, fp);
		buf[*len] = '\0';
	}
	fclose(fp);
	return buf;
}

/*
 * Every message of the corpora reads the same through the short ways
 * (the Content-* fields only; one part without the parser) as through
 * GMime's whole message parser, which a field that RFC 5322 allows once,
 * given twice, forces.
 */
START_TEST(test_short_ways_change_nothing)
{
	static const char *const dirs[] = { "tests/corpus/en",
	    "tests/corpus/tr", "tests/corpus/fa", "tests/corpus-4k",
	    "contrib/demo/mail" };
	static const char twice[] = "Cc: ann@example.com\r\n"
	    "Cc: ann@example.com\r\n";
	const char	*top = getenv("top_srcdir");
	struct jm_message *a, *b;
	struct dirent	*e;
	DIR		*dir;
	char		 path[1024], *raw, *whole;
	size_t		 len, i, n = 0;

	ck_assert_msg(top != NULL, "top_srcdir is not set (run make check)");
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", top, dirs[i]);
		dir = opendir(path);
		ck_assert_msg(dir != NULL, "%s", path);
		while ((e = readdir(dir)) != NULL) {
			len = strlen(e->d_name);
			if (len < 4 || strcmp(e->d_name + len - 4, ".eml") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", top, dirs[i],
			    e->d_name);
			raw = read_file(path, &len);
			ck_assert_msg(raw != NULL, "%s", path);
			whole = malloc(sizeof(twice) + len);
			ck_assert_ptr_nonnull(whole);
			memcpy(whole, twice, sizeof(twice) - 1);
			memcpy(whole + sizeof(twice) - 1, raw, len);
			ck_assert_int_eq(jm_message_parse(raw, len, SCAN, &a),
			    0);
			ck_assert_int_eq(jm_message_parse(whole,
			    sizeof(twice) - 1 + len, SCAN, &b), 0);
			ck_assert_msg(strcmp(a->text, b->text) == 0,
			    "%s: text \"%s\", want \"%s\"", path, a->text,
			    b->text);
			ck_assert_str_eq(a->norm_text, b->norm_text);
			ck_assert_str_eq(a->subject, b->subject);
			ck_assert_msg(a->flags == b->flags,
			    "%s: flags %#x, want %#x", path, a->flags,
			    b->flags);
			jm_message_free(a);
			jm_message_free(b);
			free(whole);
			free(raw);
			n++;
		}
		closedir(dir);
	}
	ck_assert_uint_gt(n, 250);
}
END_TEST

/* Every field a later module reads, from one ordinary message. */
START_TEST(test_headers)
{
	static const char raw[] =
	    "Received: from a\r\n\tby b; Mon, 3 Mar 2025\r\n"
	    "From: Ann <ann@example.com>\r\n"
	    "Subject: =?UTF-8?B?xLBwdGFsIGlzdGl5b3J1bQ==?=\r\n"
	    "Message-ID:   <id-1@example.com>  \r\n"
	    "In-Reply-To: <id-0@example.com>\r\n"
	    "References: <id-a@example.com>\r\n <id-0@example.com>\r\n"
	    "Content-Language: tr-TR\r\n"
	    "Auto-Submitted: no\r\n"
	    "Received: second\r\n"
	    "X-Empty:\r\n"
	    "\r\nbody\r\n";
	struct jm_message *m;

	ck_assert_int_eq(jm_message_parse(raw, sizeof(raw) - 1, SCAN, &m), 0);
	ck_assert_uint_eq(m->n_headers, 10);
	ck_assert_str_eq(m->headers[0].name, "Received");
	ck_assert_str_eq(m->headers[0].value, "from a\tby b; Mon, 3 Mar 2025");
	ck_assert_str_eq(m->headers[2].name, "Subject");
	ck_assert_str_eq(m->headers[2].value,
	    "=?UTF-8?B?xLBwdGFsIGlzdGl5b3J1bQ==?=");
	ck_assert_str_eq(m->headers[8].value, "second");
	ck_assert_str_eq(m->headers[9].name, "X-Empty");
	ck_assert_str_eq(m->headers[9].value, "");
	ck_assert_str_eq(jm_message_header(m, "received"),
	    "from a\tby b; Mon, 3 Mar 2025");
	ck_assert_str_eq(jm_message_header(m, "AUTO-SUBMITTED"), "no");
	ck_assert_ptr_null(jm_message_header(m, "Precedence"));
	ck_assert_str_eq(m->message_id, "<id-1@example.com>");
	ck_assert_str_eq(m->in_reply_to, "<id-0@example.com>");
	ck_assert_str_eq(m->references,
	    "<id-a@example.com> <id-0@example.com>");
	ck_assert_str_eq(m->content_language, "tr-TR");
	ck_assert_str_eq(m->subject, "\xc4\xb0ptal istiyorum");
	ck_assert_str_eq(m->norm_subject, "iptal istiyorum");
	ck_assert_str_eq(m->text, "body");
	ck_assert_ptr_null(m->env_from);
	jm_message_free(m);

	ck_assert_int_eq(jm_message_parse("Subject: x\n\ny", 14, SCAN, &m), 0);
	ck_assert_ptr_null(m->message_id);
	ck_assert_ptr_null(m->in_reply_to);
	ck_assert_ptr_null(m->references);
	ck_assert_ptr_null(m->content_language);
	jm_message_free(m);
}
END_TEST

START_TEST(test_message_id_without_brackets)
{
	struct jm_message *m;
	const char	*raw = "Message-Id: abc@example.com\n\nx";

	ck_assert_int_eq(jm_message_parse(raw, strlen(raw), SCAN, &m), 0);
	ck_assert_str_eq(m->message_id, "<abc@example.com>");
	jm_message_free(m);
}
END_TEST

START_TEST(test_header_limits)
{
	struct jm_buf	 b;
	struct jm_message *m;
	size_t		 i, total = 0;

	/* More headers than are kept. */
	jm_buf_init(&b, 1 << 24);
	for (i = 0; i < 10050; i++)
		jm_buf_printf(&b, "X-H%zu: v\n", i);
	jm_buf_puts(&b, "\nbody\n");
	ck_assert_int_eq(jm_message_parse(b.data, b.len, SCAN, &m), 0);
	ck_assert_uint_eq(m->n_headers, 10000);
	ck_assert_str_eq(m->headers[9999].name, "X-H9999");
	ck_assert(m->flags & JM_MSG_TRUNCATED);
	ck_assert_str_eq(m->text, "body");
	jm_message_free(m);

	/* More header text than is kept. */
	jm_buf_reset(&b);
	jm_buf_puts(&b, "Subject: ");
	for (i = 0; i < 300 * 1024; i++)
		if (i % 70 == 69)
			jm_buf_append(&b, "\n ", 2);
		else
			jm_buf_append(&b, "a", 1);
	jm_buf_puts(&b, "\nX-After: 1\n\nbody\n");
	ck_assert_int_eq(jm_message_parse(b.data, b.len, SCAN, &m), 0);
	ck_assert(m->flags & JM_MSG_TRUNCATED);
	for (i = 0; i < m->n_headers; i++)
		total += strlen(m->headers[i].name) +
		    strlen(m->headers[i].value);
	ck_assert_uint_le(total, 256 * 1024);
	ck_assert_str_eq(m->text, "body");
	jm_message_free(m);
	jm_buf_free(&b);
}
END_TEST

/* LEVELS nested multiparts, with text at the top and at the bottom. */
static void
nested(struct jm_buf *b, int levels)
{
	int	 i;

	jm_buf_puts(b, "Subject: deep\n");
	for (i = 0; i < levels; i++) {
		jm_buf_printf(b, "Content-Type: multipart/mixed; "
		    "boundary=\"b%d\"\n\n--b%d\n", i, i);
		if (i == 0)
			jm_buf_puts(b, "Content-Type: text/plain\n\ntop text\n"
			    "--b0\n");
	}
	jm_buf_puts(b, "Content-Type: text/plain\n\ndeep text\n");
	for (i = levels - 1; i >= 0; i--)
		jm_buf_printf(b, "--b%d--\n", i);
}

START_TEST(test_deep_nesting)
{
	static const int levels[] = { 1000, 3000 };
	struct jm_buf	 b;
	struct jm_message *m;

	jm_buf_init(&b, 1 << 24);
	nested(&b, levels[_i]);
	ck_assert_int_eq(jm_message_parse(b.data, b.len, SCAN, &m), 0);
	ck_assert_str_eq(m->text, "top text");
	ck_assert(m->flags & JM_MSG_MALFORMED);
	jm_message_free(m);
	jm_buf_free(&b);
}
END_TEST

/* Shallow nesting is read to the bottom. */
START_TEST(test_nesting_within_limit)
{
	struct jm_buf	 b;
	struct jm_message *m;

	jm_buf_init(&b, 1 << 20);
	nested(&b, 10);
	ck_assert_int_eq(jm_message_parse(b.data, b.len, SCAN, &m), 0);
	ck_assert_str_eq(m->text, "top text\n\ndeep text");
	ck_assert(!(m->flags & JM_MSG_MALFORMED));
	jm_message_free(m);
	jm_buf_free(&b);
}
END_TEST

START_TEST(test_envelope)
{
	char		*rcpt[] = { "<Support@Example.COM>",
	    "help@example.org" };
	char		*rcpt2[] = { "x@example.com" };
	struct jm_message *m;

	ck_assert_int_eq(jm_message_parse("Subject: x\n\ny", 14, SCAN, &m), 0);
	ck_assert_int_eq(jm_message_set_envelope(m, "<Ann@Example.COM>", rcpt,
	    2), 0);
	ck_assert_str_eq(m->env_from, "ann@example.com");
	ck_assert_uint_eq(m->n_env_rcpt, 2);
	ck_assert_str_eq(m->env_rcpt[0], "support@example.com");
	ck_assert_str_eq(m->env_rcpt[1], "help@example.org");
	/* A second call replaces the first. */
	ck_assert_int_eq(jm_message_set_envelope(m, "<>", rcpt2, 1), 0);
	ck_assert_str_eq(m->env_from, "");
	ck_assert_uint_eq(m->n_env_rcpt, 1);
	ck_assert_str_eq(m->env_rcpt[0], "x@example.com");
	ck_assert_int_eq(jm_message_set_envelope(m, NULL, NULL, 0), 0);
	ck_assert_ptr_null(m->env_from);
	ck_assert_uint_eq(m->n_env_rcpt, 0);
	jm_message_free(m);
	jm_message_free(NULL);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("message");
	TCase	*tc = tcase_create("message");
	SRunner	*sr;
	int	 failed;

	jm_message_init();
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_parse, 0,
	    sizeof(msg_cases) / sizeof(msg_cases[0]));
	tcase_add_loop_test(tc, test_content_fields_only, 0,
	    sizeof(same_bodies) / sizeof(same_bodies[0]));
	tcase_add_test(tc, test_short_ways_change_nothing);
	tcase_add_test(tc, test_headers);
	tcase_add_test(tc, test_message_id_without_brackets);
	tcase_add_test(tc, test_header_limits);
	tcase_add_loop_test(tc, test_deep_nesting, 0, 2);
	tcase_add_test(tc, test_nesting_within_limit);
	tcase_add_test(tc, test_envelope);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	jm_message_shutdown();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
