/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * systemd integration through libsystemd: readiness, status, watchdog. Each
 * call is a no-op when not run by systemd (no NOTIFY_SOCKET).
 */
#define G_LOG_DOMAIN "TwSd"

#include "config.h"

#include <systemd/sd-daemon.h>

#include "tw-sd.h"

static void
tw_sd_notify(const gchar *what)
{
	int r = sd_notify(0, what);

	if (r < 0)
		g_debug("sd_notify(%s): %s", what, g_strerror(-r));
}

void
tw_sd_notify_ready(const gchar *status)
{
	g_autofree gchar *msg = g_strdup_printf("READY=1\nSTATUS=%s", status);

	tw_sd_notify(msg);
}

void
tw_sd_notify_status(const gchar *status)
{
	g_autofree gchar *msg = g_strdup_printf("STATUS=%s", status);

	tw_sd_notify(msg);
}

void
tw_sd_notify_stopping(void)
{
	tw_sd_notify("STOPPING=1\nSTATUS=Stopping");
}

typedef struct {
	TwSdHealthFunc healthy;
	gpointer user_data;
} TwSdWatchdog;

static gboolean
tw_sd_watchdog_pulse_cb(gpointer user_data)
{
	TwSdWatchdog *wd = user_data;

	/* the main loop runs, or we would not be here; ask about the rest */
	if (wd->healthy != NULL && !wd->healthy(wd->user_data)) {
		g_warning("not petting the watchdog: the PC/SC worker looks stuck");
		return G_SOURCE_CONTINUE;
	}
	tw_sd_notify("WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

/**
 * tw_sd_watchdog_start:
 * @healthy: (nullable): asked before each pet
 *
 * Pets systemd's watchdog at half its interval from the main loop, so a
 * blocked loop trips it, and only while @healthy says so.
 *
 * Returns: the source id, 0 when no watchdog is wanted
 */
guint
tw_sd_watchdog_start(TwSdHealthFunc healthy, gpointer user_data)
{
	TwSdWatchdog *wd;
	uint64_t usec = 0;
	int r = sd_watchdog_enabled(0, &usec);

	if (r < 0)
		g_warning("reading the watchdog settings: %s", g_strerror(-r));
	if (r <= 0 || usec == 0)
		return 0;
	wd = g_new0(TwSdWatchdog, 1);
	wd->healthy = healthy;
	wd->user_data = user_data;
	g_info("watchdog: %" G_GUINT64_FORMAT " ms, petting every %" G_GUINT64_FORMAT " ms",
	       (guint64)usec / 1000, (guint64)usec / 2000);
	return g_timeout_add_full(G_PRIORITY_DEFAULT, (guint)MAX(usec / 2000, 1),
				  tw_sd_watchdog_pulse_cb, wd, g_free);
}
