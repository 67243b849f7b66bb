/*
 * ctl_report.c: "journeyctl report --html FILE", the store as one page a
 * support lead reads at a glance.
 *
 * The page stands alone: inline CSS and SVG, no script, no font, image or
 * stylesheet from anywhere, so it can be mailed, archived or opened on a
 * machine without network and prints as it shows (@media print).  Every
 * number a test or a script may want to read back sits in a text element
 * with an id or data- attributes.  Every string from the store (category
 * names, targets, reasons) is escaped: the store holds what the rules and
 * the configuration named, and a page must not run what it shows.
 *
 * Deliberately not here: any count of its own.  The numbers are the
 * store's (store.h), the same that "journeyctl stats" prints.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journey/ctl.h"
#include "journey/journey.h"
#include "journey/store.h"

#define DAYS		14
#define SLOWEST		10
#define DAY		86400L
#define WEEK		(7 * DAY)
#define MAX_CATEGORIES	12	/* colours; the rest are drawn as "other" */

/* Stages from light to dark: the further along, the deeper the colour. */
static const char *const stage_colours[8] = {
	"#b9dcf2", "#9ccbec", "#7db8e3", "#5ea4d8", "#418fca", "#2f7ab7",
	"#23649c", "#174e80",
};

/* Categories whose meaning has a colour; others take the palette. */
static const struct {
	const char	*name;
	const char	*colour;
} known_colours[] = {
	{ "complaint", "#d9534f" },
	{ "cancellation", "#f0ad4e" },
	{ "praise", "#3c9d5d" },
	{ "none", "#c3c9d2" },
};

static const char *const palette[] = {
	"#5b7fd6", "#9b6bcc", "#2aa5a0", "#c7662b", "#d45d9b", "#7c8b2f",
	"#4a5d78", "#b58a12",
};

/* The reasons of decide.h and ack.h, as a support lead would say them. */
static const struct {
	const char	*code;
	const char	*words;
} reason_words[] = {
	{ "own-acknowledgement", "our own acknowledgement coming back" },
	{ "no-category", "no category matched" },
	{ "reply-off", "the category does not reply" },
	{ "no-template", "no reply template for the language" },
	{ "compose-failed", "the reply could not be composed" },
	{ "no-from-config", "acknowledgements are off (no ack_from)" },
	{ "null-sender", "a bounce (null sender)" },
	{ "delivery-report", "a delivery report" },
	{ "auto-submitted", "an automatic message" },
	{ "auto-reply-header", "an auto-reply" },
	{ "suppress-header", "the sender asked for no auto-replies" },
	{ "list", "mailing list mail" },
	{ "precedence", "bulk or list mail" },
	{ "loop", "a mail loop" },
	{ "own-address", "from one of our own addresses" },
	{ "role-sender", "a role or robot sender" },
	{ "not-to-support", "not addressed to support" },
	{ "auth-failed", "failed sender authentication" },
	{ "already-answered", "already answered recently" },
	{ "daily-limit", "the customer's daily limit" },
	{ "global-limit", "the per-minute limit" },
	{ "not-escalated", "the category does not escalate" },
	{ "no-chat-target", "no chat target takes the category" },
	{ "thread-already-escalated", "the thread was escalated already" },
};

struct report {
	time_t			 now;
	time_t			 first_day;	/* 00:00 UTC, DAYS - 1 ago */
	struct jm_store_stats	 total;
	struct jm_store_window	 day, week;
	struct jm_store_day	*days;
	size_t			 n_days;
	struct jm_outbox_row	*slow;
	size_t			 n_slow;
	/* Categories of the chart, by total over DAYS, "none" last. */
	const char		*cats[MAX_CATEGORIES + 1];
	long			 cat_total[MAX_CATEGORIES + 1];
	size_t			 n_cats;
	int			 other;		/* the last is "other" */
	const char		*state_dir;
};

static void
report_free(struct report *r)
{
	jm_store_window_clear(&r->day);
	jm_store_window_clear(&r->week);
	jm_store_days_free(r->days, r->n_days);
	jm_outbox_rows_free(r->slow, r->n_slow);
}

/* Text for an HTML element or a quoted attribute. */
static void
esc(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&#39;", fp);
			break;
		default:
			fputc(*s, fp);
		}
	}
}

