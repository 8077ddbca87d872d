/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "tw-names.h"

static void
test_display_valid(void)
{
	g_autofree gchar *plain = tw_names_make_display("Virtual PCD 0 00 00", 0);
	g_autofree gchar *czech = tw_names_make_display("Čtečka ČSOB", 0);

	g_assert_cmpstr(plain, ==, "Virtual PCD 0 00 00");
	g_assert_cmpstr(czech, ==, "Čtečka ČSOB");
}

static void
test_display_invalid(void)
{
	/* Latin-1 bytes, a control character, a lone continuation byte */
	g_autofree gchar *out = tw_names_make_display("Reader \xe8\x01tecka\x80", 0);

	g_assert_true(g_utf8_validate(out, -1, NULL));
	g_assert_cmpstr(out, ==, "Reader \xef\xbf\xbd tecka\xef\xbf\xbd");
}

static void
test_display_long(void)
{
	g_autofree gchar *raw = g_strnfill(1000, 'x');
	g_autofree gchar *out = tw_names_make_display(raw, 256);
	g_autofree gchar *exact = tw_names_make_display("abc", 3);
	g_autofree gchar *cut = tw_names_make_display("abcd", 3);

	g_assert_cmpint(g_utf8_strlen(out, -1), ==, 256);
	g_assert_true(g_str_has_suffix(out, "…"));
	g_assert_cmpstr(exact, ==, "abc");
	g_assert_cmpstr(cut, ==, "ab…");
}

static void
test_object_path(void)
{
	const gchar *ids[] = {"Virtual PCD 0 00 00", "", "a/b", "a_2fb", "\xff\xfe", "Čtečka"};
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
		gchar *path = tw_names_object_path("readers", ids[i]);

		g_assert_true(g_variant_is_object_path(path));
		g_assert_true(g_str_has_prefix(path, TW_DBUS_PATH "/readers/"));
		/* different ids, different paths */
		g_assert_false(g_hash_table_contains(seen, path));
		g_hash_table_add(seen, path);
	}
}

static void
test_hex(void)
{
	const guint8 atr[] = {0x3b, 0x8b, 0x81, 0x01, 0x80, 0xf9};
	g_autofree gchar *hex = tw_names_hex(atr, sizeof(atr));
	g_autofree gchar *empty = tw_names_hex(atr, 0);

	g_assert_cmpstr(hex, ==, "3B8B810180F9");
	g_assert_cmpstr(empty, ==, "");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/names/display/valid", test_display_valid);
	g_test_add_func("/names/display/invalid", test_display_invalid);
	g_test_add_func("/names/display/long", test_display_long);
	g_test_add_func("/names/object-path", test_object_path);
	g_test_add_func("/names/hex", test_hex);
	return g_test_run();
}
