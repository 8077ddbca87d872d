/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The device data loader and matcher, on files the tests write; and, when
 * given directories (arguments or TW_DEVICES_CHECK_DIRS, ':'-separated), the
 * check of the shipped data: every file loads in strict mode, without a
 * warning, and every fact has a source.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "tw-devices.h"

#define ATR_PROID "3B7E9400008025A00000002856801012000114"
#define ATR_OTHER "3B7E9400008025A00000002856801012000116"

/* a directory under the per-test data dir (G_TEST_OPTION_ISOLATE_DIRS
 * removes it after the test) */
static gchar *
make_dir(const gchar *name)
{
	gchar *dir = g_build_filename(g_get_user_data_dir(), name, NULL);

	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	return dir;
}

static void
write_file(const gchar *dir, const gchar *name, const gchar *text, gssize len)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, len, &error));
	g_assert_no_error(error);
}

/* an entry that matches on one ATR, with its source */
static gchar *
entry_atr(const gchar *name, const gchar *atr)
{
	return g_strdup_printf("[Device]\nName=%s\nAtr=%s\n[Sources]\nAtr=test\n", name, atr);
}

static TwDevices *
load_ok(const gchar *const *dirs)
{
	g_autoptr(GError) error = NULL;
	TwDevices *devices = tw_devices_new();

	g_assert_true(tw_devices_load(devices, dirs, TRUE, &error));
	g_assert_no_error(error);
	return devices;
}

static void
test_devices_keys(void)
{
	g_autofree gchar *dir = make_dir("a");
	g_autofree gchar *origin = g_build_filename(dir, "proid.conf", NULL);
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = NULL;
	const TwDevice *device;

	write_file(dir, "proid.conf",
		   "# a comment\n"
		   "[Device]\n"
		   "Name=  ProID+Q  \n"
		   "Enabled=true\n"
		   "Atr=" ATR_PROID ";3b 7f 94 00:00/FF FF FF FF 00 ;\n"
		   "Manufacturer=Monet*; ;Other\n"
		   "Model=ProID+Q*\n"
		   "QscdCertifiedUntil=2026-12-31\n"
		   "QualifiedCapacity=2\n"
		   "[Sources]\n"
		   "Atr=smartcard_list.txt\n"
		   "Manufacturer=a\n"
		   "Model=b\n"
		   "QscdCertifiedUntil=https://www.postsignum.cz/certifikace_prostredku.html\n"
		   "QualifiedCapacity=guide, chapter 6\n",
		   -1);
	devices = load_ok(dirs);
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 1);
	device = tw_devices_lookup(devices, "proid");
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "proid");
	g_assert_cmpstr(device->name, ==, "ProID+Q");
	g_assert_cmpstr(device->origin, ==, origin);
	g_assert_cmpuint(device->atrs->len, ==, 2);
	g_assert_cmpuint(g_strv_length(device->manufacturer_patterns), ==, 2);
	g_assert_cmpstr(device->manufacturer_patterns[0], ==, "Monet*");
	g_assert_cmpstr(device->manufacturer_patterns[1], ==, "Other");
	g_assert_cmpuint(g_strv_length(device->model_patterns), ==, 1);
	g_assert_cmpstr(device->model_patterns[0], ==, "ProID+Q*");
	g_assert_cmpint(device->qscd_certified_until, !=, 0);
	g_assert_cmpuint(device->qualified_capacity, ==, 2);
	g_assert_cmpuint(g_hash_table_size(device->sources), ==, 5);
	g_assert_cmpstr(g_hash_table_lookup(device->sources, "QualifiedCapacity"), ==,
			"guide, chapter 6");
	g_assert_null(tw_devices_lookup(devices, "other"));
}

static void
test_devices_minimal(void)
{
	g_autofree gchar *dir = make_dir("a");
	g_autofree gchar *text = entry_atr("Card", ATR_PROID);
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = NULL;
	const TwDevice *device;

	/* unknown date and capacity need no source; patterns are empty, not NULL */
	write_file(dir, "card.conf", text, -1);
	/* empty lists and values are as absent */
	write_file(dir, "model.conf",
		   "[Device]\nName=Model only\nAtr=\nManufacturer= ; \nModel=M\n"
		   "QscdCertifiedUntil=\nQualifiedCapacity=\n[Sources]\nModel=t\nAtr=\n",
		   -1);
	write_file(dir, "README", "not an entry", -1);
	write_file(dir, ".hidden.conf", "not an entry either", -1);
	devices = load_ok(dirs);
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 2);
	device = tw_devices_lookup(devices, "model");
	g_assert_nonnull(device);
	g_assert_cmpuint(device->atrs->len, ==, 0);
	g_assert_null(device->manufacturer_patterns[0]);
	g_assert_cmpstr(device->model_patterns[0], ==, "M");
	g_assert_cmpint(device->qscd_certified_until, ==, 0);
	g_assert_cmpuint(device->qualified_capacity, ==, 0);
	g_assert_false(g_hash_table_contains(device->sources, "Atr"));
	device = tw_devices_lookup(devices, "card");
	g_assert_nonnull(device);
	g_assert_nonnull(device->manufacturer_patterns);
	g_assert_null(device->manufacturer_patterns[0]);
	g_assert_nonnull(device->model_patterns);
	g_assert_null(device->model_patterns[0]);
	g_assert_cmpint(device->qscd_certified_until, ==, 0);
	g_assert_cmpuint(device->qualified_capacity, ==, 0);
}

