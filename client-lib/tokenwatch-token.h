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

#include "tokenwatch-advice.h"
#include "tokenwatch-enums.h"

G_BEGIN_DECLS

/**
 * TOKENWATCH_TYPE_TOKEN:
 *
 * The [alias@GObject.Type] of [class@Tokenwatch.Token].
 *
 * Since: 0.1
 */
#define TOKENWATCH_TYPE_TOKEN (tokenwatch_token_get_type())
G_DECLARE_FINAL_TYPE(TokenwatchToken, tokenwatch_token, TOKENWATCH, TOKEN, GObject)

const gchar *tokenwatch_token_get_object_path(TokenwatchToken *self);
const gchar *tokenwatch_token_get_label(TokenwatchToken *self);
const gchar *tokenwatch_token_get_manufacturer(TokenwatchToken *self);
const gchar *tokenwatch_token_get_model(TokenwatchToken *self);
const gchar *tokenwatch_token_get_serial_number(TokenwatchToken *self);
gboolean tokenwatch_token_get_present(TokenwatchToken *self);
const gchar *tokenwatch_token_get_reader_path(TokenwatchToken *self);
guint64 tokenwatch_token_get_first_seen(TokenwatchToken *self);
guint64 tokenwatch_token_get_last_seen(TokenwatchToken *self);
const gchar *const *tokenwatch_token_get_certificate_paths(TokenwatchToken *self);
TokenwatchPinState tokenwatch_token_get_user_pin_state(TokenwatchToken *self);
TokenwatchPinState tokenwatch_token_get_so_pin_state(TokenwatchToken *self);
guint64 tokenwatch_token_get_total_memory(TokenwatchToken *self);
guint64 tokenwatch_token_get_free_memory(TokenwatchToken *self);
const gchar *tokenwatch_token_get_device_name(TokenwatchToken *self);
guint64 tokenwatch_token_get_qscd_certified_until(TokenwatchToken *self);
gboolean tokenwatch_token_get_qualified(TokenwatchToken *self);
const guint32 *tokenwatch_token_get_owners(TokenwatchToken *self, gsize *n_owners);
guint tokenwatch_token_get_unpaired_keys(TokenwatchToken *self);
GPtrArray *tokenwatch_token_get_advice(TokenwatchToken *self) G_GNUC_WARN_UNUSED_RESULT;
const gchar *tokenwatch_token_get_module(TokenwatchToken *self);
const gchar *tokenwatch_token_get_module_path(TokenwatchToken *self);
const gchar *tokenwatch_token_get_error(TokenwatchToken *self);

G_END_DECLS
