/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "twctl-dn.h"
#include "twctl-objects.h"

/* what to call a certificate: its CN, else its label, else its subject */
gchar *
twctl_certificate_name(TokenwatchCertificate *cert)
{
	const gchar *name = tokenwatch_certificate_get_common_name(cert);

	if (name[0] == '\0')
		name = tokenwatch_certificate_get_label(cert);
	if (name[0] == '\0')
		name = tokenwatch_certificate_get_subject(cert);
	return twctl_output_sanitize(name[0] != '\0' ? name : "-");
}

/* the issuer's CN, else its O */
gchar *
twctl_certificate_issuer_name(TokenwatchCertificate *cert)
{
	g_autofree gchar *name = twctl_dn_get_name(tokenwatch_certificate_get_issuer(cert));

	return twctl_output_sanitize(name[0] != '\0' ? name : "-");
}

const gchar *
twctl_certificate_kind_label(TokenwatchCertificateKind kind)
{
	switch (kind) {
	case TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESIGN_QSCD:
		return _("qualified signature, QSCD");
	case TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESIGN:
		return _("qualified signature");
	case TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESEAL_QSCD:
		return _("qualified seal, QSCD");
	case TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_ESEAL:
		return _("qualified seal");
	case TOKENWATCH_CERTIFICATE_KIND_QUALIFIED_WEB:
		return _("qualified website");
	case TOKENWATCH_CERTIFICATE_KIND_NON_QUALIFIED_PERSONAL:
		return _("commercial personal");
	case TOKENWATCH_CERTIFICATE_KIND_CA:
		return _("certificate authority");
	case TOKENWATCH_CERTIFICATE_KIND_OTHER:
		return _("other");
	case TOKENWATCH_CERTIFICATE_KIND_UNKNOWN:
	default:
		return _("unknown");
	}
}

/* the ETSI EN 319 411 name of a policy OID, or %NULL */
const gchar *
twctl_certificate_policy_name(const gchar *oid)
{
	static const struct {
		const gchar *oid;
		const gchar *name;
	} names[] = {
		{"0.4.0.194112.1.0", "QCP-n"},	    {"0.4.0.194112.1.1", "QCP-l"},
		{"0.4.0.194112.1.2", "QCP-n-qscd"}, {"0.4.0.194112.1.3", "QCP-l-qscd"},
		{"0.4.0.194112.1.4", "QCP-w"},	    {"0.4.0.2042.1.1", "NCP"},
		{"0.4.0.2042.1.2", "NCP+"},	    {"0.4.0.2042.1.3", "LCP"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_strcmp0(names[i].oid, oid) == 0)
			return names[i].name;
	}
	return NULL;
}

TwctlColor
twctl_certificate_status_color(TokenwatchCertificateStatus status)
{
	switch (status) {
	case TOKENWATCH_CERTIFICATE_STATUS_EXPIRED:
	case TOKENWATCH_CERTIFICATE_STATUS_REVOKED_BY_DEVICE:
		return TWCTL_COLOR_RED;
	case TOKENWATCH_CERTIFICATE_STATUS_EXPIRING:
	case TOKENWATCH_CERTIFICATE_STATUS_NOT_YET_VALID:
		return TWCTL_COLOR_YELLOW;
	case TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED:
		return TWCTL_COLOR_DIM;
	case TOKENWATCH_CERTIFICATE_STATUS_VALID:
		return TWCTL_COLOR_GREEN;
	case TOKENWATCH_CERTIFICATE_STATUS_UNKNOWN:
	default:
		return TWCTL_COLOR_NONE;
	}
}

/* what to call a token: its label, else its model and serial number */
gchar *
twctl_token_name(TokenwatchToken *token)
{
	const gchar *label = tokenwatch_token_get_label(token);
	g_autofree gchar *name = NULL;

	if (label[0] != '\0')
		return twctl_output_sanitize(label);
	name = g_strdup_printf("%s %s", tokenwatch_token_get_model(token),
			       tokenwatch_token_get_serial_number(token));
	return twctl_output_sanitize(g_strstrip(name)[0] != '\0' ? name : "-");
}

