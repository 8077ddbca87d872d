/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TW_AGENT_CONFIG_STALE_DAYS_DEFAULT    30
#define TW_AGENT_CONFIG_STALE_DAYS_MAX	      3650
#define TW_AGENT_CONFIG_RETRY_SECONDS_DEFAULT 300
#define TW_AGENT_CONFIG_RETRY_SECONDS_MAX     86400

/* $XDG_CONFIG_HOME/tokenwatch/agent.conf, see tokenwatch-agent(1) */
typedef struct {
	gboolean register_stores; /* [Stores] Register */
	guint stale_days;	  /* [Stores] RemoveStaleAfterDays */
	guint retry_seconds;	  /* [Stores] RetrySeconds */
} TwAgentConfig;

gchar *tw_agent_config_path(void) G_GNUC_WARN_UNUSED_RESULT;
void tw_agent_config_init(TwAgentConfig *config);
void tw_agent_config_load(TwAgentConfig *config, const gchar *path);

G_END_DECLS
