/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "tw-clock.h"
#include "tw-config.h"
#include "tw-devices.h"
#include "tw-token-set.h"

G_BEGIN_DECLS

#define TW_TYPE_TRACKER (tw_tracker_get_type())
G_DECLARE_FINAL_TYPE(TwTracker, tw_tracker, TW, TRACKER, GObject)

TwTracker *tw_tracker_new(TwTokenSet *set, TwClock *clock) G_GNUC_WARN_UNUSED_RESULT;
void tw_tracker_set_config(TwTracker *self, TwConfig *config, TwDevices *devices);
void tw_tracker_watch_renewals(TwTracker *self);
void tw_tracker_evaluate(TwTracker *self);

const gchar *tw_tracker_level_for(gint threshold_days);

G_END_DECLS
