/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "tw-engine.h"

G_BEGIN_DECLS

#define TW_METRICS_FILE_NAME "tokenwatch.prom"

#define TW_TYPE_METRICS (tw_metrics_get_type())
G_DECLARE_FINAL_TYPE(TwMetrics, tw_metrics, TW, METRICS, GObject)

TwMetrics *tw_metrics_new(TwEngine *engine) G_GNUC_WARN_UNUSED_RESULT;
gchar *tw_metrics_render(TwEngine *engine, gboolean names) G_GNUC_WARN_UNUSED_RESULT;
void tw_metrics_stop(TwMetrics *self);

G_END_DECLS
