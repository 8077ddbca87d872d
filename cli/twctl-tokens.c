/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-commands.h"
#include "twctl-objects.h"
#include "twctl-output.h"

static const gchar *
twctl_tokens_pin_state_label(TokenwatchPinState state)
{
	switch (state) {
	case TOKENWATCH_PIN_STATE_OK:
		return _("ok");
	case TOKENWATCH_PIN_STATE_TO_BE_CHANGED:
		return _("to be changed (still the factory PIN)");
	case TOKENWATCH_PIN_STATE_COUNT_LOW:
		return _("count low (a wrong PIN was entered)");
	case TOKENWATCH_PIN_STATE_FINAL_TRY:
		return _("final try (one more wrong PIN locks it)");
	case TOKENWATCH_PIN_STATE_LOCKED:
		return _("locked");
	case TOKENWATCH_PIN_STATE_UNKNOWN:
	default:
		return _("unknown");
	}
}

/* "6.6 KiB of 32.0 KiB used (21%)", or "unknown" */
static gchar *
twctl_tokens_memory(TokenwatchToken *token)
{
	guint64 total = tokenwatch_token_get_total_memory(token);
	guint64 free_bytes = tokenwatch_token_get_free_memory(token);
	guint64 used = free_bytes <= total ? total - free_bytes : 0;
	g_autofree gchar *used_str = NULL;
	g_autofree gchar *total_str = NULL;

	if (total == 0)
		return g_strdup(_("unknown"));
	used_str = g_format_size_full(used, G_FORMAT_SIZE_IEC_UNITS);
	total_str = g_format_size_full(total, G_FORMAT_SIZE_IEC_UNITS);
	return g_strdup_printf(_("%s of %s used (%.0f%%)"), used_str, total_str,
			       100.0 * (gdouble)used / (gdouble)total);
}

static gchar *
twctl_tokens_present(TokenwatchClient *client, TokenwatchToken *token)
{
	const gchar *reader_path = tokenwatch_token_get_reader_path(token);
	TokenwatchReader *reader =
		reader_path != NULL ? tokenwatch_client_get_reader_by_path(client, reader_path)
				    : NULL;
	g_autofree gchar *last_seen = NULL;
	g_autofree gchar *reader_name = NULL;

	if (tokenwatch_token_get_present(token) && reader != NULL) {
		reader_name = twctl_output_sanitize(tokenwatch_reader_get_name(reader));
		return g_strdup_printf(_("yes, in %s"), reader_name);
	}
	if (tokenwatch_token_get_present(token))
		return g_strdup(_("yes"));
	if (tokenwatch_token_get_last_seen(token) == 0)
		return g_strdup(_("no"));
	last_seen = twctl_output_minute(tokenwatch_token_get_last_seen(token));
	return g_strdup_printf(_("no, last seen %s"), last_seen);
}

/* the end of the QSCD certification: "2030-03-17", "2025-01-31 (ended)" in
 * red, or %NULL if unknown */
static gchar *
twctl_tokens_qscd_until(TwctlContext *ctx, TokenwatchToken *token)
{
	guint64 until = tokenwatch_token_get_qscd_certified_until(token);
	guint64 now = (guint64)(g_get_real_time() / G_USEC_PER_SEC);
	g_autofree gchar *date = NULL;
	g_autofree gchar *ended = NULL;

	if (until == 0)
		return NULL;
	date = twctl_output_date(until);
	if (until > now)
		return g_steal_pointer(&date);
	ended = g_strdup_printf(_("%s (ended)"), date);
	return twctl_output_colorize(ctx->color, TWCTL_COLOR_RED, ended);
}

/* "yes", "no (its QSCD certification ended)" or "not known"; %NULL when
 * tokenwatch knows nothing of the device */
static const gchar *
twctl_tokens_qualified(TokenwatchToken *token)
{
	if (tokenwatch_token_get_qualified(token))
		return _("yes");
	if (tokenwatch_token_get_qscd_certified_until(token) != 0)
		return _("no (its QSCD certification ended)");
	if (tokenwatch_token_get_device_name(token)[0] != '\0')
		return _("not known");
	return NULL;
}