static void
test_devices_atr_mask(void)
{
	g_autofree gchar *dir = make_dir("a");
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = NULL;
	const TwDevice *device;

	/* the last byte and the low nibble of the first masked out */
	write_file(dir, "masked.conf",
		   "[Device]\nName=Masked\nAtr=3B7E9400/F0FFFF00;3B1122/FFFFFF\n"
		   "[Sources]\nAtr=test\n",
		   -1);
	/* the mask has one byte fewer: skipped, the exact entry still loads */
	write_file(dir, "short-mask.conf",
		   "[Device]\nName=Short\nAtr=3B7E9400/FFFFFF\n[Sources]\nAtr=test\n", -1);
	write_file(dir, "exact.conf",
		   "[Device]\nName=Exact\nAtr=3B:7E:94:00\n[Sources]\nAtr=test\n", -1);
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*short-mask.conf: [Device] Atr: mask \"FFFFFF\" and ATR differ in "
			      "length (3 and 4 bytes)*skipped*");
	devices = tw_devices_new();
	g_assert_true(tw_devices_load(devices, dirs, FALSE, NULL));
	g_test_assert_expected_messages();
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 2);

	device = tw_devices_match(devices, "3B7E9400", NULL, NULL);
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "exact");
	device = tw_devices_match(devices, "3B7E94FF", NULL, NULL);
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "masked");
	device = tw_devices_match(devices, "3A7E9412", NULL, NULL);
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "masked");
	/* lower case, and the second pattern of the list */
	device = tw_devices_match(devices, "3b1122", NULL, NULL);
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "masked");
	/* a masked-in bit differs, or the length does */
	g_assert_null(tw_devices_match(devices, "4B7E9400", NULL, NULL));
	g_assert_null(tw_devices_match(devices, "3B7E95", NULL, NULL));
	g_assert_null(tw_devices_match(devices, "3B7E940000", NULL, NULL));
	g_assert_null(tw_devices_match(devices, "3B1123", NULL, NULL));
}

static void
test_devices_atr_invalid(void)
{
	const struct {
		const gchar *atr;
		const gchar *message;
	} cases[] = {
		{"3B7G", "*\"3B7G\" is not an ATR*"},
		{"3B7E9", "*\"3B7E9\" is not an ATR*"},
		{"3B", "*\"3B\" is not an ATR*"},
		{"3B  7E", "*is not an ATR*"},
		{"3 B7E", "*is not an ATR*"},
		{"3B7E;zz", "*\"zz\" is not an ATR*"},
		{"3B7E/FFXF", "*mask \"FFXF\" is not hex*"},
		{"3B7E/", "*mask \"\" is not hex*"},
		{"3B7E/FFFFFF", "*mask \"FFFFFF\" and ATR differ in length (3 and 2 bytes)*"},
		{"3B7E/FF/FF", "*has more than one '/'*"},
		/* 34 bytes: longer than any ATR */
		{"3B00000000000000000000000000000000000000000000000000000000000000000000",
		 "*is not an ATR: 2 to 33 bytes*"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *name = g_strdup_printf("d%u", i);
		g_autofree gchar *dir = make_dir(name);
		g_autofree gchar *text = entry_atr("Bad", cases[i].atr);
		g_autofree gchar *pattern =
			g_strdup_printf("*bad.conf: [Device] Atr: %s", cases[i].message);
		const gchar *dirs[] = {dir, NULL};
		g_autoptr(TwDevices) devices = tw_devices_new();

		write_file(dir, "bad.conf", text, -1);
		g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING, pattern);
		g_assert_true(tw_devices_load(devices, dirs, FALSE, NULL));
		g_test_assert_expected_messages();
		g_assert_cmpuint(tw_devices_get_count(devices), ==, 0);
	}
}

