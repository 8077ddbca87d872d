/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tw-cert: parsing and classification, against the fixtures that
 * tests/data/make-certs.py writes (directory in $TW_CERT_FIXTURES, or the
 * first argument). One test per row of the rules table in
 * docs/classification.md, one per odd encoding, and garbage.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "tw-cert.h"

#define ISSUER	 "CN=tokenwatch Test CA,O=Zkušební autorita\\, s.r.o.,C=CZ"
#define ISSUER_O "Zkušební autorita, s.r.o."
#define PERSON	 "CN=Jan Novák,serialNumber=PNOCZ-1234567890,SN=Novák,GN=Jan,C=CZ"
#define PERSON2	 "CN=Eva Dvořáková,SN=Dvořáková,GN=Eva,C=CZ"
#define CITY	 "CN=Město Příklad – pečeť,organizationIdentifier=NTRCZ-12345678,O=Město Příklad,C=CZ"
#define CITY_CN	 "Město Příklad – pečeť"
#define WEB	 "CN=www.example.cz,organizationIdentifier=VATCZ-87654321,O=Příklad a.s.,C=CZ"
/* 2024-01-15 10:00:00Z and 2027-01-15 09:59:59Z */
#define NB 1705312800
#define NA 1800007199

#define QCP_N	   "0.4.0.194112.1.0"
#define QCP_L	   "0.4.0.194112.1.1"
#define QCP_N_QSCD "0.4.0.194112.1.2"
#define QCP_L_QSCD "0.4.0.194112.1.3"
#define QCP_W	   "0.4.0.194112.1.4"

typedef struct {
	const gchar *name; /* the fixture, without .der */
	TwCertKind kind;
	const gchar *subject;
	const gchar *common_name;
	const gchar *serial_hex;
	const gchar *serial_decimal;
	gint64 not_before;
	gint64 not_after;
	gboolean qc_compliance;
	gboolean qc_sscd;
	const gchar *qc_types; /* joined with '|' */
	const gchar *policies;
	gboolean is_ca;
	const gchar *key_type;
	guint key_bits;
	const gchar *key_usage;
	const gchar *error;  /* a part of it; NULL: no error */
	const gchar *issuer; /* NULL: the test CA */
} Expect;

