/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "twctl-commands.h"
#include "twctl-objects.h"

static gboolean
twctl_export_write_stdout(const gchar *data, gsize len, GError **error)
{
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    _("Cannot write to standard output"));
		return FALSE;
	}
	return TRUE;
}

/* the certificate as PEM, or as DER with @der */
static gboolean
twctl_export_get(TokenwatchCertificate *cert, gboolean der, GBytes **data, GError **error)
{
	if (der) {
		*data = tokenwatch_certificate_get_der(cert, NULL, error);
	} else {
		gchar *pem = tokenwatch_certificate_get_pem(cert, NULL, error);

		if (pem != NULL)
			*data = g_bytes_new_take(pem, strlen(pem));
	}
	return *data != NULL;
}

TwctlExit
twctl_export(TwctlContext *ctx, gchar ***args)
{
	gboolean opt_der = FALSE;
	g_autofree gchar *opt_output = NULL;
	const GOptionEntry entries[] = {
		{"der", 0, 0, G_OPTION_ARG_NONE, &opt_der, N_("Write DER instead of PEM"), NULL},
		{"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
		 N_("Write to FILE (replaced atomically) instead of standard output"), N_("FILE")},
		{NULL},
	};
	g_autoptr(TokenwatchClient) client = NULL;
	g_autoptr(GBytes) data = NULL;
	g_autoptr(GError) error = NULL;
	gboolean to_stdout;
	TokenwatchCertificate *cert;
	TwctlExit rc;

	rc = twctl_context_parse_command_args(
		ctx, "CERT",
		_("Write one certificate as PEM (or DER with --der). CERT is as for “show”. "
		  "--json does not apply."),
		entries, 1, args);
	if (rc != TWCTL_EXIT_OK)
		return rc;
	if (ctx->opt_json)
		return twctl_context_usage_error("export",
						 _("--json does not apply: export writes the "
						   "certificate itself, as PEM or DER"));
	to_stdout = opt_output == NULL || g_strcmp0(opt_output, "-") == 0;
	if (to_stdout && opt_der && isatty(fileno(stdout)) == 1) {
		g_printerr("%s: %s\n", g_get_prgname(),
			   _("Not writing DER to a terminal: redirect standard output or use "
			     "-o FILE"));
		return TWCTL_EXIT_ERROR;
	}

	client = twctl_context_connect(ctx, TRUE, &error);
	if (client == NULL)
		return twctl_context_error(error);
	cert = twctl_certificate_lookup(client, (*args)[1], &error);
	if (cert == NULL)
		return twctl_context_error(error);
	if (!twctl_export_get(cert, opt_der, &data, &error))
		return twctl_context_error(error);
	if (to_stdout) {
		if (!twctl_export_write_stdout(g_bytes_get_data(data, NULL), g_bytes_get_size(data),
					       &error))
			return twctl_context_error(error);
	} else if (!g_file_set_contents(opt_output, g_bytes_get_data(data, NULL),
					(gssize)g_bytes_get_size(data), &error)) {
		return twctl_context_error(error);
	}
	return TWCTL_EXIT_OK;
}
