/* core.h: the event model every module shares.
 *
 * An event is an ordered array of fields. Each field has the key as written in
 * the input, an interned name for lookups (the full dotted path, for example
 * "Event.EventData.Image" or "host.name"), an optional second interned name (the
 * alias rules use, for example "Image"), a parent (objects and arrays nest by
 * index) and a typed value. Strings are borrowed: they point into the input
 * buffer or into the batch arena, and live as long as the batch does.
 *
 * Error convention for the whole project: 0 is success, a negative CORE_E* code
 * is failure; a core_err carries a message and a byte offset for the user. */
#ifndef HISN_CORE_H
#define HISN_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISN_VERSION "0.1.0"

/* ---- errors ---------------------------------------------------------- */
enum {
	CORE_OK = 0,
	CORE_ENOMEM = -1,  /* allocation failed or a memory bound was reached */
	CORE_EPARSE = -2,  /* malformed input */
	CORE_ETOOBIG = -3, /* a record or value is over its hard limit */
	CORE_EIO = -4,     /* read or write failed */
	CORE_EINVAL = -5,  /* invalid argument or option */
	CORE_EMORE = -6,   /* not enough input yet (framing) */
	CORE_ENOTSUP = -7, /* valid but unsupported input (a pcap in a zip, say) */
};

/* A stable one-line description of a CORE_E* code (never NULL). */
const char *core_strerror(int code);

/* An error for the user: code, byte offset into the record or stream (or
 * SIZE_MAX when unknown) and a message that names what was wrong. */
typedef struct core_err {
	int code;
	size_t offset;
	char msg[200];
} core_err;

