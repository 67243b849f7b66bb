/*
 * template.c: the acknowledgement templates, parsed once and rendered per
 * message.
 *
 * The support team promises every customer an answer carrying a ticket
 * reference, so a template is refused at load time, with its file and
 * line, for anything that would break that promise later: an unknown
 * placeholder, an unbalanced section, a missing Subject, a template that
 * could render without {{ticket}}.  Rendering then cannot fail except for
 * memory: values from the message are repaired instead of refused, control
 * characters are neutralised (no header injection through a subject or a
 * display name) and the output is cut at fixed bounds on a character
 * boundary.
 *
 * Deliberately not here: MIME and RFC 2047 (ack.c builds the message),
 * choosing the template (the rules say which category, the classifier
 * which language), and escaping of any kind beyond control characters:
 * the output is plain text, never HTML.
 */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "journey/buf.h"
#include "journey/template.h"

enum var {
	V_CUSTOMER_NAME,
	V_SUBJECT,
	V_TICKET,
	V_CATEGORY,
	V_SUPPORT_NAME,
	V_CANCELLATION_OFFER,
	V_COUNT
};

static const char *const var_names[V_COUNT] = {
	"customer_name", "subject", "ticket", "category", "support_name",
	"cancellation_offer"
};

#define KNOWN_NAMES	"customer_name, subject, ticket, category, " \
			"support_name, cancellation_offer"

enum node_kind {
	N_TEXT,
	N_VAR,
	N_OPEN,
	N_CLOSE
};

struct node {
	enum node_kind	 kind;
	enum var	 var;
	const char	*text;		/* N_TEXT: borrowed from the source */
	size_t		 len;
	size_t		 close;		/* N_OPEN: index of its N_CLOSE */
};

struct seq {
	struct node	*v;
	size_t		 n;
	size_t		 cap;
};

struct jm_template {
	char		*file;
	char		*category;
	char		*language;
	char		*src;		/* normalised; nodes point into it */
	struct seq	 subject;
	struct seq	 body;
};

struct jm_templates {
	struct jm_template **v;
	size_t		  n;
};

struct parser {
	const char	*file;
	struct jm_diag	*d;
	int		 errors;
	int		 ticket_any;	/* {{ticket}} appears somewhere */
	int		 ticket_always;	/* ... outside optional sections */
};

/* Diagnostics quote names from the file; a runaway name is cut here. */
#define NAME_SHOWN	40

static void
template_free(struct jm_template *t)
{
	if (t == NULL)
		return;
	free(t->file);
	free(t->category);
	free(t->language);
	free(t->src);
	free(t->subject.v);
	free(t->body.v);
	free(t);
}

static int
seq_add(struct seq *s, enum node_kind kind, enum var var, const char *text,
    size_t len)
{
	struct node	*v;
	size_t		 cap;

	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 16;
		v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].kind = kind;
	s->v[s->n].var = var;
	s->v[s->n].text = text;
	s->v[s->n].len = len;
	s->v[s->n].close = 0;
	s->n++;
	return 0;
}

static unsigned
count_lines(const char *p, const char *end)
{
	unsigned	n = 0;

	for (; p < end; p++)
		if (*p == '\n')
			n++;
	return n;
}

