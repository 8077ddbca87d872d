/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Deadlines. Every evaluation works out, for each certificate, its
 * effective end (NotAfter, or the end of its device's QSCD certification
 * when that comes first and the key is in the QSCD), days left and status;
 * for each token its device and its advice; and fires each warning
 * threshold that has been crossed and not yet announced. Then it arms one
 * alarm, on TwClock, for the nearest future crossing (or the next UTC
 * midnight, so that DaysLeft stays true), and sleeps.
 *
 * A certificate first seen when several thresholds are already behind it
 * gets one warning, for the nearest of them; all of them count as
 * announced. What was announced is kept on the objects, and so in the state:
 * a restart repeats nothing.
 *
 * A certificate with the same subject and issuing organisation as a known
 * one and a later end is a renewal: the old one is superseded, and its
 * warnings stop.
 */
#define G_LOG_DOMAIN "TwTracker"

#include "config.h"

#include "tw-advice.h"
#include "tw-tracker.h"

#define TW_DAY 86400

struct _TwTracker {
	GObject parent_instance;
	TwTokenSet *set;
	TwClock *clock;
	TwConfig *config;
	TwDevices *devices;
	GPtrArray *renewals; /* pairs old, new: announced at the next evaluation */
	gboolean watching;
};

G_DEFINE_TYPE(TwTracker, tw_tracker, G_TYPE_OBJECT)

enum { SIGNAL_EXPIRY_WARNING, SIGNAL_DEVICE_ENDING, SIGNAL_RENEWED, N_SIGNALS };
static guint signals[N_SIGNALS] = {0};

/* how loud a threshold is */
const gchar *
tw_tracker_level_for(gint threshold_days)
{
	if (threshold_days <= 0)
		return "expired";
	if (threshold_days <= 7)
		return "critical";
	if (threshold_days <= 30)
		return "warning";
	return "info";
}

static gint
tw_tracker_days_left(gint64 end, gint64 now)
{
	gint64 diff = end - now;

	/* floor: 0 on the last day, -1 the whole first day after */
	return (gint)(diff >= 0 ? diff / TW_DAY : -((-diff + TW_DAY - 1) / TW_DAY));
}

static void
tw_tracker_consider(gint64 *next, gint64 when, gint64 now)
{
	if (when > now && (*next == 0 || when < *next))
		*next = when;
}

/**
 * Fires the most urgent crossed threshold not yet announced, marks every
 * crossed threshold announced, and notes the next crossing. Thresholds are
 * day counts, descending; "expired" is the end itself.
 *
 * Returns: the threshold to announce (0 for "expired"), or -1 for none
 */
static gint
tw_tracker_due(GArray *thresholds,
	       gint64 end,
	       gint64 now,
	       gboolean (*has)(gpointer, const gchar *),
	       void (*add)(gpointer, const gchar *),
	       gpointer obj,
	       gboolean with_expired,
	       gint64 *next)
{
	gint fire = -1;

	for (guint i = 0; i < thresholds->len; i++) {
		gint t = g_array_index(thresholds, gint, i);
		gint64 when = end - (gint64)t * TW_DAY;
		g_autofree gchar *key = g_strdup_printf("%d", t);

		if (when > now) {
			tw_tracker_consider(next, when, now);
			continue;
		}
		if (!has(obj, key)) {
			add(obj, key);
			fire = t; /* descending: the last crossed is the nearest */
		}
	}
	if (with_expired) {
		if (end > now) {
			tw_tracker_consider(next, end, now);
		} else if (!has(obj, "expired")) {
			add(obj, "expired");
			fire = 0;
		}
	}
	return fire;
}

static gboolean
tw_tracker_cert_has(gpointer obj, const gchar *key)
{
	return tw_certificate_has_warned(obj, key);
}

static void
tw_tracker_cert_add(gpointer obj, const gchar *key)
{
	tw_certificate_add_warned(obj, key);
}

static gboolean
tw_tracker_token_has(gpointer obj, const gchar *key)
{
	return tw_token_has_device_warned(obj, key);
}

static void
tw_tracker_token_add(gpointer obj, const gchar *key)
{
	tw_token_add_device_warned(obj, key);
}

/* the device of a token, from the device data; keeps what is known */
static void
tw_tracker_match_device(TwTracker *self, TwToken *token)
{
	const TwDevice *device = NULL;

	if (self->devices != NULL)
		device = tw_devices_match(self->devices, tw_token_get_atr(token),
					  tw_token_get_manufacturer(token),
					  tw_token_get_model(token));
	if (device != NULL)
		tw_token_set_device(token, device->name, device->qscd_certified_until,
				    device->qualified_capacity);
	else
		tw_token_set_device(token, NULL, 0, 0);
}

