/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tokenwatch-certificate-private.h"
#include "tokenwatch-enum-types.h"
#include "tokenwatch-proxy-private.h"

/**
 * TokenwatchCertificate:
 *
 * An X.509 certificate seen on a token by tokenwatchd.
 *
 * Certificates are owned by the [class@Tokenwatch.Client] they come from: get
 * them with [method@Tokenwatch.Client.get_certificates],
 * [method@Tokenwatch.Client.get_certificates_for_token] or from its
 * [signal@Tokenwatch.Client::certificate-added] signal. There is one object per
 * certificate (by SHA-256), even when it is on two tokens. The properties
 * mirror the D-Bus object `io.github.tokenwatch.TokenWatch1.Certificate` and
 * emit [signal@GObject.Object::notify] when tokenwatchd changes them; after
 * [signal@Tokenwatch.Client::certificate-removed] the object no longer changes.
 *
 * Since: 0.1
 */

enum {
	PROP_0,
	PROP_OBJECT_PATH,
	PROP_SUBJECT,
	PROP_COMMON_NAME,
	PROP_ISSUER,
	PROP_SERIAL_NUMBER,
	PROP_SERIAL_NUMBER_DECIMAL,
	PROP_NOT_BEFORE,
	PROP_NOT_AFTER,
	PROP_EFFECTIVE_NOT_AFTER,
	PROP_DAYS_LEFT,
	PROP_KIND,
	PROP_QC_COMPLIANCE,
	PROP_QC_SSCD,
	PROP_QC_TYPES,
	PROP_POLICIES,
	PROP_IS_CA,
	PROP_KEY_TYPE,
	PROP_KEY_BITS,
	PROP_KEY_USAGE,
	PROP_SHA256,
	PROP_LABEL,
	PROP_ID,
	PROP_ERROR,
	PROP_TOKEN_PATH,
	PROP_STATUS,
	N_PROPS,
};

struct _TokenwatchCertificate {
	GObject parent_instance;

	TwDBusCertificate *proxy;
	GBusType bus_type;
	GValue values[N_PROPS]; /* by property id */
};

G_DEFINE_TYPE(TokenwatchCertificate, tokenwatch_certificate, G_TYPE_OBJECT)

static GParamSpec *props[N_PROPS] = {NULL};

/* the D-Bus property each GObject property mirrors */
static const gchar *const tokenwatch_certificate_dbus_names[N_PROPS] = {
	[PROP_SUBJECT] = "Subject",
	[PROP_COMMON_NAME] = "CommonName",
	[PROP_ISSUER] = "Issuer",
	[PROP_SERIAL_NUMBER] = "SerialNumber",
	[PROP_SERIAL_NUMBER_DECIMAL] = "SerialNumberDecimal",
	[PROP_NOT_BEFORE] = "NotBefore",
	[PROP_NOT_AFTER] = "NotAfter",
	[PROP_EFFECTIVE_NOT_AFTER] = "EffectiveNotAfter",
	[PROP_DAYS_LEFT] = "DaysLeft",
	[PROP_KIND] = "Kind",
	[PROP_QC_COMPLIANCE] = "QcCompliance",
	[PROP_QC_SSCD] = "QcSscd",
	[PROP_QC_TYPES] = "QcTypes",
	[PROP_POLICIES] = "Policies",
	[PROP_IS_CA] = "IsCa",
	[PROP_KEY_TYPE] = "KeyType",
	[PROP_KEY_BITS] = "KeyBits",
	[PROP_KEY_USAGE] = "KeyUsage",
	[PROP_SHA256] = "Sha256",
	[PROP_LABEL] = "Label",
	[PROP_ID] = "Id",
	[PROP_ERROR] = "Error",
	[PROP_TOKEN_PATH] = "Token",
	[PROP_STATUS] = "Status",
};