/*
 * T as "2026-11-23 10:00:00" (WHAT 0), "2026-11-23" (1), "Mon 23" (2) or
 * "Nov" (3).
 */
static void
utc(time_t t, int what, char *out, size_t outlen)
{
	struct tm	tm;
	size_t		n = 0;

	if (gmtime_r(&t, &tm) != NULL) {
		switch (what) {
		case 0:
			n = strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
			break;
		case 1:
			n = strftime(out, outlen, "%Y-%m-%d", &tm);
			break;
		case 2:
			n = strftime(out, outlen, "%a %d", &tm);
			break;
		default:
			n = strftime(out, outlen, "%b", &tm);
			break;
		}
	}
	if (n == 0)
		snprintf(out, outlen, "%lld", (long long)t);
}

/* "45s", "3m 20s", "2h 05m", "1d 4h". */
static void
took(long s, char *out, size_t outlen)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, outlen, "%lds", s);
	else if (s < 2 * 3600)
		snprintf(out, outlen, "%ldm %02lds", s / 60, s % 60);
	else if (s < 2 * DAY)
		snprintf(out, outlen, "%ldh %02ldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, outlen, "%ldd %ldh", s / DAY, s % DAY / 3600);
}

static const char *
colour_of(const struct report *r, size_t i)
{
	size_t	k, p = 0;

	if (r->other && i == r->n_cats - 1)
		return "#8a919c";
	for (k = 0; k < sizeof(known_colours) / sizeof(known_colours[0]); k++)
		if (strcmp(r->cats[i], known_colours[k].name) == 0)
			return known_colours[k].colour;
	/* The palette in order, over the categories without a colour. */
	for (k = 0; k < i; k++) {
		size_t	j;
		int	known = 0;

		for (j = 0; j < sizeof(known_colours) /
		    sizeof(known_colours[0]); j++)
			if (strcmp(r->cats[k], known_colours[j].name) == 0)
				known = 1;
		if (!known && !(r->other && k == r->n_cats - 1))
			p++;
	}
	return palette[p % (sizeof(palette) / sizeof(palette[0]))];
}

/* The chart's categories: the busiest first, "none" last, the rest "other". */
static void
pick_categories(struct report *r)
{
	struct {
		const char	*name;
		long		 n;
	} all[256];
	size_t	 n = 0, i, j, keep;
	long	 none = -1;

	for (i = 0; i < r->n_days; i++) {
		if (strcmp(r->days[i].category, "none") == 0) {
			none = (none < 0 ? 0 : none) + r->days[i].n;
			continue;
		}
		for (j = 0; j < n; j++)
			if (strcmp(all[j].name, r->days[i].category) == 0)
				break;
		if (j == n) {
			if (n == sizeof(all) / sizeof(all[0]))
				continue;
			all[n].name = r->days[i].category;
			all[n++].n = 0;
		}
		all[j].n += r->days[i].n;
	}
	/* Insertion sort: a handful of categories. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && (all[j].n > all[j - 1].n ||
		    (all[j].n == all[j - 1].n &&
		    strcmp(all[j].name, all[j - 1].name) < 0)); j--) {
			const char	*tn = all[j].name;
			long		 tc = all[j].n;

			all[j] = all[j - 1];
			all[j - 1].name = tn;
			all[j - 1].n = tc;
		}
	keep = MAX_CATEGORIES - (none >= 0 ? 1 : 0);
	if (n > keep)
		keep--;		/* room for "other" */
	for (i = 0; i < n && i < keep; i++) {
		r->cats[r->n_cats] = all[i].name;
		r->cat_total[r->n_cats++] = all[i].n;
	}
	if (i < n) {
		r->cats[r->n_cats] = "other";
		r->cat_total[r->n_cats] = 0;
		for (; i < n; i++)
			r->cat_total[r->n_cats] += all[i].n;
		r->n_cats++;
		r->other = 1;
	}
	if (none >= 0) {
		/* "none" before "other", so that "other" stays the last. */
		if (r->other) {
			r->cats[r->n_cats] = r->cats[r->n_cats - 1];
			r->cat_total[r->n_cats] = r->cat_total[r->n_cats - 1];
			r->cats[r->n_cats - 1] = "none";
			r->cat_total[r->n_cats - 1] = none;
		} else {
			r->cats[r->n_cats] = "none";
			r->cat_total[r->n_cats] = none;
		}
		r->n_cats++;
	}
}

