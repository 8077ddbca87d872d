/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "twctl-context.h"

G_BEGIN_DECLS

/* @args: (inout): the command name and what follows it */
typedef TwctlExit (*TwctlCommandFunc)(TwctlContext *ctx, gchar ***args);

typedef struct {
	const gchar *name;
	TwctlCommandFunc func;
	const gchar *description;
} TwctlCommand;

TwctlExit twctl_status(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_readers(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_tokens(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_certs(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_show(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_export(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_monitor(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_expiring(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_check(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_forget(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_reload(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_unregister(TwctlContext *ctx, gchar ***args);
TwctlExit twctl_doctor(TwctlContext *ctx, gchar ***args);

G_END_DECLS