static void
test_devices_date(void)
{
	g_autofree gchar *dir = make_dir("a");
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = NULL;
	g_autoptr(GDateTime) last = NULL;
	g_autoptr(GDateTime) end = NULL;
	const TwDevice *device;

	write_file(dir, "dec.conf",
		   "[Device]\nName=Dec\nAtr=3B01\nQscdCertifiedUntil=2026-12-31\n"
		   "[Sources]\nAtr=t\nQscdCertifiedUntil=t\n",
		   -1);
	write_file(dir, "leap.conf",
		   "[Device]\nName=Leap\nAtr=3B02\nQscdCertifiedUntil= 2024-02-29 \n"
		   "[Sources]\nAtr=t\nQscdCertifiedUntil=t\n",
		   -1);
	devices = load_ok(dirs);

	/* certified through 31 December: the end is 1 January 00:00 UTC */
	device = tw_devices_lookup(devices, "dec");
	g_assert_cmpint(device->qscd_certified_until, ==, G_GINT64_CONSTANT(1798761600));
	end = g_date_time_new_from_unix_utc(device->qscd_certified_until);
	last = g_date_time_new_from_unix_utc(device->qscd_certified_until - 1);
	g_assert_cmpint(g_date_time_get_year(end), ==, 2027);
	g_assert_cmpint(g_date_time_get_month(end), ==, 1);
	g_assert_cmpint(g_date_time_get_day_of_month(end), ==, 1);
	g_assert_cmpint(g_date_time_get_hour(end), ==, 0);
	g_assert_cmpint(g_date_time_get_year(last), ==, 2026);
	g_assert_cmpint(g_date_time_get_month(last), ==, 12);
	g_assert_cmpint(g_date_time_get_day_of_month(last), ==, 31);

	device = tw_devices_lookup(devices, "leap");
	g_assert_cmpint(device->qscd_certified_until, ==, G_GINT64_CONSTANT(1709251200));
}

static void
test_devices_date_invalid(void)
{
	const gchar *dates[] = {
		"2026-02-30", "2026-13-01", "2025-02-29", "26-12-31",	"2026/12/31",
		"31.12.2026", "2026-1-31",  "2026-01-3a", "1969-12-31", "2026-12-31T00",
	};

	for (guint i = 0; i < G_N_ELEMENTS(dates); i++) {
		g_autofree gchar *name = g_strdup_printf("d%u", i);
		g_autofree gchar *dir = make_dir(name);
		g_autofree gchar *text =
			g_strdup_printf("[Device]\nName=D\nAtr=3B01\nQscdCertifiedUntil=%s\n"
					"[Sources]\nAtr=t\nQscdCertifiedUntil=t\n",
					dates[i]);
		g_autofree gchar *pattern = g_strdup_printf(
			"*date.conf: [Device] QscdCertifiedUntil: \"%s\" is not a date*", dates[i]);
		const gchar *dirs[] = {dir, NULL};
		g_autoptr(TwDevices) devices = tw_devices_new();

		write_file(dir, "date.conf", text, -1);
		g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING, pattern);
		g_assert_true(tw_devices_load(devices, dirs, FALSE, NULL));
		g_test_assert_expected_messages();
		g_assert_cmpuint(tw_devices_get_count(devices), ==, 0);
	}
}

static void
test_devices_capacity_invalid(void)
{
	g_autofree gchar *dir = make_dir("a");
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = tw_devices_new();

	write_file(dir, "a.conf",
		   "[Device]\nName=A\nAtr=3B01\nQualifiedCapacity=two\n"
		   "[Sources]\nAtr=t\nQualifiedCapacity=t\n",
		   -1);
	write_file(dir, "b.conf",
		   "[Device]\nName=B\nAtr=3B01\nQualifiedCapacity=-1\n"
		   "[Sources]\nAtr=t\nQualifiedCapacity=t\n",
		   -1);
	write_file(dir, "c.conf",
		   "[Device]\nName=C\nAtr=3B01\nQualifiedCapacity=256\n"
		   "[Sources]\nAtr=t\nQualifiedCapacity=t\n",
		   -1);
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*a.conf: [Device] QualifiedCapacity: \"two\" is not a number*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*b.conf: [Device] QualifiedCapacity: \"-1\"*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*c.conf: [Device] QualifiedCapacity: \"256\"*");
	g_assert_true(tw_devices_load(devices, dirs, FALSE, NULL));
	g_test_assert_expected_messages();
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 0);
}

static void
test_devices_globs(void)
{
	g_autofree gchar *dir = make_dir("a");
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = NULL;
	const TwDevice *device;

	write_file(dir, "p11.conf",
		   "[Device]\nName=P11\nManufacturer=Monet+*;Other Corp\nModel=ProID?Q\n"
		   "[Sources]\nManufacturer=t\nModel=t\n",
		   -1);
	write_file(dir, "maker.conf",
		   "[Device]\nName=Maker only\nManufacturer=Maker\n[Sources]\nManufacturer=t\n",
		   -1);
	devices = load_ok(dirs);

	/* CK_TOKEN_INFO fields are padded with spaces; compared trimmed */
	device = tw_devices_match(devices, "", "Monet+ a.s.                     ",
				  "ProID+Q         ");
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "p11");
	device = tw_devices_match(devices, NULL, "Other Corp", "ProID Q");
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "p11");
	/* every kind given must match: model wrong, model unknown, maker wrong */
	g_assert_null(tw_devices_match(devices, "", "Monet+", "ProID+Q2"));
	g_assert_null(tw_devices_match(devices, "", "Monet+", NULL));
	g_assert_null(tw_devices_match(devices, "", "Other Corp.", "ProID+Q"));
	/* globs are case-sensitive and anchored */
	g_assert_null(tw_devices_match(devices, "", "monet+", "ProID+Q"));
	g_assert_null(tw_devices_match(devices, "", "The Maker", "x"));
	/* an entry that gives only a manufacturer needs only that */
	device = tw_devices_match(devices, "", "  Maker  ", NULL);
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "maker");
}

