/* winevent.c: Windows events delivered as JSON, in the evtx_dump nested form
 * (Event.System.*, Event.EventData.*, Event.UserData.*, "#attributes" and
 * "#text") and the flat NXLog/OTRF form. Both get the Sigma field names
 * (EventID, Channel, Provider_Name, Computer, EventData by Name, UserData
 * leaves) as aliases of the original fields, the event time, and ECS fields. */
#include <stdio.h>
#include <string.h>

#include "parse/parse_int.h"

static bool key_is(const core_field *f, const char *k)
{
	size_t n = strlen(k);
	return f->key && f->key_len == n && memcmp(f->key, k, n) == 0;
}

/* The child of object idx with key k, or -1. */
static int child(const core_event *ev, int idx, const char *k)
{
	if (idx < 0)
		return -1;
	for (uint32_t i = (uint32_t)idx + 1; i < ev->n; i++)
		if (ev->f[i].parent == (uint32_t)idx && key_is(&ev->f[i], k))
			return (int)i;
	return -1;
}

static int top(const core_event *ev, const char *k)
{
	for (uint32_t i = 0; i < ev->n; i++)
		if (ev->f[i].parent == CORE_NO_PARENT && key_is(&ev->f[i], k))
			return (int)i;
	return -1;
}

/* An element of evtx_dump may be a value or {"#text": value, "#attributes":
 * {...}}: the index of the value. */
static int text_of(const core_event *ev, int idx)
{
	if (idx >= 0 && ev->f[idx].type == CORE_T_OBJECT) {
		int t = child(ev, idx, "#text");
		if (t >= 0)
			return t;
	}
	return idx;
}

static void alias(core_event *ev, int idx, const char *name, size_t n)
{
	if (idx >= 0 && ev->f[idx].alias == 0 && ev->f[idx].type < CORE_T_ARRAY)
		core_event_set_alias(ev, (uint32_t)idx, core_intern(name, n));
}

/* Is name (a literal) already a top-level name or an alias? */
static bool taken(const core_event *ev, const char *name, size_t n)
{
	(void)n;
	const core_field *f = core_event_get_lit(ev, name);
	return f && (f->alias == core_intern_lit(name) || f->parent == CORE_NO_PARENT);
}

/* EventData / UserData leaves by their own key (or Data's Name attribute). */
static void alias_data(core_event *ev, int idx)
{
	if (idx < 0)
		return;
	for (uint32_t i = (uint32_t)idx + 1; i < ev->n; i++) {
		core_field *f = &ev->f[i];
		uint32_t p = f->parent;
		/* inside idx? */
		while (p != CORE_NO_PARENT && p != (uint32_t)idx)
			p = ev->f[p].parent;
		if (p == CORE_NO_PARENT || !f->key || f->key[0] == '#')
			continue;
		if (key_is(f, "Data") && f->type == CORE_T_ARRAY)
			continue;
		if (f->type == CORE_T_OBJECT) {
			/* {"#attributes": {"Name": "X"}, "#text": v} inside a Data list */
			int attrs = child(ev, (int)i, "#attributes");
			int name = child(ev, attrs, "Name");
			if (name >= 0 && ev->f[name].type == CORE_T_STR)
				alias(ev, text_of(ev, (int)i), ev->f[name].u.s, ev->f[name].len);
			else
				alias(ev, text_of(ev, (int)i), f->key, f->key_len);
			continue;
		}
		if (ev->f[f->parent].key && ev->f[f->parent].key[0] == '#')
			continue;
		alias(ev, (int)i, f->key, f->key_len);
	}
}

/* Array elements of "Data" lists have no key: handle {"Data": [{"#attributes":
 * {"Name": n}, "#text": v}, ...]}. */
static void alias_data_list(core_event *ev, int data)
{
	if (data < 0 || ev->f[data].type != CORE_T_ARRAY)
		return;
	for (uint32_t i = (uint32_t)data + 1; i < ev->n; i++) {
		if (ev->f[i].parent != (uint32_t)data || ev->f[i].type != CORE_T_OBJECT)
			continue;
		int attrs = child(ev, (int)i, "#attributes");
		int name = child(ev, attrs, "Name"), text = child(ev, (int)i, "#text");
		if (name >= 0 && ev->f[name].type == CORE_T_STR && text >= 0) {
			alias(ev, text, ev->f[name].u.s, ev->f[name].len);
			/* The Name attribute is said by the hoisted field's own name. */
			if (ev->f[attrs].len == 1)
				core_event_hide(ev, (uint32_t)attrs, i);
		}
	}
}

