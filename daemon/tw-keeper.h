/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "tw-store.h"
#include "tw-token-set.h"

G_BEGIN_DECLS

#define TW_TYPE_KEEPER (tw_keeper_get_type())
G_DECLARE_FINAL_TYPE(TwKeeper, tw_keeper, TW, KEEPER, GObject)

TwKeeper *tw_keeper_new(TwTokenSet *set, TwStore *store) G_GNUC_WARN_UNUSED_RESULT;
guint tw_keeper_restore(TwKeeper *self);
void tw_keeper_flush(TwKeeper *self, guint timeout_ms);

G_END_DECLS
