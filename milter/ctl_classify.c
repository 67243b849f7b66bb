/*
 * ctl_classify.c: journeyctl's offline commands over the pure core.
 *
 * "classify" runs .eml files through jm_process() without a store, exactly
 * as the milter would but with no side effects, and prints the verdict and
 * the decision as JSON.  "eval" measures the rules against a labelled
 * corpus.  "bench" times classification.  None of them writes anything.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "journey/ctl.h"
#include "journey/journey.h"
#include "journey/message.h"
#include "journey/policy.h"
#include "journey/process.h"
#include "journey/rules.h"

#define EML_MAX		(64L * 1024 * 1024)

static char *
slurp(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    n > EML_MAX || fseek(fp, 0, SEEK_SET) == -1) {
		fclose(fp);
		errno = EFBIG;
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static json_t *
state_json(const struct jm_state *s)
{
	return json_pack("{s:s, s:b}", "stage", jm_stage_name(s->stage),
	    "at_risk", s->at_risk);
}

static json_t *
outcome_json(const struct jm_policy *p, const char *file,
    const struct jm_outcome *o)
{
	json_t	*j, *scores, *rules, *headers;
	char	*copy, *tok, *save;
	size_t	 i;

	scores = json_object();
	for (i = 0; i < o->n_scores; i++)
		json_object_set_new(scores,
		    jm_rules_category(p->rules, i)->name,
		    json_integer(o->scores[i]));
	rules = json_array();
	copy = strdup(o->rules);
	for (tok = copy != NULL ? strtok_r(copy, ",", &save) : NULL;
	    tok != NULL; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(rules, json_string(tok));
	free(copy);
	headers = json_object();
	for (i = 0; i < o->n_headers; i++)
		json_object_set_new(headers, o->headers[i].name,
		    json_string(o->headers[i].value));
	j = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:s, s:s, s:s, s:b, s:b,"
	    " s:{s:o, s:o}, s:{s:b, s:s}, s:{s:b, s:s}, s:o}",
	    "file", file,
	    "customer", o->customer,
	    "category", o->category,
	    "score", o->score,
	    "scores", scores,
	    "rules", rules,
	    "language", o->language,
	    "ticket", o->ticket,
	    "subject", o->subject,
	    "malformed", (o->msg_flags & JM_MSG_MALFORMED) != 0,
	    "match_limit", o->limited,
	    "journey", "previous", state_json(&o->decision.prev),
	    "current", state_json(&o->decision.next),
	    "acknowledgement", "send", o->decision.ack, "reason",
	    o->decision.ack_reason,
	    "escalation", "send", o->decision.escalate, "reason",
	    o->decision.escalate_reason,
	    "headers", headers);
	if (j != NULL && o->own_ack)
		json_object_set_new(j, "own_acknowledgement", json_true());
	return j;
}

static int
classify_file(const struct jm_policy *p, const char *path,
    struct jm_outcome *out)
{
	char	*raw;
	size_t	 len = 0;
	int	 rc;

	raw = slurp(path, &len);
	if (raw == NULL) {
		fprintf(stderr, "journeyctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = jm_process(p, NULL, raw, len, NULL, NULL, 0, time(NULL), 0, out);
	free(raw);
	if (rc == -1)
		fprintf(stderr, "journeyctl: %s: internal error\n", path);
	return rc;
}

int
jm_ctl_classify(const struct jm_policy *p, int argc, char **argv)
{
	struct jm_outcome	 out;
	json_t			*j;
	int			 i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: journeyctl classify FILE.eml...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (classify_file(p, argv[i], &out) == -1) {
			rc = 1;
			continue;
		}
		j = outcome_json(p, argv[i], &out);
		if (j == NULL) {
			rc = 1;
			continue;
		}
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		    JSON_ENSURE_ASCII * 0);
		fputc('\n', stdout);
		json_decref(j);
	}
	return rc;
}

/* Per language and category: true positives, false positives, false negatives. */
struct counts {
	char	lang[16];
	char	cat[64];
	long	tp, fp, fn;
};