/* Messages of chart category I on day D (0: the first day). */
static long
day_count(const struct report *r, size_t d, size_t i)
{
	time_t	day = r->first_day + (time_t)d * DAY;
	size_t	k, j;
	long	n = 0;
	int	listed;

	for (k = 0; k < r->n_days; k++) {
		if (r->days[k].day != day)
			continue;
		if (!(r->other && i == r->n_cats - 1)) {
			if (strcmp(r->days[k].category, r->cats[i]) == 0)
				n += r->days[k].n;
			continue;
		}
		listed = 0;
		for (j = 0; j + 1 < r->n_cats; j++)
			if (strcmp(r->days[k].category, r->cats[j]) == 0)
				listed = 1;
		if (!listed)
			n += r->days[k].n;
	}
	return n;
}

static long
list_count(const struct jm_store_count *v, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].n;
	return 0;
}

static const char style[] =
"*{box-sizing:border-box}"
"body{margin:0;background:#f3f5f8;color:#1f2933;"
"font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\","
"\"DejaVu Sans\",sans-serif}"
"main{max-width:1120px;margin:0 auto;padding:28px 32px 40px}"
"header{display:flex;justify-content:space-between;align-items:flex-end;"
"gap:16px;border-bottom:3px solid #174e80;padding-bottom:12px;"
"margin-bottom:22px}"
"h1{margin:0;font-size:28px;letter-spacing:-.01em;color:#102a43}"
"h1 span{color:#2f7ab7;font-weight:400}"
"header p{margin:0;color:#52606d;font-size:13px;text-align:right}"
"h2{margin:0 0 4px;font-size:18px;color:#102a43}"
"p.note{margin:0 0 14px;color:#616e7c;font-size:13px}"
".cards{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;"
"margin-bottom:18px}"
".card{background:#fff;border-radius:10px;padding:14px 16px;"
"box-shadow:0 1px 3px rgba(16,42,67,.12);border-top:4px solid #2f7ab7}"
".card .n{display:block;font-size:30px;font-weight:700;color:#102a43;"
"font-variant-numeric:tabular-nums}"
".card .l{display:block;font-size:12px;color:#334e68;font-weight:600;"
"text-transform:uppercase;letter-spacing:.04em}"
".card .s{display:block;font-size:12px;color:#7b8794}"
".card.warn{border-top-color:#d9534f}.card.warn .n{color:#b33a36}"
".card.good{border-top-color:#3c9d5d}.card.amber{border-top-color:#f0ad4e}"
"section{background:#fff;border-radius:10px;padding:18px 22px 16px;"
"margin-bottom:18px;box-shadow:0 1px 3px rgba(16,42,67,.12)}"
".pair{display:grid;grid-template-columns:1fr 1fr;gap:18px}"
".pair section{margin-bottom:0}"
".pair+section,.pair{margin-bottom:18px}"
"svg{display:block;width:100%;height:auto}"
"svg text{font-family:inherit;fill:#334e68}"
"svg .lbl{font-size:14px;text-anchor:end}"
"svg .num{font-size:14px;font-weight:700;fill:#102a43}"
"svg .num.in{fill:#fff;text-anchor:end}"
"svg .axis{font-size:12px;fill:#7b8794}"
"svg .day{font-size:12px;text-anchor:middle;fill:#52606d}"
"svg .tot{font-size:12px;text-anchor:middle;font-weight:700;fill:#334e68}"
"svg .empty{font-size:16px;text-anchor:middle;fill:#9aa5b1}"
"svg .grid{stroke:#e4e7eb;stroke-width:1}"
"svg .base{stroke:#9aa5b1;stroke-width:1}"
".legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:10px 0 0;"
"padding:0;list-style:none;font-size:13px;color:#3e4c59}"
".legend i{display:inline-block;width:12px;height:12px;border-radius:3px;"
"margin-right:6px;vertical-align:-1px}"
"table{width:100%;border-collapse:collapse;font-size:14px;"
"font-variant-numeric:tabular-nums}"
"th,td{padding:6px 8px;border-bottom:1px solid #e4e7eb;text-align:left}"
"th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;"
"color:#616e7c;font-weight:600;background:#f7f9fb}"
"td.n,th.n{text-align:right;white-space:nowrap}"
".counts td.n,.counts th.n{width:96px}"
"tr.sub td:first-child{padding-left:22px;color:#52606d}"
"span.code{font:11px ui-monospace,\"DejaVu Sans Mono\",monospace;"
"color:#9aa5b1;margin-left:4px;white-space:nowrap}"
"tr.head td{font-weight:600}"
"td.t{max-width:360px;overflow-wrap:anywhere;font-family:ui-monospace,"
"\"DejaVu Sans Mono\",monospace;font-size:12.5px}"
".pill{display:inline-block;padding:1px 8px;border-radius:10px;"
"font-size:12px;background:#e4e7eb;color:#334e68}"
".pill.dead{background:#f8d7d6;color:#8a1c1c}"
".pill.retrying{background:#fdecc8;color:#7a4d00}"
".pill.delivered{background:#d5eddc;color:#1d5b33}"
".slow td.took{font-weight:700;color:#102a43}"
"footer{color:#7b8794;font-size:12px;text-align:center;margin-top:8px}"
"@media (max-width:800px){.cards{grid-template-columns:repeat(3,1fr)}"
".pair{grid-template-columns:1fr}}"
"@media print{@page{size:A4;margin:14mm}"
"body{background:#fff;font-size:11pt}"
"main{max-width:none;padding:0}"
"section,.card{box-shadow:none;border:1px solid #cbd2d9}"
"section,.pair,.cards{break-inside:avoid}"
".cards{grid-template-columns:repeat(6,1fr)}"
"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