TwctlColor
twctl_pin_state_color(TokenwatchPinState state)
{
	switch (state) {
	case TOKENWATCH_PIN_STATE_OK:
		return TWCTL_COLOR_GREEN;
	case TOKENWATCH_PIN_STATE_TO_BE_CHANGED:
	case TOKENWATCH_PIN_STATE_COUNT_LOW:
		return TWCTL_COLOR_YELLOW;
	case TOKENWATCH_PIN_STATE_FINAL_TRY:
	case TOKENWATCH_PIN_STATE_LOCKED:
		return TWCTL_COLOR_RED;
	case TOKENWATCH_PIN_STATE_UNKNOWN:
	default:
		return TWCTL_COLOR_NONE;
	}
}

TwctlColor
twctl_advice_severity_color(TokenwatchAdviceSeverity severity)
{
	switch (severity) {
	case TOKENWATCH_ADVICE_SEVERITY_INFO:
		return TWCTL_COLOR_NONE;
	case TOKENWATCH_ADVICE_SEVERITY_CRITICAL:
		return TWCTL_COLOR_RED;
	case TOKENWATCH_ADVICE_SEVERITY_WARNING:
	case TOKENWATCH_ADVICE_SEVERITY_UNKNOWN:
	default:
		return TWCTL_COLOR_YELLOW;
	}
}

/* "warning factory-pin: The factory PIN is still set…", sanitised */
gchar *
twctl_advice_line(TokenwatchAdvice *advice)
{
	g_autofree gchar *line = g_strdup_printf(
		"%s %s: %s",
		twctl_output_enum_nick(TOKENWATCH_TYPE_ADVICE_SEVERITY,
				       tokenwatch_advice_get_severity(advice)),
		tokenwatch_advice_get_code(advice), tokenwatch_advice_get_text(advice));

	return twctl_output_sanitize(line);
}

static void
twctl_json_member_string(TwctlJson *json, const gchar *key, const gchar *value)
{
	twctl_json_key(json, key);
	twctl_json_string(json, value);
}

static void
twctl_json_member_uint(TwctlJson *json, const gchar *key, guint64 value)
{
	twctl_json_key(json, key);
	twctl_json_uint(json, value);
}

static void
twctl_json_member_boolean(TwctlJson *json, const gchar *key, gboolean value)
{
	twctl_json_key(json, key);
	twctl_json_boolean(json, value);
}

static void
twctl_json_member_strv(TwctlJson *json, const gchar *key, const gchar *const *value)
{
	twctl_json_key(json, key);
	twctl_json_strv(json, value);
}

