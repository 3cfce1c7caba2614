/* parse_int.h: what the files of the parse module share (not public).
 *
 * Each format is one const parse_format, registered in the table in stream.c.
 * A format's parse function gets one framed record and adds events to the
 * context's batch with parse_ctx_event. Most formats add exactly one event per
 * record; grouping formats (auditd) keep state and add events when a group is
 * complete, and in flush at the end of the input. */
#ifndef HISN_PARSE_INT_H
#define HISN_PARSE_INT_H

#include "parse/parse.h"

enum parse_framing {
	PARSE_FRAME_LINE,   /* newline-terminated records ("\r\n" accepted) */
	PARSE_FRAME_SYSLOG, /* newline, or RFC 6587 octet counting ("123 <34>...") */
	PARSE_FRAME_JSON,   /* JSON lines, or concatenated (pretty-printed) documents */
};

typedef struct parse_ctx {
	core_batch *batch;     /* where events go (borrowed) */
	int64_t ref_time;      /* reference for year-less timestamps (ns) */
	uint64_t rec_offset;   /* stream offset of the current record */
	bool keep_raw;
	void *state;           /* the format's own state (state_size bytes, zeroed) */
	core_err err;          /* set by parse on failure (offset relative to record) */
	const char *fmt_name;  /* name of the format parsing the record */
} parse_ctx;

typedef struct parse_format {
	const char *name;
	const char *summary;
	enum parse_framing framing;
	/* Confidence 0..100 that rec (one record, not NUL-terminated) is this format. */
	int (*probe)(const char *rec, size_t n);
	/* Parses one record. The stream guarantees 64 writable spare bytes after
	 * rec[n] and lets the parser modify the record in place (a JSON parser
	 * unescapes there) unless keep_raw is set. Returns 0 or a negative CORE_E* code with cx->err
	 * filled (offset relative to rec). Must not keep pointers into rec after it
	 * returns unless the events it added are in the batch (same lifetime). */
	int (*parse)(parse_ctx *cx, const char *rec, size_t n);
	/* Optional: end of input or of a chunk with final=true only at the end.
	 * Grouping formats add their pending events here. */
	int (*flush)(parse_ctx *cx, bool final);
	size_t state_size;
	void (*state_free)(void *state);
} parse_format;

/* A new event in the batch with offset, raw, ts preset, or NULL (out of memory:
 * cx->err is set). */
core_event *parse_ctx_event(parse_ctx *cx, const char *rec, size_t n);
/* Forgets the last event after a failure. */
void parse_ctx_drop(parse_ctx *cx);

/* The formats (each defined in its own file). */
extern const parse_format parse_fmt_json;     /* json.c: generic JSON, Windows events */
extern const parse_format parse_fmt_syslog;   /* syslog.c: RFC 3164 and 5424 + Linux programs */
extern const parse_format parse_fmt_auditd;   /* auditd.c */
extern const parse_format parse_fmt_access;   /* access.c: nginx/apache common and combined */
extern const parse_format parse_fmt_cef;      /* kv.c: ArcSight CEF */
extern const parse_format parse_fmt_logfmt;   /* kv.c: key=value lines */
extern const parse_format parse_fmt_csv;      /* csv.c: CSV with a header row */

/* syslog.c calls this after the header is parsed: program-specific parsing of
 * the message (sshd, sudo, su, pam_unix, shadow utils, cron, systemd, kernel
 * netfilter LOG, Sysmon for Linux XML). prog/msg are borrowed from the record.
 * Returns 0 (also when nothing matched) or a negative CORE_E* code. (linux.c) */
int parse_linux_message(parse_ctx *cx, core_event *ev, const char *prog, size_t prog_len,
			const char *msg, size_t msg_len);

/* linux_xml.c: a Sysmon for Linux event as XML ("<Event><System>...</System><EventData>
 * <Data Name="Image">...</Data>...</EventData></Event>"): adds the Sigma names
 * EventID (int), Channel, Computer, Provider_Name and each Data Name at the top
 * level, event.code and host.name, and the event time from TimeCreated. Values
 * with entities are decoded into the arena. Returns 1 when s was one, 0 if not
 * (nothing added), or a negative code. */
int parse_linux_sysmon_xml(parse_ctx *cx, core_event *ev, const char *s, size_t n);

/* winevent.c: when the JSON object at field index root (or the whole event when
 * root == CORE_NO_PARENT) is a Windows event (evtx_dump nested form or the flat
 * NXLog/OTRF form), adds the Sigma names as aliases or fields, the ECS fields
 * and the timestamp. Returns 1 if it was one, 0 if not, or a negative code. */
int parse_winevent_normalize(parse_ctx *cx, core_event *ev);

/* json.c: converts a JSON text into fields of ev under parent (used by syslog
 * for JSON message bodies and by other formats). Returns 0 or a negative code
 * with cx->err set. */
int parse_json_into(parse_ctx *cx, core_event *ev, uint32_t parent, const char *s, size_t n);

#endif