static void
card(FILE *fp, const char *id, long n, const char *label, const char *sub,
    const char *kind)
{
	fprintf(fp, "<div class=\"card%s%s\"><span class=\"n\" id=\"%s\" "
	    "data-count=\"%ld\">%ld</span><span class=\"l\">%s</span>"
	    "<span class=\"s\">%s</span></div>\n", kind[0] != '\0' ? " " : "",
	    kind, id, n, n, label, sub);
}

static void
cards(FILE *fp, const struct report *r)
{
	long	 acks, esc, dead = 0, waiting = 0;
	int	 k;
	char	 sub[64];

	acks = list_count(r->week.ack_reasons, r->week.n_ack_reasons,
	    "queued");
	esc = list_count(r->week.escalate_reasons,
	    r->week.n_escalate_reasons, "queued");
	for (k = 0; k < JM_KIND_COUNT; k++) {
		dead += r->week.deliveries[k][JM_DELIVERY_DEAD];
		waiting += r->week.deliveries[k][JM_DELIVERY_PENDING] +
		    r->week.deliveries[k][JM_DELIVERY_RETRYING];
	}
	fputs("<div class=\"cards\">\n", fp);
	card(fp, "card-messages", r->week.messages, "messages",
	    "last 7 days", "");
	card(fp, "card-customers", r->total.customers, "customers",
	    "in the journey store", "");
	card(fp, "card-at-risk", r->total.at_risk, "at risk", "customers now",
	    r->total.at_risk > 0 ? "warn" : "good");
	card(fp, "card-acks", acks, "acknowledged", "last 7 days", "good");
	card(fp, "card-escalations", esc, "escalated", "last 7 days",
	    "amber");
	if (waiting > 0)
		snprintf(sub, sizeof(sub), "last 7 days; %ld waiting", waiting);
	else
		snprintf(sub, sizeof(sub), "last 7 days");
	card(fp, "card-dead", dead, "dead deliveries", sub,
	    dead > 0 ? "warn" : "good");
	fputs("</div>\n", fp);
}

static void
funnel_row(FILE *fp, int y, const char *id, const char *label, long n,
    long max, const char *colour)
{
	const int	 x0 = 150, wmax = 760;
	int		 w;

	w = max > 0 ? (int)((double)n * wmax / (double)max + 0.5) : 0;
	if (n > 0 && w < 3)
		w = 3;
	fprintf(fp, "<text class=\"lbl\" x=\"%d\" y=\"%d\">", x0 - 12, y + 19);
	esc(fp, label);
	fputs("</text>", fp);
	fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"26\" "
	    "rx=\"4\" fill=\"#eef2f6\"/>", x0, y, wmax);
	if (w > 0)
		/* LABEL is ours, not the store's: no need to escape it. */
		fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
		    "height=\"26\" rx=\"4\" fill=\"%s\"><title>%s: %ld"
		    "</title></rect>", x0, y, w, colour, label, n);
	/* No room after a long bar: the number goes inside it, right. */
	fprintf(fp, "<text class=\"num%s\" id=\"funnel-%s\" "
	    "data-stage=\"%s\" data-count=\"%ld\" x=\"%d\" y=\"%d\">%ld"
	    "</text>\n", w > wmax - 60 ? " in" : "", id, id, n,
	    x0 + (w > wmax - 60 ? w - 10 : w + 10), y + 19, n);
}

