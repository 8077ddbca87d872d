/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Reading one DER certificate with OpenSSL 3 and telling what it is:
 * qualified (ETSI EN 319 412-5 QCStatements), personal (EN 319 411-1
 * policies), a CA or something else. The rules, in the order applied, and
 * the odd encodings that are read anyway: docs/classification.md.
 *
 * OpenSSL 3.0 has no QCStatements type, so that extension is read by hand,
 * element by element, with ASN1_get_object(): a damaged extension then
 * still gives whatever came before the damage.
 */
#define G_LOG_DOMAIN "TwCert"

#include "config.h"

/* the OpenSSL 3.0 API only, nothing deprecated */
#define OPENSSL_API_COMPAT 30000

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "tw-cert.h"
#include "tw-names.h"

/* ETSI EN 319 412-5 clause 4 (QCStatements, in extension 1.3.6.1.5.5.7.1.3) */
#define TW_OID_QC_COMPLIANCE "0.4.0.1862.1.1"
#define TW_OID_QC_SSCD	     "0.4.0.1862.1.4"
#define TW_OID_QC_TYPE	     "0.4.0.1862.1.6"
#define TW_OID_QCT_ESIGN     "0.4.0.1862.1.6.1"
#define TW_OID_QCT_ESEAL     "0.4.0.1862.1.6.2"
#define TW_OID_QCT_WEB	     "0.4.0.1862.1.6.3"

/* ETSI EN 319 411-1 clause 5.2 and EN 319 411-2 clause 5.3 */
#define TW_OID_NCP	  "0.4.0.2042.1.1"
#define TW_OID_NCP_PLUS	  "0.4.0.2042.1.2"
#define TW_OID_LCP	  "0.4.0.2042.1.3"
#define TW_OID_QCP_N	  "0.4.0.194112.1.0"
#define TW_OID_QCP_L	  "0.4.0.194112.1.1"
#define TW_OID_QCP_N_QSCD "0.4.0.194112.1.2"
#define TW_OID_QCP_L_QSCD "0.4.0.194112.1.3"
#define TW_OID_QCP_W	  "0.4.0.194112.1.4"
#define TW_OID_QNCP_W	  "0.4.0.194112.1.5"
#define TW_OID_QNCP_W_GEN "0.4.0.194112.1.6"

/* lists inside lists inside the QCStatements: more is not read */
#define TW_QC_MAX_DEPTH 4

#define TW_SECONDS_PER_DAY 86400

/* RFC 4514 (RFC 2253 order and escaping), in UTF-8 rather than \XX escapes */
#define TW_CERT_NAME_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)

typedef struct {
	const gchar *oid;
	const gchar *name;
} TwCertPolicyName;

/* qualified policies, EN 319 411-2 clause 5.3 */
static const TwCertPolicyName tw_cert_qualified_policies[] = {
	{TW_OID_QCP_N, "QCP-n"},	   {TW_OID_QCP_L, "QCP-l"},
	{TW_OID_QCP_N_QSCD, "QCP-n-qscd"}, {TW_OID_QCP_L_QSCD, "QCP-l-qscd"},
	{TW_OID_QCP_W, "QCP-w"},	   {TW_OID_QNCP_W, "QNCP-w"},
	{TW_OID_QNCP_W_GEN, "QNCP-w-gen"},
};

/* policies under which a natural person's certificate is "personal":
 * EN 319 411-1 NCP, NCP+, LCP, and the natural-person QCPs of EN 319 411-2,
 * which include the NCP (QCP-n) and NCP+ (QCP-n-qscd) requirements */
static const gchar *const tw_cert_personal_policies[] = {
	TW_OID_NCP, TW_OID_NCP_PLUS, TW_OID_LCP, TW_OID_QCP_N, TW_OID_QCP_N_QSCD,
};

/* RFC 5280 section 4.2.1.3, by bit number; X.509 (2005 on) calls bit 1
 * contentCommitment, RFC 5280 keeps nonRepudiation */
static const gchar *const tw_cert_key_usage_names[] = {
	"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
	"keyCertSign",	    "cRLSign",	      "encipherOnly",	 "decipherOnly",
};

