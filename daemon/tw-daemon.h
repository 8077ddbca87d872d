/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "tw-engine.h"

G_BEGIN_DECLS

#define TW_TYPE_DAEMON (tw_daemon_get_type())
G_DECLARE_FINAL_TYPE(TwDaemon, tw_daemon, TW, DAEMON, GObject)

TwDaemon *
tw_daemon_new(TwEngine *engine, GBusType bus_type, gboolean replace) G_GNUC_WARN_UNUSED_RESULT;
gboolean tw_daemon_start(TwDaemon *self, GError **error);
void tw_daemon_stop(TwDaemon *self);

G_END_DECLS
