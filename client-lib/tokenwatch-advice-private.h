/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "tokenwatch-advice.h"

G_BEGIN_DECLS

G_GNUC_INTERNAL
TokenwatchAdvice *
tokenwatch_advice_new(const gchar *code, TokenwatchAdviceSeverity severity, const gchar *text);
G_GNUC_INTERNAL
GPtrArray *tokenwatch_advice_array_from_variant(GVariant *variant);
G_GNUC_INTERNAL
gboolean tokenwatch_advice_array_equal(GPtrArray *a, GPtrArray *b);

G_END_DECLS