typedef struct {
	TwCertInfo *info;
	GPtrArray *notes;      /* English sentences, the future info->error */
	GPtrArray *qc_types;   /* gchar*, as encoded, without duplicates */
	GPtrArray *policies;   /* gchar* */
	gboolean qc_type_seen; /* the QcType statement is there */
	gboolean qc_broken;    /* the QCStatements end early or hold garbage */
	gboolean natural_person;
} TwCertCtx;

/* one DER element; its contents never reach beyond the input */
typedef struct {
	const guint8 *tlv; /* the header */
	gsize tlv_len;	   /* header and the contents that are there */
	const guint8 *content;
	gsize len;
	gint tag;
	gint xclass;
	gboolean constructed;
	gboolean truncated; /* the header promised more than there is */
} TwDer;

const gchar *
tw_cert_kind_to_string(TwCertKind kind)
{
	switch (kind) {
	case TW_CERT_KIND_QUALIFIED_ESIGN_QSCD:
		return "qualified-esign-qscd";
	case TW_CERT_KIND_QUALIFIED_ESIGN:
		return "qualified-esign";
	case TW_CERT_KIND_QUALIFIED_ESEAL_QSCD:
		return "qualified-eseal-qscd";
	case TW_CERT_KIND_QUALIFIED_ESEAL:
		return "qualified-eseal";
	case TW_CERT_KIND_QUALIFIED_WEB:
		return "qualified-web";
	case TW_CERT_KIND_NON_QUALIFIED_PERSONAL:
		return "non-qualified-personal";
	case TW_CERT_KIND_CA:
		return "ca";
	case TW_CERT_KIND_OTHER:
	default:
		return "other";
	}
}

