/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tw-config.h"
#include "tw-pcsc-monitor.h"
#include "tw-reader.h"
#include "tw-token-set.h"
#include "tw-tracker.h"

G_BEGIN_DECLS

#define TW_TYPE_ENGINE (tw_engine_get_type())
G_DECLARE_FINAL_TYPE(TwEngine, tw_engine, TW, ENGINE, GObject)

TwEngine *tw_engine_new(TwConfig *config) G_GNUC_WARN_UNUSED_RESULT;
gboolean tw_engine_prepare(TwEngine *self, GError **error);
gboolean tw_engine_start(TwEngine *self, GError **error);
void tw_engine_stop(TwEngine *self);
void tw_engine_refresh(TwEngine *self);

gboolean tw_engine_get_pcsc_available(TwEngine *self);
GPtrArray *tw_engine_get_readers(TwEngine *self);
guint tw_engine_count_cards(TwEngine *self);
gchar *tw_engine_describe(TwEngine *self);
gint64 tw_engine_get_worker_busy_usec(TwEngine *self);
TwTokenSet *tw_engine_get_token_set(TwEngine *self);
TwTracker *tw_engine_get_tracker(TwEngine *self);
TwConfig *tw_engine_get_config(TwEngine *self);
gint64 tw_engine_now(TwEngine *self);
gboolean tw_engine_reload(TwEngine *self, GError **error);
gboolean tw_engine_forget(TwEngine *self, const gchar *token_id);
TwReader *tw_engine_get_token_reader(TwEngine *self, TwToken *token);

/* for tests: feed what the PC/SC worker would deliver */
void tw_engine_process_snapshot(TwEngine *self, gboolean available, GPtrArray *states);

G_END_DECLS
