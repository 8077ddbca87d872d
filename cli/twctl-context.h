/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tokenwatch.h>

G_BEGIN_DECLS

typedef enum {
	TWCTL_EXIT_OK = 0,
	TWCTL_EXIT_ERROR = 1,
	TWCTL_EXIT_USAGE = 2,
	/* "check" only: what it found, or that it could not check */
	TWCTL_EXIT_CHECK_WARNING = 1,
	TWCTL_EXIT_CHECK_CRITICAL = 2,
	TWCTL_EXIT_CHECK_UNKNOWN = 3,
} TwctlExit;

/* what the global options say; shared by all commands */
typedef struct {
	gboolean opt_system;
	gboolean opt_session;
	gboolean opt_json;
	gboolean opt_no_color;
	gboolean opt_version;
	GBusType bus_type; /* resolved from the options */
	gboolean color;	   /* resolved from the options and the terminal */
} TwctlContext;

GOptionGroup *twctl_context_get_global_group(TwctlContext *ctx,
					     gboolean with_version) G_GNUC_WARN_UNUSED_RESULT;
gboolean twctl_context_resolve(TwctlContext *ctx, GError **error);
TwctlExit twctl_context_parse_command(TwctlContext *ctx,
				      const gchar *summary,
				      const GOptionEntry *entries,
				      gchar ***args);
TwctlExit twctl_context_parse_command_args(TwctlContext *ctx,
					   const gchar *parameters,
					   const gchar *summary,
					   const GOptionEntry *entries,
					   guint n_args,
					   gchar ***args);
TwctlExit twctl_context_usage_error(const gchar *command, const gchar *format, ...)
	G_GNUC_PRINTF(2, 3);
TwctlExit twctl_context_error(const GError *error);
TokenwatchClient *twctl_context_connect(TwctlContext *ctx,
					gboolean need_daemon,
					GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