/* the object of "certs --json" and "show --json" */
void
twctl_certificate_to_json(TwctlJson *json, TokenwatchCertificate *cert)
{
	twctl_json_begin_object(json);
	twctl_json_member_string(json, "object_path", tokenwatch_certificate_get_object_path(cert));
	twctl_json_member_string(json, "common_name", tokenwatch_certificate_get_common_name(cert));
	twctl_json_member_string(json, "subject", tokenwatch_certificate_get_subject(cert));
	twctl_json_member_string(json, "issuer", tokenwatch_certificate_get_issuer(cert));
	twctl_json_member_string(json, "serial_number",
				 tokenwatch_certificate_get_serial_number(cert));
	twctl_json_member_string(json, "serial_number_decimal",
				 tokenwatch_certificate_get_serial_number_decimal(cert));
	twctl_json_member_uint(json, "not_before", tokenwatch_certificate_get_not_before(cert));
	twctl_json_member_uint(json, "not_after", tokenwatch_certificate_get_not_after(cert));
	twctl_json_member_uint(json, "effective_not_after",
			       tokenwatch_certificate_get_effective_not_after(cert));
	twctl_json_key(json, "days_left");
	twctl_json_int(json, tokenwatch_certificate_get_days_left(cert));
	twctl_json_member_string(json, "kind",
				 twctl_output_enum_nick(TOKENWATCH_TYPE_CERTIFICATE_KIND,
							tokenwatch_certificate_get_kind(cert)));
	twctl_json_member_string(json, "status",
				 twctl_output_enum_nick(TOKENWATCH_TYPE_CERTIFICATE_STATUS,
							tokenwatch_certificate_get_status(cert)));
	twctl_json_member_boolean(json, "qc_compliance",
				  tokenwatch_certificate_get_qc_compliance(cert));
	twctl_json_member_boolean(json, "qc_sscd", tokenwatch_certificate_get_qc_sscd(cert));
	twctl_json_member_strv(json, "qc_types", tokenwatch_certificate_get_qc_types(cert));
	twctl_json_member_strv(json, "policies", tokenwatch_certificate_get_policies(cert));
	twctl_json_member_boolean(json, "is_ca", tokenwatch_certificate_get_is_ca(cert));
	twctl_json_member_string(json, "key_type", tokenwatch_certificate_get_key_type(cert));
	twctl_json_member_uint(json, "key_bits", tokenwatch_certificate_get_key_bits(cert));
	twctl_json_member_strv(json, "key_usage", tokenwatch_certificate_get_key_usage(cert));
	twctl_json_member_string(json, "sha256", tokenwatch_certificate_get_sha256(cert));
	twctl_json_member_string(json, "label", tokenwatch_certificate_get_label(cert));
	twctl_json_member_string(json, "id", tokenwatch_certificate_get_id(cert));
	twctl_json_member_string(json, "error", tokenwatch_certificate_get_error(cert));
	twctl_json_member_string(json, "token", tokenwatch_certificate_get_token_path(cert));
	twctl_json_end_object(json);
}

/* the object of "tokens --json" */
void
twctl_token_to_json(TwctlJson *json, TokenwatchClient *client, TokenwatchToken *token)
{
	const gchar *reader_path = tokenwatch_token_get_reader_path(token);
	TokenwatchReader *reader =
		reader_path != NULL ? tokenwatch_client_get_reader_by_path(client, reader_path)
				    : NULL;
	g_autoptr(GPtrArray) advice = tokenwatch_token_get_advice(token);

	twctl_json_begin_object(json);
	twctl_json_member_string(json, "object_path", tokenwatch_token_get_object_path(token));
	twctl_json_member_string(json, "label", tokenwatch_token_get_label(token));
	twctl_json_member_string(json, "manufacturer", tokenwatch_token_get_manufacturer(token));
	twctl_json_member_string(json, "model", tokenwatch_token_get_model(token));
	twctl_json_member_string(json, "serial_number", tokenwatch_token_get_serial_number(token));
	twctl_json_member_boolean(json, "present", tokenwatch_token_get_present(token));
	twctl_json_member_string(json, "reader", reader_path);
	twctl_json_member_string(json, "reader_name",
				 reader != NULL ? tokenwatch_reader_get_name(reader) : NULL);
	twctl_json_member_uint(json, "first_seen", tokenwatch_token_get_first_seen(token));
	twctl_json_member_uint(json, "last_seen", tokenwatch_token_get_last_seen(token));
	twctl_json_member_string(
		json, "user_pin_state",
		twctl_output_enum_nick(TOKENWATCH_TYPE_PIN_STATE,
				       tokenwatch_token_get_user_pin_state(token)));
	twctl_json_member_string(json, "so_pin_state",
				 twctl_output_enum_nick(TOKENWATCH_TYPE_PIN_STATE,
							tokenwatch_token_get_so_pin_state(token)));
	twctl_json_member_uint(json, "total_memory", tokenwatch_token_get_total_memory(token));
	twctl_json_member_uint(json, "free_memory", tokenwatch_token_get_free_memory(token));
	twctl_json_member_string(json, "device_name", tokenwatch_token_get_device_name(token));
	twctl_json_member_uint(json, "qscd_certified_until",
			       tokenwatch_token_get_qscd_certified_until(token));
	twctl_json_member_boolean(json, "qualified", tokenwatch_token_get_qualified(token));
	twctl_json_member_uint(json, "unpaired_keys", tokenwatch_token_get_unpaired_keys(token));
	twctl_json_key(json, "advice");
	twctl_json_begin_array(json);
	for (guint i = 0; i < advice->len; i++) {
		TokenwatchAdvice *item = g_ptr_array_index(advice, i);

		twctl_json_begin_object(json);
		twctl_json_member_string(json, "code", tokenwatch_advice_get_code(item));
		twctl_json_member_string(
			json, "severity",
			twctl_output_enum_nick(TOKENWATCH_TYPE_ADVICE_SEVERITY,
					       tokenwatch_advice_get_severity(item)));
		twctl_json_member_string(json, "text", tokenwatch_advice_get_text(item));
		twctl_json_end_object(json);
	}
	twctl_json_end_array(json);
	twctl_json_member_string(json, "module", tokenwatch_token_get_module(token));
	twctl_json_member_string(json, "error", tokenwatch_token_get_error(token));
	twctl_json_member_strv(json, "certificates", tokenwatch_token_get_certificate_paths(token));
	twctl_json_end_object(json);
}