static int
lookup_var(const char *name, size_t n)
{
	int	i;

	for (i = 0; i < V_COUNT; i++)
		if (strlen(var_names[i]) == n &&
		    memcmp(var_names[i], name, n) == 0)
			return i;
	return -1;
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * Splits TEXT (LEN bytes, starting at line LINE) into nodes.  Every error
 * is reported, not just the first: an operator fixing a file wants the
 * whole list at once.  Returns -1 only when memory runs out.
 */
static int
parse_seq(struct parser *p, struct seq *s, const char *text, size_t len,
    unsigned line)
{
	struct {
		enum var	 var;
		unsigned	 line;
		size_t		 node;
	} stack[JM_TEMPLATE_DEPTH_MAX];
	const char	*q = text, *end = text + len, *open, *lim, *nl, *close;
	const char	*name, *name_end;
	enum node_kind	 kind;
	size_t		 depth = 0, i;
	int		 id, optional;

	while (q < end) {
		open = memmem(q, (size_t)(end - q), "{{", 2);
		lim = open != NULL ? open : end;
		if (lim > q) {
			if (seq_add(s, N_TEXT, 0, q, (size_t)(lim - q)) == -1)
				return -1;
			line += count_lines(q, lim);
		}
		if (open == NULL)
			break;

		/* A placeholder never spans lines. */
		nl = memchr(open, '\n', (size_t)(end - open));
		lim = nl != NULL ? nl : end;
		close = memmem(open + 2, (size_t)(lim - open - 2), "}}", 2);
		if (close == NULL) {
			jm_diag_add(p->d, p->file, line,
			    "unclosed \"{{\" (a placeholder ends with \"}}\" "
			    "on the same line)");
			p->errors++;
			q = lim;
			continue;
		}
		q = close + 2;

		name = open + 2;
		name_end = close;
		while (name < name_end && is_blank(*name))
			name++;
		kind = N_VAR;
		if (name < name_end && (*name == '#' || *name == '/')) {
			kind = *name == '#' ? N_OPEN : N_CLOSE;
			name++;
			while (name < name_end && is_blank(*name))
				name++;
		}
		while (name_end > name && is_blank(name_end[-1]))
			name_end--;
		id = lookup_var(name, (size_t)(name_end - name));
		if (id == -1) {
			jm_diag_add(p->d, p->file, line,
			    "unknown placeholder \"%.*s\" (known: %s)",
			    (int)((size_t)(name_end - name) > NAME_SHOWN ?
			    NAME_SHOWN : (size_t)(name_end - name)), name,
			    KNOWN_NAMES);
			p->errors++;
			continue;
		}

		switch (kind) {
		case N_VAR:
			if (id == V_TICKET) {
				/*
				 * Inside {{#ticket}} the ticket is still
				 * certain; inside any other section it is not.
				 */
				optional = 0;
				for (i = 0; i < depth; i++)
					if (stack[i].var != V_TICKET)
						optional = 1;
				p->ticket_any = 1;
				if (!optional)
					p->ticket_always = 1;
			}
			break;
		case N_OPEN:
			if (depth == JM_TEMPLATE_DEPTH_MAX) {
				jm_diag_add(p->d, p->file, line,
				    "\"{{#%s}}\": sections nested more than "
				    "%d deep", var_names[id],
				    JM_TEMPLATE_DEPTH_MAX);
				p->errors++;
				continue;
			}
			stack[depth].var = id;
			stack[depth].line = line;
			stack[depth].node = s->n;
			depth++;
			break;
		case N_CLOSE:
			if (depth == 0) {
				jm_diag_add(p->d, p->file, line,
				    "\"{{/%s}}\" closes no section",
				    var_names[id]);
				p->errors++;
				continue;
			}
			depth--;
			if (stack[depth].var != (enum var)id) {
				jm_diag_add(p->d, p->file, line,
				    "\"{{/%s}}\" does not match \"{{#%s}}\" "
				    "opened at line %u", var_names[id],
				    var_names[stack[depth].var],
				    stack[depth].line);
				p->errors++;
			}
			s->v[stack[depth].node].close = s->n;
			break;
		case N_TEXT:
			break;
		}
		if (seq_add(s, kind, id, NULL, 0) == -1)
			return -1;
	}
	while (depth > 0) {
		depth--;
		jm_diag_add(p->d, p->file, stack[depth].line,
		    "\"{{#%s}}\" is never closed (expected \"{{/%s}}\")",
		    var_names[stack[depth].var], var_names[stack[depth].var]);
		p->errors++;
	}
	return 0;
}

/*
 * CATEGORY.LANGUAGE: the category as the rules name it, the language as
 * default_language accepts it (see check_language() in conf.c).
 */
static int
parse_name(const char *base, char **category, char **language)
{
	const char	*dot, *lang;
	size_t		 n;

	*category = *language = NULL;
	dot = strchr(base, '.');
	if (dot == NULL || dot == base)
		return -1;
	n = (size_t)(dot - base);
	if (strspn(base, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return -1;
	lang = dot + 1;
	if (strlen(lang) < 2 || strlen(lang) > 8 || *lang == '-' ||
	    strspn(lang, "abcdefghijklmnopqrstuvwxyz-") != strlen(lang))
		return -1;
	*category = strndup(base, n);
	*language = strdup(lang);
	if (*category == NULL || *language == NULL) {
		free(*category);
		free(*language);
		*category = *language = NULL;
		return -2;
	}
	return 0;
}

/* The first byte that makes TEXT unfit for a template, or NULL. */
static const char *
check_bytes(const char *text, size_t len, const char **why)
{
	const char	*end = NULL, *p;

	if (!g_utf8_validate(text, (gssize)len, &end)) {
		*why = *end == '\0' ? "NUL byte" : "invalid UTF-8";
		return end;
	}
	for (p = text; p < text + len; p++) {
		if (*p == '\r' && p + 1 < text + len && p[1] == '\n')
			continue;
		if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') {
			*why = "control character";
			return p;
		}
		if (*p == 0x7f) {
			*why = "control character";
			return p;
		}
	}
	return NULL;
}

static const char *
next_line(const char *p)
{
	const char	*nl = strchr(p, '\n');

	return nl != NULL ? nl + 1 : p + strlen(p);
}

static int
line_is_empty(const char *p)
{
	while (is_blank(*p))
		p++;
	return *p == '\n' || *p == '\0';
}

/*
 * Parses one template.  FILE names it in diagnostics, BASE is the file
 * name that gives category and language.  Returns 0 and *OUT, 1 after
 * reporting errors, -1 when memory runs out.
 */
static int
parse_template(const char *file, const char *base, const char *text,
    size_t len, struct jm_diag *d, struct jm_template **out)
{
	struct jm_template *t;
	struct parser	 p;
	const char	*bad, *why, *q, *subj, *subj_end, *body;
	char		*w;
	size_t		 i;
	unsigned	 line, subj_line;
	int		 rc;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.file = file;
	p.d = d;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->file = strdup(file);
	if (t->file == NULL)
		goto oom;
	rc = parse_name(base, &t->category, &t->language);
	if (rc == -2)
		goto oom;
	if (rc == -1) {
		/* Likely not meant as a template: its text is not judged. */
		jm_diag_add(d, file, 0, "the file name is not "
		    "CATEGORY.LANGUAGE (like complaint.tr)");
		goto fail;
	}
	if (len > JM_TEMPLATE_FILE_MAX) {
		jm_diag_add(d, file, 0, "larger than %d KiB",
		    JM_TEMPLATE_FILE_MAX / 1024);
		goto fail;
	}
	bad = check_bytes(text, len, &why);
	if (bad != NULL) {
		jm_diag_add(d, file, 1 + count_lines(text, bad),
		    "%s at byte %zu", why, (size_t)(bad - text) + 1);
		goto fail;
	}

	/* The text with CRLF turned into LF; the nodes point into it. */
	t->src = malloc(len + 1);
	if (t->src == NULL)
		goto oom;
	for (i = 0, w = t->src; i < len; i++)
		if (!(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n'))
			*w++ = text[i];
	*w = '\0';

	line = 1;
	q = t->src;
	while (*q == '#' || (*q != '\0' && line_is_empty(q))) {
		q = next_line(q);
		line++;
	}
	if (g_ascii_strncasecmp(q, "Subject:", 8) != 0) {
		jm_diag_add(d, file, line, "missing Subject line (the first "
		    "line after the comments is \"Subject: ...\")");
		goto fail;
	}
	subj_line = line;
	subj = q + 8;
	while (is_blank(*subj))
		subj++;
	subj_end = strchr(subj, '\n');
	if (subj_end == NULL)
		subj_end = subj + strlen(subj);
	while (subj_end > subj && is_blank(subj_end[-1]))
		subj_end--;
	if (subj_end == subj) {
		jm_diag_add(d, file, line, "empty Subject");
		p.errors++;
	}
	if (parse_seq(&p, &t->subject, subj, (size_t)(subj_end - subj),
	    line) == -1)
		goto oom;

	q = next_line(q);
	line++;
	if (*q == '\0' || !line_is_empty(q)) {
		jm_diag_add(d, file, line, "no empty line after Subject (the "
		    "body starts after one empty line)");
		goto fail;
	}
	body = next_line(q);
	line++;
	for (q = body; is_blank(*q) || *q == '\n'; q++)
		;
	if (*q == '\0') {
		jm_diag_add(d, file, line, "empty body");
		p.errors++;
	}
	if (parse_seq(&p, &t->body, body, strlen(body), line) == -1)
		goto oom;

	if (!p.ticket_any) {
		jm_diag_add(d, file, subj_line, "no {{ticket}} in the Subject "
		    "or the body: every acknowledgement carries the ticket "
		    "reference");
		p.errors++;
	} else if (!p.ticket_always) {
		jm_diag_add(d, file, subj_line, "{{ticket}} appears only "
		    "inside optional sections: every acknowledgement carries "
		    "the ticket reference");
		p.errors++;
	}
	if (p.errors > 0)
		goto fail;
	*out = t;
	return 0;

fail:
	template_free(t);
	return 1;
oom:
	template_free(t);
	return -1;
}

static int
set_add(struct jm_templates *ts, struct jm_template *t)
{
	struct jm_template **v;

	v = realloc(ts->v, (ts->n + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	ts->v = v;
	ts->v[ts->n++] = t;
	return 0;
}

void
jm_templates_free(struct jm_templates *ts)
{
	size_t	i;

	if (ts == NULL)
		return;
	for (i = 0; i < ts->n; i++)
		template_free(ts->v[i]);
	free(ts->v);
	free(ts);
}

size_t
jm_templates_count(const struct jm_templates *ts)
{
	return ts != NULL ? ts->n : 0;
}

int
jm_templates_load_string(const char *name, const char *text, size_t len,
    struct jm_diag *d, struct jm_templates **out)
{
	struct jm_templates *ts;
	struct jm_template *t;
	const char	*base;
	int		 rc;

	*out = NULL;
	base = strrchr(name, '/');
	base = base != NULL ? base + 1 : name;
	rc = parse_template(name, base, text, len, d, &t);
	if (rc == -1)
		jm_diag_add(d, name, 0, "out of memory");
	if (rc != 0)
		return -1;
	ts = calloc(1, sizeof(*ts));
	if (ts == NULL || set_add(ts, t) == -1) {
		template_free(t);
		free(ts);
		jm_diag_add(d, name, 0, "out of memory");
		return -1;
	}
	*out = ts;
	return 0;
}

/* Files an editor or a package manager leaves behind are not templates. */
static int
skipped_name(const char *name)
{
	static const char *const marks[] = {
		".bak", ".orig", ".swp", ".dpkg-", ".rpm", ".ucf-"
	};
	size_t	i, n = strlen(name);

	if (name[0] == '.' || (n > 0 && name[n - 1] == '~'))
		return 1;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strstr(name, marks[i]) != NULL)
			return 1;
	return 0;
}

/* Byte order, whatever the locale: diagnostics come out the same everywhere. */
static int
name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/*
 * Reads PATH into *TEXT (at most JM_TEMPLATE_FILE_MAX + 1 bytes, so that
 * a larger file is seen to be larger).  0, or -1 with errno set; 1 for a
 * directory, which is skipped.
 */
static int
read_file(const char *path, char **text, size_t *len)
{
	struct stat	 st;
	size_t		 cap = JM_TEMPLATE_FILE_MAX + 1, n = 0;
	ssize_t		 r;
	char		*buf;
	int		 fd, saved;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (n < cap) {
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*text = buf;
	*len = n;
	return 0;
}

int
jm_templates_load(const char *dir, struct jm_diag *d,
    struct jm_templates **out)
{
	struct jm_templates *ts;
	struct jm_template *t;
	struct dirent	**ents = NULL;
	char		*path, *text;
	size_t		 len;
	int		 n, i, rc, errors = 0;

	*out = NULL;
	ts = calloc(1, sizeof(*ts));
	if (ts == NULL) {
		jm_diag_add(d, dir, 0, "out of memory");
		return -1;
	}
	n = scandir(dir, &ents, NULL, name_order);
	if (n == -1) {
		if (errno == ENOENT) {
			*out = ts;
			return 0;
		}
		jm_diag_add(d, dir, 0, "cannot read the directory: %s",
		    strerror(errno));
		free(ts);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (skipped_name(ents[i]->d_name))
			continue;
		if (asprintf(&path, "%s/%s", dir, ents[i]->d_name) == -1) {
			jm_diag_add(d, dir, 0, "out of memory");
			errors++;
			break;
		}
		rc = read_file(path, &text, &len);
		if (rc == 1) {
			free(path);
			continue;
		}
		if (rc == -1) {
			jm_diag_add(d, path, 0, "cannot read: %s",
			    errno == EINVAL ? "not a regular file" :
			    strerror(errno));
			errors++;
			free(path);
			continue;
		}
		rc = parse_template(path, ents[i]->d_name, text, len, d, &t);
		free(text);
		if (rc == 0 && set_add(ts, t) == -1) {
			template_free(t);
			rc = -1;
		}
		if (rc == -1)
			jm_diag_add(d, path, 0, "out of memory");
		if (rc != 0)
			errors++;
		free(path);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (errors > 0) {
		jm_templates_free(ts);
		return -1;
	}
	*out = ts;
	return 0;
}

static const struct jm_template *
find_exact(const struct jm_templates *ts, const char *category,
    const char *language, size_t lang_len)
{
	const struct jm_template *t;
	size_t	i;

	for (i = 0; i < ts->n; i++) {
		t = ts->v[i];
		if (strcmp(t->category, category) == 0 &&
		    strlen(t->language) == lang_len &&
		    g_ascii_strncasecmp(t->language, language, lang_len) == 0)
			return t;
	}
	return NULL;
}

const struct jm_template *
jm_templates_find(const struct jm_templates *ts, const char *category,
    const char *language, const char *fallback_language)
{
	const struct jm_template *t;
	const char	*dash;

	if (ts == NULL || category == NULL)
		return NULL;
	if (language != NULL && *language != '\0') {
		t = find_exact(ts, category, language, strlen(language));
		if (t != NULL)
			return t;
		dash = strchr(language, '-');
		if (dash != NULL) {
			t = find_exact(ts, category, language,
			    (size_t)(dash - language));
			if (t != NULL)
				return t;
		}
	}
	if (fallback_language != NULL && *fallback_language != '\0')
		return find_exact(ts, category, fallback_language,
		    strlen(fallback_language));
	return NULL;
}

const char *
jm_template_category(const struct jm_template *t)
{
	return t->category;
}

const char *
jm_template_language(const struct jm_template *t)
{
	return t->language;
}

const char *
jm_template_file(const struct jm_template *t)
{
	return t->file;
}

/*
 * Control characters of any plane that could end a header line or hide
 * text: C0, DEL, C1 and the Unicode line and paragraph separators.
 */
static int
is_control(gunichar c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) ||
	    c == 0x2028 || c == 0x2029;
}

static int
value_empty(const char *v)
{
	if (v == NULL)
		return 1;
	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	return *v == '\0';
}

/*
 * Appends the hostile value V.  In a Subject a control character becomes
 * a space, in a body only newline and tab survive; a byte that is not
 * UTF-8 becomes U+FFFD.
 */
static int
put_value(struct jm_buf *b, const char *v, int subject)
{
	const char	*p = v, *end;
	gunichar	 c;
	size_t		 n;
	int		 rc = 0;

	if (v == NULL)
		return 0;
	end = v + strlen(v);
	while (p < end && rc == 0 && !b->truncated) {
		c = g_utf8_get_char_validated(p, (gssize)(end - p));
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			rc = jm_buf_append(b, "\xef\xbf\xbd", 3);
			p++;
			continue;
		}
		n = (size_t)(g_utf8_next_char(p) - p);
		if (!is_control(c))
			rc = jm_buf_append(b, p, n);
		else if (subject)
			rc = jm_buf_append(b, " ", 1);
		else if (c == '\n' || c == '\t')
			rc = jm_buf_append(b, p, 1);
		p += n;
	}
	return rc;
}

static int
render_seq(const struct seq *s, const char *const values[V_COUNT],
    int subject, struct jm_buf *b)
{
	const struct node *nd;
	const char	*end;
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < s->n && rc == 0 && !b->truncated; i++) {
		nd = &s->v[i];
		switch (nd->kind) {
		case N_TEXT:
			rc = jm_buf_append(b, nd->text, nd->len);
			break;
		case N_VAR:
			rc = put_value(b, values[nd->var], subject);
			break;
		case N_OPEN:
			if (value_empty(values[nd->var]))
				i = nd->close;
			break;
		case N_CLOSE:
			break;
		}
	}
	if (rc == 0 && b->truncated && b->len > 0) {
		/* Only the last character can be cut short. */
		g_utf8_validate(b->data, (gssize)b->len, &end);
		b->len = (size_t)(end - b->data);
		b->data[b->len] = '\0';
	}
	return rc;
}

int
jm_template_render(const struct jm_template *t,
    const struct jm_template_vars *vars, char **subject, char **body)
{
	const char	*values[V_COUNT];
	struct jm_buf	 sb, bb;
	char		*s, *e;

	*subject = *body = NULL;
	values[V_CUSTOMER_NAME] = vars->customer_name;
	values[V_SUBJECT] = vars->subject;
	values[V_TICKET] = vars->ticket;
	values[V_CATEGORY] = vars->category;
	values[V_SUPPORT_NAME] = vars->support_name;
	values[V_CANCELLATION_OFFER] = vars->cancellation_offer;

	jm_buf_init(&sb, JM_TEMPLATE_SUBJECT_MAX);
	jm_buf_init(&bb, JM_TEMPLATE_BODY_MAX);
	if (render_seq(&t->subject, values, 1, &sb) == -1 ||
	    render_seq(&t->body, values, 0, &bb) == -1) {
		jm_buf_free(&sb);
		jm_buf_free(&bb);
		return -1;
	}
	*subject = jm_buf_steal(&sb);
	*body = jm_buf_steal(&bb);
	if (*subject == NULL || *body == NULL) {
		free(*subject);
		free(*body);
		*subject = *body = NULL;
		return -1;
	}
	/* An empty value at either end must not leave white space there. */
	s = *subject;
	while (*s == ' ' || *s == '\t')
		s++;
	memmove(*subject, s, strlen(s) + 1);
	e = *subject + strlen(*subject);
	while (e > *subject && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return 0;
}
