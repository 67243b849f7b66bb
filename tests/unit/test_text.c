/*
 * test_text.c: normalisation, quote and signature stripping, HTML to text.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/buf.h"
#include "journey/text.h"

#define FFFD	"\xef\xbf\xbd"

/* IN is LEN bytes, or a C string when LEN is 0. */
struct norm_case {
	const char	*label;
	const char	*in;
	size_t		 len;
	unsigned	 flags;
	const char	*want;
};

static const struct norm_case norm_cases[] = {
	{ "ascii unchanged", "Cancel My Order 42", 0, 0, "Cancel My Order 42" },
	{ "dotless i", "\xc4\xb1ptal", 0, 0, "iptal" },
	{ "dotted capital I", "\xc4\xb0ptal \xc4\xb0STANBUL", 0, 0,
	    "iptal iSTANBUL" },
	{ "combining dot above dropped", "I\xcc\x87ptal", 0, 0, "Iptal" },
	{ "other Turkish letters kept",
	    "\xc5\x9fikayet \xc3\xa7\xc3\xb6z\xc3\xbcm \xc4\x9f", 0, 0,
	    "\xc5\x9fikayet \xc3\xa7\xc3\xb6z\xc3\xbcm \xc4\x9f" },
	{ "arabic yeh to farsi yeh", "\xd9\x84\xd8\xba\xd9\x88 \xd9\x83\xd9\x86"
	    "\xd9\x8a\xd8\xaf", 0, 0,
	    "\xd9\x84\xd8\xba\xd9\x88 \xda\xa9\xd9\x86\xdb\x8c\xd8\xaf" },
	{ "alef maksura to farsi yeh", "\xd9\x85\xd9\x88\xd8\xb3\xd9\x89", 0, 0,
	    "\xd9\x85\xd9\x88\xd8\xb3\xdb\x8c" },
	{ "arabic kaf to keheh", "\xd9\x83", 0, 0, "\xda\xa9" },
	{ "farsi yeh and keheh kept", "\xdb\x8c\xda\xa9", 0, 0,
	    "\xdb\x8c\xda\xa9" },
	{ "zwnj removed", "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7"
	    "\xd9\x87\xd9\x85", 0, 0,
	    "\xd9\x85\xdb\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85" },
	{ "zwj removed", "a\xe2\x80\x8d" "b", 0, 0, "ab" },
	{ "tatweel removed", "\xd8\xb3\xd9\x80\xd9\x80\xd9\x84\xd8\xa7\xd9\x85",
	    0, 0, "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85" },
	{ "fatha and shadda removed", "\xd8\xa8\xd9\x8e\xd9\x91", 0, 0,
	    "\xd8\xa8" },
	{ "kasra, sukun and superscript alef removed",
	    "\xd8\xa8\xd9\x90\xd9\x92\xd9\xb0", 0, 0, "\xd8\xa8" },
	{ "last diacritic U+065F removed", "x\xd9\x9fy", 0, 0, "xy" },
	{ "U+0660 kept out of the diacritic range", "\xd9\xa0", 0, 0, "0" },
	{ "persian digits", "\xdb\xb0\xdb\xb1\xdb\xb2\xdb\xb9", 0, 0, "0129" },
	{ "arabic-indic digits", "\xd9\xa3\xd9\xa4\xd9\xa9", 0, 0, "349" },
	{ "soft hyphen and bom removed", "\xef\xbb\xbf" "can\xc2\xad" "cel",
	    0, 0, "cancel" },
	{ "bidi marks removed",
	    "\xe2\x80\x8f" "a\xe2\x80\x8e\xe2\x81\xa7" "b", 0, 0, "ab" },
	{ "spaces kept without the flag", " a\xc2\xa0\xc2\xa0" "b\n", 0, 0,
	    " a\xc2\xa0\xc2\xa0" "b\n" },
	{ "space runs collapse", "  a \t\r\n b  \n", 0, JM_NORM_SPACE, "a b" },
	{ "nbsp is white space", "a\xc2\xa0\xc2\xa0" "b", 0, JM_NORM_SPACE,
	    "a b" },
	{ "unicode spaces", "\xe3\x80\x80" "a\xe2\x80\x83" "b\xe2\x80\xaf" "c"
	    "\xe2\x80\xa8", 0, JM_NORM_SPACE, "a b c" },
	{ "removed characters do not split words", "a\xe2\x80\x8c \xe2\x80\x8c"
	    "b", 0, JM_NORM_SPACE, "a b" },
	{ "only spaces", " \t\n ", 0, JM_NORM_SPACE, "" },
	{ "empty", "", 0, JM_NORM_SPACE, "" },
	{ "invalid byte", "a\xff" "b", 0, 0, "a" FFFD "b" },
	{ "lone continuation", "\x80", 0, 0, FFFD },
	{ "truncated sequence at the end", "a\xe2\x82", 0, 0, "a" FFFD },
	{ "truncated sequence mid-text", "\xe2\x82" "a", 0, 0, FFFD "a" },
	{ "overlong", "\xc0\xaf", 0, 0, FFFD FFFD },
	{ "surrogate", "\xed\xa0\x80", 0, 0, FFFD FFFD FFFD },
	{ "beyond U+10FFFF", "\xf4\x90\x80\x80", 0, 0, FFFD FFFD FFFD FFFD },
	{ "four-byte kept", "\xf0\x9f\x98\xa0", 0, 0, "\xf0\x9f\x98\xa0" },
	/* Copied in runs: the runs must end where a character changes. */
	{ "single spaces inside a run", "ab c\xc3\xa9 \xdb\x8c\xda\xa9 d", 0,
	    JM_NORM_SPACE, "ab c\xc3\xa9 \xdb\x8c\xda\xa9 d" },
	{ "a space before a mapped character", "a \xd9\x8a b", 0,
	    JM_NORM_SPACE, "a \xdb\x8c b" },
	{ "a space before a removed character", "a \xe2\x80\x8c" "b", 0,
	    JM_NORM_SPACE, "a b" },
	{ "a space, then a tab", "a \tb", 0, JM_NORM_SPACE, "a b" },
	{ "a space at the end", "a b ", 0, JM_NORM_SPACE, "a b" },
	{ "a space at the start", " a", 0, JM_NORM_SPACE, "a" },
	{ "a space before a NUL", "a \0", 3, JM_NORM_SPACE, "a " FFFD },
	{ "a mapped character ends a run", "\xc3\xa9\xc4\xb1\xc3\xa9", 0, 0,
	    "\xc3\xa9i\xc3\xa9" },
	{ "an invalid byte ends a run", "\xdb\x8c\xff\xdb\x8c", 0, 0,
	    "\xdb\x8c" FFFD "\xdb\x8c" },
	{ "control characters stay", "a\x01\x7f" "b", 0, JM_NORM_SPACE,
	    "a\x01\x7f" "b" },
	{ "NUL", "a\0b", 3, 0, "a" FFFD "b" },
	{ "NUL with spaces", "\0 ", 2, JM_NORM_SPACE, FFFD },
};