static void
funnel(FILE *fp, const struct report *r)
{
	long	 max = 1;
	int	 i, y = 6, h;

	for (i = 0; i < JM_STAGE_COUNT; i++)
		if (r->total.stage[i] > max)
			max = r->total.stage[i];
	if (r->total.at_risk > max)
		max = r->total.at_risk;
	h = 6 + 8 * 34 + 20 + 2 * 34 + 4;
	fputs("<section id=\"funnel\">\n<h2>Journey funnel</h2>\n"
	    "<p class=\"note\">Customers at each of the eight stages now; at "
	    "risk is a flag beside the stage, exited customers left the "
	    "journey.</p>\n", fp);
	fprintf(fp, "<svg viewBox=\"0 0 1000 %d\" role=\"img\" "
	    "aria-label=\"Customers per journey stage\">\n", h);
	for (i = 0; i < 8; i++, y += 34)
		funnel_row(fp, y, jm_stage_name((enum jm_stage)i),
		    jm_stage_name((enum jm_stage)i), r->total.stage[i], max,
		    stage_colours[i]);
	fprintf(fp, "<line class=\"base\" x1=\"20\" x2=\"980\" y1=\"%d\" "
	    "y2=\"%d\"/>\n", y + 6, y + 6);
	y += 20;
	funnel_row(fp, y, "at_risk", "at risk", r->total.at_risk, max,
	    "#d9534f");
	y += 34;
	funnel_row(fp, y, "exited", "exited", r->total.stage[JM_STAGE_EXITED],
	    max, "#8a919c");
	fputs("</svg>\n</section>\n", fp);
}

/* A round step (1, 2 or 5 times a power of ten) for at most five lines. */
static long
nice_step(long max)
{
	long	p = 1;

	for (;;) {
		if (max <= 5 * p)
			return p;
		if (max <= 10 * p)
			return 2 * p;
		if (max <= 25 * p)
			return 5 * p;
		p *= 10;
	}
}

