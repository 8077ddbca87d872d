/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the configuration loader (daemon/tw-config.c). The input is
 * a tokenwatch.conf, written to a private temporary directory and read by
 * tw_config_load() as the daemon reads it. A file that loads must give
 * values in the ranges tokenwatch.conf(5) documents; one that does not
 * must say why.
 */
#include "config.h"

#include "tw-config.h"
#include "tw-fuzz.h"

static void
tw_fuzz_check_days(GArray *days)
{
	tw_fuzz_check(days != NULL);
	for (guint i = 0; i < days->len; i++) {
		gint d = g_array_index(days, gint, i);

		tw_fuzz_check(d >= 1 && d <= 3650);
		/* descending, no duplicates */
		tw_fuzz_check(i == 0 || g_array_index(days, gint, i - 1) > d);
	}
}

static void
tw_fuzz_check_config(TwConfig *config, const gchar *path)
{
	const gchar *const *modules = tw_config_get_modules(config);
	const gchar *data_dir = tw_config_get_devices_data_dir(config);
	const gchar *local_dir = tw_config_get_devices_local_dir(config);
	guint timeout_ms = tw_config_get_token_timeout_ms(config);

	tw_fuzz_check(g_strcmp0(tw_config_get_path(config), path) == 0);
	tw_fuzz_check(modules != NULL);
	for (guint i = 0; modules[i] != NULL; i++) {
		tw_fuzz_check(g_path_is_absolute(modules[i]));
		for (guint j = 0; j < i; j++)
			tw_fuzz_check(g_strcmp0(modules[i], modules[j]) != 0);
	}
	tw_fuzz_check(timeout_ms >= 1000 && timeout_ms <= 600 * 1000);
	tw_fuzz_check_days(tw_config_get_expiry_days(config));
	tw_fuzz_check_days(tw_config_get_device_days(config));
	tw_fuzz_check(tw_config_get_free_memory_percent(config) <= 100);
	tw_fuzz_check(data_dir == NULL || g_path_is_absolute(data_dir));
	tw_fuzz_check(local_dir == NULL || g_path_is_absolute(local_dir));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree gchar *dir = tw_fuzz_dir_new();
	g_autofree gchar *path = g_build_filename(dir, "tokenwatch.conf", NULL);
	g_autoptr(TwConfig) config = tw_config_new();
	g_autoptr(GError) error = NULL;

	tw_fuzz_write(dir, "tokenwatch.conf", data, size);
	if (tw_config_load(config, path, &error)) {
		tw_fuzz_check(error == NULL);
		tw_fuzz_check_config(config, path);
	} else {
		tw_fuzz_check(error != NULL && error->message != NULL);
		tw_fuzz_check(g_str_has_prefix(error->message, path));
	}
	tw_fuzz_dir_remove(dir);
	return 0;
}