static void
test_devices_atr_and_model(void)
{
	g_autofree gchar *dir = make_dir("a");
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = NULL;
	const TwDevice *device;

	write_file(dir, "both.conf",
		   "[Device]\nName=Both\nAtr=" ATR_PROID "\nModel=ProID+Q\n"
		   "[Sources]\nAtr=t\nModel=t\n",
		   -1);
	devices = load_ok(dirs);

	g_assert_null(tw_devices_match(devices, ATR_PROID, NULL, NULL));
	g_assert_null(tw_devices_match(devices, ATR_PROID, "Any", "Other"));
	g_assert_null(tw_devices_match(devices, "", "Any", "ProID+Q"));
	g_assert_null(tw_devices_match(devices, ATR_OTHER, "Any", "ProID+Q"));
	device = tw_devices_match(devices, ATR_PROID, "Any", "ProID+Q");
	g_assert_nonnull(device);
	g_assert_cmpstr(device->id, ==, "both");
}

static void
test_devices_override(void)
{
	g_autofree gchar *shipped = make_dir("shipped");
	g_autofree gchar *local = make_dir("local");
	g_autofree gchar *missing = g_build_filename(g_get_user_data_dir(), "missing", NULL);
	g_autofree gchar *a = entry_atr("Shipped A", "3B01");
	g_autofree gchar *b = entry_atr("Shipped B", "3B02");
	g_autofree gchar *c = entry_atr("Shipped C", "3B03");
	g_autofree gchar *origin = g_build_filename(local, "a.conf", NULL);
	const gchar *dirs[] = {shipped, missing, local, NULL};
	g_autoptr(TwDevices) devices = NULL;
	const TwDevice *device;

	write_file(shipped, "a.conf", a, -1);
	write_file(shipped, "b.conf", b, -1);
	write_file(shipped, "c.conf", c, -1);
	/* the administrator's copy, with the date from the PostSignum page */
	write_file(local, "a.conf",
		   "[Device]\nName=Local A\nAtr=3B0A\nQscdCertifiedUntil=2026-12-31\n"
		   "[Sources]\nAtr=t\n"
		   "QscdCertifiedUntil=https://www.postsignum.cz/certifikace_prostredku.html\n",
		   -1);
	/* a broken override: the shipped entry stays */
	write_file(local, "b.conf", "[Device]\nName=Local B\nAtr=3B0B\n", -1);
	write_file(local, "d.conf", "[Device]\nName=Local D\nAtr=3B04\n[Sources]\nAtr=t\n", -1);

	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*local*b.conf: [Sources] Atr: no source for [Device] Atr*");
	devices = tw_devices_new();
	g_assert_true(tw_devices_load(devices, dirs, FALSE, NULL));
	g_test_assert_expected_messages();
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 4);

	device = tw_devices_lookup(devices, "a");
	g_assert_cmpstr(device->name, ==, "Local A");
	g_assert_cmpstr(device->origin, ==, origin);
	g_assert_cmpint(device->qscd_certified_until, ==, G_GINT64_CONSTANT(1798761600));
	/* replaced as a whole: the shipped ATR no longer matches */
	g_assert_null(tw_devices_match(devices, "3B01", NULL, NULL));
	g_assert_cmpstr(tw_devices_match(devices, "3B0A", NULL, NULL)->id, ==, "a");
	g_assert_cmpstr(tw_devices_lookup(devices, "b")->name, ==, "Shipped B");
	g_assert_cmpstr(tw_devices_lookup(devices, "c")->name, ==, "Shipped C");
	g_assert_cmpstr(tw_devices_lookup(devices, "d")->name, ==, "Local D");
}

static void
test_devices_disabled(void)
{
	g_autofree gchar *shipped = make_dir("shipped");
	g_autofree gchar *local = make_dir("local");
	g_autofree gchar *later = make_dir("later");
	g_autofree gchar *a = entry_atr("Shipped A", "3B01");
	g_autofree gchar *b = entry_atr("Shipped B", "3B02");
	g_autofree gchar *again = entry_atr("Again B", "3B02");
	const gchar *two[] = {shipped, local, NULL};
	const gchar *three[] = {shipped, local, later, NULL};
	g_autoptr(TwDevices) devices = tw_devices_new();

	write_file(shipped, "a.conf", a, -1);
	write_file(shipped, "b.conf", b, -1);
	/* only Enabled=false: nothing else needed */
	write_file(local, "b.conf", "[Device]\nEnabled=false\n", -1);
	/* an invalid switch is an error: the shipped entry stays */
	write_file(local, "a.conf", "[Device]\nEnabled=maybe\n", -1);
	/* disabling what does not exist is fine */
	write_file(local, "z.conf", "[Device]\nEnabled=false\n", -1);

	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*local*a.conf: [Device] Enabled: *skipped*");
	g_assert_true(tw_devices_load(devices, two, FALSE, NULL));
	g_test_assert_expected_messages();
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 1);
	g_assert_nonnull(tw_devices_lookup(devices, "a"));
	g_assert_null(tw_devices_lookup(devices, "b"));
	g_assert_null(tw_devices_match(devices, "3B02", NULL, NULL));

	/* a later directory brings it back; a load replaces the previous one */
	write_file(later, "b.conf", again, -1);
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING, "*a.conf: [Device] Enabled: *");
	g_assert_true(tw_devices_load(devices, three, FALSE, NULL));
	g_test_assert_expected_messages();
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 2);
	g_assert_cmpstr(tw_devices_match(devices, "3B02", NULL, NULL)->name, ==, "Again B");
}