static void
chart(FILE *fp, const struct report *r)
{
	const int	 left = 56, right = 16, top = 26, height = 250;
	const int	 width = 1000, bottom = 40;
	double		 colw, barw, x, y, hgt;
	long		 totals[DAYS], max = 0, step, ymax, v;
	size_t		 d, i;
	char		 day[32], title[64];

	for (d = 0; d < DAYS; d++) {
		totals[d] = 0;
		for (i = 0; i < r->n_cats; i++)
			totals[d] += day_count(r, d, i);
		if (totals[d] > max)
			max = totals[d];
	}
	step = nice_step(max > 0 ? max : 1);
	ymax = ((max > 0 ? max : 1) + step - 1) / step * step;
	colw = (double)(width - left - right) / DAYS;
	barw = colw * 0.62;

	fputs("<section id=\"categories\">\n<h2>Messages per category, last "
	    "14 days</h2>\n<p class=\"note\">Watched messages per UTC day, "
	    "stacked by category.</p>\n", fp);
	fprintf(fp, "<svg viewBox=\"0 0 %d %d\" role=\"img\" "
	    "aria-label=\"Messages per category per day\">\n", width,
	    top + height + bottom);
	for (v = 0; v <= ymax; v += step) {
		y = top + height - (double)v * height / (double)ymax;
		fprintf(fp, "<line class=\"%s\" x1=\"%d\" x2=\"%d\" "
		    "y1=\"%.1f\" y2=\"%.1f\"/><text class=\"axis\" x=\"%d\" "
		    "y=\"%.1f\" text-anchor=\"end\">%ld</text>\n",
		    v == 0 ? "base" : "grid", left, width - right, y, y,
		    left - 8, y + 4, v);
	}
	for (d = 0; d < DAYS; d++) {
		time_t	t = r->first_day + (time_t)d * DAY;

		x = left + colw * (double)d + (colw - barw) / 2;
		y = top + height;
		utc(t, 1, day, sizeof(day));
		fprintf(fp, "<g data-day=\"%s\" data-total=\"%ld\">", day,
		    totals[d]);
		for (i = 0; i < r->n_cats; i++) {
			v = day_count(r, d, i);
			if (v == 0)
				continue;
			hgt = (double)v * height / (double)ymax;
			y -= hgt;
			fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" "
			    "width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
			    "data-category=\"", x, y, barw, hgt,
			    colour_of(r, i));
			esc(fp, r->cats[i]);
			fprintf(fp, "\" data-count=\"%ld\"><title>%s ", v, day);
			esc(fp, r->cats[i]);
			fprintf(fp, ": %ld</title></rect>", v);
		}
		if (totals[d] > 0)
			fprintf(fp, "<text class=\"tot\" x=\"%.1f\" "
			    "y=\"%.1f\">%ld</text>", x + barw / 2, y - 6,
			    totals[d]);
		if (d == DAYS - 1)
			snprintf(title, sizeof(title), "today");
		else
			utc(t, 2, title, sizeof(title));
		fprintf(fp, "<text class=\"day\" x=\"%.1f\" y=\"%d\">%s"
		    "</text>", x + barw / 2, top + height + 20, title);
		utc(t, 3, title, sizeof(title));
		if (d == 0 || strncmp(day + 8, "01", 2) == 0)
			fprintf(fp, "<text class=\"day\" x=\"%.1f\" y=\"%d\">"
			    "%s</text>", x + barw / 2, top + height + 36,
			    title);
		fputs("</g>\n", fp);
	}
	if (max == 0)
		fprintf(fp, "<text class=\"empty\" x=\"%d\" y=\"%d\">No "
		    "watched messages in the last 14 days</text>\n",
		    left + (width - left - right) / 2, top + height / 2);
	fputs("</svg>\n<ul class=\"legend\">", fp);
	for (i = 0; i < r->n_cats; i++) {
		fprintf(fp, "<li data-category=\"");
		esc(fp, r->cats[i]);
		fprintf(fp, "\" data-count=\"%ld\"><i style=\"background:%s\">"
		    "</i>", r->cat_total[i], colour_of(r, i));
		esc(fp, r->cats[i]);
		fprintf(fp, " <b>%ld</b></li>", r->cat_total[i]);
	}
	fputs("</ul>\n</section>\n", fp);
}

/* A table row: LABEL, then the day's and the week's count. */
static void
row2(FILE *fp, const char *cls, const char *id, const char *label, long day,
    long week)
{
	fprintf(fp, "<tr%s%s%s><td>", cls[0] != '\0' ? " class=\"" : "", cls,
	    cls[0] != '\0' ? "\"" : "");
	esc(fp, label);
	fprintf(fp, "</td><td class=\"n\">%ld</td><td class=\"n\" "
	    "id=\"%s\" data-count=\"%ld\">%ld</td></tr>\n", day, id, week,
	    week);
}

/* A reason's row: the words, and the code as the log and stats print it. */
static void
reason_row(FILE *fp, const char *id, const char *code, long day, long week)
{
	const char	*words = NULL;
	size_t		 i;

	for (i = 0; i < sizeof(reason_words) / sizeof(reason_words[0]); i++)
		if (strcmp(reason_words[i].code, code) == 0)
			words = reason_words[i].words;
	fputs("<tr class=\"sub\"><td>", fp);
	if (words != NULL) {
		esc(fp, words);
		fputs(" <span class=\"code\">", fp);
		esc(fp, code);
		fputs("</span>", fp);
	} else
		esc(fp, code);
	fprintf(fp, "</td><td class=\"n\">%ld</td><td class=\"n\" "
	    "id=\"%s\" data-count=\"%ld\">%ld</td></tr>\n", day, id, week,
	    week);
}