/* clang-format off */
static const Expect rules[] = {
	/* rule 1: basicConstraints cA, before anything else */
	{"ca", TW_CERT_KIND_CA, ISSUER, "tokenwatch Test CA", "01", "1", 1577836800, 2556144000,
	 FALSE, FALSE, "", "", TRUE, "rsa", 2048, "keyCertSign|cRLSign", NULL, ISSUER},
	{"ca-intermediate-qc", TW_CERT_KIND_CA,
	 "CN=tokenwatch Qualified Sub CA,O=Zkušební autorita\\, s.r.o.,C=CZ",
	 "tokenwatch Qualified Sub CA", "02", "2", 1577836800, 2208988800, TRUE, TRUE, "esign",
	 QCP_N_QSCD, TRUE, "ec", 384, "keyCertSign|cRLSign", NULL, NULL},
	/* rule 2: QcCompliance + QcType esign */
	{"qualified-esign-qscd", TW_CERT_KIND_QUALIFIED_ESIGN_QSCD, PERSON, "Jan Novák",
	 "0123456789ABCDEF0123", "5373003642731685151011", NB, NA, TRUE, TRUE, "esign",
	 QCP_N_QSCD "|1.3.6.1.4.1.99999.1.1", FALSE, "rsa", 2048, "nonRepudiation", NULL, NULL},
	{"qualified-esign", TW_CERT_KIND_QUALIFIED_ESIGN, PERSON2, "Eva Dvořáková", "10", "16", NB,
	 NA, TRUE, FALSE, "esign", QCP_N, FALSE, "ec", 256, "digitalSignature|nonRepudiation", NULL,
	 NULL},
	/* rule 3: QcCompliance without a known QcType */
	{"qualified-no-qctype", TW_CERT_KIND_QUALIFIED_ESIGN_QSCD, PERSON, "Jan Novák", "11", "17",
	 NB, NA, TRUE, TRUE, "", QCP_N_QSCD, FALSE, "rsa", 3072, "nonRepudiation", NULL, NULL},
	{"qualified-unknown-type", TW_CERT_KIND_QUALIFIED_ESIGN, PERSON, "Jan Novák", "16", "22",
	 NB, NA, TRUE, FALSE, "0.4.0.1862.1.6.9", "", FALSE, "rsa", 2048, "nonRepudiation",
	 "QcType names no known type", NULL},
	/* rule 4: QcCompliance + QcType eseal */
	{"qualified-eseal-qscd", TW_CERT_KIND_QUALIFIED_ESEAL_QSCD, CITY, CITY_CN, "12", "18", NB,
	 NA, TRUE, TRUE, "eseal", QCP_L_QSCD, FALSE, "ec", 384, "nonRepudiation", NULL, NULL},
	{"qualified-eseal", TW_CERT_KIND_QUALIFIED_ESEAL, CITY, CITY_CN, "13", "19", NB, NA, TRUE,
	 FALSE, "eseal", QCP_L, FALSE, "ed25519", 256, "digitalSignature|nonRepudiation", NULL,
	 NULL},
	/* rule 5: QcCompliance + QcType web */
	{"qualified-web", TW_CERT_KIND_QUALIFIED_WEB, WEB, "www.example.cz", "14", "20", NB, NA,
	 TRUE, FALSE, "web", QCP_W, FALSE, "rsa", 2048, "digitalSignature|keyEncipherment", NULL,
	 NULL},
	/* rule 6: several QcTypes */
	{"qualified-several-types", TW_CERT_KIND_QUALIFIED_ESIGN_QSCD, PERSON, "Jan Novák", "15",
	 "21", NB, NA, TRUE, TRUE, "eseal|esign", "", FALSE, "rsa", 2048, "nonRepudiation",
	 "QcType names 2 types where EN 319 412-5 allows one; esign was used", NULL},
	/* rule 7: a qualified policy without QcCompliance */
	{"policy-qcp-n-qscd-without-qc", TW_CERT_KIND_NON_QUALIFIED_PERSONAL, PERSON, "Jan Novák",
	 "1A", "26", NB, NA, FALSE, FALSE, "", QCP_N_QSCD, FALSE, "rsa", 2048, "nonRepudiation",
	 "The policy QCP-n-qscd (0.4.0.194112.1.2) claims a qualified certificate but "
	 "QcCompliance is missing", NULL},
	{"policy-qcp-l-without-qc", TW_CERT_KIND_OTHER, CITY, CITY_CN, "1B", "27", NB, NA, FALSE,
	 FALSE, "", QCP_L, FALSE, "rsa", 2048, "nonRepudiation",
	 "The policy QCP-l (0.4.0.194112.1.1) claims", NULL},
	/* rule 8: a personal policy and a natural person */
	{"personal-ncp-plus", TW_CERT_KIND_NON_QUALIFIED_PERSONAL, PERSON2, "Eva Dvořáková", "17",
	 "23", NB, NA, FALSE, FALSE, "", "0.4.0.2042.1.2", FALSE, "ec", 256,
	 "digitalSignature|keyAgreement", NULL, NULL},
	{"personal-lcp-cn-only", TW_CERT_KIND_NON_QUALIFIED_PERSONAL, "CN=Petr Svoboda",
	 "Petr Svoboda", "18", "24", NB, NA, FALSE, FALSE, "", "0.4.0.2042.1.3", FALSE, "rsa", 2048,
	 "digitalSignature", NULL, NULL},
	/* T61String with Latin-1 bytes, a C0 (escaped) and a C1 control (a space) */
	{"name-t61-latin1", TW_CERT_KIND_NON_QUALIFIED_PERSONAL,
	 "CN=Jürgen Müller,OU=a\\01b,O=Müller & Söhne ,C=DE", "Jürgen Müller", "30", "48", NB, NA,
	 FALSE, FALSE, "", "0.4.0.2042.1.2", FALSE, "rsa", 2048, "digitalSignature", NULL, NULL},
	/* rule 9: everything else */
	{"other-ncp-legal-person", TW_CERT_KIND_OTHER, CITY, CITY_CN, "19", "25", NB, NA, FALSE,
	 FALSE, "", "0.4.0.2042.1.1", FALSE, "rsa", 2048, "digitalSignature", NULL, NULL},
	{"other-plain", TW_CERT_KIND_OTHER, "CN=server.example", "server.example", "-05", "-5", NB,
	 NA, FALSE, FALSE, "", "", FALSE, "ed448", 456, "", NULL, NULL},
	/* BMPString and UniversalString (beyond the BMP) */
	{"name-bmp", TW_CERT_KIND_OTHER, "CN=Łukasz Řehoř,O=Ústí 𝄞", "Łukasz Řehoř", "31", "49", NB,
	 NA, FALSE, FALSE, "", "", FALSE, "rsa", 2048, "", NULL, NULL},
};

