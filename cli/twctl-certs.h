/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "twctl-context.h"

G_BEGIN_DECLS

/* the certificate table of "certs" and "expiring", or {"certificates": [...]} */
void twctl_certs_print(TwctlContext *ctx, GPtrArray *certs, const gchar *none);

G_END_DECLS
