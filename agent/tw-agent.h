/*
 * Copyright 2026 The tokenwatch authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TW_TYPE_AGENT (tw_agent_get_type())
G_DECLARE_FINAL_TYPE(TwAgent, tw_agent, TW, AGENT, GObject)

TwAgent *tw_agent_new(GBusType daemon_bus_type) G_GNUC_WARN_UNUSED_RESULT;
void tw_agent_start(TwAgent *self);

G_END_DECLS