static const Expect odd[] = {
	{"odd-qc-double-wrap", TW_CERT_KIND_QUALIFIED_ESIGN_QSCD, PERSON, "Jan Novák", "20", "32",
	 NB, NA, TRUE, TRUE, "esign", "", FALSE, "rsa", 2048, "nonRepudiation",
	 "The QCStatements are wrapped in an extra SEQUENCE", NULL},
	{"odd-qc-bare-qctype", TW_CERT_KIND_QUALIFIED_ESEAL_QSCD, CITY, CITY_CN, "21", "33", NB, NA,
	 TRUE, TRUE, "eseal", "", FALSE, "rsa", 2048, "nonRepudiation",
	 "The QcType statement holds a bare OBJECT IDENTIFIER", NULL},
	{"odd-qc-no-outer-seq", TW_CERT_KIND_QUALIFIED_WEB, WEB, "www.example.cz", "22", "34", NB,
	 NA, TRUE, FALSE, "web", "", FALSE, "rsa", 2048, "nonRepudiation",
	 "The QCStatements extension lacks its outer SEQUENCE", NULL},
	{"odd-qc-unknown-statements", TW_CERT_KIND_QUALIFIED_ESIGN_QSCD, PERSON, "Jan Novák", "23",
	 "35", NB, NA, TRUE, TRUE, "esign", "", FALSE, "rsa", 2048, "nonRepudiation", NULL, NULL},
	{"odd-qc-critical", TW_CERT_KIND_QUALIFIED_ESIGN_QSCD, PERSON, "Jan Novák", "24", "36", NB,
	 NA, TRUE, TRUE, "esign", "", FALSE, "rsa", 2048, "nonRepudiation",
	 "The QCStatements extension is marked critical", NULL},
	/* QcSSCD is the statement cut off */
	{"odd-qc-truncated", TW_CERT_KIND_QUALIFIED_ESEAL, CITY, CITY_CN, "25", "37", NB, NA, TRUE,
	 FALSE, "eseal", "", FALSE, "rsa", 2048, "nonRepudiation",
	 "The QCStatements extension is truncated or malformed", NULL},
	{"odd-qc-garbage", TW_CERT_KIND_NON_QUALIFIED_PERSONAL, PERSON2, "Eva Dvořáková", "26",
	 "38", NB, NA, FALSE, FALSE, "", "0.4.0.2042.1.2", FALSE, "rsa", 2048, "nonRepudiation",
	 "The QCStatements extension is truncated or malformed", NULL},
	{"trailing-bytes", TW_CERT_KIND_QUALIFIED_ESIGN_QSCD, PERSON, "Jan Novák",
	 "0123456789ABCDEF0123", "5373003642731685151011", NB, NA, TRUE, TRUE, "esign",
	 QCP_N_QSCD "|1.3.6.1.4.1.99999.1.1", FALSE, "rsa", 2048, "nonRepudiation",
	 "3 bytes after the certificate were ignored.", NULL},
};
/* clang-format on */