/* "ProID+Q (Monet+)", either alone, or "-" */
static gchar *
twctl_tokens_model(TokenwatchToken *token)
{
	const gchar *model = tokenwatch_token_get_model(token);
	const gchar *manufacturer = tokenwatch_token_get_manufacturer(token);
	g_autofree gchar *str = NULL;

	if (model[0] != '\0' && manufacturer[0] != '\0')
		str = g_strdup_printf("%s (%s)", model, manufacturer);
	else if (model[0] != '\0' || manufacturer[0] != '\0')
		str = g_strdup(model[0] != '\0' ? model : manufacturer);
	else
		str = g_strdup("-");
	return twctl_output_sanitize(str);
}

static void
twctl_tokens_print_pin(TwctlContext *ctx, gint width, const gchar *label, TokenwatchPinState state)
{
	g_autofree gchar *str = twctl_output_colorize(ctx->color, twctl_pin_state_color(state),
						      twctl_tokens_pin_state_label(state));

	twctl_output_field(2, width, label, str);
}

/* each advice on a line of its own, the first after the label */
static void
twctl_tokens_print_advice(TwctlContext *ctx, gint width, const gchar *label, GPtrArray *advice)
{
	g_autofree gchar *indent = g_strnfill((gsize)width + 5, ' ');

	for (guint i = 0; i < advice->len; i++) {
		TokenwatchAdvice *item = g_ptr_array_index(advice, i);
		g_autofree gchar *line = twctl_advice_line(item);
		g_autofree gchar *colored = twctl_output_colorize(
			ctx->color,
			twctl_advice_severity_color(tokenwatch_advice_get_severity(item)), line);

		if (i == 0)
			twctl_output_field(2, width, label, colored);
		else
			g_print("%s%s\n", indent, colored);
	}
}

typedef enum {
	TWCTL_TOKENS_MODEL,
	TWCTL_TOKENS_DEVICE,
	TWCTL_TOKENS_QSCD_UNTIL,
	TWCTL_TOKENS_QUALIFIED,
	TWCTL_TOKENS_SERIAL,
	TWCTL_TOKENS_PRESENT,
	TWCTL_TOKENS_USER_PIN,
	TWCTL_TOKENS_SO_PIN,
	TWCTL_TOKENS_MEMORY,
	TWCTL_TOKENS_UNPAIRED,
	TWCTL_TOKENS_MODULE,
	TWCTL_TOKENS_ERROR,
	TWCTL_TOKENS_CERTIFICATES,
	TWCTL_TOKENS_ADVICE,
	TWCTL_TOKENS_N_FIELDS,
} TwctlTokensField;

