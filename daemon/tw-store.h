/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* the version of the record files this build writes; see docs/state.md */
#define TW_STORE_VERSION 1

/* A token as remembered. After tw_store_load() no string is NULL ("" for
 * unknown); the strings are bytes as the token gave them, valid UTF-8 or not. */
typedef struct {
	gchar *id; /* [0-9a-f]{16} */
	gchar *label;
	gchar *manufacturer;
	gchar *model;
	gchar *serial;
	gchar *module;
	gchar *reader; /* the last reader it was seen in */
	gchar *atr;    /* the card's ATR there, hex; "" if none */
	gint64 first_seen;
	gint64 last_seen; /* Unix seconds */
	guint64 flags;	  /* CK_TOKEN_INFO flags */
	guint64 total_memory;
	guint64 free_memory;
	guint unpaired_keys;
	GStrv certificates;    /* certificate ids; never NULL */
	GStrv device_warnings; /* thresholds announced for the device's end; never NULL */
	GStrv owners;	       /* uids (decimal) of the users it was seen with; never NULL */
} TwStoredToken;

/* A certificate as remembered. */
typedef struct {
	gchar *id;    /* [0-9a-f]{16} */
	GBytes *der;  /* never NULL after tw_store_load() */
	gchar *token; /* id of the token it was last seen on */
	gchar *label;
	gchar *ckaid; /* hex */
	gint64 first_seen;
	gint64 last_seen;
	GStrv warnings;	      /* thresholds announced: "60", "30", "expired"; never NULL */
	gchar *superseded_by; /* certificate id, NULL if none */
} TwStoredCertificate;

TwStoredToken *tw_stored_token_new(const gchar *id) G_GNUC_WARN_UNUSED_RESULT;
TwStoredToken *tw_stored_token_copy(const TwStoredToken *token) G_GNUC_WARN_UNUSED_RESULT;
void tw_stored_token_free(TwStoredToken *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwStoredToken, tw_stored_token_free)

TwStoredCertificate *tw_stored_certificate_new(const gchar *id) G_GNUC_WARN_UNUSED_RESULT;
TwStoredCertificate *
tw_stored_certificate_copy(const TwStoredCertificate *certificate) G_GNUC_WARN_UNUSED_RESULT;
void tw_stored_certificate_free(TwStoredCertificate *certificate);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwStoredCertificate, tw_stored_certificate_free)

gboolean tw_store_id_is_valid(const gchar *id);

#define TW_TYPE_STORE (tw_store_get_type())
G_DECLARE_FINAL_TYPE(TwStore, tw_store, TW, STORE, GObject)

TwStore *tw_store_new(const gchar *directory) G_GNUC_WARN_UNUSED_RESULT;
const gchar *tw_store_default_directory(gboolean session_bus);
const gchar *tw_store_get_directory(TwStore *self);

gboolean tw_store_load(TwStore *self, GPtrArray **tokens, GPtrArray **certificates, GError **error)
	G_GNUC_WARN_UNUSED_RESULT;

void tw_store_put_token(TwStore *self, const TwStoredToken *token);
void tw_store_put_certificate(TwStore *self, const TwStoredCertificate *certificate);
void tw_store_remove_token(TwStore *self, const gchar *id);
void tw_store_remove_certificate(TwStore *self, const gchar *id);
gboolean tw_store_flush(TwStore *self, guint timeout_ms);

guint tw_store_get_pending(TwStore *self);
gboolean tw_store_get_healthy(TwStore *self);
void tw_store_set_debounce_ms(TwStore *self, guint ms);

/* for tests */
void tw_store_set_backoff_ms(TwStore *self, guint first_ms, guint max_ms);
guint64 tw_store_get_write_count(TwStore *self);

G_END_DECLS
