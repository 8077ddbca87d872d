/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TW_TYPE_CLOCK (tw_clock_get_type())
G_DECLARE_FINAL_TYPE(TwClock, tw_clock, TW, CLOCK, GObject)

TwClock *tw_clock_new(GError **error) G_GNUC_WARN_UNUSED_RESULT;
gint64 tw_clock_now(TwClock *self);
void tw_clock_set_alarm(TwClock *self, gint64 when);
gint64 tw_clock_get_alarm(TwClock *self);
void tw_clock_watch_sleep(TwClock *self);

G_END_DECLS