static void tw_cert_note(TwCertCtx *ctx, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

/* adds a sentence to info->error, once; the caller logs it, with context */
static void
tw_cert_note(TwCertCtx *ctx, const gchar *format, ...)
{
	va_list args;
	gchar *sentence;

	va_start(args, format);
	sentence = g_strdup_vprintf(format, args);
	va_end(args);
	if (g_ptr_array_find_with_equal_func(ctx->notes, sentence, g_str_equal, NULL)) {
		g_free(sentence);
		return;
	}
	g_ptr_array_add(ctx->notes, sentence);
}

static gboolean
tw_cert_str_in(GPtrArray *array, const gchar *str)
{
	return g_ptr_array_find_with_equal_func(array, str, g_str_equal, NULL);
}

/* -- DER, element by element ------------------------------------------- */

/* reads the element at *pos; FALSE when not even its header is there or
 * it has an indefinite length (not DER) */
static gboolean
tw_der_next(const guint8 **pos, const guint8 *end, TwDer *out)
{
	const unsigned char *p = *pos;
	long avail = end - *pos;
	long len = 0;
	int tag = 0;
	int xclass = 0;
	int ret;

	if (avail <= 0)
		return FALSE;
	ret = ASN1_get_object(&p, &len, &tag, &xclass, avail);
	if (p == *pos || (ret & 0x01) != 0)
		return FALSE;
	out->tlv = *pos;
	out->content = p;
	out->truncated = len > end - p;
	out->len = out->truncated ? (gsize)(end - p) : (gsize)len;
	out->tlv_len = (gsize)(p - *pos) + out->len;
	out->tag = tag;
	out->xclass = xclass;
	out->constructed = (ret & V_ASN1_CONSTRUCTED) != 0;
	*pos = p + out->len;
	return TRUE;
}

static gboolean
tw_der_is(const TwDer *der, gint tag)
{
	return der->xclass == V_ASN1_UNIVERSAL && der->tag == tag &&
	       der->constructed == (tag == V_ASN1_SEQUENCE || tag == V_ASN1_SET);
}

/* the first element inside a SEQUENCE */
static gboolean
tw_der_first_child(const TwDer *der, TwDer *child)
{
	const guint8 *p = der->content;

	if (!tw_der_is(der, V_ASN1_SEQUENCE))
		return FALSE;
	return tw_der_next(&p, der->content + der->len, child);
}

static gchar *
tw_cert_oid_text(const ASN1_OBJECT *obj)
{
	gchar buf[128];
	gchar *out;
	int n = OBJ_obj2txt(buf, sizeof(buf), obj, 1);

	if (n <= 0)
		return NULL;
	if ((gsize)n < sizeof(buf))
		return g_strdup(buf);
	out = g_malloc((gsize)n + 1);
	OBJ_obj2txt(out, n + 1, obj, 1);
	return out;
}

/* dotted text of an OBJECT IDENTIFIER element, NULL if it is none */
static gchar *
tw_der_oid(const TwDer *der)
{
	const unsigned char *p = der->tlv;
	ASN1_OBJECT *obj;
	gchar *text;

	if (!tw_der_is(der, V_ASN1_OBJECT) || der->truncated)
		return NULL;
	obj = d2i_ASN1_OBJECT(NULL, &p, (long)der->tlv_len);
	if (obj == NULL)
		return NULL;
	text = tw_cert_oid_text(obj);
	ASN1_OBJECT_free(obj);
	return text;
}

/* -- QCStatements (RFC 3739 3.2.6, ETSI EN 319 412-5) --------------------- */

static void
tw_cert_add_qc_type(TwCertCtx *ctx, const TwDer *der)
{
	g_autofree gchar *oid = tw_der_oid(der);
	const gchar *name;

	if (oid == NULL) {
		ctx->qc_broken = TRUE;
		return;
	}
	if (g_str_equal(oid, TW_OID_QCT_ESIGN))
		name = "esign";
	else if (g_str_equal(oid, TW_OID_QCT_ESEAL))
		name = "eseal";
	else if (g_str_equal(oid, TW_OID_QCT_WEB))
		name = "web";
	else
		name = oid;
	if (!tw_cert_str_in(ctx->qc_types, name))
		g_ptr_array_add(ctx->qc_types, g_strdup(name));
}

/* QcType ::= SEQUENCE OF OBJECT IDENTIFIER; a bare OBJECT IDENTIFIER (or
 * several) is read as a list of one (or several) */
static void
tw_cert_read_qc_type(TwCertCtx *ctx, const guint8 *p, const guint8 *end)
{
	TwDer types;
	TwDer type;
	const guint8 *q;

	ctx->qc_type_seen = TRUE;
	if (!tw_der_next(&p, end, &types)) {
		if (p < end)
			ctx->qc_broken = TRUE;
		tw_cert_note(ctx, "The QcType statement names no type.");
		return;
	}
	if (tw_der_is(&types, V_ASN1_OBJECT)) {
		tw_cert_note(ctx, "The QcType statement holds a bare OBJECT IDENTIFIER instead of "
				  "a SEQUENCE OF them; it was read as a list.");
		tw_cert_add_qc_type(ctx, &types);
		while (tw_der_next(&p, end, &type))
			tw_cert_add_qc_type(ctx, &type);
		return;
	}
	if (!tw_der_is(&types, V_ASN1_SEQUENCE)) {
		tw_cert_note(ctx, "The QcType statement is not a SEQUENCE OF OBJECT IDENTIFIER; "
				  "it was ignored.");
		return;
	}
	if (types.truncated)
		ctx->qc_broken = TRUE;
	q = types.content;
	while (tw_der_next(&q, types.content + types.len, &type))
		tw_cert_add_qc_type(ctx, &type);
	if (q < types.content + types.len)
		ctx->qc_broken = TRUE;
}

/* QCStatement ::= SEQUENCE { statementId OID, statementInfo ANY OPTIONAL } */
static void
tw_cert_read_qc_statement(TwCertCtx *ctx, const TwDer *statement)
{
	const guint8 *p = statement->content;
	const guint8 *end = statement->content + statement->len;
	g_autofree gchar *oid = NULL;
	TwDer id;

	if (statement->truncated)
		ctx->qc_broken = TRUE;
	if (!tw_der_next(&p, end, &id) || (oid = tw_der_oid(&id)) == NULL) {
		ctx->qc_broken = TRUE;
		return;
	}
	if (g_str_equal(oid, TW_OID_QC_COMPLIANCE))
		ctx->info->qc_compliance = TRUE;
	else if (g_str_equal(oid, TW_OID_QC_SSCD))
		ctx->info->qc_sscd = TRUE;
	else if (g_str_equal(oid, TW_OID_QC_TYPE))
		tw_cert_read_qc_type(ctx, p, end);
	/* any other statement: nothing tokenwatch uses */
}

/*
 * Reads the elements in [p, end). Depth 0 is the extension's value, which
 * should hold one SEQUENCE OF QCStatement; depth 1 is that list. A
 * statement at depth 0 means the outer SEQUENCE is missing; a list at depth
 * 1 or deeper means an extra SEQUENCE around the statements.
 */
static void
tw_cert_read_qc_list(TwCertCtx *ctx, const guint8 *p, const guint8 *end, guint depth)
{
	for (guint n = 0; p < end; n++) {
		TwDer element;
		TwDer first;

		if (!tw_der_next(&p, end, &element)) {
			ctx->qc_broken = TRUE;
			return;
		}
		if (element.truncated)
			ctx->qc_broken = TRUE;
		if (tw_der_is(&element, V_ASN1_SEQUENCE) && element.len == 0)
			continue;
		if (!tw_der_first_child(&element, &first)) {
			ctx->qc_broken = TRUE;
			continue;
		}
		if (tw_der_is(&first, V_ASN1_OBJECT)) {
			if (depth == 0)
				tw_cert_note(ctx,
					     "The QCStatements extension lacks its outer SEQUENCE; "
					     "the statements were read without it.");
			tw_cert_read_qc_statement(ctx, &element);
		} else if (tw_der_is(&first, V_ASN1_SEQUENCE) && depth < TW_QC_MAX_DEPTH) {
			if (depth > 0)
				tw_cert_note(ctx,
					     "The QCStatements are wrapped in an extra SEQUENCE; "
					     "the statements inside were read.");
			else if (n > 0)
				tw_cert_note(ctx, "The QCStatements extension holds more than one "
						  "SEQUENCE; all were read.");
			tw_cert_read_qc_list(ctx, element.content, element.content + element.len,
					     depth + 1);
		} else {
			ctx->qc_broken = TRUE;
		}
	}
}

static void
tw_cert_read_qc_extension(TwCertCtx *ctx, const X509 *x509)
{
	int idx = X509_get_ext_by_NID(x509, NID_qcStatements, -1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *value;
	const guint8 *data;
	int len;

	if (idx < 0)
		return;
	if (X509_get_ext_by_NID(x509, NID_qcStatements, idx) >= 0)
		tw_cert_note(ctx, "The QCStatements extension appears more than once; "
				  "the first was read.");
	ext = X509_get_ext(x509, idx);
	if (X509_EXTENSION_get_critical(ext))
		tw_cert_note(ctx, "The QCStatements extension is marked critical, which "
				  "EN 319 412-5 does not allow; it was read all the same.");
	value = X509_EXTENSION_get_data(ext);
	data = ASN1_STRING_get0_data(value);
	len = ASN1_STRING_length(value);
	if (data == NULL || len <= 0) {
		tw_cert_note(ctx, "The QCStatements extension is empty.");
		return;
	}
	tw_cert_read_qc_list(ctx, data, data + len, 0);
	if (ctx->qc_broken)
		tw_cert_note(ctx, "The QCStatements extension is truncated or malformed; what came "
				  "before the damage was read.");
}

/* -- the rest of the certificate ------------------------------------------ */

/* RFC 4514 text of a name: valid UTF-8, no control characters */
static gchar *
tw_cert_name_text(TwCertCtx *ctx, const X509_NAME *name, const gchar *what)
{
	BIO *bio = BIO_new(BIO_s_mem());
	g_autofree gchar *raw = NULL;
	char *data = NULL;
	long len = 0;

	/* OpenSSL 3.0 decodes no certificate whose names it cannot print
	 * (it converts them to UTF-8 while decoding); this is for safety */
	if (bio == NULL || X509_NAME_print_ex(bio, name, 0, TW_CERT_NAME_FLAGS) < 0) {
		tw_cert_note(ctx, "The %s could not be read.", what);
		BIO_free(bio);
		return g_strdup("");
	}
	len = BIO_get_mem_data(bio, &data);
	raw = g_strndup(data != NULL ? data : "", len > 0 ? (gsize)len : 0);
	BIO_free(bio);
	if (!g_utf8_validate(raw, -1, NULL))
		tw_cert_note(ctx, "The %s holds bytes that are not UTF-8; they were replaced.",
			     what);
	return tw_names_make_display(raw, 0);
}

/* the value of the last attribute @nid in @name, "" if none */
static gchar *
tw_cert_name_last(const X509_NAME *name, int nid)
{
	int idx = -1;
	int last = -1;
	const ASN1_STRING *value;
	unsigned char *utf8 = NULL;
	g_autofree gchar *raw = NULL;
	int n;

	while ((idx = X509_NAME_get_index_by_NID(name, nid, idx)) >= 0)
		last = idx;
	if (last < 0)
		return g_strdup("");
	value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
	n = ASN1_STRING_to_UTF8(&utf8, value);
	if (n >= 0) {
		raw = g_strndup(utf8 != NULL ? (const gchar *)utf8 : "", (gsize)n);
		OPENSSL_free(utf8);
	} else {
		/* not a string type, or not valid in its type: the bytes */
		const guint8 *bytes = ASN1_STRING_get0_data(value);
		int len = ASN1_STRING_length(value);

		raw = g_strndup(bytes != NULL ? (const gchar *)bytes : "",
				len > 0 ? (gsize)len : 0);
	}
	return tw_names_make_display(raw, 0);
}

/*
 * A natural person's subject (EN 319 412-2 clause 4.2.4) has givenName,
 * surname or pseudonym; a legal person's (EN 319 412-3 clause 4.2.1) has
 * organizationIdentifier. Failing both, a CN alone counts as a person.
 */
static gboolean
tw_cert_is_natural_person(const X509_NAME *subject)
{
	if (X509_NAME_get_index_by_NID(subject, NID_givenName, -1) >= 0 ||
	    X509_NAME_get_index_by_NID(subject, NID_surname, -1) >= 0 ||
	    X509_NAME_get_index_by_NID(subject, NID_pseudonym, -1) >= 0)
		return TRUE;
	return X509_NAME_get_index_by_NID(subject, NID_commonName, -1) >= 0 &&
	       X509_NAME_get_index_by_NID(subject, NID_organizationIdentifier, -1) < 0;
}

static void
tw_cert_read_names(TwCertCtx *ctx, const X509 *x509)
{
	const X509_NAME *subject = X509_get_subject_name(x509);
	const X509_NAME *issuer = X509_get_issuer_name(x509);

	ctx->info->subject = tw_cert_name_text(ctx, subject, "subject");
	ctx->info->common_name = tw_cert_name_last(subject, NID_commonName);
	ctx->info->issuer = tw_cert_name_text(ctx, issuer, "issuer");
	ctx->info->issuer_organization = tw_cert_name_last(issuer, NID_organizationName);
	ctx->natural_person = tw_cert_is_natural_person(subject);
}

static gint64
tw_cert_time(const ASN1_TIME *time)
{
	struct tm tm = {0};

	if (time == NULL || !ASN1_TIME_to_tm(time, &tm))
		return 0;
	return (gint64)timegm(&tm);
}

static void
tw_cert_read_serial_and_validity(TwCertCtx *ctx, const X509 *x509)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), NULL);

	if (bn != NULL) {
		char *hex = BN_bn2hex(bn);
		char *dec = BN_bn2dec(bn);

		ctx->info->serial_hex = g_strdup(hex != NULL ? hex : "");
		ctx->info->serial_decimal = g_strdup(dec != NULL ? dec : "");
		OPENSSL_free(hex);
		OPENSSL_free(dec);
		BN_free(bn);
	} else {
		tw_cert_note(ctx, "The serial number could not be read.");
	}
	ctx->info->not_before = tw_cert_time(X509_get0_notBefore(x509));
	ctx->info->not_after = tw_cert_time(X509_get0_notAfter(x509));
	if (ctx->info->not_before == 0 || ctx->info->not_after == 0)
		tw_cert_note(ctx, "The validity dates could not be read.");
}

