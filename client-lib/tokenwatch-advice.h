/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(TOKENWATCH_INSIDE) && !defined(TOKENWATCH_COMPILATION)
#error "Only <tokenwatch.h> can be included directly."
#endif

#include <glib-object.h>

#include "tokenwatch-enums.h"

G_BEGIN_DECLS

/**
 * TOKENWATCH_TYPE_ADVICE:
 *
 * The [alias@GObject.Type] of [struct@Tokenwatch.Advice].
 *
 * Since: 0.1
 */
#define TOKENWATCH_TYPE_ADVICE (tokenwatch_advice_get_type())

typedef struct _TokenwatchAdvice TokenwatchAdvice;

GType tokenwatch_advice_get_type(void) G_GNUC_CONST;
TokenwatchAdvice *tokenwatch_advice_ref(TokenwatchAdvice *self);
void tokenwatch_advice_unref(TokenwatchAdvice *self);
const gchar *tokenwatch_advice_get_code(TokenwatchAdvice *self);
TokenwatchAdviceSeverity tokenwatch_advice_get_severity(TokenwatchAdvice *self);
const gchar *tokenwatch_advice_get_text(TokenwatchAdvice *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TokenwatchAdvice, tokenwatch_advice_unref)

G_END_DECLS
