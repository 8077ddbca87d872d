/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * What a certificate is, read from the certificate alone. The rules, their
 * order and the standards behind them: docs/classification.md.
 */
typedef enum {
	TW_CERT_KIND_OTHER = 0,
	TW_CERT_KIND_QUALIFIED_ESIGN_QSCD,
	TW_CERT_KIND_QUALIFIED_ESIGN,
	TW_CERT_KIND_QUALIFIED_ESEAL_QSCD,
	TW_CERT_KIND_QUALIFIED_ESEAL,
	TW_CERT_KIND_QUALIFIED_WEB,
	TW_CERT_KIND_NON_QUALIFIED_PERSONAL,
	TW_CERT_KIND_CA,
} TwCertKind;

const gchar *tw_cert_kind_to_string(TwCertKind kind);

/*
 * TwCertInfo:
 * Everything tokenwatch reads from one DER certificate. Every string is
 * valid UTF-8 and never NULL ("" when unknown), except @error; every strv
 * is NULL-terminated and never NULL (empty when there is nothing).
 */
typedef struct {
	GBytes *der;		    /* the bytes that were parsed, as given */
	gchar *subject;		    /* RFC 4514; "" if unknown */
	gchar *common_name;	    /* the last CN of the subject, "" if none */
	gchar *issuer;		    /* RFC 4514; "" if unknown */
	gchar *issuer_organization; /* the last O of the issuer, "" if none */
	gchar *serial_hex;	    /* upper-case hex of whole bytes, "-" first when negative */
	gchar *serial_decimal;	    /* decimal, "-" first when negative */
	gint64 not_before;	    /* Unix seconds, UTC; 0 = unknown */
	gint64 not_after;	    /* Unix seconds, UTC; 0 = unknown */
	TwCertKind kind;
	gboolean qc_compliance; /* QcCompliance 0.4.0.1862.1.1 present */
	gboolean qc_sscd;	/* QcSSCD 0.4.0.1862.1.4 present */
	gchar **qc_types;	/* "esign", "eseal", "web" or a dotted OID, in order */
	gchar **policies;	/* certificatePolicies OIDs, dotted, in order */
	gboolean is_ca;		/* basicConstraints cA is TRUE */
	gchar *key_type;	/* "rsa", "ec", "ed25519", "ed448" or "other" */
	guint key_bits;		/* RSA modulus, EC field, EdDSA key size; 0 = unknown */
	gchar **key_usage;	/* RFC 5280 names; bit 1 is "nonRepudiation" */
	gchar *sha256;		/* SHA-256 of @der, lower-case hex */
	gchar *id;		/* the first 16 hex digits of @sha256 */
	gchar *error;		/* NULL, or English sentences: why it did not parse, or
				   what was odd in it (it is then read as far as possible) */
} TwCertInfo;

/* never NULL, whatever @der holds (NULL too): see info->error */
TwCertInfo *tw_cert_info_parse(GBytes *der) G_GNUC_WARN_UNUSED_RESULT;
void tw_cert_info_free(TwCertInfo *info);
/* "-----BEGIN CERTIFICATE-----", the DER in base64 lines of 64, the END line */
gchar *tw_cert_info_to_pem(const TwCertInfo *info) G_GNUC_WARN_UNUSED_RESULT;
/* whole days from @now to @effective_not_after (0: info->not_after), rounded
 * down, so -1 in the first day after the end; G_MAXINT when no end is known */
gint tw_cert_info_days_left(const TwCertInfo *info, gint64 effective_not_after, gint64 now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwCertInfo, tw_cert_info_free)

G_END_DECLS
