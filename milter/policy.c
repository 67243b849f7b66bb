/*
 * policy.c: loading the policy all or nothing, and publishing it.
 *
 * The current policy is one pointer behind one mutex.  Readers take a
 * reference and let go of the lock at once, so a reload waits only for the
 * pointer swap, never for a message.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journey/chat.h"
#include "journey/conf.h"
#include "journey/policy.h"
#include "journey/rules.h"
#include "journey/template.h"

static pthread_mutex_t	 policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct jm_policy	*policy_current;

/*
 * What no single file can see: a category that replies needs a template
 * in the default language (the fallback of every other language), and a
 * chat target may only name categories that exist.
 */
static void
cross_check(const struct jm_policy *p, const char *conf_path,
    struct jm_diag *d)
{
	const struct jm_category *cat;
	size_t			  i, j;

	for (i = 0; i < jm_rules_ncategories(p->rules); i++) {
		cat = jm_rules_category(p->rules, i);
		if (cat->reply == NULL)
			continue;
		if (jm_templates_find(p->templates, cat->reply,
		    p->conf->default_language, NULL) == NULL)
			jm_diag_add(d, cat->file, cat->line, "category %s: no "
			    "reply template %s/replies/%s.%s for the default "
			    "language", cat->name, p->conf->rules_dir,
			    cat->reply, p->conf->default_language);
	}
	for (i = 0; i < p->conf->reply_off.n; i++)
		if (jm_rules_find_category(p->rules,
		    p->conf->reply_off.v[i]) == NULL)
			jm_diag_add(d, conf_path, 0, "reply_off: unknown "
			    "category \"%s\"", p->conf->reply_off.v[i]);
	for (i = 0; i < p->n_chat; i++) {
		for (j = 0; j < p->chat[i].n_categories; j++) {
			const char *name = p->chat[i].categories[j];

			if (strcmp(name, "*") != 0 &&
			    jm_rules_find_category(p->rules, name) == NULL)
				jm_diag_add(d, conf_path, 0, "chat_target %s: "
				    "unknown category \"%s\"", p->chat[i].name,
				    name);
		}
	}
}

int
jm_policy_load(const char *conf_path, struct jm_diag *d,
    struct jm_policy **out)
{
	struct jm_policy	*p;
	char			 why[512], path[4096];
	size_t			 errors = d->n;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		jm_diag_add(d, conf_path, 0, "out of memory");
		return -1;
	}
	p->refs = 1;
	if (jm_conf_load(conf_path, d, &p->conf) == -1) {
		jm_policy_unref(p);
		return -1;
	}
	if (jm_chat_targets_parse(&p->conf->chat_target, &p->chat, &p->n_chat,
	    why, sizeof(why)) == -1)
		jm_diag_add(d, conf_path, 0, "chat_target: %s", why);
	if (jm_rules_load(p->conf->rules_dir, d, &p->rules) == 0) {
		snprintf(path, sizeof(path), "%s/replies", p->conf->rules_dir);
		if (jm_templates_load(path, d, &p->templates) == 0)
			cross_check(p, conf_path, d);
	}
	if (d->n > errors) {
		jm_policy_unref(p);
		return -1;
	}
	*out = p;
	return 0;
}

void
jm_policy_publish(struct jm_policy *p)
{
	struct jm_policy	*old;

	pthread_mutex_lock(&policy_lock);
	old = policy_current;
	policy_current = p;
	pthread_mutex_unlock(&policy_lock);
	jm_policy_unref(old);
}

struct jm_policy *
jm_policy_current(void)
{
	struct jm_policy	*p;

	pthread_mutex_lock(&policy_lock);
	p = policy_current;
	if (p != NULL)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&policy_lock);
	return p;
}

void
jm_policy_unref(struct jm_policy *p)
{
	if (p == NULL)
		return;
	if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_SEQ_CST) > 0)
		return;
	jm_chat_targets_free(p->chat, p->n_chat);
	jm_templates_free(p->templates);
	jm_rules_free(p->rules);
	jm_conf_unref(p->conf);
	free(p);
}