static void
reasons(FILE *fp, const struct report *r, int ack)
{
	const struct jm_store_count *v = ack ? r->week.ack_reasons :
	    r->week.escalate_reasons;
	size_t	 n = ack ? r->week.n_ack_reasons : r->week.n_escalate_reasons;
	size_t	 i;
	char	 id[160];

	for (i = 0; i < n; i++) {
		if (strcmp(v[i].name, "queued") == 0)
			continue;
		snprintf(id, sizeof(id), "%s-reason-%zu", ack ? "ack" : "esc",
		    i);
		reason_row(fp, id, v[i].name, ack ?
		    list_count(r->day.ack_reasons, r->day.n_ack_reasons,
		    v[i].name) : list_count(r->day.escalate_reasons,
		    r->day.n_escalate_reasons, v[i].name), v[i].n);
	}
}

static void
deliveries(FILE *fp, const struct report *r, enum jm_delivery_kind k)
{
	int	 d;
	char	 id[64];

	for (d = 0; d < JM_DELIVERY_COUNT; d++) {
		snprintf(id, sizeof(id), "%s-%s", jm_delivery_kind_name(k),
		    jm_delivery_name((enum jm_delivery)d));
		row2(fp, "sub", id, jm_delivery_name((enum jm_delivery)d),
		    r->day.deliveries[k][d], r->week.deliveries[k][d]);
	}
}

static const char thead[] = "<table class=\"counts\"><thead><tr><th></th>"
    "<th class=\"n\">last 24 h</th><th class=\"n\">last 7 days</th>"
    "</tr></thead><tbody>\n";

static void
counts(FILE *fp, const struct report *r)
{
	fputs("<div class=\"pair\">\n<section id=\"acks\">\n"
	    "<h2>Acknowledgements</h2>\n<p class=\"note\">Whether each watched "
	    "message was answered, and how the answers went out.</p>\n", fp);
	fputs(thead, fp);
	row2(fp, "head", "ack-queued", "answered",
	    list_count(r->day.ack_reasons, r->day.n_ack_reasons, "queued"),
	    list_count(r->week.ack_reasons, r->week.n_ack_reasons, "queued"));
	deliveries(fp, r, JM_KIND_ACK);
	fputs("<tr class=\"head\"><td colspan=\"3\">not answered, "
	    "because</td></tr>\n", fp);
	reasons(fp, r, 1);
	fputs("</tbody></table>\n</section>\n", fp);

	fputs("<section id=\"escalations\">\n<h2>Escalations</h2>\n"
	    "<p class=\"note\">Messages sent to the team's chat, and how "
	    "the CRM webhook kept up.</p>\n", fp);
	fputs(thead, fp);
	row2(fp, "head", "esc-queued", "escalated",
	    list_count(r->day.escalate_reasons, r->day.n_escalate_reasons,
	    "queued"), list_count(r->week.escalate_reasons,
	    r->week.n_escalate_reasons, "queued"));
	deliveries(fp, r, JM_KIND_CHAT);
	fputs("<tr class=\"head\"><td colspan=\"3\">not escalated, "
	    "because</td></tr>\n", fp);
	reasons(fp, r, 0);
	fputs("<tr class=\"head\"><td colspan=\"3\">CRM webhook "
	    "deliveries</td></tr>\n", fp);
	deliveries(fp, r, JM_KIND_WEBHOOK);
	fputs("</tbody></table>\n</section>\n</div>\n", fp);
}

static void
slowest(FILE *fp, const struct report *r)
{
	size_t	 i;
	char	 target[512], when[32], t[32];

	fputs("<section id=\"slowest\" class=\"slow\">\n<h2>Slowest "
	    "deliveries, last 7 days</h2>\n<p class=\"note\">From queued to "
	    "delivered: where the CRM, the chat or the mail relay kept "
	    "customers waiting.</p>\n", fp);
	if (r->n_slow == 0) {
		fputs("<p>No delivery completed in the last 7 days.</p>\n"
		    "</section>\n", fp);
		return;
	}
	fputs("<table><thead><tr><th>#</th><th>kind</th><th>target</th>"
	    "<th>category</th><th>queued (UTC)</th><th class=\"n\">"
	    "attempts</th><th class=\"n\">took</th></tr></thead><tbody>\n",
	    fp);
	for (i = 0; i < r->n_slow; i++) {
		const struct jm_outbox_row *row = &r->slow[i];

		jm_ctl_show_target(row, target, sizeof(target));
		utc(row->created, 0, when, sizeof(when));
		took((long)(row->delivered - row->created), t, sizeof(t));
		fprintf(fp, "<tr data-id=\"%lld\" data-seconds=\"%ld\"><td>%zu"
		    "</td><td><span class=\"pill\">", row->id,
		    (long)(row->delivered - row->created), i + 1);
		esc(fp, strcmp(row->kind, "smtp") == 0 ? "ack" : row->kind);
		fputs("</span></td><td class=\"t\">", fp);
		esc(fp, target);
		fputs("</td><td>", fp);
		esc(fp, row->category[0] != '\0' ? row->category : "-");
		fprintf(fp, "</td><td>%s</td><td class=\"n\">%ld</td>"
		    "<td class=\"n took\">%s</td></tr>\n", when, row->attempts,
		    t);
	}
	fputs("</tbody></table>\n</section>\n", fp);
}