static void
test_devices_sources(void)
{
	g_autofree gchar *dir = make_dir("a");
	g_autofree gchar *good = entry_atr("Good", "3B01");
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = tw_devices_new();
	g_autoptr(GError) error = NULL;

	write_file(dir, "good.conf", good, -1);
	write_file(dir, "no-atr-source.conf", "[Device]\nName=N\nAtr=3B02\n", -1);
	write_file(dir, "empty-source.conf",
		   "[Device]\nName=N\nAtr=3B03\nQualifiedCapacity=2\n"
		   "[Sources]\nAtr=t\nQualifiedCapacity=  \n",
		   -1);
	write_file(dir, "no-date-source.conf",
		   "[Device]\nName=N\nAtr=3B04\nQscdCertifiedUntil=2030-01-01\n"
		   "[Sources]\nAtr=t\n",
		   -1);
	write_file(dir, "no-model-source.conf",
		   "[Device]\nName=N\nAtr=3B05\nModel=M\n[Sources]\nAtr=t\nManufacturer=t\n", -1);

	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*empty-source.conf: [Sources] QualifiedCapacity: no source*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*no-atr-source.conf: [Sources] Atr: no source*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*no-date-source.conf: [Sources] QscdCertifiedUntil: no source*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*no-model-source.conf: [Sources] Model: no source*");
	/* strict: fails, names the files, and loads the others all the same */
	g_assert_false(tw_devices_load(devices, dirs, TRUE, &error));
	g_test_assert_expected_messages();
	g_assert_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
	g_assert_nonnull(strstr(error->message, "4 device entries skipped"));
	g_assert_nonnull(strstr(error->message, "no-atr-source.conf"));
	g_assert_nonnull(strstr(error->message, "no-model-source.conf"));
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 1);
	g_assert_nonnull(tw_devices_lookup(devices, "good"));
}

static void
test_devices_garbage(void)
{
	g_autofree gchar *dir = make_dir("a");
	g_autofree gchar *good = entry_atr("Good", "3B01");
	const gchar *dirs[] = {dir, NULL};
	g_autofree gchar *subdir = g_build_filename(dir, "dir.conf", NULL);
	const gchar binary[] = {'\x7f', 'E', 'L', 'F', '\0', '\x01', '\xff', '\n'};
	g_autoptr(TwDevices) devices = tw_devices_new();
	g_autoptr(GError) error = NULL;

	write_file(dir, "good.conf", good, -1);
	write_file(dir, "latin1.conf", "[Device]\nName=Spo\xf8itelna\nAtr=3B02\n", -1);
	write_file(dir, "binary.conf", binary, sizeof(binary));
	write_file(dir, "text.conf", "this is not a key file\n", -1);
	write_file(dir, "empty.conf", "", -1);
	write_file(dir, "other-group.conf", "[Card]\nName=X\n", -1);
	write_file(dir, "no-name.conf", "[Device]\nAtr=3B03\n[Sources]\nAtr=t\n", -1);
	write_file(dir, "escape.conf", "[Device]\nName=a\\qb\nAtr=3B04\n[Sources]\nAtr=t\n", -1);
	write_file(dir, "no-criteria.conf",
		   "[Device]\nName=Nothing to match\nQualifiedCapacity=2\n"
		   "[Sources]\nQualifiedCapacity=t\n",
		   -1);
	g_assert_cmpint(g_mkdir_with_parents(subdir, 0700), ==, 0);

	/* in the order of the file names */
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING, "*binary.conf: *skipped*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING, "*dir.conf*: *skipped*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*empty.conf: no [Device] group*skipped*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*escape.conf: [Device] Name: *cannot be interpreted*skipped*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING, "*latin1.conf: *UTF-8*skipped*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*no-criteria.conf: [Device] Atr: no Atr, Manufacturer or Model*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*no-name.conf: [Device] Name: missing or empty*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*other-group.conf: no [Device] group*");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING, "*text.conf: *skipped*");
	g_assert_false(tw_devices_load(devices, dirs, TRUE, &error));
	g_test_assert_expected_messages();
	g_assert_nonnull(strstr(error->message, "9 device entries skipped"));
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 1);
	g_assert_nonnull(tw_devices_lookup(devices, "good"));
}

