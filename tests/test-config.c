/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "tw-config.h"

static gchar *
write_conf(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	gchar *path = g_build_filename(g_get_tmp_dir(), "tokenwatch.conf", NULL);

	g_assert_true(g_file_set_contents(path, text, -1, &error));
	g_assert_no_error(error);
	return path;
}

static void
test_config_defaults(void)
{
	g_autoptr(TwConfig) config = tw_config_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *missing = g_build_filename(g_get_tmp_dir(), "nothing.conf", NULL);

	/* a missing file is no error */
	g_assert_true(tw_config_load(config, missing, &error));
	g_assert_no_error(error);
	g_assert_null(tw_config_get_path(config));
	g_assert_true(tw_config_get_use_p11_kit(config));
	g_assert_cmpuint(g_strv_length((gchar **)tw_config_get_modules(config)), ==, 0);
	g_assert_cmpuint(tw_config_get_token_timeout_ms(config), ==, 10000);
	g_assert_null(tw_config_get_metrics_dir(config));
	g_assert_true(tw_config_get_metrics_names(config));
}

static void
test_config_metrics(void)
{
	g_autoptr(TwConfig) config = tw_config_new();
	g_autoptr(TwConfig) off = tw_config_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = write_conf("[Metrics]\nTextfileDirectory= /var/lib/x \n"
					    "IncludeNames=false\n");
	g_autofree gchar *empty = NULL;

	g_assert_true(tw_config_load(config, path, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(tw_config_get_metrics_dir(config), ==, "/var/lib/x");
	g_assert_false(tw_config_get_metrics_names(config));
	/* empty: off (write_conf() writes one file) */
	empty = write_conf("[Metrics]\nTextfileDirectory=\n");
	g_assert_true(tw_config_load(off, empty, &error));
	g_assert_no_error(error);
	g_assert_null(tw_config_get_metrics_dir(off));
}

static void
test_config_shipped(void)
{
	g_autoptr(TwConfig) config = tw_config_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path =
		g_test_build_filename(G_TEST_DIST, "..", "data", "tokenwatch.conf", NULL);

	/* the installed file, all commented out, gives the defaults */
	g_assert_true(tw_config_load(config, path, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(tw_config_get_path(config), ==, path);
	g_assert_true(tw_config_get_use_p11_kit(config));
	g_assert_cmpuint(tw_config_get_token_timeout_ms(config), ==, 10000);
}

static void
test_config_values(void)
{
	g_autoptr(TwConfig) config = tw_config_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = write_conf("[PKCS11]\nUseP11KitModules=false\n"
					    "Modules=/a/one.so; /b/two.so;;/a/one.so\n"
					    "TokenTimeout=3\n");
	const gchar *const *modules;

	g_assert_true(tw_config_load(config, path, &error));
	g_assert_no_error(error);
	g_assert_false(tw_config_get_use_p11_kit(config));
	modules = tw_config_get_modules(config);
	g_assert_cmpstr(modules[0], ==, "/a/one.so");
	g_assert_cmpstr(modules[1], ==, "/b/two.so");
	g_assert_null(modules[2]);
	g_assert_cmpuint(tw_config_get_token_timeout_ms(config), ==, 3000);
	/* the command line adds */
	tw_config_add_module(config, "/c/three.so");
	tw_config_add_module(config, "/b/two.so");
	g_assert_cmpuint(g_strv_length((gchar **)tw_config_get_modules(config)), ==, 3);
}

static void
test_config_invalid(void)
{
	const struct {
		const gchar *text;
		const gchar *message;
	} cases[] = {
		{"[PKCS11]\nUseP11KitModules=perhaps\n", "[PKCS11] UseP11KitModules"},
		{"[PKCS11]\nTokenTimeout=ten\n", "[PKCS11] TokenTimeout"},
		{"[PKCS11]\nTokenTimeout=0\n", "TokenTimeout: 0 is not between 1 and 600"},
		{"[PKCS11]\nTokenTimeout=100000\n", "not between 1 and 600"},
		{"[PKCS11]\nModules=relative.so\n", "is not an absolute path"},
		{"[Metrics]\nTextfileDirectory=var/lib\n",
		 "[Metrics] TextfileDirectory: \"var/lib\" is not an absolute path"},
		{"[Metrics]\nIncludeNames=maybe\n", "[Metrics] IncludeNames"},
		{"this is not a key file\n", "tokenwatch.conf"},
		{"[PKCS11\nTokenTimeout=1\n", "tokenwatch.conf"},
		{"\xff\xfe[PKCS11]\n", "tokenwatch.conf"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(TwConfig) config = tw_config_new();
		g_autoptr(GError) error = NULL;
		g_autofree gchar *path = write_conf(cases[i].text);

		g_assert_false(tw_config_load(config, path, &error));
		g_assert_nonnull(error);
		/* the message names the file, and the group and key where there is one */
		g_assert_nonnull(strstr(error->message, path));
		g_assert_nonnull(strstr(error->message, cases[i].message));
	}
}

static void
test_config_unknown(void)
{
	g_autoptr(TwConfig) config = tw_config_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = write_conf("[PKCS11]\nTokenTimeout=5\nFutureKey=1\n"
					    "[Future]\nSomething=else\n");

	/* a newer file works with an older daemon, with a warning */
	g_test_expect_message("TwConfig", G_LOG_LEVEL_WARNING, "*unknown key FutureKey*");
	g_test_expect_message("TwConfig", G_LOG_LEVEL_WARNING, "*unknown group [Future]*");
	g_assert_true(tw_config_load(config, path, &error));
	g_test_assert_expected_messages();
	g_assert_no_error(error);
	g_assert_cmpuint(tw_config_get_token_timeout_ms(config), ==, 5000);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
	g_test_add_func("/config/defaults", test_config_defaults);
	g_test_add_func("/config/shipped", test_config_shipped);
	g_test_add_func("/config/values", test_config_values);
	g_test_add_func("/config/metrics", test_config_metrics);
	g_test_add_func("/config/invalid", test_config_invalid);
	g_test_add_func("/config/unknown", test_config_unknown);
	return g_test_run();
}