static struct counts *
counts_for(struct counts **v, size_t *n, const char *lang, const char *cat)
{
	struct counts	*c;
	size_t		 i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].lang, lang) == 0 &&
		    strcmp((*v)[i].cat, cat) == 0)
			return &(*v)[i];
	c = realloc(*v, (*n + 1) * sizeof(**v));
	if (c == NULL)
		return NULL;
	*v = c;
	c = &(*v)[(*n)++];
	memset(c, 0, sizeof(*c));
	snprintf(c->lang, sizeof(c->lang), "%s", lang);
	snprintf(c->cat, sizeof(c->cat), "%s", cat);
	return c;
}

static const char *
base_name(const char *path)
{
	const char	*s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/*
 * One corpus directory: its EXPECTED file lists "FILE CATEGORY" lines; the
 * directory's name is the language.
 */
static int
eval_dir(const struct jm_policy *p, const char *dir, struct counts **v,
    size_t *n, int verbose)
{
	char			 path[4096], line[1024], file[512], want[64];
	const char		*lang = base_name(dir);
	struct jm_outcome	 out;
	struct counts		*c;
	FILE			*fp;
	int			 rc = 0;

	snprintf(path, sizeof(path), "%s/EXPECTED", dir);
	fp = fopen(path, "r");
	if (fp == NULL) {
		fprintf(stderr, "journeyctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || sscanf(line, "%511s %63s", file, want) != 2)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		if (classify_file(p, path, &out) == -1) {
			rc = -1;
			continue;
		}
		if (strcmp(out.category, want) == 0) {
			if (strcmp(want, "none") != 0 &&
			    (c = counts_for(v, n, lang, want)) != NULL)
				c->tp++;
			continue;
		}
		if (verbose)
			printf("# %s: expected %s, got %s (score %d, rules %s)\n",
			    path, want, out.category, out.score,
			    out.rules[0] != '\0' ? out.rules : "-");
		if (strcmp(want, "none") != 0 &&
		    (c = counts_for(v, n, lang, want)) != NULL)
			c->fn++;
		if (strcmp(out.category, "none") != 0 &&
		    (c = counts_for(v, n, lang, out.category)) != NULL)
			c->fp++;
	}
	fclose(fp);
	return rc;
}

int
jm_ctl_eval(const struct jm_policy *p, int argc, char **argv)
{
	struct counts	*v = NULL;
	size_t		 n = 0, i;
	double		 min_p = 0.95, min_r = 0.85, prec, rec;
	int		 a, rc = 0, verbose = 1;

	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "--min-precision") == 0 && a + 1 < argc)
			min_p = atof(argv[++a]);
		else if (strcmp(argv[a], "--min-recall") == 0 && a + 1 < argc)
			min_r = atof(argv[++a]);
		else if (strcmp(argv[a], "-q") == 0)
			verbose = 0;
		else {
			fprintf(stderr, "usage: journeyctl eval [-q] "
			    "[--min-precision P] [--min-recall R] DIR...\n");
			return 2;
		}
	}
	if (a == argc) {
		fprintf(stderr, "usage: journeyctl eval [-q] [--min-precision P] "
		    "[--min-recall R] DIR...\n");
		return 2;
	}
	for (; a < argc; a++)
		if (eval_dir(p, argv[a], &v, &n, verbose) == -1)
			rc = 1;
	printf("%-6s %-14s %9s %9s %5s %5s %5s\n", "lang", "category",
	    "precision", "recall", "tp", "fp", "fn");
	for (i = 0; i < n; i++) {
		prec = v[i].tp + v[i].fp > 0 ?
		    (double)v[i].tp / (double)(v[i].tp + v[i].fp) : 1.0;
		rec = v[i].tp + v[i].fn > 0 ?
		    (double)v[i].tp / (double)(v[i].tp + v[i].fn) : 1.0;
		printf("%-6s %-14s %9.3f %9.3f %5ld %5ld %5ld%s\n", v[i].lang,
		    v[i].cat, prec, rec, v[i].tp, v[i].fp, v[i].fn,
		    prec < min_p || rec < min_r ? "  BELOW THRESHOLD" : "");
		if (prec < min_p || rec < min_r)
			rc = 1;
	}
	free(v);
	return rc;
}

