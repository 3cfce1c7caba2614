/* test_core_event.c: the event model: interning, fields, nesting, dotted-path
 * setters, aliases and hoisting, lookups with and without the index, batches
 * and the arena bound. */
#include <pthread.h>
#include <string.h>

#include "../tap.h"
#include "core/core.h"

static const char *str_of(const core_field *f)
{
	static char buf[256];
	size_t n = f && f->type == CORE_T_STR && f->len < sizeof buf ? f->len : 0;
	memcpy(buf, n ? f->u.s : "", n);
	buf[n] = '\0';
	return buf;
}

static void *intern_worker(void *arg)
{
	core_name *out = arg;
	char name[32];
	for (int i = 0; i < 2000; i++) {
		int n = snprintf(name, sizeof name, "thread.field%d", i);
		out[i] = core_intern(name, (size_t)n);
	}
	return NULL;
}

static void test_intern(void)
{
	core_name a = core_intern("Event.EventData.Image", 21);
	core_name ev = core_intern("Event", 5);
	core_name ed = core_intern_child(ev, "EventData", 9);
	core_name b = core_intern_child(ed, "Image", 5);
	size_t n;

	TAP_OK(a && a == b, "a dotted text and its chain of children are one name");
	TAP_OK(core_intern_child(ev, "EventData.Image", 15) == a, "a dotted key under a parent too");
	TAP_OK(strcmp(core_name_str(a, &n), "Event.EventData.Image") == 0 && n == 21, "name text");
	TAP_OK(core_intern_find("never.seen.before", 17) == 0, "find does not insert");
	TAP_OK(core_intern("Image", 5) != a, "flat name differs from the path");

	static core_name r1[2000], r2[2000];
	pthread_t t1, t2;
	pthread_create(&t1, NULL, intern_worker, r1);
	pthread_create(&t2, NULL, intern_worker, r2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	TAP_OK(memcmp(r1, r2, sizeof r1) == 0 && r1[0] && r1[1999] && r1[0] != r1[1],
	       "two threads interning the same names get the same ids");
}

static void test_fields(void)
{
	core_arena *a = core_arena_new(4096, 0);
	core_event ev;
	core_event_init(&ev, a);

	int obj = core_event_add_object(&ev, CORE_NO_PARENT, "Event", 5);
	int ed = core_event_add_object(&ev, (uint32_t)obj, "EventData", 9);
	int img = core_event_add_str(&ev, (uint32_t)ed, "Image", 5, "C:\\x.exe", 8);
	int arr = core_event_add_array(&ev, CORE_NO_PARENT, "tags", 4);
	core_event_add_str(&ev, (uint32_t)arr, NULL, 0, "a", 1);
	core_event_add_str(&ev, (uint32_t)arr, NULL, 0, "b", 1);
	TAP_OK(obj == 0 && ed == 1 && img == 2 && ev.f[arr].len == 2, "indexes and child counts");
	TAP_OK(core_event_get_path(&ev, "Event.EventData.Image") == &ev.f[img], "lookup by path");
	TAP_OK(core_event_get_path(&ev, "Image") == NULL, "no flat name before an alias");
	core_event_set_alias(&ev, (uint32_t)img, core_intern("Image", 5));
	TAP_OK(core_event_get_path(&ev, "Image") == &ev.f[img], "lookup by alias");
	TAP_OK(core_event_get_path(&ev, "tags") == &ev.f[arr], "array elements answer to the array's name, the array first");
	TAP_OK(core_event_add_str(&ev, (uint32_t)img, "x", 1, "y", 1) == CORE_EINVAL, "a string cannot be a parent");

	int h = core_event_set_str(&ev, "host.name", "web1", 4);
	int p = core_event_set_int(&ev, "source.port", 22);
	int h2 = core_event_set_str(&ev, "host.name", "web2", 4);
	TAP_OK(h >= 0 && h == h2 && strcmp(str_of(core_event_get_path(&ev, "host.name")), "web2") == 0,
	       "set replaces in place");
	TAP_OK(ev.f[ev.f[h].parent].type == CORE_T_OBJECT && ev.f[p].u.i == 22, "set creates the objects");
	core_event_add_str(&ev, CORE_NO_PARENT, "user", 4, "root", 4);
	int un = core_event_set_str(&ev, "user.name", "alice", 5);
	TAP_OK(un >= 0 && ev.f[un].parent == CORE_NO_PARENT && ev.f[un].key_len == 9 &&
		       strcmp(str_of(core_event_get_path(&ev, "user.name")), "alice") == 0,
	       "a path under a non-object goes to the top level with its dotted key");

	TAP_OK(core_event_index(&ev) == 0 && core_event_get_path(&ev, "Image") == &ev.f[img] &&
		       core_event_get_path(&ev, "source.port") == &ev.f[p],
	       "indexed lookups");
	TAP_OK(core_event_hoist(&ev, (uint32_t)img) == 0 && ev.f[img].parent == CORE_NO_PARENT &&
		       ev.f[img].key_len == 5 && memcmp(ev.f[img].key, "Image", 5) == 0,
	       "hoist moves the leaf to the top under its alias");
	TAP_OK(core_event_get_path(&ev, "Event.EventData.Image") == &ev.f[img] &&
		       core_event_get_path(&ev, "Image") == &ev.f[img],
	       "both names still resolve after hoisting");
	TAP_OK((ev.f[ed].flags & CORE_F_HIDDEN) && (ev.f[obj].flags & CORE_F_HIDDEN),
	       "emptied containers are hidden, upwards");
	core_arena_free(a);
}

static void test_batch(void)
{
	core_batch b;
	TAP_OK(core_batch_init(&b, 0, 4 << 20) == 0, "batch init");
	for (int i = 0; i < 1000; i++) {
		core_event *ev = core_batch_new_event(&b);
		core_event_add_int(ev, CORE_NO_PARENT, "n", 1, i);
	}
	TAP_OK(b.n == 1000 && b.ev[999].f[0].u.i == 999, "1000 events in one batch");
	core_batch_reset(&b);
	TAP_OK(b.n == 0 && core_arena_used(b.arena) == 0, "reset empties the batch");
	core_event *ev = core_batch_new_event(&b);
	int rc = 0;
	for (int i = 0; i < 100000 && rc >= 0; i++)
		rc = core_event_add_strcopy(ev, CORE_NO_PARENT, "k", 1, "0123456789abcdef0123456789abcdef", 32);
	TAP_OK(rc == CORE_ENOMEM, "the arena bound stops a runaway event");
	core_batch_free(&b);
}

static void test_numbers(void)
{
	int64_t v;
	uint64_t u;
	TAP_OK(core_parse_i64("-9223372036854775808", 20, &v) == 0 && v == INT64_MIN, "i64 min");
	TAP_OK(core_parse_i64("9223372036854775808", 19, &v) == CORE_EPARSE, "i64 overflow");
	TAP_OK(core_parse_u64("18446744073709551615", 20, &u) == 0 && u == UINT64_MAX, "u64 max");
	TAP_OK(core_parse_u64("12a", 3, &u) == CORE_EPARSE && core_parse_u64("", 0, &u) == CORE_EPARSE,
	       "trailing bytes and empty rejected");
}

int main(void)
{
	test_intern();
	test_fields();
	test_batch();
	test_numbers();
	return tap_done();
}
