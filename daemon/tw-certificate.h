/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>

#include "tw-cert.h"

G_BEGIN_DECLS

/* a certificate this close to its end is "expiring" */
#define TW_CERTIFICATE_EXPIRING_DAYS 60

#define TW_TYPE_CERTIFICATE (tw_certificate_get_type())
G_DECLARE_FINAL_TYPE(TwCertificate, tw_certificate, TW, CERTIFICATE, GObject)

TwCertificate *tw_certificate_new(TwCertInfo *info) G_GNUC_WARN_UNUSED_RESULT;

const TwCertInfo *tw_certificate_get_info(TwCertificate *self);
const gchar *tw_certificate_get_id(TwCertificate *self);
const gchar *tw_certificate_get_label(TwCertificate *self);
const gchar *tw_certificate_get_ckaid(TwCertificate *self);
const gchar *tw_certificate_get_token_id(TwCertificate *self);
gint64 tw_certificate_get_effective_not_after(TwCertificate *self);
gint tw_certificate_get_days_left(TwCertificate *self);
const gchar *tw_certificate_get_status(TwCertificate *self);

void tw_certificate_set_seen(TwCertificate *self,
			     const gchar *token_id,
			     const gchar *label,
			     GBytes *ckaid);
void tw_certificate_update_time(TwCertificate *self, gint64 now);
void tw_certificate_set_evaluation(TwCertificate *self,
				   gint64 effective_not_after,
				   gint days_left,
				   const gchar *status);
gboolean tw_certificate_has_warned(TwCertificate *self, const gchar *threshold);
void tw_certificate_add_warned(TwCertificate *self, const gchar *threshold);
GStrv tw_certificate_get_warned(TwCertificate *self);
void tw_certificate_set_warned(TwCertificate *self, const gchar *const *thresholds);
const gchar *tw_certificate_get_superseded_by(TwCertificate *self);
void tw_certificate_set_superseded_by(TwCertificate *self, const gchar *id);

const gchar *tw_certificate_status_for(gint64 not_before, gint64 effective_not_after, gint64 now);

G_END_DECLS