static const gchar *fixtures;
static GHashTable *sums; /* file name → SHA-256 from `openssl dgst -sha256` */

static GBytes *
read_fixture(const gchar *name, const gchar *suffix)
{
	g_autofree gchar *path = g_strdup_printf("%s/%s%s", fixtures, name, suffix);
	g_autoptr(GError) error = NULL;
	gchar *data = NULL;
	gsize len = 0;

	g_file_get_contents(path, &data, &len, &error);
	g_assert_no_error(error);
	return g_bytes_new_take(data, len);
}

static TwCertInfo *
parse_fixture(const gchar *name)
{
	g_autoptr(GBytes) der = read_fixture(name, ".der");

	return tw_cert_info_parse(der);
}

static void
assert_text(const gchar *text)
{
	g_assert_nonnull(text);
	g_assert_true(g_utf8_validate(text, -1, NULL));
	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p))
		g_assert_false(g_unichar_iscntrl(g_utf8_get_char(p)));
}

static void
assert_strv(gchar **strv, const gchar *joined)
{
	g_autofree gchar *got = NULL;

	g_assert_nonnull(strv);
	for (guint i = 0; strv[i] != NULL; i++)
		assert_text(strv[i]);
	got = g_strjoinv("|", strv);
	g_assert_cmpstr(got, ==, joined);
}

/* what holds for any input: the invariants of TwCertInfo */
static void
assert_well_formed(const TwCertInfo *info, GBytes *der)
{
	g_autofree gchar *sha256 = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, der);
	const gchar *strings[] = {
		info->subject,	  info->common_name,	info->issuer,	info->issuer_organization,
		info->serial_hex, info->serial_decimal, info->key_type, info->sha256,
		info->id};

	for (guint i = 0; i < G_N_ELEMENTS(strings); i++)
		assert_text(strings[i]);
	g_assert_nonnull(info->qc_types);
	g_assert_nonnull(info->policies);
	g_assert_nonnull(info->key_usage);
	g_assert_true(g_bytes_equal(info->der, der));
	g_assert_cmpstr(info->sha256, ==, sha256);
	g_assert_cmpuint(strlen(info->id), ==, 16);
	g_assert_true(g_str_has_prefix(info->sha256, info->id));
	if (info->error != NULL)
		assert_text(info->error);
	g_assert_nonnull(tw_cert_kind_to_string(info->kind));
}

static void
assert_pem(const TwCertInfo *info, GBytes *der)
{
	g_autofree gchar *pem = tw_cert_info_to_pem(info);
	g_auto(GStrv) lines = g_strsplit(pem, "\n", -1);
	guint n = g_strv_length(lines);
	g_autoptr(GString) body = g_string_new(NULL);
	g_autofree guchar *decoded = NULL;
	gsize len = 0;

	g_assert_cmpuint(n, >=, 3);
	g_assert_cmpstr(lines[0], ==, "-----BEGIN CERTIFICATE-----");
	g_assert_cmpstr(lines[n - 2], ==, "-----END CERTIFICATE-----");
	g_assert_cmpstr(lines[n - 1], ==, "");
	for (guint i = 1; i + 2 < n; i++) {
		if (i + 3 < n)
			g_assert_cmpuint(strlen(lines[i]), ==, 64);
		else
			g_assert_cmpuint(strlen(lines[i]), <=, 64);
		g_string_append(body, lines[i]);
	}
	decoded = g_base64_decode(body->str, &len);
	g_assert_cmpmem(decoded, len, g_bytes_get_data(der, NULL), g_bytes_get_size(der));
}