static void
tw_tracker_evaluate_certificate(TwTracker *self, TwCertificate *cert, gint64 now, gint64 *next)
{
	const TwCertInfo *info = tw_certificate_get_info(cert);
	TwToken *token = tw_token_set_get_token(self->set, tw_certificate_get_token_id(cert));
	gint64 until = token != NULL ? tw_token_get_qscd_until(token) : 0;
	gint64 end = info->not_after;
	gboolean by_device = FALSE;
	const gchar *status;
	gint fire;

	/* only keys in the QSCD depend on the device's certification */
	if (info->qc_sscd && until != 0 && (end == 0 || until < end)) {
		end = until;
		by_device = TRUE;
	}
	if (tw_certificate_get_superseded_by(cert) != NULL)
		status = "superseded";
	else if (by_device && now >= until)
		status = "revoked-by-device";
	else
		status = tw_certificate_status_for(info->not_before, end, now);
	tw_certificate_set_evaluation(cert, end, end != 0 ? tw_tracker_days_left(end, now) : 0,
				      status);
	/* a superseded certificate is not warned about, nor one we cannot date */
	if (tw_certificate_get_superseded_by(cert) != NULL || end == 0 ||
	    (info->not_before != 0 && now < info->not_before))
		return;
	fire = tw_tracker_due(tw_config_get_expiry_days(self->config), end, now,
			      tw_tracker_cert_has, tw_tracker_cert_add, cert, TRUE, next);
	if (fire >= 0) {
		gint days = tw_tracker_days_left(end, now);
		const gchar *level = tw_tracker_level_for(fire);

		g_message("certificate \"%s\" (%s): %d days left (%s)", info->common_name, info->id,
			  days, level);
		g_signal_emit(self, signals[SIGNAL_EXPIRY_WARNING], 0, cert, days, level);
	}
}

static void
tw_tracker_evaluate_token(TwTracker *self, TwToken *token, gint64 now, gint64 *next)
{
	GArray *device_days = tw_config_get_device_days(self->config);
	GPtrArray *ids = tw_token_get_certificate_ids(token);
	g_autoptr(GPtrArray) certs = g_ptr_array_new();
	gint64 until = tw_token_get_qscd_until(token);

	for (guint i = 0; i < ids->len; i++) {
		TwCertificate *cert =
			tw_token_set_get_certificate(self->set, g_ptr_array_index(ids, i));

		if (cert != NULL)
			g_ptr_array_add(certs, cert);
	}
	if (until != 0) {
		gint fire = tw_tracker_due(device_days, until, now, tw_tracker_token_has,
					   tw_tracker_token_add, token, FALSE, next);

		/* ended already when first seen: the advice says so, "ending" would not */
		if (now >= until)
			fire = -1;

		/* the end itself changes statuses and advice */
		tw_tracker_consider(next, until, now);
		if (fire > 0) {
			gint days = tw_tracker_days_left(until, now);

			g_message("the QSCD certification of token \"%s\" (%s) ends in %d days",
				  tw_token_get_label(token), tw_token_get_device_name(token), days);
			g_signal_emit(self, signals[SIGNAL_DEVICE_ENDING], 0, token, days);
		}
	}
	tw_token_set_advice(
		token,
		tw_advice_for_token(
			token, certs, now, tw_config_get_free_memory_percent(self->config),
			device_days->len > 0 ? (guint)g_array_index(device_days, gint, 0) : 0));
}

/**
 * tw_tracker_evaluate:
 *
 * Brings every certificate and token up to the clock, announces what is
 * due, and arms the alarm for what comes next.
 */
void
tw_tracker_evaluate(TwTracker *self)
{
	gint64 now;
	gint64 next = 0;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GPtrArray) renewals = NULL;

	g_return_if_fail(TW_IS_TRACKER(self));
	if (self->config == NULL)
		return;
	now = tw_clock_now(self->clock);
	tokens = tw_token_set_get_tokens(self->set);
	certs = tw_token_set_get_certificates(self->set);

	/* devices first: certificates depend on them */
	for (guint i = 0; i < tokens->len; i++)
		tw_tracker_match_device(self, g_ptr_array_index(tokens, i));
	renewals = g_steal_pointer(&self->renewals);
	self->renewals = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i + 1 < renewals->len; i += 2) {
		TwCertificate *old = g_ptr_array_index(renewals, i);
		TwCertificate *new = g_ptr_array_index(renewals, i + 1);

		g_message("certificate \"%s\" renewed: serial number %s replaces %s",
			  tw_certificate_get_info(new)->common_name,
			  tw_certificate_get_info(new)->serial_decimal,
			  tw_certificate_get_info(old)->serial_decimal);
		tw_tracker_evaluate_certificate(self, old, now, &next);
		g_signal_emit(self, signals[SIGNAL_RENEWED], 0, old, new);
	}
	for (guint i = 0; i < certs->len; i++)
		tw_tracker_evaluate_certificate(self, g_ptr_array_index(certs, i), now, &next);
	for (guint i = 0; i < tokens->len; i++)
		tw_tracker_evaluate_token(self, g_ptr_array_index(tokens, i), now, &next);
	/* DaysLeft moves every day: at the latest, look again at UTC midnight */
	if (certs->len > 0)
		tw_tracker_consider(&next, (now / TW_DAY + 1) * TW_DAY, now);
	tw_clock_set_alarm(self->clock, next);
}