static void
page(FILE *fp, const struct report *r)
{
	char	 when[32];

	utc(r->now, 0, when, sizeof(when));
	if (strlen(when) == 19)		/* no seconds */
		snprintf(when + 16, sizeof(when) - 16, " UTC");
	fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"generator\" content=\"journeyctl %s\">\n"
	    "<title>Customer journey report, %s</title>\n<style>%s</style>\n"
	    "</head>\n<body>\n<main>\n<header><h1>Customer journey "
	    "<span>report</span></h1><p>generated <time id=\"generated\" "
	    "datetime=\"%lld\">%s</time><br>", PACKAGE_VERSION, when, style,
	    (long long)r->now, when);
	esc(fp, r->state_dir);
	fputs("</p></header>\n", fp);
	cards(fp, r);
	funnel(fp, r);
	chart(fp, r);
	counts(fp, r);
	slowest(fp, r);
	fprintf(fp, "<footer>journey-milter %s &middot; numbers from the "
	    "journey store, as <code>journeyctl stats</code> prints them"
	    "</footer>\n</main>\n</body>\n</html>\n", PACKAGE_VERSION);
}

static int
report_read(struct jm_store *s, struct report *r)
{
	if (jm_store_stats(s, &r->total) == -1 ||
	    jm_store_window(s, r->now - DAY, &r->day) == -1 ||
	    jm_store_window(s, r->now - WEEK, &r->week) == -1 ||
	    jm_store_daily(s, r->first_day, &r->days, &r->n_days) == -1 ||
	    jm_store_slowest(s, r->now - WEEK, SLOWEST, &r->slow,
	    &r->n_slow) == -1)
		return -1;
	pick_categories(r);
	return 0;
}

/* Writes the page to PATH through PATH.tmp, so no reader sees half of it. */
static int
write_file(const char *path, const struct report *r)
{
	FILE	*fp;
	char	 tmp[4096];

	if (strcmp(path, "-") == 0) {
		page(stdout, r);
		return fflush(stdout) == 0 ? 0 : -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp)) {
		fprintf(stderr, "journeyctl: %s: name too long\n", path);
		return -1;
	}
	fp = fopen(tmp, "w");
	if (fp == NULL) {
		fprintf(stderr, "journeyctl: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	page(fp, r);
	if (ferror(fp) || fclose(fp) != 0) {
		fprintf(stderr, "journeyctl: %s: write failed\n", tmp);
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		fprintf(stderr, "journeyctl: %s: %s\n", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
jm_ctl_report(const struct jm_conf *c, int argc, char **argv)
{
	struct jm_store	*s;
	struct report	 r;
	int		 rc;

	if (argc != 3 || strcmp(argv[1], "--html") != 0) {
		fprintf(stderr, "usage: journeyctl report --html FILE\n");
		return 1;
	}
	memset(&r, 0, sizeof(r));
	r.now = time(NULL);
	r.first_day = r.now - r.now % DAY - (DAYS - 1) * DAY;
	r.state_dir = c->state_dir;
	s = jm_ctl_open_store(c);
	if (s == NULL)
		return 1;
	if (report_read(s, &r) == -1) {
		fprintf(stderr, "journeyctl: %s\n", jm_store_last_error());
		jm_store_close(s);
		report_free(&r);
		return 1;
	}
	jm_store_close(s);
	rc = write_file(argv[2], &r) == 0 ? 0 : 1;
	report_free(&r);
	return rc;
}
