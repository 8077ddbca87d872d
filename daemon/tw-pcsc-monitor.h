/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What pcscd said of one reader at one look (MAX_ATR_SIZE is 33). */
typedef struct {
	gchar *name;   /* as pcscd gave it */
	guint32 state; /* dwEventState: SCARD_STATE_* bits, event counter in bits 16-31 */
	guint8 atr[36];
	gsize atr_len;
} TwPcscReaderState;

#define TW_TYPE_PCSC_MONITOR (tw_pcsc_monitor_get_type())
G_DECLARE_FINAL_TYPE(TwPcscMonitor, tw_pcsc_monitor, TW, PCSC_MONITOR, GObject)

TwPcscMonitor *tw_pcsc_monitor_new(void) G_GNUC_WARN_UNUSED_RESULT;
gboolean tw_pcsc_monitor_start(TwPcscMonitor *self, GError **error);
void tw_pcsc_monitor_stop(TwPcscMonitor *self);
void tw_pcsc_monitor_resync(TwPcscMonitor *self);
gint64 tw_pcsc_monitor_get_busy_usec(TwPcscMonitor *self);

G_END_DECLS
