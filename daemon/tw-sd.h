/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef gboolean (*TwSdHealthFunc)(gpointer user_data);

void tw_sd_notify_ready(const gchar *status);
void tw_sd_notify_status(const gchar *status);
void tw_sd_notify_stopping(void);
guint tw_sd_watchdog_start(TwSdHealthFunc healthy, gpointer user_data);

G_END_DECLS
