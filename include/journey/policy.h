/*
 * policy.h: the configuration and the ruleset, published together.
 *
 * The daemon reads the policy once at start and again on reload; each
 * message takes a reference when it begins and keeps that policy until it
 * ends, so a reload never changes the rules under a message in flight.
 */
#ifndef JOURNEY_POLICY_H
#define JOURNEY_POLICY_H

#include "journey/conf.h"
#include "journey/diag.h"

struct jm_ruleset;
struct jm_templates;
struct jm_chat_target;

struct jm_policy {
	int			 refs;
	struct jm_conf		*conf;
	struct jm_ruleset	*rules;
	struct jm_templates	*templates;	/* rules_dir/replies */
	struct jm_chat_target	*chat;		/* parsed chat_target lines */
	size_t			 n_chat;
};

/*
 * Reads the configuration at CONF_PATH and everything it points at (rules
 * and templates).  All or nothing: on any error adds "file:line: message"
 * lines to D and returns -1; else 0 and *OUT, which the caller releases with
 * jm_policy_unref().
 */
int	jm_policy_load(const char *conf_path, struct jm_diag *d,
	    struct jm_policy **out);

/* Makes P the current policy; takes over the caller's reference. */
void	jm_policy_publish(struct jm_policy *p);

/* The current policy with a new reference; release with jm_policy_unref(). */
struct jm_policy *jm_policy_current(void);

void	jm_policy_unref(struct jm_policy *p);

#endif
