.\" REPLY TEMPLATES section of journey-rules(5); kept beside template.c,
.\" which it documents.  Paste it in whole.
.SH REPLY TEMPLATES
The acknowledgement sent to a customer is written from a template in the
.I replies
directory of
.BR rules_dir ,
one file per category and language, named
.IR CATEGORY . LANGUAGE ,
for example
.I complaint.tr
or
.IR cancellation.fa .
.I CATEGORY
is the category's reply template name, of lower-case letters, digits,
.RB \(dq _ \(dq
and
.RB \(dq - \(dq;
.I LANGUAGE
is a code like
.BR en ,
.BR tr ,
.B fa
or
.BR pt-br ,
as
.B default_language
accepts it.
Hidden files and the leftovers of editors and package managers (names
ending in
.RB \(dq ~ \(dq,
or containing
.BR .bak ,
.BR .orig ,
.BR .swp ,
.BR .dpkg- ,
.B .rpm
or
.BR .ucf- )
are skipped; any other file with another kind of name is an error.
A missing
.I replies
directory means no templates: no acknowledgement is sent.
.PP
The template for a message is the one of its category in its language,
else in the language's primary subtag
.RB ( pt
for
.BR pt-br ),
else in
.BR default_language ;
if none exists, no acknowledgement is sent and the daemon logs why.
.SS Format
A template file is UTF-8 text, LF or CRLF line ends:
.IP \(bu 2
optional comment lines starting with
.RB \(dq # \(dq
(and empty lines);
.IP \(bu
one line
.BI "Subject: " text\fR;
.IP \(bu
one empty line;
.IP \(bu
the body, to the end of the file.
.PP
In the Subject and the body,
.BI {{ name }}
is replaced by a value, and a section
.BI {{# name }} ... {{/ name }}
is kept only when the value of
.I name
is not empty (a value of only white space counts as empty).
Sections may hold placeholders and other sections, 4 deep at most, and
must close in the order they opened.
White space inside the braces is allowed
.RB ( "{{ ticket }}" ).
A placeholder never spans lines.
.RB \(dq {{ \(dq
always starts a placeholder; a single
.RB \(dq { \(dq
or a
.RB \(dq }} \(dq
alone is plain text.
.PP
The names are:
.TP 20
.B customer_name
the display name of the customer's From, decoded; empty when there is
none or when it is an address.
.TP
.B subject
the customer's Subject, decoded, without the reply and forward prefixes
their mail program added
.RB ( Re: ,
.BR Fwd: ,
.BR Fw: ,
.BR AW: ,
.BR SV: ,
.BR YNT: ,
.BR İLT: ,
.BR پاسخ: ,
.BR Re[2]: ,
\&...); the template adds its own
.RB \(dq "Re: " \(dq.
.TP
.B ticket
the ticket reference of the message, like
.BR JM-7QK2M4XA .
.TP
.B category
the reply template name, like
.BR complaint .
.TP
.B support_name
the
.B support_name
key of journey-milter.conf(5).
.TP
.B cancellation_offer
the
.B cancellation_offer
key of journey-milter.conf(5); empty unless set.
.PP
Every acknowledgement carries its ticket reference: a template must use
.B {{ticket}}
in the Subject or the body outside any optional section (inside
.B {{#ticket}}
counts, since the ticket is never empty).
.SS Safety and bounds
Values come from the customer's message and are treated as hostile.
In the Subject, every control character of a value, carriage return and
line feed included, becomes a space, so a value can never start a header
of its own; in the body, a value keeps its newlines and tabs and loses
every other control character.
Bytes of a value that are not UTF-8 become U+FFFD.
The rendered Subject is cut at 998 bytes and the body at 16 KiB, on a
character boundary; that is not an error.
The Subject is trimmed of white space at both ends, so an empty value at
either end leaves none behind.
The message sent is
.B text/plain
in UTF-8, quoted-printable or base64; its Subject, From and To are
encoded by RFC 2047 when they are not plain ASCII.
.SS Errors
Templates are read when the daemon starts, on reload and by
.BR "journey-milter -n" .
All or nothing: one bad template keeps the whole directory from loading
(on reload, the old templates stay).
Every error of every file is reported as
.IB file : line : " message" \fR:
.RS
.nf
unknown placeholder "custmer_name" (known: customer_name, subject, ...)
unclosed "{{" (a placeholder ends with "}}" on the same line)
"{{/customer_name}}" closes no section
"{{/customer_name}}" does not match "{{#support_name}}" opened at line 4
"{{#customer_name}}" is never closed (expected "{{/customer_name}}")
"{{#subject}}": sections nested more than 4 deep
missing Subject line (the first line after the comments is "Subject: ...")
empty Subject
no empty line after Subject (the body starts after one empty line)
empty body
no {{ticket}} in the Subject or the body: every acknowledgement ...
{{ticket}} appears only inside optional sections: every ...
invalid UTF-8 at byte 812
NUL byte at byte 90
control character at byte 40
.fi
.RE
.PP
and, without a line number,
.RS
.nf
larger than 64 KiB
the file name is not CATEGORY.LANGUAGE (like complaint.tr)
cannot read: Permission denied
.fi
.RE
.SS Example
.I replies/cancellation.en:
.PP
.RS
.nf
# Sent at once to every customer who asks to leave.
Subject: Re: {{subject}} [{{ticket}}]

{{#customer_name}}Dear {{customer_name}},

{{/customer_name}}Your message has reached us and a person will
answer it soon.  Your ticket number is {{ticket}}; keep it in the
subject of any reply.
{{#cancellation_offer}}
Before you go: {{cancellation_offer}}
{{/cancellation_offer}}
{{support_name}}
.fi
.RE