START_TEST(test_normalize)
{
	const struct norm_case *c = &norm_cases[_i];
	struct jm_buf	 b;
	size_t		 len = c->len ? c->len : strlen(c->in);

	jm_buf_init(&b, 4096);
	ck_assert_int_eq(jm_text_normalize(c->in, len, c->flags, &b), 0);
	ck_assert_msg(strcmp(jm_buf_cstr(&b), c->want) == 0,
	    "%s: got \"%s\", want \"%s\"", c->label, jm_buf_cstr(&b), c->want);
	ck_assert_msg(jm_text_valid_utf8(b.data != NULL ? b.data : "", b.len),
	    "%s: output is not UTF-8", c->label);
	jm_buf_free(&b);
}
END_TEST

/* A full buffer must not end in half a character. */
START_TEST(test_normalize_bounded)
{
	struct jm_buf	 b;

	jm_buf_init(&b, 4);
	ck_assert_int_eq(jm_text_normalize("ab\xdb\x8c\xdb\x8c", 6, 0, &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "ab\xdb\x8c");
	ck_assert(b.truncated);
	jm_buf_reset(&b);
	ck_assert_int_eq(jm_text_normalize("abc\xdb\x8c", 5, 0, &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "abc");
	ck_assert(b.truncated);
	/* One character at a time: a smaller one still fits. */
	jm_buf_reset(&b);
	ck_assert_int_eq(jm_text_normalize("abc\xdb\x8c" "d", 6, 0, &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "abcd");
	ck_assert(b.truncated);
	jm_buf_free(&b);
	/* The yeh left out does not keep the space after it out. */
	jm_buf_init(&b, 3);
	ck_assert_int_eq(jm_text_normalize("a \xdb\x8c b", 6, JM_NORM_SPACE,
	    &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "a  ");
	ck_assert(b.truncated);
	jm_buf_free(&b);
}
END_TEST

struct cut_case {
	const char	*label;
	const char	*s;
	size_t		 max;
	size_t		 want;
};

static const struct cut_case cut_cases[] = {
	{ "shorter than max", "abc", 10, 3 },
	{ "ascii", "abcdef", 4, 4 },
	{ "inside a two-byte character", "h\xc3\xa9llo", 2, 1 },
	{ "after a two-byte character", "h\xc3\xa9llo", 3, 3 },
	{ "inside a three-byte character (1)", "\xe2\x82\xac" "x", 1, 0 },
	{ "inside a three-byte character (2)", "\xe2\x82\xac" "x", 2, 0 },
	{ "after a three-byte character", "\xe2\x82\xac" "x", 3, 3 },
	{ "inside a four-byte character", "a\xf0\x9f\x98\x80" "b", 4, 1 },
	{ "after a four-byte character", "a\xf0\x9f\x98\x80" "b", 5, 5 },
	{ "zero", "\xc3\xa9", 0, 0 },
	{ "stray continuation after a character", "\xc3\xa9\x80\x80", 3, 3 },
	{ "run of continuation bytes", "a\x80\x80\x80\x80\x80", 4, 4 },
};

START_TEST(test_cut)
{
	const struct cut_case *c = &cut_cases[_i];

	ck_assert_msg(jm_text_cut(c->s, strlen(c->s), c->max) == c->want,
	    "%s: got %zu, want %zu", c->label,
	    jm_text_cut(c->s, strlen(c->s), c->max), c->want);
}
END_TEST

START_TEST(test_valid_utf8)
{
	ck_assert(jm_text_valid_utf8("", 0));
	ck_assert(jm_text_valid_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	    10));
	ck_assert(!jm_text_valid_utf8("\xc3", 1));
	ck_assert(!jm_text_valid_utf8("\xe9t\xe9", 3));		/* Latin-1 */
	ck_assert(!jm_text_valid_utf8("\xed\xa0\x80", 3));
	ck_assert(!jm_text_valid_utf8("\xc1\xbf", 2));
	ck_assert(!jm_text_valid_utf8("\xf5\x80\x80\x80", 4));
}
END_TEST

START_TEST(test_sanitize)
{
	struct jm_buf	 b;

	jm_buf_init(&b, 1024);
	ck_assert_int_eq(jm_text_sanitize("a\r\nb\rc\0d\xff\n", 10, &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "a\nb\nc" FFFD "d" FFFD "\n");
	/* Valid sequences are copied in runs, up to what is not valid. */
	jm_buf_reset(&b);
	ck_assert_int_eq(jm_text_sanitize("\xc3\xa9\xd9\x8a\xff\xdb\x8c\xed"
	    "\xa0\x80\r\n\xf0\x9f\x98\x80\xe2\x82", 18, &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "\xc3\xa9\xd9\x8a" FFFD "\xdb\x8c"
	    FFFD FFFD FFFD "\n\xf0\x9f\x98\x80" FFFD);
	jm_buf_free(&b);

	/* At the maximum, whole characters only, each that still fits. */
	jm_buf_init(&b, 4);
	ck_assert_int_eq(jm_text_sanitize("ab\xe2\x82\xac" "cd", 7, &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "abcd");
	ck_assert(b.truncated);
	jm_buf_reset(&b);
	ck_assert_int_eq(jm_text_sanitize("abc\xc3\xa9", 5, &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "abc");
	ck_assert(b.truncated);
	jm_buf_free(&b);
}
END_TEST

/*
 * Eight ASCII bytes at a time: a NUL, a CR, a bad byte or a character of
 * two bytes at any place of a long ASCII text is still found.
 */
START_TEST(test_sanitize_words)
{
	static const struct {
		const char	*bad;
		size_t		 n;
		const char	*out;
		int		 valid;
	} odd[] = {
		{ "\0", 1, FFFD, 1 },
		{ "\r", 1, "\n", 1 },
		{ "\xff", 1, FFFD, 0 },
		{ "\xc3\xa9", 2, "\xc3\xa9", 1 },
	};
	struct jm_buf	 b;
	char		 in[40], want[48];
	size_t		 at, k, len;

	jm_buf_init(&b, 1024);
	for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
		for (at = 0; at < 24; at++) {
			memset(in, 'a', sizeof(in));
			memcpy(in + at, odd[k].bad, odd[k].n);
			len = 32;
			memset(want, 0, sizeof(want));
			memset(want, 'a', at);
			strcat(want, odd[k].out);
			memset(want + strlen(want), 'a', len - at - odd[k].n);
			jm_buf_reset(&b);
			ck_assert_int_eq(jm_text_sanitize(in, len, &b), 0);
			ck_assert_msg(strcmp(jm_buf_cstr(&b), want) == 0,
			    "case %zu at %zu", k, at);
			ck_assert_int_eq(jm_text_valid_utf8(in, len),
			    odd[k].valid);
		}
	}
	/* Plain ASCII of every length, the tail shorter than a word. */
	memset(in, 'z', sizeof(in));
	for (len = 0; len <= 20; len++) {
		jm_buf_reset(&b);
		ck_assert_int_eq(jm_text_sanitize(in, len, &b), 0);
		ck_assert_uint_eq(b.len, len);
		ck_assert(jm_text_valid_utf8(in, len));
	}
	jm_buf_free(&b);
}
END_TEST

/*
 * Quote and signature stripping.  WANT NULL: the input comes back as it
 * is (nothing to strip, or nothing would be left).
 */
/* 1,100 bytes: longer than any line looked at as a marker. */
#define LONG10	"xxxxxxxxxx"
#define LONG100	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
		LONG10 LONG10
#define LONG_LINE LONG100 LONG100 LONG100 LONG100 LONG100 LONG100 LONG100 \
		LONG100 LONG100 LONG100 LONG100

struct strip_case {
	const char	*label;
	const char	*in;
	const char	*want;
};

static const struct strip_case strip_cases[] = {
	/* English attributions. */
	{ "gmail attribution",
	    "Thanks, but cancel it.\n\n"
	    "On Tue, 11 Mar 2025 at 09:14, Care <care@example.com> wrote:\n"
	    "> We'd like to offer you 50% off.\n>\n> Care\n",
	    "Thanks, but cancel it." },
	{ "gmail attribution, US date",
	    "Still broken.\n\n"
	    "On Mon, Mar 3, 2025 at 10:00 AM Customer Care <care@example.com> "
	    "wrote:\n\n> Did the fix help?\n",
	    "Still broken." },
	{ "attribution wrapped over two lines",
	    "I still want a refund.\n\n"
	    "On Mon, Mar 3, 2025 at 10:00 AM Customer Care <\n"
	    "care@example.com> wrote:\n\n"
	    "Your refund is on its way, no quote marks here.\n",
	    "I still want a refund." },
	{ "apple attribution, unquoted",
	    "Lovely, thank you!\n\n"
	    "On 3 Mar 2025, at 10:00, Ann Lee <ann@example.com> wrote:\n\n"
	    "Old text.\n",
	    "Lovely, thank you!" },
	{ "apple attribution, quoted",
	    "Lovely, thank you!\n\n"
	    "> On 3 Mar 2025, at 10:00, Ann Lee <ann@example.com> wrote:\n"
	    ">\n> Old text.\n",
	    "Lovely, thank you!" },
	{ "thunderbird attribution without an address",
	    "No.\n\nOn 3/3/25 10:00 AM, Customer Care wrote:\nold text\n",
	    "No." },
	{ "short attribution before quoted lines",
	    "Yes please.\n\nCustomer Care wrote:\n> Shall we refund you?\n",
	    "Yes please." },
	{ "bottom-posted reply keeps the new text",
	    "On Mon, 3 Mar 2025 at 10:00, Care <c@example.com> wrote:\n"
	    "> Did the fix work?\n\nNo, it still fails.\n",
	    "No, it still fails." },
	{ "inline replies keep the answers",
	    "> Which order?\n1234\n> Which colour?\nred\n",
	    "1234\nred" },
	/* Outlook. */
	{ "original message separator",
	    "Nobody replied.\n\n-----Original Message-----\n"
	    "From: Grace <g@example.org>\n"
	    "Sent: Monday, March 3, 2025 10:02 AM\n"
	    "To: Support <s@example.com>\nSubject: Damaged\n\nOld complaint.\n",
	    "Nobody replied." },
	{ "original message, upper case",
	    "Fine.\n-----ORIGINAL MESSAGE-----\nold\n", "Fine." },
	{ "header block without a separator",
	    "Fine.\n\nFrom: Care <c@example.com>\n"
	    "Sent: Monday, March 3, 2025 10:00 AM\nTo: Ann\nSubject: RE: x\n\n"
	    "old\n",
	    "Fine." },
	{ "bold header block from HTML",
	    "Fine.\n*From:* Care <c@example.com>\n*Sent:* Monday\n*To:* Ann\n",
	    "Fine." },
	{ "underscores before From",
	    "Thanks.\n\n________________________________\n"
	    "From: Care <c@example.com>\nSent: Monday\nTo: Ann\n\nold\n",
	    "Thanks." },
	{ "forwarded, gmail",
	    "See below, this is the third time.\n\n"
	    "---------- Forwarded message ---------\n"
	    "From: Me <me@example.com>\nDate: Mon, 3 Mar 2025 at 10:00\n"
	    "Subject: Broken\nTo: <s@example.com>\n\nold\n",
	    "See below, this is the third time." },
	{ "forwarded, apple",
	    "FYI\n\nBegin forwarded message:\n\n"
	    "From: Me <me@example.com>\nold\n",
	    "FYI" },
	{ "From and Date block",
	    "Again.\n\nFrom: Me <me@example.com>\nDate: Mon, 3 Mar 2025\n"
	    "Subject: x\nTo: s@example.com\nold\n",
	    "Again." },
	/* Turkish. */
	{ "turkish gmail attribution",
	    "Kararım değişmedi.\n\n"
	    "11 Mar 2025 Sal, saat 09:14 tarihinde Müşteri İlişkileri "
	    "<musteri@example.com.tr> şunu yazdı:\n> Teklifimiz var.\n",
	    "Kararım değişmedi." },
	{ "turkish attribution wrapped",
	    "Teşekkürler.\n\n3 Mar 2025 Pzt, saat 10:00 tarihinde Volkan Er <\n"
	    "volkan@example.net> şunu yazdı:\n\neski metin\n",
	    "Teşekkürler." },
	{ "turkish short attribution before quoted lines",
	    "Evet.\n\nAli Veli <ali@example.com> yazdı:\n"
	    "> Onaylıyor musunuz?\n",
	    "Evet." },
	{ "özgün ileti",
	    "Yanıt yok.\n\n-----Özgün İleti-----\nKimden: Merve\n"
	    "Gönderildi: 3 Mart 2025\nKime: Destek\nKonu: Koltuk\n\neski\n",
	    "Yanıt yok." },
	{ "özgün ileti, upper case",
	    "Yanıt yok.\n-----ÖZGÜN İLETİ-----\neski\n", "Yanıt yok." },
	{ "turkish gmail forward",
	    "Bakar mısınız?\n\n---------- Yönlendirilen ileti ---------\n"
	    "Gönderen: Ali <ali@example.com>\nDate: 3 Mar 2025\n"
	    "Subject: x\nTo: <d@example.com>\n\neski\n",
	    "Bakar mısınız?" },
	{ "turkish apple forward",
	    "Bilginize.\n\nİletilen ileti başlangıcı:\n\nKimden: Ali\neski\n",
	    "Bilginize." },
	{ "orijinal mesaj",
	    "Yanıt yok.\n-----Orijinal Mesaj-----\neski\n", "Yanıt yok." },
	{ "kimden block",
	    "Tamam.\n\nKimden: Destek <d@example.com.tr>\n"
	    "Gönderildi: 3 Mart 2025 Pazartesi 10:15\nKime: Ali\nKonu: YNT: x\n"
	    "\neski\n",
	    "Tamam." },
	/* Persian. */
	{ "persian gmail attribution",
	    "ممنون، لغو کنید.\n\n"
	    "در تاریخ سه‌شنبه ۱۱ مارس ۲۰۲۵ ساعت ۹:۱۴، باشگاه مشتریان "
	    "<club@example.ir> نوشت:\n> پیشنهاد ویژه\n",
	    "ممنون، لغو کنید." },
	{ "persian short attribution before quoted lines",
	    "بله.\n\nپشتیبانی نوشت:\n> تایید می‌کنید؟\n", "بله." },
	{ "payam-e asli",
	    "خیلی ممنون.\n\n-----پیام اصلی-----\nاز: رویا <r@example.com>\n"
	    "ارسال شده: جمعه ۴ آوریل ۲۰۲۵\nبه: پشتیبانی\n"
	    "موضوع: چمدان\n\nقدیمی\n",
	    "خیلی ممنون." },
	{ "payam-e asli with arabic yeh",
	    "خیلی ممنون.\n-----پيام اصلي-----\nقدیمی\n", "خیلی ممنون." },
	{ "persian gmail forward",
	    "لطفا بررسی کنید.\n\n---------- پیام هدایت‌شده ---------\n"
	    "از: علی <ali@example.ir>\nDate: 3 Mar 2025\nSubject: x\n\nقدیمی\n",
	    "لطفا بررسی کنید." },
	{ "persian header block",
	    "باشه.\n\nاز: پشتیبانی <p@example.ir>\nارسال شده: ۴ آوریل ۲۰۲۵\n"
	    "به: رویا\nموضوع: پاسخ\n\nقدیمی\n",
	    "باشه." },
	{ "persian sender block",
	    "باشه.\n\nفرستنده: پشتیبانی <p@example.ir>\nتاریخ: ۴ آوریل ۲۰۲۵\n"
	    "گیرنده: رویا\nموضوع: پاسخ\n\nقدیمی\n",
	    "باشه." },
	/* Signatures. */
	{ "dash dash space", "Refund me.\n\n-- \nAli\n+90 555\n",
	    "Refund me." },
	{ "dash dash", "Refund me.\n--\nAli\n", "Refund me." },
	{ "dash dash in CRLF text", "Refund me.\r\n-- \r\nAli\r\n",
	    "Refund me." },
	{ "sent from my iphone", "Cancel it.\n\nSent from my iPhone\n",
	    "Cancel it." },
	{ "sent from my samsung galaxy",
	    "Cancel it.\n\nSent from my Samsung Galaxy smartphone.\n",
	    "Cancel it." },
	{ "get outlook for ios", "Cancel it.\n\nGet Outlook for iOS\n",
	    "Cancel it." },
	{ "get outlook for android",
	    "Cancel it.\nGet Outlook for Android<https://aka.ms/x>\n",
	    "Cancel it." },
	{ "sent from yahoo mail",
	    "Cancel it.\n\nSent from Yahoo Mail on Android\n", "Cancel it." },
	{ "iphone'umdan gönderildi", "İptal edin.\n\niPhone'umdan gönderildi\n",
	    "İptal edin." },
	{ "iphone'umdan gönderildi, typographic apostrophe",
	    "İptal edin.\n\niPhone’umdan gönderildi\n", "İptal edin." },
	{ "samsung cihazımdan gönderildi",
	    "İptal edin.\n\nSamsung cihazımdan gönderildi\n", "İptal edin." },
	{ "android için outlook'u edinin",
	    "İptal edin.\n\nAndroid için Outlook'u edinin\n", "İptal edin." },
	{ "persian sent from my iphone",
	    "لغو کنید.\n\nارسال شده از iPhone من\n", "لغو کنید." },
	{ "persian sent from mobile",
	    "لغو کنید.\n\nارسال شده از تلفن همراه\n", "لغو کنید." },
	{ "mobile signature with a name after it",
	    "Cancel it.\nSent from my iPhone\nAnn\n", "Cancel it." },
	{ "mobile signature above the quote",
	    "Cancel it.\n\nSent from my iPhone\n\n"
	    "On 3 Mar 2025, at 10:00, Care <c@example.com> wrote:\n> offer\n",
	    "Cancel it." },
	{ "mobile signature mid-text only loses its line",
	    "Top.\nSent from my iPhone\none\ntwo\nthree\nfour\n",
	    "Top.\none\ntwo\nthree\nfour" },
	{ "mobile signature in odd spacing and case",
	    "Cancel.\n\n  SENT   from\xc2\xa0my \t phone \n", "Cancel." },
	{ "mobile signature after an inline reply",
	    "On Mon, 3 Mar 2025 at 10:00, A <a@example.com> wrote:\n> q\n"
	    "My answer.\nSent from my iPhone\n", "My answer." },
	{ "mobile signature after a two-line attribution is history",
	    "Fine.\nOn Mon, 3 Mar 2025 at 10:00, A <a@\nexample.com> wrote:\n"
	    "Sent from my iPhone\n", "Fine." },
	/* What must not be cut. */
	{ "a sentence about writing is not an attribution",
	    "On Monday I wrote to you about my refund.\nNobody answered.",
	    NULL },
	{ "somebody wrote, and no quote follows",
	    "My manager wrote:\nwe will cancel, but I disagree.", NULL },
	{ "turkish wrote, and no quote follows",
	    "Müdürünüz bana şunu yazdı:\nparanız iade edilecek.", NULL },
	{ "persian wrote, and no quote follows",
	    "مدیر شما به من نوشت:\nپول برمی‌گردد.", NULL },
	{ "a From line in a sentence",
	    "From: my side the problem is the modem.\nIt drops every hour.",
	    NULL },
	{ "separator words inside a sentence",
	    "I saw -----Original Message----- in your reply, weird.", NULL },
	{ "three dashes are not a signature", "a\n---\nb", NULL },
	{ "sent from my long sentence",
	    "Sent from my iPhone while waiting for the delivery that never "
	    "came "
	    "for the third time", NULL },
	{ "a line too long to fold is no signature",
	    "Top.\nSent from my " LONG_LINE, NULL },
	{ "everything quoted is kept", "> old\n> text\n", NULL },
	{ "only an attribution and a quote is kept",
	    "On Mon, 3 Mar 2025 at 10:00, A <a@example.com> wrote:\n> x\n",
	    NULL },
	{ "empty", "", NULL },
	{ "blank lines trimmed and squeezed", "\n\na\n\n\n\nb\n\n", "a\n\nb" },
	{ "crlf", "Hi\r\n\r\nOn Mon, 3 Mar 2025 at 10:00, A <a@x.com> wrote:"
	    "\r\n> x\r\n", "Hi" },
};

START_TEST(test_strip)
{
	const struct strip_case *c = &strip_cases[_i];
	const char	*want = c->want != NULL ? c->want : c->in;
	struct jm_buf	 b;

	jm_buf_init(&b, 65536);
	ck_assert_int_eq(jm_text_strip_quotes(c->in, strlen(c->in), &b), 0);
	ck_assert_msg(strcmp(jm_buf_cstr(&b), want) == 0,
	    "%s: got \"%s\", want \"%s\"", c->label, jm_buf_cstr(&b), want);
	jm_buf_free(&b);
}
END_TEST

/* Appends: what is in the buffer before stays. */
START_TEST(test_strip_appends)
{
	struct jm_buf	 b;

	jm_buf_init(&b, 1024);
	jm_buf_puts(&b, "x:");
	ck_assert_int_eq(jm_text_strip_quotes("> q\n", 4, &b), 0);
	ck_assert_str_eq(jm_buf_cstr(&b), "x:> q\n");
	jm_buf_free(&b);
}
END_TEST

struct html_case {
	const char	*label;
	const char	*in;
	const char	*want;
};

static const struct html_case html_cases[] = {
	{ "script, style and head removed",
	    "<html><head><title>T</title><style>p{color:red}</style></head>"
	    "<body><p>Hello &amp; welcome</p><script>alert('cancel')</script>"
	    "<div>Line two</div></body></html>",
	    "Hello & welcome\nLine two" },
	{ "entities",
	    "<p>&lt;b&gt; &eacute; &#1587;&#x633; &quot;q&quot; a&nbsp;b</p>",
	    "<b> \xc3\xa9 \xd8\xb3\xd8\xb3 \"q\" a\xc2\xa0" "b" },
	{ "block elements end lines",
	    "<h1>Title</h1><ul><li>one</li><li>two</li></ul>a<br>b"
	    "<table><tr><td>x</td><td>y</td></tr><tr><td>z</td></tr></table>"
	    "<h6>end</h6>",
	    "Title\none\ntwo\na\nb\nx y\nz\nend" },
	{ "white space collapses", "<p>  a \n\t b  </p>\n\n<p>c</p>",
	    "a b\nc" },
	{ "br makes one blank line at most", "a<br><br><br><br>b", "a\n\nb" },
	{ "blockquote is quoted",
	    "<div>New text</div><div class=\"gmail_quote\">On Mon, 3 Mar 2025 "
	    "at 10:00 A &lt;a@x.com&gt; wrote:<br><blockquote type=\"cite\">"
	    "old <b>complaint</b><br>second</blockquote></div>",
	    "New text\nOn Mon, 3 Mar 2025 at 10:00 A <a@x.com> wrote:\n"
	    "> old complaint\n> second" },
	{ "nested blockquote",
	    "<blockquote>a<blockquote>b</blockquote></blockquote>",
	    "> a\n>> b" },
	{ "pre keeps white space", "<pre>a  b\nc</pre>", "a  b\nc" },
	{ "invalid UTF-8 replaced", "<p>a\xff" "b \xc3\xa9</p>",
	    "a" FFFD "b \xc3\xa9" },
	{ "a meta charset does not override UTF-8",
	    "<html><head><meta charset=\"iso-8859-1\"></head>"
	    "<body>caf\xc3\xa9 \xd8\xb3</body></html>",
	    "caf\xc3\xa9 \xd8\xb3" },
	{ "broken markup recovered", "<p>one<div>two</p><b>three",
	    "one\ntwothree" },
	{ "comments dropped", "a<!-- cancel -->b", "ab" },
	{ "empty", "", "" },
	{ "only tags", "<html><body></body></html>", "" },
};

START_TEST(test_html)
{
	const struct html_case *c = &html_cases[_i];
	struct jm_buf	 b;

	jm_buf_init(&b, 65536);
	ck_assert_int_eq(jm_text_from_html(c->in, strlen(c->in), &b), 0);
	ck_assert_msg(strcmp(jm_buf_cstr(&b), c->want) == 0,
	    "%s: got \"%s\", want \"%s\"", c->label, jm_buf_cstr(&b), c->want);
	jm_buf_free(&b);
}
END_TEST

/* HTML quotes go the way of text quotes. */
START_TEST(test_html_then_strip)
{
	const char	*html = "<div dir=\"ltr\">Please cancel.</div><br>"
	    "<div class=\"gmail_quote\"><div class=\"gmail_attr\">On Tue, 11 "
	    "Mar 2025 at 09:14, Care &lt;care@example.com&gt; wrote:<br></div>"
	    "<blockquote class=\"gmail_quote\">Stay with us!</blockquote>"
	    "</div>";
	struct jm_buf	 t, s;

	jm_buf_init(&t, 65536);
	jm_buf_init(&s, 65536);
	ck_assert_int_eq(jm_text_from_html(html, strlen(html), &t), 0);
	ck_assert_int_eq(jm_text_strip_quotes(t.data, t.len, &s), 0);
	ck_assert_str_eq(jm_buf_cstr(&s), "Please cancel.");
	jm_buf_free(&t);
	jm_buf_free(&s);
}
END_TEST

/* Deep markup: the walk does not recurse, and nothing is lost before it. */
START_TEST(test_html_deep)
{
	struct jm_buf	 in, out;
	int		 i;

	jm_buf_init(&in, 1 << 20);
	jm_buf_init(&out, 65536);
	jm_buf_puts(&in, "start");
	for (i = 0; i < 5000; i++)
		jm_buf_puts(&in, "<div><span>");
	jm_buf_puts(&in, "x");
	ck_assert_int_eq(jm_text_from_html(in.data, in.len, &out), 0);
	ck_assert(strncmp(jm_buf_cstr(&out), "start", 5) == 0);
	jm_buf_free(&in);
	jm_buf_free(&out);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("text");
	TCase	*tc = tcase_create("text");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, test_normalize, 0,
	    sizeof(norm_cases) / sizeof(norm_cases[0]));
	tcase_add_test(tc, test_normalize_bounded);
	tcase_add_loop_test(tc, test_cut, 0,
	    sizeof(cut_cases) / sizeof(cut_cases[0]));
	tcase_add_test(tc, test_valid_utf8);
	tcase_add_test(tc, test_sanitize);
	tcase_add_test(tc, test_sanitize_words);
	tcase_add_loop_test(tc, test_strip, 0,
	    sizeof(strip_cases) / sizeof(strip_cases[0]));
	tcase_add_test(tc, test_strip_appends);
	tcase_add_loop_test(tc, test_html, 0,
	    sizeof(html_cases) / sizeof(html_cases[0]));
	tcase_add_test(tc, test_html_then_strip);
	tcase_add_test(tc, test_html_deep);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