static void
tw_cert_read_key(TwCertCtx *ctx, const X509 *x509)
{
	EVP_PKEY *pkey = X509_get0_pubkey(x509);
	const gchar *type = "other";
	size_t raw_len = 0;
	int bits = 0;

	if (pkey != NULL) {
		if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS"))
			type = "rsa";
		else if (EVP_PKEY_is_a(pkey, "EC"))
			type = "ec";
		else if (EVP_PKEY_is_a(pkey, "ED25519"))
			type = "ed25519";
		else if (EVP_PKEY_is_a(pkey, "ED448"))
			type = "ed448";
		bits = EVP_PKEY_get_bits(pkey);
		/* EdDSA: the size of the public key, as for the others
		 * (OpenSSL says 253 for Ed25519) */
		if (g_str_has_prefix(type, "ed") &&
		    EVP_PKEY_get_raw_public_key(pkey, NULL, &raw_len) && raw_len > 0)
			bits = (int)raw_len * 8;
	}
	ctx->info->key_type = g_strdup(type);
	ctx->info->key_bits = bits > 0 ? (guint)bits : 0;
}

/* X509_get_ext_d2i(), noting an extension that is there but undecodable */
static void *
tw_cert_ext_d2i(TwCertCtx *ctx, const X509 *x509, int nid, const gchar *what)
{
	int crit = -1;
	void *ext = X509_get_ext_d2i(x509, nid, &crit, NULL);

	if (ext == NULL && crit == -2)
		tw_cert_note(ctx, "The %s extension appears more than once; it was ignored.", what);
	else if (ext == NULL && crit >= 0)
		tw_cert_note(ctx, "The %s extension could not be decoded; it was ignored.", what);
	return ext;
}