static void alias_system(core_event *ev, int sys)
{
	static const char *const plain[] = {"EventID", "Version", "Level", "Task", "Opcode",
					    "Keywords", "EventRecordID", "Channel", "Computer"};
	static const char *const attr[][3] = {
		{"Provider", "Name", "Provider_Name"}, {"Provider", "Guid", "Provider_Guid"},
		{"Provider", "EventSourceName", "EventSourceName"},
		{"Execution", "ProcessID", "Execution_ProcessID"},
		{"Execution", "ThreadID", "Execution_ThreadID"}, {"Security", "UserID", "Security_UserID"},
		{"Correlation", "ActivityID", "Correlation_ActivityID"},
		{"TimeCreated", "SystemTime", "TimeCreated_SystemTime"}};

	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (!taken(ev, plain[i], strlen(plain[i])))
			alias(ev, text_of(ev, child(ev, sys, plain[i])), plain[i], strlen(plain[i]));
	for (size_t i = 0; i < sizeof attr / sizeof attr[0]; i++) {
		int a = child(ev, child(ev, child(ev, sys, attr[i][0]), "#attributes"), attr[i][1]);
		if (!taken(ev, attr[i][2], strlen(attr[i][2])))
			alias(ev, a, attr[i][2], strlen(attr[i][2]));
	}
}

static const core_field *get(const core_event *ev, const char *name)
{
	return core_event_get_lit(ev, name);
}

static void set_ts(core_event *ev, const core_field *f)
{
	int64_t ns;
	if (f && f->type == CORE_T_STR && core_time_iso(f->u.s, f->len, &ns, NULL) == 0) {
		ev->ts = ns;
		ev->ts_orig = f->u.s;
		ev->ts_orig_len = f->len;
	}
}

/* NXLog's EventTime is local time without a zone. The offset is recovered from
 * EventReceivedTime (local) and Logstash's @timestamp (UTC) of the same moment,
 * rounded to 15 minutes; without them @timestamp (reception) is used. */
static void flat_time(core_event *ev)
{
	const core_field *et = get(ev, "EventTime"), *rt = get(ev, "EventReceivedTime"),
			 *at = get(ev, "@timestamp"), *utc = get(ev, "UtcTime");
	int64_t e, r, a;

	if (utc && utc->type == CORE_T_STR && core_time_iso(utc->u.s, utc->len, &e, NULL) == 0) {
		ev->ts = e;
		ev->ts_orig = utc->u.s;
		ev->ts_orig_len = utc->len;
		return;
	}
	if (et && rt && at && et->type == CORE_T_STR && rt->type == CORE_T_STR &&
	    at->type == CORE_T_STR && core_time_iso(et->u.s, et->len, &e, NULL) == 0 &&
	    core_time_iso(rt->u.s, rt->len, &r, NULL) == 0 &&
	    core_time_iso(at->u.s, at->len, &a, NULL) == 0) {
		const int64_t q = 15LL * 60 * 1000000000LL;
		int64_t off = a - r;
		off = (off >= 0 ? off + q / 2 : off - q / 2) / q * q;
		ev->ts = e + off;
		ev->ts_orig = et->u.s;
		ev->ts_orig_len = et->len;
		return;
	}
	set_ts(ev, at);
	if (ev->ts == CORE_TS_NONE)
		set_ts(ev, get(ev, "TimeGenerated"));
	if (ev->ts == CORE_TS_NONE)
		set_ts(ev, et);
}

/* Decodes the XML text s[0..n) (the five predefined entities and numeric
 * references) into the arena; returns NULL on allocation failure. */
static const char *xml_text(core_arena *a, const char *s, size_t n, size_t *out_n)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
	if (!memchr(s, '&', n)) {
		*out_n = n;
		return s;
	}
	char *o = core_arena_alloc(a, n + 1);
	size_t k = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t j = 0;
		for (; j < sizeof ents / sizeof ents[0]; j++) {
			size_t l = strlen(ents[j].ent);
			if (n - i >= l && memcmp(s + i, ents[j].ent, l) == 0) {
				o[k++] = ents[j].c;
				i += l;
				break;
			}
		}
		if (j == sizeof ents / sizeof ents[0])
			o[k++] = s[i++]; /* numeric references are rare here: kept as written */
	}
	*out_n = k;
	return o;
}

/* Azure Monitor's SecurityEvent keeps EventData as an XML text:
 * <Data Name="X">value</Data> elements become top-level fields X. */
static int event_data_xml(core_event *ev, const char *s, size_t n)
{
	const char *end = s + n, *p = s;
	static const char open[] = "<Data Name=\"";

	while ((p = memmem(p, (size_t)(end - p), open, sizeof open - 1))) {
		const char *name = p + sizeof open - 1;
		const char *q = memchr(name, '"', (size_t)(end - name));
		if (!q || q + 1 >= end)
			break;
		size_t nlen = (size_t)(q - name);
		if (q[1] == '/') { /* <Data Name="X"/> */
			p = q + 1;
			continue;
		}
		const char *v = q + 2, *ve = memmem(v, (size_t)(end - v), "</Data>", 7);
		if (q[1] != '>' || !ve)
			break;
		size_t tn;
		const char *t = xml_text(ev->arena, v, (size_t)(ve - v), &tn);
		if (!t || core_event_add_str(ev, CORE_NO_PARENT, name, nlen, t, tn) < 0)
			return CORE_ENOMEM;
		p = ve + 7;
	}
	return 0;
}

