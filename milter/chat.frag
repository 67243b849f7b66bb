.\" chat.frag: the CHAT PAYLOADS section, for journey-milter.conf(5).
.\" Kept beside milter/chat*.c; change both together.
.SH CHAT PAYLOADS
Each
.B chat_target
line,
.IR "NAME FORMAT URL " [ CATEGORY ,...],
receives one HTTP POST with
.B "Content-Type: application/json"
for each message of one of its categories
.RB ( complaint
when none is given;
.B *
for every category).
The body is what the service documents for its incoming webhooks.
Every payload carries the same facts: the category and its score, the
customer (display name and address), the subject, an excerpt of what the
customer wrote, the journey change (for example
.RB \(lq "activate \(-> activate, at risk" \(rq),
the ticket reference, the rules that fired, the language, the time, the
Message-ID, and the link made from
.BR chat_link_template .
.PP
Text taken from the message is made valid UTF-8 (an invalid byte becomes
U+FFFD), control characters and runs of white space become one space,
bidirectional override and isolate controls are dropped, and it is cut at
a character boundary with
.RB \(lq \[u2026] \(rq:
the excerpt at 500 characters, the subject and the customer at 200.
It is then escaped as the service requires, so that it is shown as typed
and cannot notify a channel.
A link that is not a plain http(s) URL, or is longer than 2000 bytes, is
left out rather than cut.
.TP
.B slack
A Slack incoming webhook message:
.B text
(the fallback shown in notifications) and
.BR blocks :
a
.B header
(plain_text), a
.B section
of mrkdwn
.BR fields ,
a
.B section
quoting the excerpt, a
.B context
line (Message-ID, time as
.BR <!date^...> ,
support_name) and a
.B section
with the helpdesk link.
The link is a mrkdwn link, not a button, which would need an
interactivity endpoint.
In mrkdwn text
.BR & ,
.B <
and
.B >
are written
.BR &amp; ,
.B &lt;
and
.BR &gt; ;
nothing else is escaped.
.TP
.B mattermost
A Mattermost incoming webhook post: Markdown
.BR text ,
.B username
(support_name; used only where the server lets integrations override it)
and one of the Slack-compatible
.BR attachments :
.B fallback
(plain text),
.BR color ,
.B title
and
.B title_link
(ticket and link),
.B text
(the quoted excerpt) and
.B fields
(title, value, short).
Mattermost does not render Slack blocks.
Markdown characters from the message are escaped with a backslash, and an
.B @
that starts a word is followed by U+2060 WORD JOINER, so
.B @channel
or
.B @all
notifies nobody.
.TP
.B teams
A message for a Microsoft Teams Workflows webhook (\(lqPost to a channel
when a webhook request is received\(rq):
.RS
.EX
{"type": "message", "attachments": [{
  "contentType": "application/vnd.microsoft.card.adaptive",
  "contentUrl": null, "content": CARD}]}
.EE
.RE
where CARD is an Adaptive Card, version 1.4: a TextBlock title, a FactSet
(journey, ticket, language, rules, time), RichTextBlocks for the customer,
subject, excerpt and Message-ID, and an Action.OpenUrl to the link.
The retired Office 365 connector MessageCard is not produced.
Text from the message goes only into TextRuns, which Teams never reads as
Markdown, so it needs no escaping.
.TP
.B discord
A Discord execute-webhook body:
.B content
(one line),
.B allowed_mentions
.B {\(dqparse\(dq:[]}
(nothing in the message can ping anyone), and one of
.BR embeds :
.BR title ,
.B url
(the link),
.B description
(the quoted excerpt),
.BR color ,
.B timestamp
(ISO 8601),
.B fields
(name, value, inline) and
.B footer
(support_name).
Every field stays inside Discord's limits (content 2000 characters, title
256, description 4096, 25 fields, field value 1024, 6000 in all) and no
field value is empty.
Markdown characters from the message are escaped with a backslash.
.TP
.B googlechat
A Google Chat incoming webhook message:
.B text
(one line of our own words, with nothing from the message: Chat's text
syntax has no escape and
.B <users/all>
would notify the space) and
.BR cardsV2 :
a card with a
.B header
(title, subtitle), a section of
.B decoratedText
widgets (topLabel, text), a section with the excerpt in a
.BR textParagraph ,
and a
.B buttonList
whose button opens the link.
Card text is Chat's HTML subset, so
.BR & ,
.B <
and
.B >
from the message are written as entities.
.TP
.B json
For a receiver of one's own:
.RS
.EX
{"type": "journey.escalation", "event": EVENT,
 "ticket": "JM-...", "link": URL or null}
.EE
.RE
where EVENT is the journey event sent to
.BR journey_webhook_url ,
as a JSON object, not a string.
Nothing beyond JSON itself is escaped.