static void
tw_cert_read_extensions(TwCertCtx *ctx, const X509 *x509)
{
	BASIC_CONSTRAINTS *bc =
		tw_cert_ext_d2i(ctx, x509, NID_basic_constraints, "basicConstraints");
	ASN1_BIT_STRING *ku = tw_cert_ext_d2i(ctx, x509, NID_key_usage, "keyUsage");
	CERTIFICATEPOLICIES *cp =
		tw_cert_ext_d2i(ctx, x509, NID_certificate_policies, "certificatePolicies");
	GPtrArray *usage = g_ptr_array_new();

	ctx->info->is_ca = bc != NULL && bc->ca != 0;
	for (guint i = 0; ku != NULL && i < G_N_ELEMENTS(tw_cert_key_usage_names); i++) {
		if (ASN1_BIT_STRING_get_bit(ku, (int)i))
			g_ptr_array_add(usage, g_strdup(tw_cert_key_usage_names[i]));
	}
	g_ptr_array_add(usage, NULL);
	ctx->info->key_usage = (gchar **)g_ptr_array_free(usage, FALSE);
	for (int i = 0; i < sk_POLICYINFO_num(cp); i++) {
		const POLICYINFO *policy = sk_POLICYINFO_value(cp, i);
		gchar *oid = policy != NULL ? tw_cert_oid_text(policy->policyid) : NULL;

		if (oid != NULL)
			g_ptr_array_add(ctx->policies, oid);
	}
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	CERTIFICATEPOLICIES_free(cp);
}

