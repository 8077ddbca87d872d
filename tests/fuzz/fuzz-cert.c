/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the certificate parser and classifier (daemon/tw-cert.c),
 * fed with what a token's CKA_VALUE may hold. Besides crashes, leaks and
 * undefined behaviour, it checks what tw-cert.h promises and the D-Bus
 * adaptor relies on: every string set and valid UTF-8, every list there.
 */
#include "config.h"

#include <string.h>

#include "tw-cert.h"
#include "tw-certificate.h"
#include "tw-fuzz.h"

static gboolean
tw_fuzz_is_hex(const gchar *str, gsize len)
{
	if (strlen(str) != len)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isxdigit(str[i]))
			return FALSE;
	}
	return TRUE;
}

static void
tw_fuzz_check_times(const TwCertInfo *info)
{
	/* the clock is the machine's, only the certificate comes from outside:
	 * the epoch, 2026, the year 9999 and the certificate's own dates */
	const gint64 nows[] = {0, 1767225600, 253402300799, info->not_before, info->not_after};

	for (guint i = 0; i < G_N_ELEMENTS(nows); i++) {
		const gchar *status =
			tw_certificate_status_for(info->not_before, info->not_after, nows[i]);

		(void)tw_cert_info_days_left(info, 0, nows[i]);
		(void)tw_cert_info_days_left(info, info->not_before, nows[i]);
		tw_fuzz_check(tw_fuzz_str_ok(status));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) der = g_bytes_new(data, size);
	g_autoptr(TwCertInfo) info = tw_cert_info_parse(der);
	g_autofree gchar *pem = NULL;

	tw_fuzz_check(info != NULL);
	tw_fuzz_check(g_bytes_equal(info->der, der));
	tw_fuzz_check(tw_fuzz_str_ok(info->subject));
	tw_fuzz_check(tw_fuzz_str_ok(info->common_name));
	tw_fuzz_check(tw_fuzz_str_ok(info->issuer));
	tw_fuzz_check(tw_fuzz_str_ok(info->issuer_organization));
	tw_fuzz_check(tw_fuzz_str_ok(info->serial_hex));
	tw_fuzz_check(tw_fuzz_str_ok(info->serial_decimal));
	tw_fuzz_check(tw_fuzz_str_ok(info->key_type));
	tw_fuzz_check(tw_fuzz_strv_ok((const gchar *const *)info->qc_types));
	tw_fuzz_check(tw_fuzz_strv_ok((const gchar *const *)info->policies));
	tw_fuzz_check(tw_fuzz_strv_ok((const gchar *const *)info->key_usage));
	tw_fuzz_check(tw_fuzz_is_hex(info->sha256, 64));
	tw_fuzz_check(strncmp(info->id, info->sha256, 16) == 0 && strlen(info->id) == 16);
	tw_fuzz_check(info->error == NULL || tw_fuzz_str_ok(info->error));
	tw_fuzz_check(tw_fuzz_str_ok(tw_cert_kind_to_string(info->kind)));
	tw_fuzz_check_times(info);

	pem = tw_cert_info_to_pem(info);
	tw_fuzz_check(g_str_has_prefix(pem, "-----BEGIN CERTIFICATE-----\n"));
	return 0;
}
