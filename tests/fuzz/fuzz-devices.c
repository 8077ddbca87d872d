/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the device data loader and matcher (daemon/tw-devices.c).
 * The input is one device file; it is loaded through tw_devices_load(), as
 * the daemon loads it, from a private temporary directory: once as shipped
 * data and once more as the administrator's override of the same id, so
 * that overriding and Enabled=false are reached too. What loads is then
 * matched against ATRs and token strings, its own patterns among them.
 */
#include "config.h"

#include "tw-devices.h"
#include "tw-fuzz.h"

#define TW_FUZZ_DEVICE_ID "fuzz"

static void
tw_fuzz_check_device(const TwDevice *device)
{
	tw_fuzz_check(g_strcmp0(device->id, TW_FUZZ_DEVICE_ID) == 0);
	tw_fuzz_check(device->name != NULL && *device->name != '\0');
	tw_fuzz_check(tw_fuzz_str_ok(device->name));
	tw_fuzz_check(tw_fuzz_strv_ok((const gchar *const *)device->manufacturer_patterns));
	tw_fuzz_check(tw_fuzz_strv_ok((const gchar *const *)device->model_patterns));
	/* an entry that could never match is not loaded */
	tw_fuzz_check(device->atrs->len > 0 || device->manufacturer_patterns[0] != NULL ||
		      device->model_patterns[0] != NULL);
	tw_fuzz_check(device->qualified_capacity <= 255);
	tw_fuzz_check(device->qscd_certified_until >= 0);
}

static void
tw_fuzz_match(TwDevices *devices, const TwDevice *device)
{
	const gchar *atrs[] = {NULL,
			       "",
			       "3B",
			       "3B:7E:94:00",
			       "3b 7e 94 00 00 80 25 a0 00 00",
			       "3BFF9600008131FE4380318065B0846566FB12017882900085",
			       "zz"};
	const gchar *strings[] = {NULL, "", "ACME", "ProID+Q            ", "*"};
	const gchar *manufacturer = NULL;
	const gchar *model = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(atrs); i++) {
		for (guint j = 0; j < G_N_ELEMENTS(strings); j++) {
			const TwDevice *found =
				tw_devices_match(devices, atrs[i], strings[j], strings[j]);

			tw_fuzz_check(found == NULL || found == device);
		}
	}
	if (device == NULL)
		return;
	/* a glob taken as text matches itself: an entry without ATRs is found
	 * by its own first patterns */
	manufacturer = device->manufacturer_patterns[0];
	model = device->model_patterns[0];
	if (device->atrs->len == 0)
		tw_fuzz_check(tw_devices_match(devices, NULL, manufacturer, model) == device);
	(void)tw_devices_match(devices, "3B 00", manufacturer, model);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree gchar *dir = tw_fuzz_dir_new();
	g_autofree gchar *shipped = g_build_filename(dir, "shipped", NULL);
	g_autofree gchar *local = g_build_filename(dir, "local", NULL);
	g_autoptr(TwDevices) devices = tw_devices_new();
	g_autoptr(GError) error = NULL;
	const TwDevice *device;

	tw_fuzz_mkdir(dir, "shipped");
	tw_fuzz_mkdir(dir, "local");
	tw_fuzz_write(shipped, TW_FUZZ_DEVICE_ID ".conf", data, size);

	/* not strict: a bad file is skipped and the load succeeds */
	{
		const gchar *dirs[] = {shipped, NULL};

		tw_fuzz_check(tw_devices_load(devices, dirs, FALSE, &error));
		tw_fuzz_check(tw_devices_get_count(devices) <= 1);
		device = tw_devices_lookup(devices, TW_FUZZ_DEVICE_ID);
		tw_fuzz_check((device != NULL) == (tw_devices_get_count(devices) == 1));
		if (device != NULL)
			tw_fuzz_check_device(device);
		tw_fuzz_match(devices, device);
	}

	/* the same file again as the local override: it replaces the entry,
	 * removes it (Enabled=false) or is skipped and leaves it */
	tw_fuzz_write(local, TW_FUZZ_DEVICE_ID ".conf", data, size);
	{
		const gchar *dirs[] = {shipped, local, NULL};
		gboolean strict_ok = tw_devices_load(devices, dirs, TRUE, &error);

		tw_fuzz_check(strict_ok == (error == NULL));
		tw_fuzz_check(tw_devices_get_count(devices) <= 1);
		device = tw_devices_lookup(devices, TW_FUZZ_DEVICE_ID);
		if (device != NULL)
			tw_fuzz_check_device(device);
		tw_fuzz_match(devices, device);
	}

	tw_fuzz_dir_remove(dir);
	return 0;
}