/* -- classification (docs/classification.md) -------------------------- */

static TwCertKind
tw_cert_classify_qualified(TwCertCtx *ctx)
{
	gboolean esign = tw_cert_str_in(ctx->qc_types, "esign");
	gboolean eseal = tw_cert_str_in(ctx->qc_types, "eseal");
	gboolean web = tw_cert_str_in(ctx->qc_types, "web");
	gboolean sscd = ctx->info->qc_sscd;
	guint known = (guint)esign + (guint)eseal + (guint)web;

	if (known > 1)
		tw_cert_note(ctx,
			     "QcType names %u types where EN 319 412-5 allows one; %s was "
			     "used (esign goes before eseal, eseal before web).",
			     known, esign ? "esign" : "eseal");
	else if (known == 0 && ctx->qc_type_seen)
		tw_cert_note(ctx, "QcType names no known type; the certificate was taken to "
				  "be for electronic signatures.");
	if (esign || known == 0)
		return sscd ? TW_CERT_KIND_QUALIFIED_ESIGN_QSCD : TW_CERT_KIND_QUALIFIED_ESIGN;
	if (eseal)
		return sscd ? TW_CERT_KIND_QUALIFIED_ESEAL_QSCD : TW_CERT_KIND_QUALIFIED_ESEAL;
	return TW_CERT_KIND_QUALIFIED_WEB;
}