static gboolean
tw_tracker_is_renewal(const TwCertInfo *old, const TwCertInfo *new)
{
	return g_strcmp0(old->id, new->id) != 0 && *old->subject != '\0' &&
	       g_strcmp0(old->subject, new->subject) == 0 &&
	       g_strcmp0(old->issuer_organization, new->issuer_organization) == 0 &&
	       old->not_after != 0 && new->not_after > old->not_after && !old->is_ca && !new->is_ca;
}

/* a certificate seen for the first time: is it the renewal of one we know,
 * or one already renewed? */
static void
tw_tracker_certificate_added_cb(TwTokenSet *set, TwCertificate *cert, gpointer user_data)
{
	TwTracker *self = TW_TRACKER(user_data);
	const TwCertInfo *info = tw_certificate_get_info(cert);
	g_autoptr(GPtrArray) certs = tw_token_set_get_certificates(set);

	for (guint i = 0; i < certs->len; i++) {
		TwCertificate *other = g_ptr_array_index(certs, i);
		const TwCertInfo *other_info = tw_certificate_get_info(other);

		if (tw_tracker_is_renewal(other_info, info) &&
		    tw_certificate_get_superseded_by(other) == NULL) {
			tw_certificate_set_superseded_by(other, info->id);
			g_ptr_array_add(self->renewals, g_object_ref(other));
			g_ptr_array_add(self->renewals, g_object_ref(cert));
		} else if (tw_tracker_is_renewal(info, other_info) &&
			   tw_certificate_get_superseded_by(cert) == NULL) {
			/* an old one turning up after its renewal: no news */
			tw_certificate_set_superseded_by(cert, other_info->id);
		}
	}
}

static void
tw_tracker_alarm_cb(TwClock *clock, gpointer user_data)
{
	tw_tracker_evaluate(TW_TRACKER(user_data));
}

void
tw_tracker_set_config(TwTracker *self, TwConfig *config, TwDevices *devices)
{
	g_return_if_fail(TW_IS_TRACKER(self));
	g_set_object(&self->config, config);
	g_set_object(&self->devices, devices);
}

/* from now on, certificates that come are checked for renewals (not those
 * restored from the state: they were checked when they came) */
void
tw_tracker_watch_renewals(TwTracker *self)
{
	g_return_if_fail(TW_IS_TRACKER(self));
	if (self->watching)
		return;
	self->watching = TRUE;
	g_signal_connect(self->set, "certificate-added",
			 G_CALLBACK(tw_tracker_certificate_added_cb), self);
}

static void
tw_tracker_dispose(GObject *object)
{
	TwTracker *self = TW_TRACKER(object);

	if (self->set != NULL)
		g_signal_handlers_disconnect_by_data(self->set, self);
	if (self->clock != NULL)
		g_signal_handlers_disconnect_by_data(self->clock, self);
	g_clear_object(&self->set);
	g_clear_object(&self->clock);
	g_clear_object(&self->config);
	g_clear_object(&self->devices);
	g_clear_pointer(&self->renewals, g_ptr_array_unref);
	G_OBJECT_CLASS(tw_tracker_parent_class)->dispose(object);
}

static void
tw_tracker_init(TwTracker *self)
{
	self->renewals = g_ptr_array_new_with_free_func(g_object_unref);
}

static void
tw_tracker_class_init(TwTrackerClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_tracker_dispose;
	signals[SIGNAL_EXPIRY_WARNING] = g_signal_new(
		"expiry-warning", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
		G_TYPE_NONE, 3, TW_TYPE_CERTIFICATE, G_TYPE_INT, G_TYPE_STRING);
	signals[SIGNAL_DEVICE_ENDING] = g_signal_new(
		"device-certification-ending", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
		NULL, NULL, G_TYPE_NONE, 2, TW_TYPE_TOKEN, G_TYPE_INT);
	signals[SIGNAL_RENEWED] = g_signal_new("certificate-renewed", G_TYPE_FROM_CLASS(klass),
					       G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
					       2, TW_TYPE_CERTIFICATE, TW_TYPE_CERTIFICATE);
}

TwTracker *
tw_tracker_new(TwTokenSet *set, TwClock *clock)
{
	TwTracker *self = g_object_new(TW_TYPE_TRACKER, NULL);

	self->set = g_object_ref(set);
	self->clock = g_object_ref(clock);
	g_signal_connect(clock, "alarm", G_CALLBACK(tw_tracker_alarm_cb), self);
	g_signal_connect(clock, "jumped", G_CALLBACK(tw_tracker_alarm_cb), self);
	return self;
}