static gboolean
twctl_is_digits(const gchar *str, gboolean hex)
{
	if (str[0] == '\0')
		return FALSE;
	for (const gchar *p = str; *p != '\0'; p++) {
		if (hex ? !g_ascii_isxdigit(*p) : !g_ascii_isdigit(*p))
			return FALSE;
	}
	return TRUE;
}

static gboolean
twctl_certificate_matches(TokenwatchCertificate *cert, const gchar *spec)
{
	const gchar *id = tokenwatch_certificate_get_id(cert);

	if (strlen(spec) >= 8 && twctl_is_digits(spec, TRUE) &&
	    g_ascii_strncasecmp(tokenwatch_certificate_get_sha256(cert), spec, strlen(spec)) == 0)
		return TRUE;
	if (id[0] != '\0' && g_ascii_strcasecmp(id, spec) == 0)
		return TRUE;
	return twctl_is_digits(spec, FALSE) &&
	       g_strcmp0(tokenwatch_certificate_get_serial_number_decimal(cert), spec) == 0;
}

/* fails with a message that lists the candidates */
static void
twctl_lookup_ambiguous(GPtrArray *names, const gchar *header, GError **error)
{
	g_autoptr(GString) str = g_string_new(header);

	for (guint i = 0; i < names->len; i++)
		g_string_append_printf(str, "\n  %s", (const gchar *)g_ptr_array_index(names, i));
	g_set_error_literal(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_INVALID_ARGUMENT, str->str);
}

/* CERT: an object path, a SHA-256 prefix of 8 or more hex digits, the ID, or
 * the decimal serial number; it must match one certificate */
