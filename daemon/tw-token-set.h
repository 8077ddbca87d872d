/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "tw-cert.h"
#include "tw-certificate.h"
#include "tw-p11.h"
#include "tw-token.h"

G_BEGIN_DECLS

/* What one read found: the tokens, and each token's certificates parsed. */
typedef struct {
	GPtrArray *tokens; /* TwP11Token */
	GPtrArray *certs;  /* per token: GPtrArray of TwCertInfo, one per certificate object */
} TwTokenRead;

TwTokenRead *tw_token_read_new(GPtrArray *tokens);
void tw_token_read_free(TwTokenRead *read);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwTokenRead, tw_token_read_free)
GHashTable *tw_token_read_split(TwTokenRead *read);

#define TW_TYPE_TOKEN_SET (tw_token_set_get_type())
G_DECLARE_FINAL_TYPE(TwTokenSet, tw_token_set, TW, TOKEN_SET, GObject)

TwTokenSet *tw_token_set_new(void) G_GNUC_WARN_UNUSED_RESULT;
void tw_token_set_reconcile(TwTokenSet *self, const gchar *scope, TwTokenRead *read, gint64 now);
void tw_token_set_drop_scope(TwTokenSet *self, const gchar *scope);
gboolean tw_token_set_forget(TwTokenSet *self, const gchar *id);
void tw_token_set_mark_error(TwTokenSet *self, const gchar *scope, const gchar *error);
void tw_token_set_update_time(TwTokenSet *self, gint64 now);

TwToken *tw_token_set_get_token(TwTokenSet *self, const gchar *id);
TwCertificate *tw_token_set_get_certificate(TwTokenSet *self, const gchar *id);
GPtrArray *tw_token_set_get_tokens(TwTokenSet *self);
GPtrArray *tw_token_set_get_tokens_in(TwTokenSet *self, const gchar *scope);
guint tw_token_set_count_certificates(TwTokenSet *self);
GPtrArray *tw_token_set_get_certificates(TwTokenSet *self);
void tw_token_set_set_restoring(TwTokenSet *self, gboolean restoring);
gboolean tw_token_set_get_restoring(TwTokenSet *self);
void
tw_token_set_restore(TwTokenSet *self, TwToken *token, const gchar *scope, GPtrArray *certificates);
const gchar *tw_token_set_get_scope(TwTokenSet *self, TwToken *token);

G_END_DECLS