static void
twctl_tokens_print_one(TwctlContext *ctx, TokenwatchClient *client, TokenwatchToken *token)
{
	const gchar *labels[TWCTL_TOKENS_N_FIELDS + 1] = {
		_("Model"),	    _("Device"),	_("QSCD certified until"),
		_("Qualified"),	    _("Serial number"), _("Present"),
		_("User PIN"),	    _("SO PIN (PUK)"),	_("Memory"),
		_("Unpaired keys"), _("Module"),	_("Error"),
		_("Certificates"),  _("Advice"),	NULL,
	};
	gint width = twctl_output_label_width(labels);
	g_autofree gchar *name = twctl_token_name(token);
	g_autofree gchar *title = twctl_output_colorize(ctx->color, TWCTL_COLOR_BOLD, name);
	g_autofree gchar *model = twctl_tokens_model(token);
	g_autofree gchar *device = twctl_output_sanitize(tokenwatch_token_get_device_name(token));
	g_autofree gchar *qscd_until = twctl_tokens_qscd_until(ctx, token);
	const gchar *qualified = twctl_tokens_qualified(token);
	g_autofree gchar *serial = twctl_output_sanitize(tokenwatch_token_get_serial_number(token));
	g_autofree gchar *present = twctl_tokens_present(client, token);
	g_autofree gchar *memory = twctl_tokens_memory(token);
	guint unpaired = tokenwatch_token_get_unpaired_keys(token);
	g_autofree gchar *unpaired_num = g_strdup_printf("%u", unpaired);
	g_autofree gchar *unpaired_str = twctl_output_colorize(
		ctx->color, unpaired > 0 ? TWCTL_COLOR_YELLOW : TWCTL_COLOR_NONE, unpaired_num);
	g_autofree gchar *module = twctl_output_sanitize(tokenwatch_token_get_module(token));
	g_autofree gchar *error = twctl_output_sanitize(tokenwatch_token_get_error(token));
	g_autoptr(GPtrArray) certs = tokenwatch_client_get_certificates_for_token(client, token);
	g_autofree gchar *certs_str = g_strdup_printf("%u", certs->len);
	g_autoptr(GPtrArray) advice = tokenwatch_token_get_advice(token);

	g_print("%s\n", title);
	twctl_output_field(2, width, labels[TWCTL_TOKENS_MODEL], model);
	if (device[0] != '\0')
		twctl_output_field(2, width, labels[TWCTL_TOKENS_DEVICE], device);
	if (qscd_until != NULL)
		twctl_output_field(2, width, labels[TWCTL_TOKENS_QSCD_UNTIL], qscd_until);
	if (qualified != NULL)
		twctl_output_field(2, width, labels[TWCTL_TOKENS_QUALIFIED], qualified);
	twctl_output_field(2, width, labels[TWCTL_TOKENS_SERIAL], serial[0] != '\0' ? serial : "-");
	twctl_output_field(2, width, labels[TWCTL_TOKENS_PRESENT], present);
	twctl_tokens_print_pin(ctx, width, labels[TWCTL_TOKENS_USER_PIN],
			       tokenwatch_token_get_user_pin_state(token));
	twctl_tokens_print_pin(ctx, width, labels[TWCTL_TOKENS_SO_PIN],
			       tokenwatch_token_get_so_pin_state(token));
	twctl_output_field(2, width, labels[TWCTL_TOKENS_MEMORY], memory);
	twctl_output_field(2, width, labels[TWCTL_TOKENS_UNPAIRED], unpaired_str);
	twctl_output_field(2, width, labels[TWCTL_TOKENS_MODULE], module[0] != '\0' ? module : "-");
	if (error[0] != '\0') {
		g_autofree gchar *error_str =
			twctl_output_colorize(ctx->color, TWCTL_COLOR_RED, error);

		twctl_output_field(2, width, labels[TWCTL_TOKENS_ERROR], error_str);
	}
	twctl_output_field(2, width, labels[TWCTL_TOKENS_CERTIFICATES], certs_str);
	twctl_tokens_print_advice(ctx, width, labels[TWCTL_TOKENS_ADVICE], advice);
}

static void
twctl_tokens_print_json(TokenwatchClient *client, GPtrArray *tokens)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "tokens");
	twctl_json_begin_array(json);
	for (guint i = 0; i < tokens->len; i++)
		twctl_token_to_json(json, client, g_ptr_array_index(tokens, i));
	twctl_json_end_array(json);
	twctl_json_end_object(json);
	twctl_json_print(json);
}

TwctlExit
twctl_tokens(TwctlContext *ctx, gchar ***args)
{
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) tokens = NULL;
	g_autoptr(GError) error = NULL;
	TwctlExit rc;

	rc = twctl_context_parse_command(
		ctx,
		_("List the tokens, present or remembered: device, PIN states, memory, how many "
		  "certificates they hold, and what to do about them."),
		NULL, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	tokens = tokenwatch_client_get_tokens(client);
	if (ctx->opt_json) {
		twctl_tokens_print_json(client, tokens);
		return TWCTL_EXIT_OK;
	}
	if (tokens->len == 0)
		g_print("%s\n", _("No tokens."));
	for (guint i = 0; i < tokens->len; i++) {
		if (i > 0)
			g_print("\n");
		twctl_tokens_print_one(ctx, client, g_ptr_array_index(tokens, i));
	}
	return TWCTL_EXIT_OK;
}
