/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tokenwatch.h>

G_BEGIN_DECLS

gboolean tw_agent_token_is_mine(TokenwatchToken *token);
const gchar *tw_agent_holder(TokenwatchCertificate *cert);
const gchar *tw_agent_token_name(TokenwatchToken *token);

G_END_DECLS