#define TOKENWATCH_CERTIFICATE_PROP_FLAGS \
	(G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

static void
tokenwatch_certificate_sync(TokenwatchCertificate *self)
{
	tokenwatch_proxy_values_sync(G_OBJECT(self), G_DBUS_PROXY(self->proxy), props,
				     tokenwatch_certificate_dbus_names, self->values, N_PROPS);
}

static void
tokenwatch_certificate_properties_changed_cb(GDBusProxy *proxy,
					     GVariant *changed,
					     const gchar *const *invalidated,
					     gpointer user_data)
{
	tokenwatch_certificate_sync(TOKENWATCH_CERTIFICATE(user_data));
}

static void
tokenwatch_certificate_get_property(GObject *object,
				    guint prop_id,
				    GValue *value,
				    GParamSpec *pspec)
{
	TokenwatchCertificate *self = TOKENWATCH_CERTIFICATE(object);

	if (prop_id == 0 || prop_id >= N_PROPS) {
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		return;
	}
	g_value_copy(&self->values[prop_id], value);
}

static void
tokenwatch_certificate_dispose(GObject *object)
{
	TokenwatchCertificate *self = TOKENWATCH_CERTIFICATE(object);

	if (self->proxy != NULL)
		g_signal_handlers_disconnect_by_data(self->proxy, self);
	g_clear_object(&self->proxy);

	G_OBJECT_CLASS(tokenwatch_certificate_parent_class)->dispose(object);
}

static void
tokenwatch_certificate_finalize(GObject *object)
{
	TokenwatchCertificate *self = TOKENWATCH_CERTIFICATE(object);

	tokenwatch_proxy_values_clear(self->values, N_PROPS);

	G_OBJECT_CLASS(tokenwatch_certificate_parent_class)->finalize(object);
}

static void
tokenwatch_certificate_init(TokenwatchCertificate *self)
{
	self->bus_type = G_BUS_TYPE_SYSTEM;
	tokenwatch_proxy_values_init(self->values, props, N_PROPS);
}

static void
tokenwatch_certificate_class_init(TokenwatchCertificateClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	const GParamFlags flags = TOKENWATCH_CERTIFICATE_PROP_FLAGS;

	object_class->get_property = tokenwatch_certificate_get_property;
	object_class->dispose = tokenwatch_certificate_dispose;
	object_class->finalize = tokenwatch_certificate_finalize;

	/**
	 * TokenwatchCertificate:object-path:
	 *
	 * The D-Bus object path of the certificate, from the first 16 hex
	 * digits of its SHA-256.
	 *
	 * Since: 0.1
	 */
	props[PROP_OBJECT_PATH] = g_param_spec_string("object-path", NULL, NULL, NULL, flags);

	/**
	 * TokenwatchCertificate:subject:
	 *
	 * The subject as an RFC 4514 string, valid UTF-8 (D-Bus property
	 * `Subject`).
	 *
	 * Since: 0.1
	 */
	props[PROP_SUBJECT] = g_param_spec_string("subject", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:common-name:
	 *
	 * The common name (CN) of the subject, or "" (D-Bus property
	 * `CommonName`).
	 *
	 * Since: 0.1
	 */
	props[PROP_COMMON_NAME] = g_param_spec_string("common-name", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:issuer:
	 *
	 * The issuer as an RFC 4514 string, valid UTF-8 (D-Bus property
	 * `Issuer`).
	 *
	 * Since: 0.1
	 */
	props[PROP_ISSUER] = g_param_spec_string("issuer", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:serial-number:
	 *
	 * The serial number in upper-case hex (D-Bus property `SerialNumber`).
	 *
	 * Since: 0.1
	 */
	props[PROP_SERIAL_NUMBER] = g_param_spec_string("serial-number", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:serial-number-decimal:
	 *
	 * The serial number in decimal, as the vendor tools show it (D-Bus
	 * property `SerialNumberDecimal`).
	 *
	 * Since: 0.1
	 */
	props[PROP_SERIAL_NUMBER_DECIMAL] =
		g_param_spec_string("serial-number-decimal", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:not-before:
	 *
	 * The start of validity, in Unix seconds (D-Bus property `NotBefore`).
	 *
	 * Since: 0.1
	 */
	props[PROP_NOT_BEFORE] =
		g_param_spec_uint64("not-before", NULL, NULL, 0, G_MAXUINT64, 0, flags);

	/**
	 * TokenwatchCertificate:not-after:
	 *
	 * The end of validity written in the certificate, in Unix seconds
	 * (D-Bus property `NotAfter`).
	 *
	 * Since: 0.1
	 */
	props[PROP_NOT_AFTER] =
		g_param_spec_uint64("not-after", NULL, NULL, 0, G_MAXUINT64, 0, flags);

	/**
	 * TokenwatchCertificate:effective-not-after:
	 *
	 * When the certificate really stops being usable, in Unix seconds: the
	 * earlier of [property@Tokenwatch.Certificate:not-after] and the end of
	 * the QSCD certification of the device, for a certificate whose key is
	 * in a QSCD (D-Bus property `EffectiveNotAfter`).
	 *
	 * Since: 0.1
	 */
	props[PROP_EFFECTIVE_NOT_AFTER] =
		g_param_spec_uint64("effective-not-after", NULL, NULL, 0, G_MAXUINT64, 0, flags);

	/**
	 * TokenwatchCertificate:days-left:
	 *
	 * Whole days until
	 * [property@Tokenwatch.Certificate:effective-not-after], negative once
	 * past (D-Bus property `DaysLeft`).
	 *
	 * Since: 0.1
	 */
	props[PROP_DAYS_LEFT] =
		g_param_spec_int("days-left", NULL, NULL, G_MININT, G_MAXINT, 0, flags);

	/**
	 * TokenwatchCertificate:kind:
	 *
	 * What the certificate is for (D-Bus property `Kind`). Kinds this
	 * version of the library does not know are reported as
	 * %TOKENWATCH_CERTIFICATE_KIND_UNKNOWN.
	 *
	 * Since: 0.1
	 */
	props[PROP_KIND] = g_param_spec_enum("kind", NULL, NULL, TOKENWATCH_TYPE_CERTIFICATE_KIND,
					     TOKENWATCH_CERTIFICATE_KIND_UNKNOWN, flags);

	/**
	 * TokenwatchCertificate:qc-compliance:
	 *
	 * Whether the QCStatements hold QcCompliance: the certificate is
	 * qualified (D-Bus property `QcCompliance`).
	 *
	 * Since: 0.1
	 */
	props[PROP_QC_COMPLIANCE] = g_param_spec_boolean("qc-compliance", NULL, NULL, FALSE, flags);

	/**
	 * TokenwatchCertificate:qc-sscd:
	 *
	 * Whether the QCStatements hold QcSSCD: the key is in a QSCD (D-Bus
	 * property `QcSscd`).
	 *
	 * Since: 0.1
	 */
	props[PROP_QC_SSCD] = g_param_spec_boolean("qc-sscd", NULL, NULL, FALSE, flags);

	/**
	 * TokenwatchCertificate:qc-types:
	 *
	 * The QcType statements: "esign", "eseal", "web" or a dotted OID (D-Bus
	 * property `QcTypes`).
	 *
	 * Since: 0.1
	 */
	props[PROP_QC_TYPES] = g_param_spec_boxed("qc-types", NULL, NULL, G_TYPE_STRV, flags);

	/**
	 * TokenwatchCertificate:policies:
	 *
	 * The certificate policy OIDs, dotted (D-Bus property `Policies`).
	 *
	 * Since: 0.1
	 */
	props[PROP_POLICIES] = g_param_spec_boxed("policies", NULL, NULL, G_TYPE_STRV, flags);

	/**
	 * TokenwatchCertificate:is-ca:
	 *
	 * Whether basicConstraints says CA (D-Bus property `IsCa`).
	 *
	 * Since: 0.1
	 */
	props[PROP_IS_CA] = g_param_spec_boolean("is-ca", NULL, NULL, FALSE, flags);

	/**
	 * TokenwatchCertificate:key-type:
	 *
	 * The type of the key: "rsa", "ec", "ed25519", "ed448" or "other"
	 * (D-Bus property `KeyType`).
	 *
	 * Since: 0.1
	 */
	props[PROP_KEY_TYPE] = g_param_spec_string("key-type", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:key-bits:
	 *
	 * The size of the key in bits (D-Bus property `KeyBits`).
	 *
	 * Since: 0.1
	 */
	props[PROP_KEY_BITS] = g_param_spec_uint("key-bits", NULL, NULL, 0, G_MAXUINT, 0, flags);

	/**
	 * TokenwatchCertificate:key-usage:
	 *
	 * The keyUsage bits by their RFC 5280 names, e.g. "digitalSignature"
	 * (D-Bus property `KeyUsage`).
	 *
	 * Since: 0.1
	 */
	props[PROP_KEY_USAGE] = g_param_spec_boxed("key-usage", NULL, NULL, G_TYPE_STRV, flags);

	/**
	 * TokenwatchCertificate:sha256:
	 *
	 * The SHA-256 of the DER, lower-case hex (D-Bus property `Sha256`).
	 *
	 * Since: 0.1
	 */
	props[PROP_SHA256] = g_param_spec_string("sha256", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:label:
	 *
	 * The label of the certificate object on the token, valid UTF-8 (D-Bus
	 * property `Label`).
	 *
	 * Since: 0.1
	 */
	props[PROP_LABEL] = g_param_spec_string("label", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:id:
	 *
	 * The ID of the certificate object on the token (CKA_ID), lower-case
	 * hex (D-Bus property `Id`).
	 *
	 * Since: 0.1
	 */
	props[PROP_ID] = g_param_spec_string("id", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:error:
	 *
	 * Why the certificate could not be parsed, or what was odd in it, or ""
	 * when all was well (D-Bus property `Error`).
	 *
	 * Since: 0.1
	 */
	props[PROP_ERROR] = g_param_spec_string("error", NULL, NULL, "", flags);

	/**
	 * TokenwatchCertificate:token-path:
	 *
	 * The D-Bus object path of the token the certificate was last seen on
	 * (D-Bus property `Token`). See
	 * [method@Tokenwatch.Client.get_token_by_path].
	 *
	 * Since: 0.1
	 */
	props[PROP_TOKEN_PATH] = g_param_spec_string("token-path", NULL, NULL, NULL, flags);

	/**
	 * TokenwatchCertificate:status:
	 *
	 * The status of the certificate (D-Bus property `Status`). Statuses
	 * this version of the library does not know are reported as
	 * %TOKENWATCH_CERTIFICATE_STATUS_UNKNOWN.
	 *
	 * Since: 0.1
	 */
	props[PROP_STATUS] =
		g_param_spec_enum("status", NULL, NULL, TOKENWATCH_TYPE_CERTIFICATE_STATUS,
				  TOKENWATCH_CERTIFICATE_STATUS_UNKNOWN, flags);

	g_object_class_install_properties(object_class, N_PROPS, props);
}

/* (transfer full): wraps @proxy, which the certificate keeps a reference to;
 * @bus_type is for error messages */
TokenwatchCertificate *
tokenwatch_certificate_new(TwDBusCertificate *proxy, GBusType bus_type)
{
	TokenwatchCertificate *self;

	g_return_val_if_fail(TW_DBUS_IS_CERTIFICATE(proxy), NULL);

	self = g_object_new(TOKENWATCH_TYPE_CERTIFICATE, NULL);
	self->proxy = g_object_ref(proxy);
	self->bus_type = bus_type;
	g_value_set_string(&self->values[PROP_OBJECT_PATH],
			   g_dbus_proxy_get_object_path(G_DBUS_PROXY(proxy)));
	g_signal_connect_object(proxy, "g-properties-changed",
				G_CALLBACK(tokenwatch_certificate_properties_changed_cb), self,
				G_CONNECT_DEFAULT);
	tokenwatch_certificate_sync(self);
	return self;
}

TwDBusCertificate *
tokenwatch_certificate_get_proxy(TokenwatchCertificate *self)
{
	return self->proxy;
}

GBusType
tokenwatch_certificate_get_bus_type(TokenwatchCertificate *self)
{
	return self->bus_type;
}

/**
 * tokenwatch_certificate_get_object_path:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:object-path].
 *
 * Returns: the D-Bus object path of the certificate
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_object_path(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_OBJECT_PATH]);
}

/**
 * tokenwatch_certificate_get_subject:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:subject].
 *
 * Returns: the subject, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_subject(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_SUBJECT]);
}

/**
 * tokenwatch_certificate_get_common_name:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:common-name].
 *
 * Returns: the common name, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_common_name(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_COMMON_NAME]);
}

/**
 * tokenwatch_certificate_get_issuer:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:issuer].
 *
 * Returns: the issuer, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_issuer(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_ISSUER]);
}

/**
 * tokenwatch_certificate_get_serial_number:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:serial-number].
 *
 * Returns: the serial number in hex
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_serial_number(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_SERIAL_NUMBER]);
}

/**
 * tokenwatch_certificate_get_serial_number_decimal:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:serial-number-decimal].
 *
 * Returns: the serial number in decimal
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_serial_number_decimal(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_SERIAL_NUMBER_DECIMAL]);
}

/**
 * tokenwatch_certificate_get_not_before:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:not-before].
 *
 * Returns: Unix seconds
 *
 * Since: 0.1
 */
guint64
tokenwatch_certificate_get_not_before(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), 0);
	return g_value_get_uint64(&self->values[PROP_NOT_BEFORE]);
}

/**
 * tokenwatch_certificate_get_not_after:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:not-after].
 *
 * Returns: Unix seconds
 *
 * Since: 0.1
 */
guint64
tokenwatch_certificate_get_not_after(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), 0);
	return g_value_get_uint64(&self->values[PROP_NOT_AFTER]);
}

/**
 * tokenwatch_certificate_get_effective_not_after:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:effective-not-after].
 *
 * Returns: Unix seconds
 *
 * Since: 0.1
 */
guint64
tokenwatch_certificate_get_effective_not_after(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), 0);
	return g_value_get_uint64(&self->values[PROP_EFFECTIVE_NOT_AFTER]);
}

/**
 * tokenwatch_certificate_get_days_left:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:days-left].
 *
 * Returns: the days left, negative once past
 *
 * Since: 0.1
 */
gint
tokenwatch_certificate_get_days_left(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), 0);
	return g_value_get_int(&self->values[PROP_DAYS_LEFT]);
}

/**
 * tokenwatch_certificate_get_kind:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:kind].
 *
 * Returns: the kind
 *
 * Since: 0.1
 */
TokenwatchCertificateKind
tokenwatch_certificate_get_kind(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), TOKENWATCH_CERTIFICATE_KIND_UNKNOWN);
	return g_value_get_enum(&self->values[PROP_KIND]);
}

