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
 * TOKENWATCH_TYPE_READER:
 *
 * The [alias@GObject.Type] of [class@Tokenwatch.Reader].
 *
 * Since: 0.1
 */
#define TOKENWATCH_TYPE_READER (tokenwatch_reader_get_type())
G_DECLARE_FINAL_TYPE(TokenwatchReader, tokenwatch_reader, TOKENWATCH, READER, GObject)

const gchar *tokenwatch_reader_get_object_path(TokenwatchReader *self);
const gchar *tokenwatch_reader_get_name(TokenwatchReader *self);
gboolean tokenwatch_reader_get_card_present(TokenwatchReader *self);
const gchar *tokenwatch_reader_get_atr(TokenwatchReader *self);
TokenwatchCardState tokenwatch_reader_get_card_state(TokenwatchReader *self);
guint tokenwatch_reader_get_event_count(TokenwatchReader *self);
const gchar *const *tokenwatch_reader_get_tokens(TokenwatchReader *self);

G_END_DECLS
