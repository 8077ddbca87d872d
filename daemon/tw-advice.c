/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Token.Advice: what the owner of a token should know or do, in plain
 * words, from what the token says of itself (flags, memory, keys), its
 * certificates and its device's data. A pure function of its inputs.
 */
#define G_LOG_DOMAIN "TwAdvice"

#include "config.h"

#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>

#include "tw-advice.h"

static gint
tw_advice_rank(const gchar *severity)
{
	if (g_strcmp0(severity, "critical") == 0)
		return 0;
	if (g_strcmp0(severity, "warning") == 0)
		return 1;
	return 2;
}

static gint
tw_advice_compare(gconstpointer a, gconstpointer b)
{
	const TwAdvice *x = *(TwAdvice *const *)a;
	const TwAdvice *y = *(TwAdvice *const *)b;

	return tw_advice_rank(x->severity) - tw_advice_rank(y->severity);
}

static void
tw_advice_add(GPtrArray *out, const gchar *code, const gchar *severity, const gchar *text)
{
	g_ptr_array_add(out, tw_advice_new(code, severity, text));
}

static gboolean
tw_advice_is_qualified_qscd(TwCertificate *cert)
{
	const TwCertInfo *info = tw_certificate_get_info(cert);

	return info->qc_compliance && info->qc_sscd;
}

/* the qualified area holds as many qualified certificates as it can */
static void
tw_advice_capacity(GPtrArray *out, TwToken *token, GPtrArray *certificates)
{
	guint capacity = tw_token_get_qualified_capacity(token);
	g_autoptr(GString) removable = g_string_new(NULL);
	g_autofree gchar *text = NULL;
	guint used = 0;

	if (capacity == 0)
		return;
	for (guint i = 0; i < certificates->len; i++) {
		TwCertificate *cert = g_ptr_array_index(certificates, i);
		const gchar *status = tw_certificate_get_status(cert);

		if (!tw_advice_is_qualified_qscd(cert))
			continue;
		used++;
		/* never a valid one: only what can no longer be used */
		if (g_strcmp0(status, "expired") == 0 || g_strcmp0(status, "superseded") == 0 ||
		    g_strcmp0(status, "revoked-by-device") == 0)
			g_string_append_printf(removable, "%s\"%s\" (serial number %s, %s)",
					       removable->len > 0 ? ", " : "",
					       tw_certificate_get_info(cert)->common_name,
					       tw_certificate_get_info(cert)->serial_decimal,
					       status);
	}
	if (used < capacity)
		return;
	if (removable->len > 0)
		text = g_strdup_printf(
			"The qualified area holds %u of %u qualified certificates: a renewal will "
			"fail (errors 621/622) until one is removed. Safe to remove: %s.",
			used, capacity, removable->str);
	else
		text = g_strdup_printf(
			"The qualified area holds %u of %u qualified certificates, all still "
			"valid: "
			"a renewal will fail (errors 621/622). Do not remove a valid certificate; "
			"renew when one of them expires or ask the certification authority.",
			used, capacity);
	tw_advice_add(out, "qualified-area-full", "warning", text);
}

static void
tw_advice_device(GPtrArray *out, TwToken *token, gint64 now, guint device_warn_days)
{
	gint64 until = tw_token_get_qscd_until(token);
	g_autofree gchar *text = NULL;
	g_autoptr(GDateTime) end = NULL;
	g_autofree gchar *date = NULL;

	if (until == 0)
		return;
	/* the certification runs through the day before @until */
	end = g_date_time_new_from_unix_utc(until - 1);
	date = g_date_time_format(end, "%Y-%m-%d");
	if (now >= until) {
		text = g_strdup_printf(
			"The QSCD certification of this device (%s) ended on %s: its "
			"qualified certificates are revoked and no new one can be "
			"stored on it. Commercial certificates are not affected.",
			tw_token_get_device_name(token), date);
		tw_advice_add(out, "device-certification-ended", "critical", text);
	} else if (until - now <= (gint64)device_warn_days * 86400) {
		text = g_strdup_printf("The QSCD certification of this device (%s) ends on %s "
				       "(%" G_GINT64_FORMAT " days): every valid qualified "
				       "certificate on it will be revoked then. Get a new device "
				       "before that date.",
				       tw_token_get_device_name(token), date,
				       (until - now) / 86400);
		tw_advice_add(out, "device-certification-ending", "warning", text);
	}
}

static void
tw_advice_pins(GPtrArray *out, guint64 flags)
{
	if (flags & (CKF_USER_PIN_TO_BE_CHANGED | CKF_SO_PIN_TO_BE_CHANGED))
		tw_advice_add(out, "factory-pin", "warning",
			      "The factory PIN is still set: change the PIN, the PUK and the "
			      "signing PIN (QPIN) before using the token.");
	if (flags & CKF_USER_PIN_LOCKED)
		tw_advice_add(
			out, "pin-locked", "critical",
			"The PIN is blocked. Unblock it with the PUK. Blocking the PIN, the "
			"PUK and the QPIN together destroys some qualified devices for good.");
	else if (flags & CKF_USER_PIN_FINAL_TRY)
		tw_advice_add(out, "pin-final-try", "critical",
			      "One PIN try is left: one more wrong PIN blocks it.");
	else if (flags & CKF_USER_PIN_COUNT_LOW)
		tw_advice_add(out, "pin-count-low", "warning",
			      "A wrong PIN was entered: PIN tries are running out.");
	if (flags & CKF_SO_PIN_LOCKED)
		tw_advice_add(out, "puk-locked", "critical",
			      "The PUK is blocked: a blocked PIN can no longer be unblocked.");
	else if (flags & CKF_SO_PIN_FINAL_TRY)
		tw_advice_add(out, "puk-final-try", "critical",
			      "One PUK try is left: one more wrong PUK blocks it.");
}

/**
 * tw_advice_for_token:
 * @certificates: (element-type TwCertificate): the token's certificates
 * @now: Unix seconds
 * @free_memory_percent: "memory-low" under this share of free memory
 * @device_warn_days: "device-certification-ending" this close to the end
 *
 * Returns: (transfer full) (element-type TwAdvice): most severe first
 */
GPtrArray *
tw_advice_for_token(TwToken *token,
		    GPtrArray *certificates,
		    gint64 now,
		    guint free_memory_percent,
		    guint device_warn_days)
{
	GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)tw_advice_free);
	guint64 total = tw_token_get_total_memory(token);
	guint64 free_mem = tw_token_get_free_memory(token);
	guint unpaired = tw_token_get_unpaired_keys(token);

	tw_advice_pins(out, tw_token_get_flags(token));
	tw_advice_device(out, token, now, device_warn_days);
	tw_advice_capacity(out, token, certificates);
	if (total > 0 && free_mem * 100 < total * free_memory_percent) {
		g_autofree gchar *text = g_strdup_printf(
			"Only %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
			" bytes of token memory are free: a renewal may fail. Remove expired or "
			"superseded certificates.",
			free_mem, total);

		tw_advice_add(out, "memory-low", "warning", text);
	}
	if (unpaired > 0) {
		g_autofree gchar *text = g_strdup_printf(
			"%u %s with no certificate: %s room, and a renewal fails while %s there.",
			unpaired, unpaired == 1 ? "key" : "keys",
			unpaired == 1 ? "it takes" : "they take",
			unpaired == 1 ? "it is" : "they are");

		tw_advice_add(out, "unpaired-keys", "info", text);
	}
	g_ptr_array_sort(out, tw_advice_compare);
	return out;
}