/**
 * tokenwatch_certificate_get_qc_compliance:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:qc-compliance].
 *
 * Returns: %TRUE for a qualified certificate
 *
 * Since: 0.1
 */
gboolean
tokenwatch_certificate_get_qc_compliance(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), FALSE);
	return g_value_get_boolean(&self->values[PROP_QC_COMPLIANCE]);
}

/**
 * tokenwatch_certificate_get_qc_sscd:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:qc-sscd].
 *
 * Returns: %TRUE if the key is in a QSCD
 *
 * Since: 0.1
 */
gboolean
tokenwatch_certificate_get_qc_sscd(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), FALSE);
	return g_value_get_boolean(&self->values[PROP_QC_SSCD]);
}

/**
 * tokenwatch_certificate_get_qc_types:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:qc-types].
 *
 * Returns: (transfer none) (array zero-terminated=1): the strings, possibly
 * none
 *
 * Since: 0.1
 */
const gchar *const *
tokenwatch_certificate_get_qc_types(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_boxed(&self->values[PROP_QC_TYPES]);
}

/**
 * tokenwatch_certificate_get_policies:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:policies].
 *
 * Returns: (transfer none) (array zero-terminated=1): the strings, possibly
 * none
 *
 * Since: 0.1
 */
const gchar *const *
tokenwatch_certificate_get_policies(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_boxed(&self->values[PROP_POLICIES]);
}