static TwCertKind
tw_cert_classify(TwCertCtx *ctx)
{
	gboolean personal = FALSE;

	if (ctx->info->is_ca)
		return TW_CERT_KIND_CA;
	if (ctx->info->qc_compliance)
		return tw_cert_classify_qualified(ctx);

	for (guint i = 0; i < G_N_ELEMENTS(tw_cert_qualified_policies); i++) {
		if (tw_cert_str_in(ctx->policies, tw_cert_qualified_policies[i].oid))
			tw_cert_note(ctx,
				     "The policy %s (%s) claims a qualified certificate but "
				     "QcCompliance is missing; it is not taken as qualified.",
				     tw_cert_qualified_policies[i].name,
				     tw_cert_qualified_policies[i].oid);
	}
	if (ctx->info->qc_sscd)
		tw_cert_note(ctx, "QcSSCD is present without QcCompliance; the certificate is not "
				  "taken as qualified.");
	for (guint i = 0; i < G_N_ELEMENTS(tw_cert_personal_policies); i++)
		personal = personal || tw_cert_str_in(ctx->policies, tw_cert_personal_policies[i]);
	if (personal && ctx->natural_person)
		return TW_CERT_KIND_NON_QUALIFIED_PERSONAL;
	return TW_CERT_KIND_OTHER;
}

/* -- the API -------------------------------------------------------------- */

static gchar **
tw_cert_strv_steal(GPtrArray *array)
{
	g_ptr_array_add(array, NULL);
	return (gchar **)g_ptr_array_free(array, FALSE);
}

static void
tw_cert_read_x509(TwCertCtx *ctx, const X509 *x509)
{
	tw_cert_read_names(ctx, x509);
	tw_cert_read_serial_and_validity(ctx, x509);
	tw_cert_read_key(ctx, x509);
	tw_cert_read_extensions(ctx, x509);
	tw_cert_read_qc_extension(ctx, x509);
	ctx->info->kind = tw_cert_classify(ctx);
}

static void
tw_cert_note_not_x509(TwCertCtx *ctx)
{
	const char *reason = ERR_reason_error_string(ERR_peek_error());

	if (reason != NULL)
		tw_cert_note(ctx, "The data is not a DER-encoded X.509 certificate (OpenSSL: %s).",
			     reason);
	else
		tw_cert_note(ctx, "The data is not a DER-encoded X.509 certificate.");
}

/* what was not read is "" or empty, never NULL */
static void
tw_cert_info_fill_defaults(TwCertInfo *info)
{
	gchar **strings[] = {&info->subject,	&info->common_name,
			     &info->issuer,	&info->issuer_organization,
			     &info->serial_hex, &info->serial_decimal};

	for (guint i = 0; i < G_N_ELEMENTS(strings); i++) {
		if (*strings[i] == NULL)
			*strings[i] = g_strdup("");
	}
	if (info->key_type == NULL)
		info->key_type = g_strdup("other");
	if (info->key_usage == NULL)
		info->key_usage = g_new0(gchar *, 1);
}

/**
 * tw_cert_info_parse:
 * @der: (nullable): the certificate as DER, or anything at all
 *
 * Reads @der. Never fails: what cannot be read stays empty, kind is then
 * "other", and info->error says why. The SHA-256 and the id are always set.
 *
 * Returns: (transfer full): the information, never NULL
 */
