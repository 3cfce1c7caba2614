/* test_core_json.c: JSON output: @timestamp first, nesting, types, escaping,
 * invalid UTF-8 replaced, hidden containers skipped, event.original. */
#include <string.h>

#include "../tap.h"
#include "core/core.h"

static int json_is(core_event *ev, unsigned flags, const char *want)
{
	core_buf b;
	core_buf_init(&b, 0);
	int ok = core_event_to_json(ev, &b, flags) == 0 && b.data && strcmp(b.data, want) == 0;
	if (!ok)
		printf("# got:  %s\n# want: %s\n", b.data ? b.data : "(null)", want);
	core_buf_free(&b);
	return ok;
}

int main(void)
{
	core_arena *a = core_arena_new(4096, 0);
	core_event ev;

	core_event_init(&ev, a);
	TAP_OK(json_is(&ev, 0, "{}"), "empty event");
	ev.ts = 1795773600LL * 1000000000LL + 5000000;
	core_event_add_str(&ev, CORE_NO_PARENT, "@timestamp", 10, "old", 3);
	core_event_add_str(&ev, CORE_NO_PARENT, "msg", 3, "a\"b\\c\n\x01", 7);
	core_event_add_int(&ev, CORE_NO_PARENT, "n", 1, -42);
	core_event_add_float(&ev, CORE_NO_PARENT, "f", 1, 1.5);
	core_event_add_bool(&ev, CORE_NO_PARENT, "b", 1, true);
	core_event_add_null(&ev, CORE_NO_PARENT, "z", 1);
	core_event_set_str(&ev, "source.ip", "10.0.0.1", 8);
	core_event_set_int(&ev, "source.port", 22);
	TAP_OK(json_is(&ev, 0,
		       "{\"@timestamp\":\"2026-11-27T10:00:00.005Z\",\"msg\":\"a\\\"b\\\\c\\n\\u0001\","
		       "\"n\":-42,\"f\":1.5,\"b\":true,\"z\":null,\"source\":{\"ip\":\"10.0.0.1\",\"port\":22}}"),
	       "types, escaping, nesting, the input @timestamp replaced");

	core_event_init(&ev, a);
	core_event_add_str(&ev, CORE_NO_PARENT, "bad", 3, "x\xff\xc3(y", 5);
	core_event_add_str(&ev, CORE_NO_PARENT, "ok", 2, "\xd8\xad\xd8\xb5\xd9\x86", 6);
	TAP_OK(json_is(&ev, 0, "{\"bad\":\"x\xef\xbf\xbd\xef\xbf\xbd(y\",\"ok\":\"\xd8\xad\xd8\xb5\xd9\x86\"}"),
	       "invalid UTF-8 bytes become U+FFFD, valid Arabic is kept");

	core_event_init(&ev, a);
	int o = core_event_add_object(&ev, CORE_NO_PARENT, "Event", 5);
	int i = core_event_add_str(&ev, (uint32_t)o, "Image", 5, "x", 1);
	int arr = core_event_add_array(&ev, CORE_NO_PARENT, "t", 1);
	core_event_add_int(&ev, (uint32_t)arr, NULL, 0, 1);
	int eo = core_event_add_object(&ev, (uint32_t)arr, NULL, 0);
	core_event_add_str(&ev, (uint32_t)eo, "k", 1, "v", 1);
	core_event_set_alias(&ev, (uint32_t)i, core_intern("Image", 5));
	core_event_hoist(&ev, (uint32_t)i);
	ev.raw = "raw line";
	ev.raw_len = 8;
	TAP_OK(json_is(&ev, CORE_JSON_ORIGINAL,
		       "{\"Image\":\"x\",\"t\":[1,{\"k\":\"v\"}],\"event\":{\"original\":\"raw line\"}}"),
	       "hidden container skipped, arrays of objects, event.original");
	core_arena_free(a);
	return tap_done();
}