static void
test_fixture(gconstpointer data)
{
	const Expect *e = data;
	g_autoptr(GBytes) der = read_fixture(e->name, ".der");
	g_autoptr(TwCertInfo) info = tw_cert_info_parse(der);
	g_autofree gchar *file = g_strconcat(e->name, ".der", NULL);

	assert_well_formed(info, der);
	g_assert_cmpstr(tw_cert_kind_to_string(info->kind), ==, tw_cert_kind_to_string(e->kind));
	g_assert_cmpint(info->kind, ==, e->kind);
	g_assert_cmpstr(info->subject, ==, e->subject);
	g_assert_cmpstr(info->common_name, ==, e->common_name);
	g_assert_cmpstr(info->issuer, ==, e->issuer != NULL ? e->issuer : ISSUER);
	g_assert_cmpstr(info->issuer_organization, ==, ISSUER_O);
	g_assert_cmpstr(info->serial_hex, ==, e->serial_hex);
	g_assert_cmpstr(info->serial_decimal, ==, e->serial_decimal);
	g_assert_cmpint(info->not_before, ==, e->not_before);
	g_assert_cmpint(info->not_after, ==, e->not_after);
	g_assert_cmpint(info->qc_compliance, ==, e->qc_compliance);
	g_assert_cmpint(info->qc_sscd, ==, e->qc_sscd);
	assert_strv(info->qc_types, e->qc_types);
	assert_strv(info->policies, e->policies);
	g_assert_cmpint(info->is_ca, ==, e->is_ca);
	g_assert_cmpstr(info->key_type, ==, e->key_type);
	g_assert_cmpuint(info->key_bits, ==, e->key_bits);
	assert_strv(info->key_usage, e->key_usage);
	g_assert_cmpstr(info->sha256, ==, g_hash_table_lookup(sums, file));
	if (e->error == NULL)
		g_assert_null(info->error);
	else
		g_assert_nonnull(strstr(info->error, e->error));

	assert_pem(info, der);
	/* the same text as `openssl x509 -outform PEM`, unless bytes follow the DER */
	if (info->error == NULL) {
		g_autoptr(GBytes) expected = read_fixture(e->name, ".pem");
		g_autofree gchar *pem = tw_cert_info_to_pem(info);

		g_assert_cmpmem(pem, strlen(pem), g_bytes_get_data(expected, NULL),
				g_bytes_get_size(expected));
	}
}

static void
assert_garbage(GBytes *der, const gchar *error)
{
	g_autoptr(TwCertInfo) info = tw_cert_info_parse(der);

	assert_well_formed(info, der);
	assert_pem(info, der);
	g_assert_cmpint(info->kind, ==, TW_CERT_KIND_OTHER);
	g_assert_nonnull(info->error);
	if (error != NULL)
		g_assert_nonnull(strstr(info->error, error));
	g_assert_cmpstr(info->subject, ==, "");
	g_assert_cmpstr(info->serial_hex, ==, "");
	g_assert_cmpstr(info->key_type, ==, "other");
	g_assert_cmpint(info->not_after, ==, 0);
	g_assert_cmpuint(g_strv_length(info->policies), ==, 0);
	g_assert_cmpuint(g_strv_length(info->qc_types), ==, 0);
	g_assert_cmpuint(g_strv_length(info->key_usage), ==, 0);
}

