/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "tw-p11.h"

G_BEGIN_DECLS

/* One piece of advice for the owner of a token: Token.Advice on D-Bus. */
typedef struct {
	gchar *code;
	const gchar *severity; /* interned: "info", "warning", "critical" */
	gchar *text;
} TwAdvice;

TwAdvice *tw_advice_new(const gchar *code, const gchar *severity, const gchar *text);
void tw_advice_free(TwAdvice *advice);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwAdvice, tw_advice_free)

#define TW_TYPE_TOKEN (tw_token_get_type())
G_DECLARE_FINAL_TYPE(TwToken, tw_token, TW, TOKEN, GObject)

gboolean tw_token_p11_is_initialized(const TwP11Token *p11);

gchar *tw_token_id_for(const gchar *manufacturer, const gchar *model, const gchar *serial);
const gchar *tw_token_user_pin_state(gulong flags);
const gchar *tw_token_so_pin_state(gulong flags);

TwToken *tw_token_new(const gchar *id) G_GNUC_WARN_UNUSED_RESULT;
void tw_token_update(TwToken *self, const TwP11Token *p11, GPtrArray *cert_ids, gint64 now);
void tw_token_set_error(TwToken *self, const gchar *error);
gboolean tw_token_get_present(TwToken *self);
guint64 tw_token_get_flags(TwToken *self);
void tw_token_set_flags(TwToken *self, guint64 flags);
const gchar *tw_token_get_atr(TwToken *self);
void tw_token_set_atr(TwToken *self, const gchar *atr);
void tw_token_set_device(TwToken *self, const gchar *name, gint64 qscd_until, guint capacity);
const gchar *tw_token_get_device_name(TwToken *self);
gint64 tw_token_get_qscd_until(TwToken *self);
guint tw_token_get_qualified_capacity(TwToken *self);
gboolean tw_token_has_device_warned(TwToken *self, const gchar *threshold);
void tw_token_add_device_warned(TwToken *self, const gchar *threshold);
GStrv tw_token_get_device_warned(TwToken *self);
void tw_token_set_device_warned(TwToken *self, const gchar *const *thresholds);
GPtrArray *tw_token_get_advice(TwToken *self);
GArray *tw_token_get_owners(TwToken *self);
void tw_token_add_owners(TwToken *self, GArray *uids);
void tw_token_set_advice(TwToken *self, GPtrArray *advice);
void tw_token_restore(TwToken *self,
		      const gchar *label,
		      const gchar *manufacturer,
		      const gchar *model,
		      const gchar *serial,
		      const gchar *module,
		      const gchar *reader_name,
		      gint64 first_seen,
		      gint64 last_seen,
		      guint64 flags,
		      guint64 total_memory,
		      guint64 free_memory,
		      guint unpaired_keys,
		      const gchar *const *cert_ids);
void tw_token_set_present(TwToken *self, gboolean present);

const gchar *tw_token_get_id(TwToken *self);
const gchar *tw_token_get_reader_name(TwToken *self);
const gchar *tw_token_get_label(TwToken *self);
const gchar *tw_token_get_manufacturer(TwToken *self);
const gchar *tw_token_get_model(TwToken *self);
const gchar *tw_token_get_serial(TwToken *self);
gint64 tw_token_get_first_seen(TwToken *self);
gint64 tw_token_get_last_seen(TwToken *self);
const gchar *tw_token_get_user_pin_state(TwToken *self);
const gchar *tw_token_get_so_pin_state(TwToken *self);
guint64 tw_token_get_total_memory(TwToken *self);
guint64 tw_token_get_free_memory(TwToken *self);
guint tw_token_get_unpaired_keys(TwToken *self);
const gchar *tw_token_get_module(TwToken *self);
const gchar *tw_token_get_module_path(TwToken *self);
const gchar *tw_token_get_error(TwToken *self);
GPtrArray *tw_token_get_certificate_ids(TwToken *self);

G_END_DECLS
