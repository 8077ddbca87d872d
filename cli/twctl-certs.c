/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "twctl-certs.h"
#include "twctl-commands.h"
#include "twctl-objects.h"
#include "twctl-output.h"

/* the columns of the vendor tool's list, and a note with no header for
 * the certificates that can no longer be used although their date has not
 * come (superseded, revoked by the device) */
typedef enum {
	TWCTL_CERTS_COL_NAME,
	TWCTL_CERTS_COL_SERIAL,
	TWCTL_CERTS_COL_VALID_UNTIL,
	TWCTL_CERTS_COL_DAYS_LEFT,
	TWCTL_CERTS_COL_ISSUER,
	TWCTL_CERTS_COL_KIND,
	TWCTL_CERTS_COL_NOTE,
	TWCTL_CERTS_N_COLS,
} TwctlCertsCol;

/* on a terminal too narrow for the table, names are cut to no less */
#define TWCTL_CERTS_MIN_NAME_WIDTH 12

typedef struct {
	gchar *cells[TWCTL_CERTS_N_COLS];
	TwctlColor color;
} TwctlCertsRow;

static void
twctl_certs_row_clear(gpointer data)
{
	TwctlCertsRow *row = data;

	for (guint i = 0; i < TWCTL_CERTS_N_COLS; i++)
		g_free(row->cells[i]);
}

/* whether the device's QSCD certification ends before the certificate */
static gboolean
twctl_certs_ends_early(TokenwatchCertificate *cert)
{
	guint64 effective = tokenwatch_certificate_get_effective_not_after(cert);

	return effective != 0 && effective < tokenwatch_certificate_get_not_after(cert);
}

static const gchar *
twctl_certs_note(TokenwatchCertificateStatus status)
{
	switch (status) {
	case TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED:
		return _("superseded");
	case TOKENWATCH_CERTIFICATE_STATUS_REVOKED_BY_DEVICE:
		return _("revoked by device");
	default:
		return "";
	}
}

static void
twctl_certs_row_init(TwctlCertsRow *row, TokenwatchCertificate *cert)
{
	g_autofree gchar *until =
		twctl_output_date(tokenwatch_certificate_get_effective_not_after(cert));

	row->cells[TWCTL_CERTS_COL_NAME] = twctl_certificate_name(cert);
	row->cells[TWCTL_CERTS_COL_SERIAL] =
		twctl_output_sanitize(tokenwatch_certificate_get_serial_number_decimal(cert));
	row->cells[TWCTL_CERTS_COL_VALID_UNTIL] =
		g_strconcat(until, twctl_certs_ends_early(cert) ? "*" : "", NULL);
	row->cells[TWCTL_CERTS_COL_DAYS_LEFT] =
		g_strdup_printf("%d", tokenwatch_certificate_get_days_left(cert));
	row->cells[TWCTL_CERTS_COL_ISSUER] = twctl_certificate_issuer_name(cert);
	row->cells[TWCTL_CERTS_COL_KIND] =
		g_strdup(twctl_certificate_kind_label(tokenwatch_certificate_get_kind(cert)));
	row->cells[TWCTL_CERTS_COL_NOTE] =
		g_strdup(twctl_certs_note(tokenwatch_certificate_get_status(cert)));
	row->color = twctl_certificate_status_color(tokenwatch_certificate_get_status(cert));
}

/* on a terminal, long names and issuers are cut until the table fits */
static void
twctl_certs_fit(guint *widths, guint n_cols, GArray *rows)
{
	guint term = twctl_output_terminal_width();
	guint total = 2 * (n_cols - 1);

	if (term == 0)
		return;
	for (guint i = 0; i < n_cols; i++)
		total += widths[i];
	while (total > term) {
		guint *widest = widths[TWCTL_CERTS_COL_NAME] >= widths[TWCTL_CERTS_COL_ISSUER]
					? &widths[TWCTL_CERTS_COL_NAME]
					: &widths[TWCTL_CERTS_COL_ISSUER];

		if (*widest <= TWCTL_CERTS_MIN_NAME_WIDTH)
			break;
		(*widest)--;
		total--;
	}
	for (guint i = 0; i < rows->len; i++) {
		TwctlCertsRow *row = &g_array_index(rows, TwctlCertsRow, i);
		const TwctlCertsCol cut[] = {TWCTL_CERTS_COL_NAME, TWCTL_CERTS_COL_ISSUER};

		for (guint j = 0; j < G_N_ELEMENTS(cut); j++) {
			gchar *cell = twctl_output_truncate(row->cells[cut[j]], widths[cut[j]]);

			g_free(row->cells[cut[j]]);
			row->cells[cut[j]] = cell;
		}
	}
}

static void
twctl_certs_print_line(TwctlContext *ctx,
		       gchar **cells,
		       const guint *widths,
		       guint n_cols,
		       TwctlColor color,
		       gboolean header)
{
	g_autoptr(GString) line = g_string_new(NULL);
	g_autofree gchar *colored = NULL;

	for (guint i = 0; i < n_cols; i++) {
		g_autoptr(GString) cell = g_string_new(NULL);
		gboolean last = i + 1 == n_cols;

		twctl_output_pad(cell, cells[i], last ? 0 : widths[i],
				 !header && i == TWCTL_CERTS_COL_DAYS_LEFT);
		if ((i == TWCTL_CERTS_COL_DAYS_LEFT || i == TWCTL_CERTS_COL_NOTE) && !header &&
		    cells[i][0] != '\0') {
			g_autofree gchar *colored_cell =
				twctl_output_colorize(ctx->color, color, cell->str);

			g_string_append(line, colored_cell);
		} else {
			g_string_append(line, cell->str);
		}
		if (!last)
			g_string_append(line, "  ");
	}
	/* the note has no header: no trailing spaces */
	while (line->len > 0 && line->str[line->len - 1] == ' ')
		g_string_truncate(line, line->len - 1);
	colored = twctl_output_colorize(ctx->color && header, TWCTL_COLOR_BOLD, line->str);
	g_print("%s\n", colored);
}