/**
 * tokenwatch_certificate_get_is_ca:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:is-ca].
 *
 * Returns: %TRUE for a CA certificate
 *
 * Since: 0.1
 */
gboolean
tokenwatch_certificate_get_is_ca(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), FALSE);
	return g_value_get_boolean(&self->values[PROP_IS_CA]);
}

/**
 * tokenwatch_certificate_get_key_type:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:key-type].
 *
 * Returns: the key type
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_key_type(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_KEY_TYPE]);
}

/**
 * tokenwatch_certificate_get_key_bits:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:key-bits].
 *
 * Returns: the key size in bits
 *
 * Since: 0.1
 */
guint
tokenwatch_certificate_get_key_bits(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), 0);
	return g_value_get_uint(&self->values[PROP_KEY_BITS]);
}

/**
 * tokenwatch_certificate_get_key_usage:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:key-usage].
 *
 * Returns: (transfer none) (array zero-terminated=1): the strings, possibly
 * none
 *
 * Since: 0.1
 */
const gchar *const *
tokenwatch_certificate_get_key_usage(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_boxed(&self->values[PROP_KEY_USAGE]);
}

/**
 * tokenwatch_certificate_get_sha256:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:sha256].
 *
 * Returns: the SHA-256 in hex
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_sha256(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_SHA256]);
}

/**
 * tokenwatch_certificate_get_label:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:label].
 *
 * Returns: the label, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_label(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_LABEL]);
}

/**
 * tokenwatch_certificate_get_id:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:id].
 *
 * Returns: the ID in hex, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_id(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_ID]);
}

/**
 * tokenwatch_certificate_get_error:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:error].
 *
 * Returns: the error, possibly ""
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_error(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_ERROR]);
}

/**
 * tokenwatch_certificate_get_token_path:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:token-path].
 *
 * Returns: (nullable): the D-Bus object path of the token
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_certificate_get_token_path(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self), NULL);
	return g_value_get_string(&self->values[PROP_TOKEN_PATH]);
}

/**
 * tokenwatch_certificate_get_status:
 * @self: a [class@Tokenwatch.Certificate]
 *
 * Gets [property@Tokenwatch.Certificate:status].
 *
 * Returns: the status
 *
 * Since: 0.1
 */
TokenwatchCertificateStatus
tokenwatch_certificate_get_status(TokenwatchCertificate *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_CERTIFICATE(self),
			     TOKENWATCH_CERTIFICATE_STATUS_UNKNOWN);
	return g_value_get_enum(&self->values[PROP_STATUS]);
}