/* An EventData kept as text (Azure Monitor): its fields go to the top level. */
static int event_data_text(parse_ctx *cx, core_event *ev)
{
	int ed = top(ev, "EventData");
	if (ed < 0 || ev->f[ed].type != CORE_T_STR || ev->f[ed].len < 2)
		return 0;
	const char *s = ev->f[ed].u.s;
	size_t n = ev->f[ed].len;
	if (s[0] == '{')
		return parse_json_into(cx, ev, CORE_NO_PARENT, s, n) == CORE_ENOMEM ? CORE_ENOMEM : 0;
	if (s[0] == '<')
		return event_data_xml(ev, s, n);
	return 0;
}

static void ecs_str(core_event *ev, const char *path, const char *from)
{
	const core_field *f = get(ev, from);
	if (f && f->type == CORE_T_STR && f->len && !(f->len == 1 && f->u.s[0] == '-'))
		core_event_set_str(ev, path, f->u.s, f->len);
}

static void ecs_int(core_event *ev, const char *path, const char *from)
{
	const core_field *f = get(ev, from);
	int64_t v;
	if (f && f->type == CORE_T_INT)
		core_event_set_int(ev, path, f->u.i);
	else if (f && f->type == CORE_T_STR && core_parse_i64(f->u.s, f->len, &v) == 0)
		core_event_set_int(ev, path, v);
}

/* ECS fields with a normalized meaning, from the Sigma names. */
static int ecs(core_event *ev)
{
	const core_field *id = get(ev, "EventID");
	char code[24];

	if (id && id->type == CORE_T_INT) {
		int n = snprintf(code, sizeof code, "%lld", (long long)id->u.i);
		core_event_set_strcopy(ev, "event.code", code, (size_t)n);
	} else if (id && id->type == CORE_T_STR) {
		core_event_set_str(ev, "event.code", id->u.s, id->len);
	}
	ecs_str(ev, "event.provider", "Provider_Name");
	ecs_str(ev, "host.name", "Computer");
	ecs_str(ev, "winlog.channel", "Channel");
	ecs_int(ev, "winlog.record_id", "EventRecordID");
	ecs_str(ev, "process.executable", "Image");
	ecs_str(ev, "process.command_line", "CommandLine");
	ecs_int(ev, "process.pid", "ProcessId");
	ecs_str(ev, "process.parent.executable", "ParentImage");
	ecs_str(ev, "process.parent.command_line", "ParentCommandLine");
	ecs_str(ev, "user.name", "TargetUserName");
	ecs_str(ev, "user.name", "User");
	ecs_str(ev, "source.ip", "IpAddress");
	ecs_str(ev, "source.ip", "SourceIp");
	ecs_str(ev, "source.ip", "SourceAddress");
	ecs_str(ev, "destination.ip", "DestAddress");
	ecs_int(ev, "destination.port", "DestPort");
	ecs_int(ev, "source.port", "SourcePort");
	ecs_str(ev, "destination.ip", "DestinationIp");
	ecs_int(ev, "destination.port", "DestinationPort");
	ecs_str(ev, "file.path", "TargetFilename");
	ecs_str(ev, "dns.question.name", "QueryName");
	return 0;
}

int parse_winevent_normalize(parse_ctx *cx, core_event *ev)
{
	int event = top(ev, "Event");
	int sys = child(ev, event, "System");

	if (sys >= 0) {
		int ed = child(ev, event, "EventData"), ud = child(ev, event, "UserData");
		alias_data(ev, ed);
		alias_data_list(ev, child(ev, ed, "Data"));
		alias_data(ev, ud);
		alias_system(ev, sys);
		set_ts(ev, get(ev, "TimeCreated_SystemTime"));
		for (uint32_t i = 0; i < ev->n; i++)
			if (ev->f[i].alias && ev->f[i].parent != CORE_NO_PARENT)
				core_event_hoist(ev, i);
		ev->format = "winevent";
		return ecs(ev) < 0 ? CORE_ENOMEM : 1;
	}
	int eid = top(ev, "EventID");
	if (eid < 0 || (top(ev, "Channel") < 0 && top(ev, "SourceName") < 0 && top(ev, "ProviderGuid") < 0))
		return 0;
	if (event_data_text(cx, ev) < 0)
		return CORE_ENOMEM;
	if (!taken(ev, "Provider_Name", 13))
		alias(ev, top(ev, "SourceName"), "Provider_Name", 13);
	if (!taken(ev, "Provider_Name", 13))
		alias(ev, top(ev, "EventSourceName"), "Provider_Name", 13);
	if (!taken(ev, "Provider_Name", 13))
		alias(ev, top(ev, "Provider"), "Provider_Name", 13);
	if (!taken(ev, "Computer", 8))
		alias(ev, top(ev, "Hostname"), "Computer", 8);
	flat_time(ev);
	int at = top(ev, "@timestamp");
	if (at >= 0 && ev->ts_orig != ev->f[at].u.s && ev->f[at].type == CORE_T_STR)
		core_event_set_str(ev, "event.ingested", ev->f[at].u.s, ev->f[at].len);
	ev->format = "winevent";
	return ecs(ev) < 0 ? CORE_ENOMEM : 1;
}