static void
test_garbage_files(void)
{
	static const struct {
		const gchar *name;
		const gchar *error;
	} files[] = {
		{"garbage-empty", "The certificate is empty."},
		{"garbage-one-byte", "is not a DER-encoded X.509 certificate"},
		{"garbage-random", "is not a DER-encoded X.509 certificate"},
		{"garbage-truncated", "is not a DER-encoded X.509 certificate"},
		/* OpenSSL 3.0 refuses a name that is not valid in its type */
		{"garbage-name-invalid-utf8", "(OpenSSL: invalid utf8string)"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autoptr(GBytes) der = read_fixture(files[i].name, ".der");
		g_autofree gchar *file = g_strconcat(files[i].name, ".der", NULL);
		g_autoptr(TwCertInfo) info = tw_cert_info_parse(der);

		g_test_message("%s: %s", files[i].name, info->error);
		assert_garbage(der, files[i].error);
		g_assert_cmpstr(info->sha256, ==, g_hash_table_lookup(sums, file));
	}
}

static void
test_garbage_null(void)
{
	g_autoptr(TwCertInfo) info = tw_cert_info_parse(NULL);
	g_autoptr(GBytes) empty = g_bytes_new(NULL, 0);

	assert_well_formed(info, empty);
	g_assert_cmpstr(info->sha256, ==,
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	g_assert_cmpstr(info->id, ==, "e3b0c44298fc1c14");
	assert_garbage(empty, "empty");
}

/* every prefix of a good certificate, cut at each 37th byte */
static void
test_garbage_truncations(void)
{
	g_autoptr(GBytes) good = read_fixture("qualified-esign-qscd", ".der");
	gsize len = g_bytes_get_size(good);

	for (gsize cut = 0; cut < len; cut += 37) {
		g_autoptr(GBytes) prefix = g_bytes_new_from_bytes(good, 0, cut);

		assert_garbage(prefix, cut == 0 ? "empty" : "not a DER-encoded X.509 certificate");
	}
}

/*
 * Every byte of the QCStatements extension changed, three ways: the
 * signature is not checked, so the certificate still parses and the hand
 * parser meets lengths and tags it never expected.
 */
static void
test_garbage_mutations(void)
{
	static const guint8 qc_oid[] = {0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x03};
	static const guint8 values[] = {0x00, 0x81, 0xff};
	g_autoptr(GBytes) good = read_fixture("odd-qc-unknown-statements", ".der");
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(good, &len);
	const guint8 *ext = memmem(data, len, qc_oid, sizeof(qc_oid));
	gsize start;
	guint damaged = 0;

	g_assert_nonnull(ext);
	start = (gsize)(ext - data);
	/* the extension is about 200 bytes; the signature follows */
	for (gsize at = start; at < MIN(len, start + 220); at++) {
		for (guint v = 0; v < G_N_ELEMENTS(values); v++) {
			g_autofree guint8 *copy = g_memdup2(data, len);
			g_autoptr(GBytes) bytes = NULL;
			g_autoptr(TwCertInfo) info = NULL;

			copy[at] = values[v] == copy[at] ? (guint8)~values[v] : values[v];
			bytes = g_bytes_new(copy, len);
			info = tw_cert_info_parse(bytes);
			assert_well_formed(info, bytes);
			if (info->error != NULL && strstr(info->error, "QCStatements") != NULL)
				damaged++;
		}
	}
	/* the hand parser saw damage and lived */
	g_test_message("%u mutations reported as damaged QCStatements", damaged);
	g_assert_cmpuint(damaged, >, 20);
}

static void
test_kind_strings(void)
{
	static const gchar *const names[] = {
		"other",
		"qualified-esign-qscd",
		"qualified-esign",
		"qualified-eseal-qscd",
		"qualified-eseal",
		"qualified-web",
		"non-qualified-personal",
		"ca",
	};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++)
		g_assert_cmpstr(tw_cert_kind_to_string((TwCertKind)i), ==, names[i]);
	g_assert_cmpstr(tw_cert_kind_to_string((TwCertKind)99), ==, "other");
}

static void
test_days_left(void)
{
	g_autoptr(TwCertInfo) info = parse_fixture("qualified-esign-qscd");
	g_autoptr(TwCertInfo) garbage = tw_cert_info_parse(NULL);
	const gint64 end = NA;

	/* 0 stands for not_after */
	g_assert_cmpint(tw_cert_info_days_left(info, 0, end - 86400), ==, 1);
	g_assert_cmpint(tw_cert_info_days_left(info, end, end - 86400 - 1), ==, 1);
	g_assert_cmpint(tw_cert_info_days_left(info, end, end - 2 * 86400 + 1), ==, 1);
	g_assert_cmpint(tw_cert_info_days_left(info, end, end - 86400 + 1), ==, 0);
	g_assert_cmpint(tw_cert_info_days_left(info, end, end), ==, 0);
	g_assert_cmpint(tw_cert_info_days_left(info, end, end + 1), ==, -1);
	g_assert_cmpint(tw_cert_info_days_left(info, end, end + 86400), ==, -1);
	g_assert_cmpint(tw_cert_info_days_left(info, end, end + 86400 + 1), ==, -2);
	g_assert_cmpint(tw_cert_info_days_left(info, end, NB), ==, 1095);
	/* an earlier effective end (the QSCD's certification) wins over not_after */
	g_assert_cmpint(tw_cert_info_days_left(info, NB + 10 * 86400, NB), ==, 10);
	g_assert_cmpint(tw_cert_info_days_left(NULL, end, end - 30 * 86400), ==, 30);
	/* no known end; absurd inputs stay in range */
	g_assert_cmpint(tw_cert_info_days_left(garbage, 0, end), ==, G_MAXINT);
	g_assert_cmpint(tw_cert_info_days_left(NULL, 0, end), ==, G_MAXINT);
	g_assert_cmpint(tw_cert_info_days_left(info, G_MAXINT64, G_MININT64), >, 0);
	g_assert_cmpint(tw_cert_info_days_left(info, G_MININT64, G_MAXINT64), <, 0);
}

static void
load_sums(void)
{
	g_autoptr(GBytes) text = read_fixture("SHA256SUMS", "");
	g_autofree gchar *str = g_strndup(g_bytes_get_data(text, NULL), g_bytes_get_size(text));
	g_auto(GStrv) lines = g_strsplit(str, "\n", -1);

	sums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	for (guint i = 0; lines[i] != NULL; i++) {
		/* "<hex> *<file>" */
		gchar *star = strstr(lines[i], " *");

		if (star == NULL)
			continue;
		g_hash_table_insert(sums, g_strdup(star + 2), g_strndup(lines[i], star - lines[i]));
	}
	g_assert_cmpuint(g_hash_table_size(sums), >, G_N_ELEMENTS(rules) + G_N_ELEMENTS(odd));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	fixtures = g_getenv("TW_CERT_FIXTURES");
	if (fixtures == NULL && argc > 1)
		fixtures = argv[1];
	if (fixtures == NULL) {
		g_printerr("usage: %s FIXTURES-DIR (or TW_CERT_FIXTURES=DIR); "
			   "tests/data/make-certs.py writes it\n",
			   argv[0]);
		return 1;
	}
	load_sums();

	for (guint i = 0; i < G_N_ELEMENTS(rules); i++) {
		g_autofree gchar *path = g_strdup_printf("/cert/rules/%s", rules[i].name);

		g_test_add_data_func(path, &rules[i], test_fixture);
	}
	for (guint i = 0; i < G_N_ELEMENTS(odd); i++) {
		g_autofree gchar *path = g_strdup_printf("/cert/odd/%s", odd[i].name);

		g_test_add_data_func(path, &odd[i], test_fixture);
	}
	g_test_add_func("/cert/garbage/files", test_garbage_files);
	g_test_add_func("/cert/garbage/null", test_garbage_null);
	g_test_add_func("/cert/garbage/truncations", test_garbage_truncations);
	g_test_add_func("/cert/garbage/mutations", test_garbage_mutations);
	g_test_add_func("/cert/kind-strings", test_kind_strings);
	g_test_add_func("/cert/days-left", test_days_left);
	return g_test_run();
}