static void
test_devices_unknown_keys(void)
{
	g_autofree gchar *dir = make_dir("a");
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = tw_devices_new();

	/* a newer file works with an older daemon, with a warning */
	write_file(dir, "new.conf",
		   "[Device]\nName=New\nAtr=3B01\nFutureFact=1\n"
		   "[Sources]\nAtr=t\nName=the box\n[Future]\nX=1\n",
		   -1);
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*new.conf: unknown key FutureFact in [Device] ignored");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*new.conf: unknown key Name in [Sources] ignored");
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING,
			      "*new.conf: unknown group [Future] ignored");
	g_assert_true(tw_devices_load(devices, dirs, TRUE, NULL));
	g_test_assert_expected_messages();
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 1);
}

static void
test_devices_preference(void)
{
	g_autofree gchar *dir = make_dir("a");
	g_autofree gchar *exact = entry_atr("Exact", ATR_PROID);
	g_autofree gchar *twin = entry_atr("Twin", ATR_PROID);
	const gchar *dirs[] = {dir, NULL};
	g_autoptr(TwDevices) devices = NULL;

	write_file(dir, "exact.conf", exact, -1);
	/* the same ATR under another id: the smaller id wins, whatever the order */
	write_file(dir, "zz-twin.conf", twin, -1);
	write_file(dir, "masked.conf",
		   "[Device]\nName=Family\nAtr=3B7E9400008025A000000028568010120001FF/"
		   "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00FFFF00\n[Sources]\nAtr=t\n",
		   -1);
	write_file(dir, "atr-model.conf",
		   "[Device]\nName=With model\nAtr=" ATR_PROID "\nModel=ProID+Q\n"
		   "[Sources]\nAtr=t\nModel=t\n",
		   -1);
	write_file(dir, "any-model.conf", "[Device]\nName=Any model\nModel=*\n[Sources]\nModel=t\n",
		   -1);
	write_file(dir, "proid-model.conf",
		   "[Device]\nName=ProID model\nModel=ProID*\n[Sources]\nModel=t\n", -1);
	write_file(dir, "maker-model.conf",
		   "[Device]\nName=Maker and model\nManufacturer=M*\nModel=*\n"
		   "[Sources]\nManufacturer=t\nModel=t\n",
		   -1);
	devices = load_ok(dirs);

	/* ATR and model beat ATR alone */
	g_assert_cmpstr(tw_devices_match(devices, ATR_PROID, "X", "ProID+Q")->id, ==, "atr-model");
	/* an exact ATR beats a masked one; equal ones go to the smaller id */
	g_assert_cmpstr(tw_devices_match(devices, ATR_PROID, NULL, NULL)->id, ==, "exact");
	g_assert_cmpstr(tw_devices_match(devices, ATR_PROID, "X", "Y")->id, ==, "exact");
	/* only the masked one matches */
	g_assert_cmpstr(tw_devices_match(devices, ATR_OTHER, NULL, NULL)->id, ==, "masked");
	/* two criteria beat one; longer literal text beats a bare '*' */
	g_assert_cmpstr(tw_devices_match(devices, "", "Maker", "Whatever")->id, ==, "maker-model");
	g_assert_cmpstr(tw_devices_match(devices, "", NULL, "ProID+Q")->id, ==, "proid-model");
	g_assert_cmpstr(tw_devices_match(devices, NULL, "X", "Whatever")->id, ==, "any-model");
	/* nothing given that an entry needs */
	g_assert_null(tw_devices_match(devices, "", NULL, NULL));
	g_assert_null(tw_devices_match(devices, NULL, NULL, NULL));
	/* an ATR that is not hex counts as unknown */
	g_assert_null(tw_devices_match(devices, "not an ATR", NULL, NULL));
	g_assert_cmpstr(tw_devices_match(devices, "xyz", NULL, "ProID+Q")->id, ==, "proid-model");
}

static void
test_devices_empty(void)
{
	g_autofree gchar *missing = g_build_filename(g_get_user_data_dir(), "missing", NULL);
	g_autofree gchar *file = g_build_filename(g_get_user_data_dir(), "file", NULL);
	const gchar *none[] = {NULL};
	const gchar *dirs[] = {missing, NULL};
	const gchar *not_dir[] = {file, NULL};
	g_autoptr(TwDevices) devices = tw_devices_new();
	g_autoptr(GError) error = NULL;

	g_assert_null(tw_devices_match(devices, ATR_PROID, "M", "M"));
	g_assert_true(tw_devices_load(devices, none, TRUE, NULL));
	g_assert_true(tw_devices_load(devices, dirs, TRUE, NULL));
	g_assert_cmpuint(tw_devices_get_count(devices), ==, 0);

	/* a directory that is there but cannot be read is worth a warning */
	g_assert_cmpint(g_mkdir_with_parents(g_get_user_data_dir(), 0700), ==, 0);
	write_file(g_get_user_data_dir(), "file", "", -1);
	g_test_expect_message("TwDevices", G_LOG_LEVEL_WARNING, "device directory *file: *");
	g_assert_false(tw_devices_load(devices, not_dir, TRUE, &error));
	g_test_assert_expected_messages();
	g_assert_nonnull(error);
}