TwCertInfo *
tw_cert_info_parse(GBytes *der)
{
	TwCertInfo *info = g_new0(TwCertInfo, 1);
	TwCertCtx ctx = {
		.info = info,
		.notes = g_ptr_array_new_with_free_func(g_free),
		.qc_types = g_ptr_array_new_with_free_func(g_free),
		.policies = g_ptr_array_new_with_free_func(g_free),
	};
	const guint8 *data;
	const unsigned char *p;
	gsize len = 0;
	X509 *x509 = NULL;

	info->der = der != NULL ? g_bytes_ref(der) : g_bytes_new(NULL, 0);
	data = g_bytes_get_data(info->der, &len);
	info->sha256 = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
	info->id = g_strndup(info->sha256, 16);

	p = data;
	if (len == 0)
		tw_cert_note(&ctx, "The certificate is empty.");
	else if (len > G_MAXLONG || (x509 = d2i_X509(NULL, &p, (long)len)) == NULL)
		tw_cert_note_not_x509(&ctx);
	if (x509 != NULL) {
		if (p != data + len)
			tw_cert_note(&ctx,
				     "%" G_GSIZE_FORMAT
				     " bytes after the certificate were ignored.",
				     (gsize)(data + len - p));
		tw_cert_read_x509(&ctx, x509);
		X509_free(x509);
	}
	/* what OpenSSL queued while reading stays here */
	ERR_clear_error();

	tw_cert_info_fill_defaults(info);
	info->qc_types = tw_cert_strv_steal(ctx.qc_types);
	info->policies = tw_cert_strv_steal(ctx.policies);
	if (ctx.notes->len > 0) {
		g_ptr_array_add(ctx.notes, NULL);
		info->error = g_strjoinv(" ", (gchar **)ctx.notes->pdata);
	}
	g_ptr_array_unref(ctx.notes);
	return info;
}

void
tw_cert_info_free(TwCertInfo *info)
{
	if (info == NULL)
		return;
	g_bytes_unref(info->der);
	g_free(info->subject);
	g_free(info->common_name);
	g_free(info->issuer);
	g_free(info->issuer_organization);
	g_free(info->serial_hex);
	g_free(info->serial_decimal);
	g_strfreev(info->qc_types);
	g_strfreev(info->policies);
	g_free(info->key_type);
	g_strfreev(info->key_usage);
	g_free(info->sha256);
	g_free(info->id);
	g_free(info->error);
	g_free(info);
}

/**
 * tw_cert_info_to_pem:
 *
 * Returns: the DER as a PEM "CERTIFICATE" block with lines of 64 characters,
 * whatever the DER holds
 */
gchar *
tw_cert_info_to_pem(const TwCertInfo *info)
{
	gsize len = 0;
	const guint8 *data =
		info != NULL && info->der != NULL ? g_bytes_get_data(info->der, &len) : NULL;
	g_autofree gchar *base64 = g_base64_encode(data, len);
	gsize n = strlen(base64);
	GString *pem = g_string_new("-----BEGIN CERTIFICATE-----\n");

	for (gsize i = 0; i < n; i += 64) {
		g_string_append_len(pem, base64 + i, (gssize)MIN(64, n - i));
		g_string_append_c(pem, '\n');
	}
	g_string_append(pem, "-----END CERTIFICATE-----\n");
	return g_string_free(pem, FALSE);
}

/**
 * tw_cert_info_days_left:
 * @info: (nullable): the certificate
 * @effective_not_after: the end that counts (Unix seconds), or 0 for
 *   info->not_after
 * @now: Unix seconds
 *
 * Returns: whole days from @now to the end, rounded down: 0 in the last 24
 * hours, -1 in the first 24 hours after it; G_MAXINT when the end is unknown
 */
gint
tw_cert_info_days_left(const TwCertInfo *info, gint64 effective_not_after, gint64 now)
{
	/* far beyond any date a certificate holds: no overflow below */
	const gint64 limit = G_GINT64_CONSTANT(1) << 48;
	gint64 end = effective_not_after;
	gint64 diff;
	gint64 days;

	if (end == 0 && info != NULL)
		end = info->not_after;
	if (end == 0)
		return G_MAXINT;
	diff = CLAMP(end, -limit, limit) - CLAMP(now, -limit, limit);
	if (diff >= 0)
		days = diff / TW_SECONDS_PER_DAY;
	else
		days = -((-diff + TW_SECONDS_PER_DAY - 1) / TW_SECONDS_PER_DAY);
	return (gint)CLAMP(days, G_MININT, G_MAXINT);
}