struct sample {
	char	*raw;
	size_t	 len;
};

static int
add_sample(struct sample **v, size_t *n, const char *path)
{
	struct sample	*s;
	size_t		 len = 0;
	char		*raw;

	raw = slurp(path, &len);
	if (raw == NULL) {
		fprintf(stderr, "journeyctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	s = realloc(*v, (*n + 1) * sizeof(**v));
	if (s == NULL) {
		free(raw);
		return -1;
	}
	*v = s;
	s[*n].raw = raw;
	s[*n].len = len;
	(*n)++;
	return 0;
}

static int
add_samples(struct sample **v, size_t *n, const char *path)
{
	DIR		*dir;
	struct dirent	*de;
	char		 sub[4096];
	size_t		 l;
	int		 rc = 0;

	dir = opendir(path);
	if (dir == NULL)
		return add_sample(v, n, path);
	while ((de = readdir(dir)) != NULL) {
		l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".eml") != 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (add_sample(v, n, sub) == -1)
			rc = -1;
	}
	closedir(dir);
	return rc;
}

static double
now_s(clockid_t clk)
{
	struct timespec	ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
by_seconds(const void *a, const void *b)
{
	const struct jm_rule_profile *x = *(const struct jm_rule_profile *const *)a;
	const struct jm_rule_profile *y = *(const struct jm_rule_profile *const *)b;

	if (x->seconds != y->seconds)
		return x->seconds < y->seconds ? 1 : -1;
	return strcmp(x->name, y->name);
}

/*
 * The rules that cost the most, slowest first, and where the rest of the
 * time went.  Times are wall clock inside the loop: on a busy machine they
 * include other processes' turns, but the ranking holds.
 */
static void
print_profile(const struct jm_rules_profile *prof, double parse_s,
    double rules_s, size_t top)
{
	const struct jm_rule_profile **v;
	double		 pcre = 0, total = parse_s + rules_s;
	size_t		 i, n_ran = 0, n_always = 0;

	v = calloc(prof->n + 1, sizeof(*v));
	if (v == NULL)
		return;
	for (i = 0; i < prof->n; i++) {
		v[i] = &prof->rules[i];
		pcre += prof->rules[i].seconds;
		if (prof->rules[i].runs > 0)
			n_ran++;
		if (prof->rules[i].skipped == 0 && prof->rules[i].runs > 0)
			n_always++;
	}
	qsort(v, prof->n, sizeof(*v), by_seconds);
	if (total <= 0)
		total = 1e-9;
	printf("\nprofile over %lu messages: MIME to text %.1f%%, rules %.1f%% "
	    "(PCRE2 %.1f%%, prefilter and the rest %.1f%%)\n",
	    prof->messages, 100 * parse_s / total, 100 * rules_s / total,
	    100 * pcre / total, 100 * (rules_s - pcre) / total);
	printf("rules run at least once %zu of %zu; never skipped %zu\n",
	    n_ran, prof->n, n_always);
	printf("%-28s %9s %6s %8s %8s %8s %7s  %s\n", "rule", "ms", "share",
	    "runs", "skipped", "us/run", "fired", "where");
	for (i = 0; i < prof->n && i < top; i++) {
		const struct jm_rule_profile *r = v[i];

		printf("%-28s %9.1f %5.1f%% %8lu %8lu %8.2f %7lu  %s:%u\n",
		    r->name, r->seconds * 1e3,
		    pcre > 0 ? 100 * r->seconds / pcre : 0.0, r->runs,
		    r->skipped, r->runs > 0 ? r->seconds * 1e6 /
		    (double)r->runs : 0.0, r->fired, r->file, r->line);
	}
	free(v);
}

static const char bench_usage[] =
    "usage: journeyctl bench [--no-jit] [--no-prefilter] [--profile] "
    "[--top N]\n"
    "                        [-s SECONDS] FILE|DIR...\n";

int
jm_ctl_bench(const char *conf_path, int argc, char **argv)
{
	struct jm_diag		 d;
	struct jm_policy	*p;
	struct sample		*v = NULL;
	struct jm_message	*m;
	struct jm_verdict	 verdict;
	struct jm_rules_profile	 prof;
	size_t			 n = 0, i, k, bytes = 0, done = 0, top = 20;
	double			 secs = 3.0, t0, c0, t1, wall, cpu;
	double			 parse_s = 0, rules_s = 0;
	int			 a, jit = 1, prefilter = 1, profile = 0, rc = 0;
	int			 r;

	memset(&prof, 0, sizeof(prof));
	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "--no-jit") == 0)
			jit = 0;
		else if (strcmp(argv[a], "--no-prefilter") == 0)
			prefilter = 0;
		else if (strcmp(argv[a], "--profile") == 0)
			profile = 1;
		else if (strcmp(argv[a], "--top") == 0 && a + 1 < argc &&
		    atoi(argv[a + 1]) > 0) {
			top = (size_t)atoi(argv[++a]);
			profile = 1;
		} else if (strcmp(argv[a], "-s") == 0 && a + 1 < argc)
			secs = atof(argv[++a]);
		else if (strcmp(argv[a], "--help") == 0) {
			fputs(bench_usage, stdout);
			return 0;
		} else {
			fputs(bench_usage, stderr);
			return 2;
		}
	}
	if (a == argc || secs <= 0) {
		fputs(bench_usage, stderr);
		return 2;
	}
	jm_rules_set_jit(jit);
	jm_rules_set_prefilter(prefilter);
	jm_diag_init(&d);
	if (jm_policy_load(conf_path, &d, &p) == -1) {
		for (i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", jm_diag_line(&d, i));
		jm_diag_free(&d);
		return 1;
	}
	jm_diag_free(&d);
	for (; a < argc; a++)
		if (add_samples(&v, &n, argv[a]) == -1)
			rc = 1;
	if (n == 0) {
		fprintf(stderr, "journeyctl: bench: no messages\n");
		jm_policy_unref(p);
		return 1;
	}
	if (profile && jm_rules_profile_init(&prof, p->rules) == -1) {
		fprintf(stderr, "journeyctl: bench: out of memory\n");
		rc = 1;
		goto out;
	}
	/* The classification path of the milter: MIME to text, then the rules. */
	t0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	do {
		for (i = 0; i < n; i++) {
			if (profile)
				t1 = now_s(CLOCK_MONOTONIC);
			if (jm_message_parse(v[i].raw, v[i].len,
			    (size_t)p->conf->max_scan_bytes, &m) == -1) {
				rc = 1;
				goto out;
			}
			if (profile) {
				parse_s += now_s(CLOCK_MONOTONIC) - t1;
				t1 = now_s(CLOCK_MONOTONIC);
				r = jm_rules_classify_profile(p->rules, m,
				    p->conf->default_language, &verdict, &prof);
				rules_s += now_s(CLOCK_MONOTONIC) - t1;
			} else
				r = jm_rules_classify(p->rules, m,
				    p->conf->default_language, &verdict);
			if (r == -1)
				rc = 1;
			jm_verdict_clear(&verdict);
			jm_message_free(m);
			bytes += v[i].len;
			done++;
		}
		wall = now_s(CLOCK_MONOTONIC) - t0;
	} while (wall < secs);
	cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("messages %zu (distinct %zu, mean %.0f bytes) jit %s%s%s\n",
	    done, n, (double)bytes / (double)done, jit ? "on" : "off",
	    prefilter ? "" : ", prefilter off",
	    profile ? ", profiled (slower)" : "");
	printf("messages/s per core %.0f\n", (double)done / cpu);
	printf("MB/s per core %.2f\n", (double)bytes / cpu / 1e6);
	printf("wall %.2f s, cpu %.2f s\n", wall, cpu);
	if (profile)
		print_profile(&prof, parse_s, rules_s, top);
out:
	jm_rules_profile_clear(&prof);
	for (k = 0; k < n; k++)
		free(v[k].raw);
	free(v);
	jm_policy_unref(p);
	return rc;
}