static void
test_devices_default_dirs(void)
{
	g_autofree gchar *data = NULL;
	g_autofree gchar *local = NULL;

	g_unsetenv("TOKENWATCH_DEVICES_DATA_DIR");
	g_unsetenv("TOKENWATCH_DEVICES_LOCAL_DIR");
	g_unsetenv("CONFIGURATION_DIRECTORY");
	data = g_strdup(tw_devices_default_data_dir());
	local = g_strdup(tw_devices_default_local_dir());
	g_assert_true(g_path_is_absolute(data));
	g_assert_true(g_str_has_suffix(data, "/tokenwatch/devices"));
	g_assert_true(g_str_has_suffix(local, "/tokenwatch/devices.d"));

	g_setenv("TOKENWATCH_DEVICES_DATA_DIR", "/x/data", TRUE);
	g_setenv("TOKENWATCH_DEVICES_LOCAL_DIR", "/x/local", TRUE);
	g_assert_cmpstr(tw_devices_default_data_dir(), ==, "/x/data");
	g_assert_cmpstr(tw_devices_default_local_dir(), ==, "/x/local");
	g_unsetenv("TOKENWATCH_DEVICES_DATA_DIR");
	g_unsetenv("TOKENWATCH_DEVICES_LOCAL_DIR");
	g_assert_cmpstr(tw_devices_default_data_dir(), ==, data);
}

/* the data check */

static GPtrArray *check_warnings = NULL;

static gboolean
check_fatal_cb(const gchar *log_domain,
	       GLogLevelFlags log_level,
	       const gchar *message,
	       gpointer data)
{
	/* record instead of abort, so that every problem is listed */
	if ((log_level & G_LOG_LEVEL_WARNING) != 0) {
		g_ptr_array_add(check_warnings, g_strdup(message));
		return FALSE;
	}
	return TRUE;
}

static guint
check_count_files(const gchar *dir)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) gdir = g_dir_open(dir, 0, &error);
	const gchar *name;
	guint n = 0;

	g_assert_no_error(error);
	while ((name = g_dir_read_name(gdir)) != NULL) {
		if (name[0] != '.' && g_str_has_suffix(name, ".conf"))
			n++;
	}
	return n;
}

static gboolean
check_fact_given(const TwDevice *device, const gchar *key)
{
	if (g_str_equal(key, "Atr"))
		return device->atrs->len > 0;
	if (g_str_equal(key, "Manufacturer"))
		return device->manufacturer_patterns[0] != NULL;
	if (g_str_equal(key, "Model"))
		return device->model_patterns[0] != NULL;
	if (g_str_equal(key, "QscdCertifiedUntil"))
		return device->qscd_certified_until != 0;
	return device->qualified_capacity != 0;
}

/* where a source cites pcsc-tools' list, the list has that ATR under that
 * entry: catches a mistyped byte */
static void
check_atr_listed(const gchar *atr, const gchar *source)
{
	const gchar *list = "/usr/share/pcsc/smartcard_list.txt";
	g_autofree gchar *contents = NULL;
	g_autofree gchar *entry = NULL;
	g_autoptr(GString) spaced = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;
	const gchar *start;
	const gchar *end;
	gboolean found = FALSE;

	if (strstr(source, "smartcard_list.txt") == NULL)
		return;
	start = strstr(source, "entry \"");
	g_assert_nonnull(start);
	start += strlen("entry \"");
	end = strchr(start, '"');
	g_assert_nonnull(end);
	entry = g_strndup(start, (gsize)(end - start));
	if (!g_file_get_contents(list, &contents, NULL, NULL)) {
		g_test_message("%s not readable: ATR %s not compared with it", list, atr);
		return;
	}
	for (const gchar *p = atr; *p != '\0'; p++) {
		if (!g_ascii_isxdigit(*p))
			continue;
		if (spaced->len % 3 == 2)
			g_string_append_c(spaced, ' ');
		g_string_append_c(spaced, g_ascii_toupper(*p));
	}
	lines = g_strsplit(contents, "\n", -1);
	for (guint i = 0; lines[i] != NULL && !found; i++) {
		if (!g_str_equal(g_strchomp(lines[i]), spaced->str))
			continue;
		for (guint j = i + 1; lines[j] != NULL && lines[j][0] == '\t' && !found; j++)
			found = strstr(lines[j], entry) != NULL;
	}
	if (!found)
		g_test_message("%s has no ATR %s with the entry \"%s\"", list, spaced->str, entry);
	g_assert_true(found);
}

/* each ATR of an ATR-only entry finds that entry, not another; and is the
 * one its source names */
static void
check_atrs(TwDevices *devices, const TwDevice *device)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) atrs = NULL;
	const gchar *source = g_hash_table_lookup(device->sources, "Atr");

	g_assert_true(g_key_file_load_from_file(kf, device->origin, G_KEY_FILE_NONE, NULL));
	atrs = g_key_file_get_string_list(kf, "Device", "Atr", NULL, NULL);
	for (guint i = 0; atrs != NULL && atrs[i] != NULL; i++) {
		g_auto(GStrv) parts = g_strsplit(g_strstrip(atrs[i]), "/", 2);
		const TwDevice *found;

		if (*parts[0] == '\0')
			continue;
		if (parts[1] == NULL)
			check_atr_listed(parts[0], source);
		if (device->manufacturer_patterns[0] != NULL || device->model_patterns[0] != NULL)
			continue;
		found = tw_devices_match(devices, parts[0], NULL, NULL);
		g_assert_nonnull(found);
		if (!g_str_equal(found->id, device->id))
			g_test_message("%s: ATR %s finds %s", device->origin, parts[0], found->id);
		g_assert_cmpstr(found->id, ==, device->id);
	}
}