static void
twctl_certs_print_legend(GPtrArray *certs)
{
	gboolean ends_early = FALSE;
	gboolean superseded = FALSE;
	gboolean revoked = FALSE;

	for (guint i = 0; i < certs->len; i++) {
		TokenwatchCertificate *cert = g_ptr_array_index(certs, i);
		TokenwatchCertificateStatus status = tokenwatch_certificate_get_status(cert);

		ends_early = ends_early || twctl_certs_ends_early(cert);
		superseded = superseded || status == TOKENWATCH_CERTIFICATE_STATUS_SUPERSEDED;
		revoked = revoked || status == TOKENWATCH_CERTIFICATE_STATUS_REVOKED_BY_DEVICE;
	}
	if (ends_early || superseded || revoked)
		g_print("\n");
	if (ends_early) {
		g_print("%s\n", _("* the QSCD certification of the device ends first: the "
				  "certificate is revoked then"));
	}
	if (superseded) {
		g_print("%s\n", _("superseded: a renewed certificate is known; remove this one "
				  "once the new one is in use"));
	}
	if (revoked) {
		g_print("%s\n", _("revoked by device: the QSCD certification of its device has "
				  "ended, which revoked it"));
	}
}

static void
twctl_certs_print_text(TwctlContext *ctx, GPtrArray *certs)
{
	gchar *header[TWCTL_CERTS_N_COLS] = {
		_("Name"),
		_("Serial number"),
		_("Valid until"),
		_("Days left"),
		_("Issuer"),
		_("Kind"),
		"",
	};
	g_autoptr(GArray) rows = g_array_sized_new(FALSE, TRUE, sizeof(TwctlCertsRow), certs->len);
	guint widths[TWCTL_CERTS_N_COLS] = {0};
	guint n_cols = TWCTL_CERTS_N_COLS - 1;

	g_array_set_clear_func(rows, twctl_certs_row_clear);
	g_array_set_size(rows, certs->len);
	for (guint i = 0; i < TWCTL_CERTS_N_COLS; i++)
		widths[i] = twctl_output_width(header[i]);
	for (guint i = 0; i < certs->len; i++) {
		TwctlCertsRow *row = &g_array_index(rows, TwctlCertsRow, i);

		twctl_certs_row_init(row, g_ptr_array_index(certs, i));
		for (guint j = 0; j < TWCTL_CERTS_N_COLS; j++)
			widths[j] = MAX(widths[j], twctl_output_width(row->cells[j]));
	}
	if (widths[TWCTL_CERTS_COL_NOTE] > 0)
		n_cols = TWCTL_CERTS_N_COLS;
	twctl_certs_fit(widths, n_cols, rows);

	twctl_certs_print_line(ctx, header, widths, n_cols, TWCTL_COLOR_NONE, TRUE);
	for (guint i = 0; i < rows->len; i++) {
		TwctlCertsRow *row = &g_array_index(rows, TwctlCertsRow, i);

		twctl_certs_print_line(ctx, row->cells, widths, n_cols, row->color, FALSE);
	}
	twctl_certs_print_legend(certs);
}

static void
twctl_certs_print_json(GPtrArray *certs)
{
	g_autoptr(TwctlJson) json = twctl_json_new(TRUE);

	twctl_json_begin_object(json);
	twctl_json_key(json, "certificates");
	twctl_json_begin_array(json);
	for (guint i = 0; i < certs->len; i++)
		twctl_certificate_to_json(json, g_ptr_array_index(certs, i));
	twctl_json_end_array(json);
	twctl_json_end_object(json);
	twctl_json_print(json);
}

TwctlExit
twctl_certs(TwctlContext *ctx, gchar ***args)
{
	g_autofree gchar *opt_token = NULL;
	const GOptionEntry entries[] = {
		{"token", 't', 0, G_OPTION_ARG_STRING, &opt_token,
		 N_("Only the certificates on TOKEN (its object path, ID, serial number or label)"),
		 N_("TOKEN")},
		{NULL},
	};
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GPtrArray) certs = NULL;
	g_autoptr(GError) error = NULL;
	TwctlExit rc;

	rc = twctl_context_parse_command(ctx,
					 _("List the certificates like the vendor tools do: name, "
					   "serial number, validity, issuer and kind."),
					 entries, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	if (opt_token != NULL) {
		TokenwatchToken *token = twctl_token_lookup(client, opt_token, &error);

		if (token == NULL)
			return twctl_context_error(error);
		certs = tokenwatch_client_get_certificates_for_token(client, token);
	} else {
		certs = tokenwatch_client_get_certificates(client);
	}
	twctl_certs_print(ctx, certs, _("No certificates."));
	return TWCTL_EXIT_OK;
}

/* the table of "certs", or its JSON; @none is the text when there are no
 * certificates */
void
twctl_certs_print(TwctlContext *ctx, GPtrArray *certs, const gchar *none)
{
	if (ctx->opt_json)
		twctl_certs_print_json(certs);
	else if (certs->len == 0)
		g_print("%s\n", none);
	else
		twctl_certs_print_text(ctx, certs);
}
