/*
 * ack.h: whether a customer's email may be acknowledged (RFC 3834), and
 * the acknowledgement itself.
 *
 * The promise: every real customer who writes gets an answer at once, in
 * their language, with a ticket reference; no robot, list, bounce or
 * forged sender ever gets one, and two auto-responders never loop.  The
 * policy and the limits are pure functions: the milter, `journeyctl
 * classify` and the tests ask the same questions and get the same answers.
 * Sending is not here: the composed message goes to the outbox.
 *
 * Reasons for not answering, stable identifiers used in logs, statistics
 * and `journeyctl classify`, in the order jm_ack_policy() checks them
 * (cheapest and most decisive first; the first that applies is returned):
 *
 *   null-sender        the envelope sender is <> (a bounce or a report;
 *                      RFC 3834 section 2).  Without an envelope
 *                      (journeyctl) a Return-Path of <> counts.
 *   delivery-report    Content-Type multipart/report, message/delivery-
 *                      status, message/global-delivery-status or
 *                      message/disposition-notification, or any
 *                      report-type= parameter.
 *   auto-submitted     Auto-Submitted other than "no" (RFC 3834 section 5;
 *                      case-insensitive, parameters and comments ignored).
 *   auto-reply-header  vendors' marks of an automatic reply: X-Autoreply,
 *                      X-Autorespond, X-AutoReply-From, X-Mail-Autoreply,
 *                      X-FC-MachineGenerated (any value but no, false or
 *                      0), X-POST-MessageClass: 9, Precedence: auto_reply.
 *   suppress-header    X-Auto-Response-Suppress naming All, OOF or
 *                      AutoReply (Microsoft).
 *   list               a List-* header (RFC 2369, RFC 2919), Mailing-List
 *                      or X-Mailing-List.
 *   precedence         Precedence: bulk, list or junk.
 *   loop               an X-Loop header naming ack_from, the envelope
 *                      sender of acknowledgements or a support address.
 *   own-address        the envelope sender or From is ack_from, the
 *                      acknowledgements' envelope sender or a support
 *                      address.
 *   role-sender        the local part of the envelope sender or of From
 *                      (whole, or before a "+detail") matches an
 *                      ack_role_senders pattern, case-insensitively.
 *   not-to-support     no watched address (jm_conf_watched()) in To or Cc.
 *   auth-failed        an Authentication-Results header of our own
 *                      authserv_id reports spf=fail, dmarc=fail, or
 *                      dkim=fail with neither dkim=pass nor dmarc=pass in
 *                      the same header.  Each header is judged alone: a
 *                      pass in one (which the sender may have forged)
 *                      never cancels a failure in another.  Other
 *                      authserv-ids are ignored (anyone can write one);
 *                      spf=softfail is not a failure; an empty
 *                      authserv_id turns this off.
 *   no-from-config     ack_from is empty: acknowledgements are off.  Last,
 *                      so that automated mail is still known as such.
 *
 * and from jm_ack_limits():
 *
 *   already-answered   this customer had an acknowledgement for this
 *                      category within ack_interval.
 *   daily-limit        this customer had ack_max_per_day in 24 hours.
 *   global-limit       ack_max_per_minute were sent in the last minute.
 *
 * Support addresses are support_addresses, or when that is empty the
 * address entries (not the domains) of watch_recipients.
 *
 * The header values in struct jm_message are raw; everything here treats
 * them as hostile.  jm_ack_policy() and jm_ack_compose() parse addresses
 * with GMime: the process must have initialised it (jm_message_init()).
 */
#ifndef JOURNEY_ACK_H
#define JOURNEY_ACK_H

#include <stddef.h>
#include <time.h>

#include "journey/conf.h"
#include "journey/message.h"
#include "journey/template.h"

/* Bounds of what is copied from the original into the reply's headers. */
#define JM_ACK_MSGID_MAX	250	/* bytes of one Message-ID kept */
#define JM_ACK_REFS_MAX		10	/* Message-IDs in References */

/*
 * Whether M may be acknowledged at all.  Pure: reads C and M only.
 * Returns NULL when it may, else the reason, one of the identifiers
 * above; static, never freed.
 */
const char *jm_ack_policy(const struct jm_conf *c, const struct jm_message *m);

/*
 * Whether the rate limits allow one more acknowledgement, given what the
 * store counted: SAME_CATEGORY_RECENT acknowledgements to this customer
 * for this category within ack_interval, CUSTOMER_DAY to this customer in
 * 24 hours, GLOBAL_MINUTE to anyone in the last minute.  A limit of 0
 * allows none.  Pure.  NULL, or "already-answered", "daily-limit" or
 * "global-limit"; static.
 */
const char *jm_ack_limits(const struct jm_conf *c, long same_category_recent,
	    long customer_day, long global_minute);

/*
 * Composes the acknowledgement of M with the template REPLY_TEMPLATE in
 * LANGUAGE (else conf default_language) for the ticket TICKET, dated NOW.
 * The result is a complete RFC 5322 message, lines ending in CRLF, every
 * header line ASCII and folded, the body text/plain UTF-8 in
 * quoted-printable or base64: From ack_from, To the customer (From of M,
 * else its envelope sender), the rendered Subject, Date, Message-ID
 * <jm.TICKET.RANDOM@domain of ack_from>, In-Reply-To and References
 * threading it to M, Auto-Submitted: auto-replied, X-Auto-Response-
 * Suppress: All, X-Loop: the ack_from address, Content-Language.
 * Returns 0 with *OUT and *OUTLEN (caller frees *OUT with free()), or -1
 * with the reason in WHY (no template for the category in either
 * language, no usable customer address, ack_from without an address,
 * memory) and *OUT NULL.
 */
int	jm_ack_compose(const struct jm_conf *c, const struct jm_templates *ts,
	    const struct jm_message *m, const char *reply_template,
	    const char *language, const char *ticket, time_t now,
	    char **out, size_t *outlen, char *why, size_t whylen);

/*
 * Whether M is one of our own acknowledgements coming back:
 * Auto-Submitted: auto-replied, and either an X-Loop naming the ack_from
 * address or a Message-ID <jm.*@domain of ack_from>.  Pure; 1 or 0.
 */
int	jm_ack_is_own(const struct jm_conf *c, const struct jm_message *m);

/*
 * SUBJECT without its leading reply and forward prefixes ("Re:", "Fwd:",
 * "Fw:", "YNT:", "İLT:", "AW:", "SV:", "پاسخ:", "Re[2]:", ..., repeated)
 * and the white space after them: {{subject}} in a template, which adds
 * its own "Re: ".  Borrowed; points into SUBJECT.
 */
const char *jm_ack_strip_subject(const char *subject);

#endif
