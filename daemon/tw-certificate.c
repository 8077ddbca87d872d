/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A certificate as the engine knows it: what tw-cert parsed, where it was
 * last seen (token, CKA_LABEL, CKA_ID), and what time makes of it (days
 * left, status). One "changed" signal for any change.
 */
#define G_LOG_DOMAIN "TwCertificate"

#include "config.h"

#include <stdlib.h>

#include "tw-certificate.h"
#include "tw-names.h"

/* CKA_LABEL has no length limit; a label is a name, not a document */
#define TW_CERTIFICATE_LABEL_MAX_CHARS 256

struct _TwCertificate {
	GObject parent_instance;
	TwCertInfo *info;
	gchar *token_id;
	gchar *label;
	gchar *ckaid; /* hex */
	gint days_left;
	const gchar *status;
	gint64 effective_not_after;
	GHashTable *warned;   /* thresholds announced: "60", ..., "expired" */
	gchar *superseded_by; /* id of the renewal, NULL if none */
};

G_DEFINE_TYPE(TwCertificate, tw_certificate, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS] = {0};

/**
 * tw_certificate_status_for:
 *
 * "not-yet-valid", "expired", "expiring" (within
 * TW_CERTIFICATE_EXPIRING_DAYS) or "valid". Unknown times (0) count as
 * valid: a certificate we cannot date is not declared dead.
 */
const gchar *
tw_certificate_status_for(gint64 not_before, gint64 effective_not_after, gint64 now)
{
	if (not_before != 0 && now < not_before)
		return "not-yet-valid";
	if (effective_not_after != 0 && now >= effective_not_after)
		return "expired";
	if (effective_not_after != 0 &&
	    effective_not_after - now <= (gint64)TW_CERTIFICATE_EXPIRING_DAYS * 86400)
		return "expiring";
	return "valid";
}

/* NotAfter, or the end of the device's QSCD certification when that comes
 * first and the key is in the QSCD (set by the tracker) */
gint64
tw_certificate_get_effective_not_after(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), 0);
	return self->effective_not_after != 0 ? self->effective_not_after : self->info->not_after;
}

/**
 * tw_certificate_set_evaluation:
 *
 * What the tracker worked out for now; emits "changed" if anything differs.
 */
void
tw_certificate_set_evaluation(TwCertificate *self,
			      gint64 effective_not_after,
			      gint days_left,
			      const gchar *status)
{
	g_return_if_fail(TW_IS_CERTIFICATE(self));
	if (self->effective_not_after == effective_not_after && self->days_left == days_left &&
	    g_strcmp0(self->status, status) == 0)
		return;
	self->effective_not_after = effective_not_after;
	self->days_left = days_left;
	self->status = g_intern_string(status);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

gboolean
tw_certificate_has_warned(TwCertificate *self, const gchar *threshold)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), FALSE);
	return g_hash_table_contains(self->warned, threshold);
}

void
tw_certificate_add_warned(TwCertificate *self, const gchar *threshold)
{
	g_return_if_fail(TW_IS_CERTIFICATE(self));
	/* changed: it is remembered, in the state */
	if (g_hash_table_add(self->warned, g_strdup(threshold)))
		g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/* Returns: (transfer full): the thresholds announced, sorted */
GStrv
tw_certificate_get_warned(TwCertificate *self)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_autofree gpointer *keys = NULL;
	guint n = 0;

	g_return_val_if_fail(TW_IS_CERTIFICATE(self), NULL);
	keys = g_hash_table_get_keys_as_array(self->warned, &n);
	qsort(keys, n, sizeof(gpointer), (GCompareFunc)g_strcmp0);
	for (guint i = 0; i < n; i++)
		g_strv_builder_add(builder, keys[i]);
	return g_strv_builder_end(builder);
}

void
tw_certificate_set_warned(TwCertificate *self, const gchar *const *thresholds)
{
	g_return_if_fail(TW_IS_CERTIFICATE(self));
	g_hash_table_remove_all(self->warned);
	for (guint i = 0; thresholds != NULL && thresholds[i] != NULL; i++)
		g_hash_table_add(self->warned, g_strdup(thresholds[i]));
}

const gchar *
tw_certificate_get_superseded_by(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), NULL);
	return self->superseded_by;
}