/* Fill e (may be NULL) and return code. printf-style message. */
int core_err_set(core_err *e, int code, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- arena ----------------------------------------------------------- */
/* A bump allocator for one batch: allocations are freed all at once by
 * core_arena_reset. max_bytes bounds the total (0: no bound). */
typedef struct core_arena core_arena;

/* Returns a new arena owned by the caller (free with core_arena_free), or NULL. */
core_arena *core_arena_new(size_t block_size, size_t max_bytes);
void core_arena_free(core_arena *a);
/* Returns n bytes aligned to 8, owned by the arena; NULL when out of memory or
 * over the bound. */
void *core_arena_alloc(core_arena *a, size_t n);
/* Copies s[0..n) and a NUL into the arena; the copy is owned by the arena. */
char *core_arena_strndup(core_arena *a, const char *s, size_t n);
/* Frees every allocation but keeps the first block for reuse. */
void core_arena_reset(core_arena *a);
size_t core_arena_used(const core_arena *a);

/* ---- growable byte buffer with a hard maximum --------------------------- */
typedef struct core_buf {
	char *data; /* owned by the buffer; NUL-terminated when len > 0 */
	size_t len, cap, max;
} core_buf;

void core_buf_init(core_buf *b, size_t max);
void core_buf_free(core_buf *b);
int core_buf_reserve(core_buf *b, size_t extra);
int core_buf_add(core_buf *b, const void *p, size_t n);
int core_buf_addc(core_buf *b, char c);
int core_buf_printf(core_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes room for one more element in the malloc'd array *arr holding n
 * elements of elem bytes: when n == *cap the array grows to twice its size (or
 * to first elements when empty). *arr stays owned by the caller. Returns 0 or
 * CORE_ENOMEM (the array is then unchanged). */
int core_grow(void **arr, size_t *cap, size_t n, size_t elem, size_t first);

/* ---- interned names --------------------------------------------------- */
/* A name is a process-wide integer id for a field name or dotted path; 0 means
 * none. Interning is thread-safe; the table is bounded (CORE_NAME_MAX names),
 * after which core_intern returns 0 and the field is kept but not findable. */
typedef uint32_t core_name;
#define CORE_NAME_MAX (1u << 20)

core_name core_intern(const char *s, size_t n);
/* The name of the path "<parent>.<key>" (or just key when parent is 0). */
core_name core_intern_child(core_name parent, const char *key, size_t n);
/* The id of s if it was interned, 0 otherwise; never inserts. */
core_name core_intern_find(const char *s, size_t n);
/* The name of a string literal (or text that never changes): cached per
 * thread by address, so repeated calls cost a probe, not a hash. */
core_name core_intern_lit(const char *lit);
/* The text of a name; stable for the life of the process (never free it). */
const char *core_name_str(core_name id, size_t *len);
uint32_t core_name_count(void);

/* ---- values and fields --------------------------------------------------- */
typedef enum core_type {
	CORE_T_NULL = 0,
	CORE_T_BOOL,
	CORE_T_INT,
	CORE_T_FLOAT,
	CORE_T_STR,
	CORE_T_ARRAY,
	CORE_T_OBJECT,
} core_type;

#define CORE_NO_PARENT UINT32_MAX
#define CORE_F_HIDDEN 1u /* not written to JSON (an emptied container) */

typedef struct core_field {
	const char *key;   /* key as written, borrowed; NULL for array elements */
	uint32_t key_len;
	core_name name;    /* full path name; 0 for array elements or when the table is full */
	core_name alias;   /* second name rules use ("Image"), 0 if none */
	uint32_t parent;   /* index of the enclosing object or array, or CORE_NO_PARENT */
	uint32_t len;      /* STR: bytes; ARRAY/OBJECT: direct children not hidden */
	uint8_t type;      /* core_type */
	uint8_t flags;     /* CORE_F_* */
	union {
		int64_t i;
		double f;
		bool b;
		const char *s; /* borrowed, not NUL-terminated */
	} u;
} core_field;

/* ---- events --------------------------------------------------------------- */
#define CORE_TS_NONE INT64_MIN
#define CORE_EVENT_MAX_FIELDS 65536u

typedef struct core_event {
	core_field *f;        /* fields in input order (children after their parent) */
	uint32_t n, cap;
	core_arena *arena;    /* owns f and every copied string; borrowed */
	int64_t ts;           /* UTC nanoseconds since 1970, or CORE_TS_NONE */
	const char *ts_orig;  /* the timestamp as written (borrowed), or NULL */
	uint32_t ts_orig_len;
	const char *raw;      /* the whole record as read (borrowed), or NULL */
	size_t raw_len;
	uint64_t offset;      /* byte offset of the record in its input stream */
	const char *format;   /* name of the parser that made it (static string) */
	uint32_t *index;      /* name -> field hash (see core_event_index); arena-owned */
	uint32_t index_mask;
} core_event;

/* Starts an empty event whose allocations come from a (borrowed). */
void core_event_init(core_event *ev, core_arena *a);

/* Adding fields. parent is CORE_NO_PARENT or the index of an object or array
 * field. key is borrowed (ignored under an array). Each returns the new field's
 * index (>= 0) or a negative CORE_E* code. Strings are borrowed as well: copy
 * with core_event_add_strcopy when the source does not outlive the batch. */
int core_event_add_str(core_event *ev, uint32_t parent, const char *key, size_t klen,
		       const char *s, size_t n);
int core_event_add_strcopy(core_event *ev, uint32_t parent, const char *key, size_t klen,
			   const char *s, size_t n);
int core_event_add_int(core_event *ev, uint32_t parent, const char *key, size_t klen, int64_t v);
int core_event_add_float(core_event *ev, uint32_t parent, const char *key, size_t klen, double v);
int core_event_add_bool(core_event *ev, uint32_t parent, const char *key, size_t klen, bool v);
int core_event_add_null(core_event *ev, uint32_t parent, const char *key, size_t klen);
int core_event_add_object(core_event *ev, uint32_t parent, const char *key, size_t klen);
int core_event_add_array(core_event *ev, uint32_t parent, const char *key, size_t klen);

/* Set a field by dotted path (ECS names such as "source.ip"), creating the
 * enclosing objects as needed. When the leaf exists it is replaced in place.
 * path must be a string literal (or text that never changes while the process
 * runs): its interned name is cached per thread by address and length.
 * Returns the index. */
int core_event_set_str(core_event *ev, const char *path, const char *s, size_t n);
int core_event_set_strcopy(core_event *ev, const char *path, const char *s, size_t n);
int core_event_set_int(core_event *ev, const char *path, int64_t v);
int core_event_set_bool(core_event *ev, const char *path, bool v);
/* The object at path (created when missing), for adding children. */
int core_event_set_object(core_event *ev, const char *path);

/* Give field idx a second name (the flat Sigma name). Returns 0 or CORE_EINVAL. */
int core_event_set_alias(core_event *ev, uint32_t idx, core_name alias);

/* Lookup by name or alias. Returns the field or NULL. Uses the hash index when
 * core_event_index was called after the last change, else a linear scan. */
const core_field *core_event_get(const core_event *ev, core_name name);
/* Convenience: lookup by text; NULL when the name was never interned. */
const core_field *core_event_get_path(const core_event *ev, const char *path);
/* The same for a string literal, whose name is cached by address (fast). */
const core_field *core_event_get_lit(const core_event *ev, const char *lit);
/* Builds the name -> field hash in the arena. Returns 0 or CORE_ENOMEM. */
int core_event_index(core_event *ev);
/* Moves the leaf idx to the top level under its alias, which becomes its name
 * and its key; the old name becomes the alias, so both still find it.
 * A container left without children is hidden from the JSON output (and so
 * are its parents when they become empty). Returns 0 or CORE_EINVAL. */
int core_event_hoist(core_event *ev, uint32_t idx);
/* Hides field idx (a child of parent, or CORE_NO_PARENT) from the JSON output
 * while keeping it for lookups; a container left without visible children is
 * hidden too, upwards. */
void core_event_hide(core_event *ev, uint32_t idx, uint32_t parent);
/* The index of the next direct child of field idx after field `after` (start
 * with after = idx), or UINT32_MAX when there is none: children come after
 * their parent, not always next to it. For arrays, whose elements are
 * matched one by one. */
uint32_t core_event_next_child(const core_event *ev, uint32_t idx, uint32_t after);
/* Index of field ptr inside ev. */
static inline uint32_t core_event_idx(const core_event *ev, const core_field *f)
{
	return (uint32_t)(f - ev->f);
}

/* ---- batches ---------------------------------------------------------------- */
/* Events of one input chunk, sharing one arena. */
typedef struct core_batch {
	core_arena *arena;  /* owned */
	core_event *ev;     /* owned array (malloc), n used */
	size_t n, cap;
} core_batch;

/* block: the arena's block size (0: 64 KiB); arena_max: its bound (0: none). */
int core_batch_init(core_batch *b, size_t block, size_t arena_max);
void core_batch_free(core_batch *b);
/* A new empty event at the end of the batch, or NULL when out of memory. */
core_event *core_batch_new_event(core_batch *b);
/* Drops the last event (after a parse error). */
void core_batch_drop_last(core_batch *b);
/* Forgets every event and resets the arena. */
void core_batch_reset(core_batch *b);

/* ---- timestamps --------------------------------------------------------------- */
/* Each returns 0 and stores UTC nanoseconds since 1970 in *ns, or CORE_EPARSE.
 * *used (may be NULL) receives the number of bytes the timestamp took. */

/* RFC 3339 / ISO 8601: "2026-11-27T10:00:00Z", fractions up to 9 digits (more
 * are truncated), "+hh:mm" or "Z" or nothing (UTC), a space instead of T. */
int core_time_iso(const char *s, size_t n, int64_t *ns, size_t *used);
/* RFC 3164 "Mmm dd hh:mm:ss" (day space-padded or not), no year: the year is
 * chosen so that the time is not more than one day after ref_ns. */
int core_time_bsd(const char *s, size_t n, int64_t ref_ns, int64_t *ns, size_t *used);
/* Common Log Format "10/Oct/2000:13:55:36 -0700". */
int core_time_clf(const char *s, size_t n, int64_t *ns, size_t *used);
/* Epoch seconds with optional fraction ("1604994496.155"), or milliseconds
 * when the integer part has 13 digits. */
int core_time_epoch(const char *s, size_t n, int64_t *ns, size_t *used);
/* Windows FILETIME (100 ns ticks since 1601-01-01). */
int core_time_filetime(uint64_t ticks, int64_t *ns);
/* Days since 1970 of a proleptic Gregorian date (month 1..12). */
int64_t core_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Writes "YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z" and a NUL; returns
 * the length (< 40). */
size_t core_time_format(int64_t ns, char out[40]);
/* Current wall-clock time in ns. */
int64_t core_time_now(void);

/* ---- text ---------------------------------------------------------------- */
/* The offset of the first byte of s[0..n) that is not valid UTF-8 (overlong
 * forms and surrogates included), or n when it is all valid. */
size_t core_utf8_invalid(const char *s, size_t n);

/* ---- yyjson memory from an arena ---------------------------------------------- */
struct yyjson_alc;
/* Fills *alc (a yyjson_alc) so that yyjson allocates from a; its free does
 * nothing (the arena is reset as a whole). a is borrowed and must outlive every
 * document made with *alc. */
void core_arena_yyjson(core_arena *a, struct yyjson_alc *alc);

/* ---- JSON output ---------------------------------------------------------------- */
enum {
	CORE_JSON_ORIGINAL = 1u << 0, /* add event.original with the raw record */
	CORE_JSON_PRETTY = 1u << 1,
};
/* Appends the event as one JSON object (no newline) to out: "@timestamp"
 * first, then every field as nested objects in field order. Returns 0 or a
 * negative code. */
int core_event_to_json(const core_event *ev, core_buf *out, unsigned flags);
/* Appends s[0..n) as a JSON string (quoted, escaped; invalid UTF-8 bytes become
 * U+FFFD). s may be NULL (the empty string). Returns 0 or CORE_ENOMEM. */
int core_json_str(core_buf *b, const char *s, size_t n);

/* ---- small text helpers shared by parsers ------------------------------------- */
/* Parses a decimal integer with optional sign from s[0..n); rejects overflow and
 * trailing bytes. Returns 0 or CORE_EPARSE. */
int core_parse_i64(const char *s, size_t n, int64_t *out);
int core_parse_u64(const char *s, size_t n, uint64_t *out);
static inline bool core_is_digit(int c) { return c >= '0' && c <= '9'; }

#endif
