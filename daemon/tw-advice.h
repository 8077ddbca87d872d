/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "tw-certificate.h"
#include "tw-token.h"

G_BEGIN_DECLS

GPtrArray *tw_advice_for_token(TwToken *token,
			       GPtrArray *certificates,
			       gint64 now,
			       guint free_memory_percent,
			       guint device_warn_days);

G_END_DECLS
