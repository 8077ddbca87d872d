/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <locale.h>

#include "twctl-output.h"

static gchar *
escape(const gchar *str)
{
	GString *out = g_string_new(NULL);

	twctl_json_escape(out, str);
	return g_string_free(out, FALSE);
}

static void
test_escape(void)
{
	struct {
		const gchar *in;
		const gchar *out;
	} cases[] = {
		{"", ""},
		{"plain", "plain"},
		{"a \"quoted\" \\ back\\slash", "a \\\"quoted\\\" \\\\ back\\\\slash"},
		{"tab\there\nnl\rcr\bbs\fff", "tab\\there\\nnl\\rcr\\bbs\\fff"},
		{"\001\037\177", "\\u0001\\u001f\\u007f"},
		{"Čtečka – ☃ 😀", "Čtečka – ☃ 😀"},
		{"bad \xff byte", "bad \xef\xbf\xbd byte"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *got = escape(cases[i].in);

		g_assert_cmpstr(got, ==, cases[i].out);
	}
}

static void
test_compact(void)
{
	g_autoptr(TwctlJson) json = twctl_json_new(FALSE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "event");
	twctl_json_string(json, "card-inserted");
	twctl_json_key(json, "reader");
	twctl_json_string(json, "R \"1\"");
	twctl_json_key(json, "none");
	twctl_json_string(json, NULL);
	twctl_json_key(json, "ok");
	twctl_json_boolean(json, TRUE);
	twctl_json_key(json, "n");
	twctl_json_uint(json, G_MAXUINT64);
	twctl_json_key(json, "time");
	twctl_json_double(json, 1700000000.5);
	twctl_json_key(json, "empty");
	twctl_json_begin_array(json);
	twctl_json_end_array(json);
	twctl_json_end_object(json);
	g_assert_cmpstr(twctl_json_get_data(json), ==,
			"{\"event\":\"card-inserted\",\"reader\":\"R \\\"1\\\"\",\"none\":null,"
			"\"ok\":true,\"n\":18446744073709551615,\"time\":1700000000.500000,"
			"\"empty\":[]}");
}

static void
test_pretty(void)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "readers");
	twctl_json_begin_array(json);
	for (guint i = 0; i < 2; i++) {
		twctl_json_begin_object(json);
		twctl_json_key(json, "event_count");
		twctl_json_uint(json, i);
		twctl_json_key(json, "card_present");
		twctl_json_boolean(json, i == 1);
		twctl_json_end_object(json);
	}
	twctl_json_end_array(json);
	twctl_json_end_object(json);
	g_assert_cmpstr(twctl_json_get_data(json), ==,
			"{\n"
			"  \"readers\": [\n"
			"    {\n"
			"      \"event_count\": 0,\n"
			"      \"card_present\": false\n"
			"    },\n"
			"    {\n"
			"      \"event_count\": 1,\n"
			"      \"card_present\": true\n"
			"    }\n"
			"  ]\n"
			"}");
}

/* a decimal comma must not get into JSON */
static void
test_locale(void)
{
	g_autoptr(TwctlJson) json = twctl_json_new(FALSE);
	const gchar *old = setlocale(LC_NUMERIC, NULL);
	g_autofree gchar *saved = g_strdup(old);

	if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL &&
	    setlocale(LC_NUMERIC, "cs_CZ.UTF-8") == NULL) {
		g_test_message("no locale with a decimal comma; checking the C locale only");
	}
	twctl_json_double(json, 0.25);
	setlocale(LC_NUMERIC, saved);
	g_assert_cmpstr(twctl_json_get_data(json), ==, "0.250000");
}

int
main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/twctl/json/escape", test_escape);
	g_test_add_func("/twctl/json/compact", test_compact);
	g_test_add_func("/twctl/json/pretty", test_pretty);
	g_test_add_func("/twctl/json/locale", test_locale);
	return g_test_run();
}
