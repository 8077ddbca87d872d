/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * This file is compiled into libtokenwatch and into tokenwatchd: keep it free
 * of anything but GLib/GIO.
 */

#include "tokenwatch-error.h"

#include <gio/gio.h>

static const GDBusErrorEntry tokenwatch_error_entries[] = {
	{TOKENWATCH_ERROR_FAILED, "io.github.tokenwatch.TokenWatch1.Error.Failed"},
	{TOKENWATCH_ERROR_NOT_FOUND, "io.github.tokenwatch.TokenWatch1.Error.NotFound"},
	{TOKENWATCH_ERROR_NO_SERVICE, "io.github.tokenwatch.TokenWatch1.Error.NoService"},
	{TOKENWATCH_ERROR_PERMISSION_DENIED,
	 "io.github.tokenwatch.TokenWatch1.Error.PermissionDenied"},
	{TOKENWATCH_ERROR_INVALID_ARGUMENT,
	 "io.github.tokenwatch.TokenWatch1.Error.InvalidArgument"},
	{TOKENWATCH_ERROR_NOT_SUPPORTED, "io.github.tokenwatch.TokenWatch1.Error.NotSupported"},
};
G_STATIC_ASSERT(G_N_ELEMENTS(tokenwatch_error_entries) == TOKENWATCH_ERROR_LAST);

/**
 * tokenwatch_error_quark:
 *
 * The quark of the %TOKENWATCH_ERROR domain. The first call also registers the
 * mapping between [error@Tokenwatch.Error] codes and D-Bus error names, so that
 * errors cross the bus in both directions with their code intact.
 *
 * Returns: the error domain quark
 *
 * Since: 0.1
 */
GQuark
tokenwatch_error_quark(void)
{
	static gsize quark = 0;

	g_dbus_error_register_error_domain("tokenwatch-error-quark", &quark,
					   tokenwatch_error_entries,
					   G_N_ELEMENTS(tokenwatch_error_entries));
	return (GQuark)quark;
}