static void
test_devices_data_check(gconstpointer data)
{
	const gchar *const *dirs = data;
	const gchar *facts[] = {"Atr", "Manufacturer", "Model", "QscdCertifiedUntil",
				"QualifiedCapacity"};
	g_autoptr(TwDevices) devices = tw_devices_new();
	g_autoptr(GError) error = NULL;
	guint n_files = 0;
	gboolean ok;

	for (guint i = 0; dirs[i] != NULL; i++) {
		g_test_message("checking %s", dirs[i]);
		g_assert_true(g_file_test(dirs[i], G_FILE_TEST_IS_DIR));
		n_files += check_count_files(dirs[i]);
	}
	g_assert_cmpuint(n_files, >, 0);

	check_warnings = g_ptr_array_new_with_free_func(g_free);
	g_test_log_set_fatal_handler(check_fatal_cb, NULL);
	ok = tw_devices_load(devices, dirs, TRUE, &error);
	g_test_log_set_fatal_handler(NULL, NULL);
	for (guint i = 0; i < check_warnings->len; i++)
		g_test_message("warning: %s", (const gchar *)g_ptr_array_index(check_warnings, i));
	g_assert_cmpuint(check_warnings->len, ==, 0);
	g_clear_pointer(&check_warnings, g_ptr_array_unref);
	g_assert_no_error(error);
	g_assert_true(ok);

	/* every file is an entry (none of the shipped ones says Enabled=false,
	 * and ids are unique unless several directories are given) */
	if (dirs[0] != NULL && dirs[1] == NULL)
		g_assert_cmpuint(tw_devices_get_count(devices), ==, n_files);
	for (guint i = 0; dirs[i] != NULL; i++) {
		g_autoptr(GDir) gdir = g_dir_open(dirs[i], 0, NULL);
		const gchar *name;

		while ((name = g_dir_read_name(gdir)) != NULL) {
			g_autofree gchar *id = NULL;
			const TwDevice *device;

			if (name[0] == '.' || !g_str_has_suffix(name, ".conf"))
				continue;
			id = g_strndup(name, strlen(name) - strlen(".conf"));
			device = tw_devices_lookup(devices, id);
			g_assert_nonnull(device);
			for (guint j = 0; j < G_N_ELEMENTS(facts); j++) {
				const gchar *source;

				if (!check_fact_given(device, facts[j]))
					continue;
				source = g_hash_table_lookup(device->sources, facts[j]);
				g_test_message("%s %s: %s", id, facts[j], source);
				g_assert_nonnull(source);
				g_assert_cmpstr(source, !=, "");
			}
			check_atrs(devices, device);
		}
	}
}

int
main(int argc, char **argv)
{
	g_auto(GStrv) check_dirs = NULL;
	const gchar *env;

	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

	/* the data check: directories as arguments, or in the environment */
	env = g_getenv("TW_DEVICES_CHECK_DIRS");
	if (argc > 1) {
		check_dirs = g_new0(gchar *, argc);
		for (gint i = 1; i < argc; i++)
			check_dirs[i - 1] = g_strdup(argv[i]);
	} else if (env != NULL && *env != '\0')
		check_dirs = g_strsplit(env, ":", -1);
	if (check_dirs != NULL) {
		g_test_add_data_func("/devices/data-check", check_dirs, test_devices_data_check);
		return g_test_run();
	}

	g_test_add_func("/devices/keys", test_devices_keys);
	g_test_add_func("/devices/minimal", test_devices_minimal);
	g_test_add_func("/devices/atr-mask", test_devices_atr_mask);
	g_test_add_func("/devices/atr-invalid", test_devices_atr_invalid);
	g_test_add_func("/devices/date", test_devices_date);
	g_test_add_func("/devices/date-invalid", test_devices_date_invalid);
	g_test_add_func("/devices/capacity-invalid", test_devices_capacity_invalid);
	g_test_add_func("/devices/globs", test_devices_globs);
	g_test_add_func("/devices/atr-and-model", test_devices_atr_and_model);
	g_test_add_func("/devices/override", test_devices_override);
	g_test_add_func("/devices/disabled", test_devices_disabled);
	g_test_add_func("/devices/sources", test_devices_sources);
	g_test_add_func("/devices/garbage", test_devices_garbage);
	g_test_add_func("/devices/unknown-keys", test_devices_unknown_keys);
	g_test_add_func("/devices/preference", test_devices_preference);
	g_test_add_func("/devices/empty", test_devices_empty);
	g_test_add_func("/devices/default-dirs", test_devices_default_dirs);
	return g_test_run();
}