TokenwatchCertificate *
twctl_certificate_lookup(TokenwatchClient *client, const gchar *spec, GError **error)
{
	g_autoptr(GPtrArray) certs = tokenwatch_client_get_certificates(client);
	g_autoptr(GPtrArray) found = g_ptr_array_new();
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *header = NULL;

	for (guint i = 0; i < certs->len; i++) {
		TokenwatchCertificate *cert = g_ptr_array_index(certs, i);

		if (g_strcmp0(tokenwatch_certificate_get_object_path(cert), spec) == 0)
			return cert;
		if (spec[0] != '/' && twctl_certificate_matches(cert, spec))
			g_ptr_array_add(found, cert);
	}
	if (found->len == 1)
		return g_ptr_array_index(found, 0);
	if (found->len == 0) {
		g_set_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NOT_FOUND,
			    _("No certificate matches “%s”: give its object path, 8 or more hex "
			      "digits of its SHA-256, its ID or its decimal serial number"),
			    spec);
		return NULL;
	}
	for (guint i = 0; i < found->len; i++) {
		TokenwatchCertificate *cert = g_ptr_array_index(found, i);
		g_autofree gchar *name = twctl_certificate_name(cert);

		g_ptr_array_add(
			names,
			g_strdup_printf("%s  %s  %s", tokenwatch_certificate_get_object_path(cert),
					name,
					tokenwatch_certificate_get_serial_number_decimal(cert)));
	}
	header = g_strdup_printf(_("“%s” matches %u certificates:"), spec, found->len);
	twctl_lookup_ambiguous(names, header, error);
	return NULL;
}

/* the last element of the object path of @token */
static const gchar *
twctl_token_id(TokenwatchToken *token)
{
	const gchar *path = tokenwatch_token_get_object_path(token);
	const gchar *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static gboolean
twctl_token_matches(TokenwatchToken *token, const gchar *spec, gboolean prefix)
{
	const gchar *fields[] = {
		twctl_token_id(token),
		tokenwatch_token_get_serial_number(token),
		tokenwatch_token_get_label(token),
	};

	for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
		if (fields[i][0] == '\0')
			continue;
		if (prefix ? g_str_has_prefix(fields[i], spec) : g_strcmp0(fields[i], spec) == 0)
			return TRUE;
	}
	return FALSE;
}

/* the tokens that match @spec exactly or, if none does, that start with it */
static GPtrArray *
twctl_token_find(GPtrArray *tokens, const gchar *spec)
{
	GPtrArray *found = g_ptr_array_new();

	for (guint pass = 0; pass < 2 && found->len == 0; pass++) {
		for (guint i = 0; i < tokens->len; i++) {
			TokenwatchToken *token = g_ptr_array_index(tokens, i);

			if (twctl_token_matches(token, spec, pass == 1))
				g_ptr_array_add(found, token);
		}
	}
	return found;
}

/* TOKEN: an object path, the ID (the last element of the path), the serial
 * number or the label, or the start of one of the last three; it must match
 * one token */
TokenwatchToken *
twctl_token_lookup(TokenwatchClient *client, const gchar *spec, GError **error)
{
	g_autoptr(GPtrArray) tokens = tokenwatch_client_get_tokens(client);
	g_autoptr(GPtrArray) found = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *header = NULL;

	for (guint i = 0; i < tokens->len; i++) {
		TokenwatchToken *token = g_ptr_array_index(tokens, i);

		if (g_strcmp0(tokenwatch_token_get_object_path(token), spec) == 0)
			return token;
	}
	found = spec[0] != '/' && spec[0] != '\0' ? twctl_token_find(tokens, spec)
						  : g_ptr_array_new();
	if (found->len == 1)
		return g_ptr_array_index(found, 0);
	if (found->len == 0) {
		g_set_error(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NOT_FOUND,
			    _("No token matches “%s”: give its object path, its ID, its serial "
			      "number or its label, or the start of one"),
			    spec);
		return NULL;
	}
	for (guint i = 0; i < found->len; i++) {
		TokenwatchToken *token = g_ptr_array_index(found, i);
		g_autofree gchar *name = twctl_token_name(token);

		g_autofree gchar *serial =
			twctl_output_sanitize(tokenwatch_token_get_serial_number(token));

		g_ptr_array_add(names, g_strdup_printf("%s  %s  %s",
						       tokenwatch_token_get_object_path(token),
						       name, serial));
	}
	header = g_strdup_printf(_("“%s” matches %u tokens:"), spec, found->len);
	twctl_lookup_ambiguous(names, header, error);
	return NULL;
}
