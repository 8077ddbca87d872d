/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <locale.h>

#include "twctl-dn.h"
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

static void
test_numbers_and_arrays(void)
{
	g_autoptr(TwctlJson) json = twctl_json_new(FALSE);
	const gchar *strv[] = {"esign", "a \"b\"", NULL};

	twctl_json_begin_object(json);
	twctl_json_key(json, "days_left");
	twctl_json_int(json, -3);
	twctl_json_key(json, "min");
	twctl_json_int(json, G_MININT64);
	twctl_json_key(json, "qc_types");
	twctl_json_strv(json, strv);
	twctl_json_key(json, "none");
	twctl_json_strv(json, NULL);
	twctl_json_end_object(json);
	g_assert_cmpstr(twctl_json_get_data(json), ==,
			"{\"days_left\":-3,\"min\":-9223372036854775808,"
			"\"qc_types\":[\"esign\",\"a \\\"b\\\"\"],\"none\":[]}");
}

static void
test_width(void)
{
	g_assert_cmpuint(twctl_output_width(""), ==, 0);
	g_assert_cmpuint(twctl_output_width("Novák"), ==, 5);
	/* decomposed: a and a combining acute accent */
	g_assert_cmpuint(twctl_output_width("Nova\xcc\x81k"), ==, 5);
	g_assert_cmpuint(twctl_output_width("証明書"), ==, 6);
}

static void
test_truncate_and_pad(void)
{
	g_autoptr(GString) line = g_string_new(NULL);
	struct {
		const gchar *in;
		guint width;
		const gchar *out;
	} cases[] = {
		{"Jan Novák", 20, "Jan Novák"}, {"Jan Novák", 9, "Jan Novák"},
		{"Jan Novák", 8, "Jan Nov…"},	{"Jan Novák", 1, "…"},
		{"証明書のテスト", 5, "証明…"}, {"abc", 0, ""},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *got = twctl_output_truncate(cases[i].in, cases[i].width);

		g_assert_cmpstr(got, ==, cases[i].out);
		g_assert_cmpuint(twctl_output_width(got), <=, cases[i].width);
	}
	twctl_output_pad(line, "Novák", 7, FALSE);
	twctl_output_pad(line, "|", 1, FALSE);
	twctl_output_pad(line, "-3", 4, TRUE);
	twctl_output_pad(line, "toolong", 2, FALSE);
	g_assert_cmpstr(line->str, ==, "Novák  |  -3toolong");
}

static void
test_sanitize(void)
{
	struct {
		const gchar *in;
		const gchar *out;
	} cases[] = {
		{"Jan Novák", "Jan Novák"},
		{"\033[31mred", "\xef\xbf\xbd[31mred"},
		{"a\tb\nc\xc2\x9b", "a\xef\xbf\xbd"
				    "b\xef\xbf\xbd"
				    "c\xef\xbf\xbd"},
		{"bad \xff", "bad \xef\xbf\xbd"},
		{NULL, ""},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *got = twctl_output_sanitize(cases[i].in);

		g_assert_cmpstr(got, ==, cases[i].out);
	}
}

static void
test_dates(void)
{
	g_autofree gchar *date = NULL;
	g_autofree gchar *datetime = NULL;
	g_autofree gchar *unknown = twctl_output_datetime(0);
	g_autofree gchar *none = twctl_output_date(0);
	g_autofree gchar *minute = NULL;

	/* a POSIX rule, so that no time zone data is needed */
	g_setenv("TZ", "CET-1", TRUE);
	date = twctl_output_date(1798758000); /* 2026-12-31T23:00:00Z */
	datetime = twctl_output_datetime(1798758000);
	g_assert_cmpstr(unknown, ==, "unknown");
	g_assert_cmpstr(none, ==, "-");
	g_assert_cmpstr(datetime, ==, "2027-01-01T00:00:00+01:00");
	g_assert_cmpstr(date, ==, "2027-01-01");
	minute = twctl_output_minute(1798758000 + 59);
	g_assert_cmpstr(minute, ==, "2027-01-01 00:00");
	g_clear_pointer(&minute, g_free);
	minute = twctl_output_minute(0);
	g_assert_cmpstr(minute, ==, "unknown");
}

static void
test_dn(void)
{
	struct {
		const gchar *dn;
		const gchar *type;
		const gchar *value;
	} cases[] = {
		{"CN=PostSignum Qualified CA 4,O=Česká pošta\\, s.p.,C=CZ", "CN",
		 "PostSignum Qualified CA 4"},
		{"CN=PostSignum Qualified CA 4,O=Česká pošta\\, s.p.,C=CZ", "o",
		 "Česká pošta, s.p."},
		{"CN=Jan Nov\\C3\\A1k+serialNumber=P12345,C=CZ", "CN", "Jan Novák"},
		{"CN=Jan Nov\\C3\\A1k+serialNumber=P12345,C=CZ", "serialNumber", "P12345"},
		{"CN=a\\+b\\=c\\\\d,O=x", "CN", "a+b=c\\d"},
		{"O=Only An Organisation,C=CZ", "CN", NULL},
		{"CN=bad \\FF byte", "CN", "bad \xef\xbf\xbd byte"},
		{"", "CN", NULL},
		{"garbage", "CN", NULL},
	};
	struct {
		const gchar *dn;
		const gchar *name;
	} names[] = {
		{"CN=PostSignum Qualified CA 4,O=Česká pošta\\, s.p.,C=CZ",
		 "PostSignum Qualified CA 4"},
		{"O=Only An Organisation,C=CZ", "Only An Organisation"},
		{"CN=,O=Org", "Org"},
		{"C=CZ", "C=CZ"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *got = twctl_dn_get_attribute(cases[i].dn, cases[i].type);

		g_assert_cmpstr(got, ==, cases[i].value);
	}
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *got = twctl_dn_get_name(names[i].dn);

		g_assert_cmpstr(got, ==, names[i].name);
	}
}

int
main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/twctl/json/numbers-and-arrays", test_numbers_and_arrays);
	g_test_add_func("/twctl/text/width", test_width);
	g_test_add_func("/twctl/text/truncate-and-pad", test_truncate_and_pad);
	g_test_add_func("/twctl/text/sanitize", test_sanitize);
	g_test_add_func("/twctl/text/dates", test_dates);
	g_test_add_func("/twctl/dn", test_dn);
	g_test_add_func("/twctl/json/escape", test_escape);
	g_test_add_func("/twctl/json/compact", test_compact);
	g_test_add_func("/twctl/json/pretty", test_pretty);
	g_test_add_func("/twctl/json/locale", test_locale);
	return g_test_run();
}