void
tw_certificate_set_superseded_by(TwCertificate *self, const gchar *id)
{
	g_return_if_fail(TW_IS_CERTIFICATE(self));
	if (g_strcmp0(self->superseded_by, id) == 0)
		return;
	g_free(self->superseded_by);
	self->superseded_by = g_strdup(id);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/**
 * tw_certificate_update_time:
 * @now: Unix seconds
 *
 * Recomputes days left and status for @now.
 */
void
tw_certificate_update_time(TwCertificate *self, gint64 now)
{
	gint64 end = tw_certificate_get_effective_not_after(self);
	gint days = tw_cert_info_days_left(self->info, end, now);
	const gchar *status = self->superseded_by != NULL
				      ? "superseded"
				      : tw_certificate_status_for(self->info->not_before, end, now);

	if (days == self->days_left && g_strcmp0(status, self->status) == 0)
		return;
	self->days_left = days;
	self->status = status;
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/**
 * tw_certificate_set_seen:
 * @label: CKA_LABEL, any bytes
 * @ckaid: (nullable): CKA_ID
 *
 * Where the certificate was seen last.
 */
void
tw_certificate_set_seen(TwCertificate *self,
			const gchar *token_id,
			const gchar *label,
			GBytes *ckaid)
{
	g_autofree gchar *display = tw_names_make_display(label, TW_CERTIFICATE_LABEL_MAX_CHARS);
	gsize len = 0;
	const guint8 *data = ckaid != NULL ? g_bytes_get_data(ckaid, &len) : NULL;
	g_autofree gchar *upper = tw_names_hex(data, len);
	g_autofree gchar *hex = g_ascii_strdown(upper, -1);

	g_return_if_fail(TW_IS_CERTIFICATE(self));
	if (g_strcmp0(self->token_id, token_id) == 0 && g_strcmp0(self->label, display) == 0 &&
	    g_strcmp0(self->ckaid, hex) == 0)
		return;
	g_free(self->token_id);
	self->token_id = g_strdup(token_id);
	g_free(self->label);
	self->label = g_steal_pointer(&display);
	g_free(self->ckaid);
	self->ckaid = g_steal_pointer(&hex);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

const TwCertInfo *
tw_certificate_get_info(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), NULL);
	return self->info;
}

const gchar *
tw_certificate_get_id(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), NULL);
	return self->info->id;
}

const gchar *
tw_certificate_get_label(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), NULL);
	return self->label;
}

const gchar *
tw_certificate_get_ckaid(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), NULL);
	return self->ckaid;
}

const gchar *
tw_certificate_get_token_id(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), NULL);
	return self->token_id;
}

gint
tw_certificate_get_days_left(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), 0);
	return self->days_left;
}

const gchar *
tw_certificate_get_status(TwCertificate *self)
{
	g_return_val_if_fail(TW_IS_CERTIFICATE(self), NULL);
	return self->status;
}

static void
tw_certificate_finalize(GObject *object)
{
	TwCertificate *self = TW_CERTIFICATE(object);

	tw_cert_info_free(self->info);
	g_hash_table_unref(self->warned);
	g_free(self->superseded_by);
	g_free(self->token_id);
	g_free(self->label);
	g_free(self->ckaid);
	G_OBJECT_CLASS(tw_certificate_parent_class)->finalize(object);
}

static void
tw_certificate_init(TwCertificate *self)
{
	self->token_id = g_strdup("");
	self->label = g_strdup("");
	self->ckaid = g_strdup("");
	self->status = "valid";
	self->warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static void
tw_certificate_class_init(TwCertificateClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->finalize = tw_certificate_finalize;
	/**
	 * TwCertificate::changed:
	 *
	 * Something about the certificate changed.
	 */
	signals[SIGNAL_CHANGED] =
		g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			     NULL, G_TYPE_NONE, 0);
}

/**
 * tw_certificate_new:
 * @info: (transfer full): the parsed certificate
 */
TwCertificate *
tw_certificate_new(TwCertInfo *info)
{
	TwCertificate *self;

	g_return_val_if_fail(info != NULL, NULL);
	self = g_object_new(TW_TYPE_CERTIFICATE, NULL);
	self->info = info;
	self->days_left =
		tw_cert_info_days_left(info, info->not_after, g_get_real_time() / G_USEC_PER_SEC);
	self->status = tw_certificate_status_for(info->not_before, info->not_after,
						 g_get_real_time() / G_USEC_PER_SEC);
	return self;
}
