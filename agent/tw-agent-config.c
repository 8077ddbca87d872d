/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The agent's configuration, an optional keyfile in the user's configuration
 * directory. Unlike tokenwatchd, the agent does not refuse to start over a
 * bad file: a broken file or value is logged with the file, group and key,
 * and that setting keeps its default, so that the user still gets the
 * warnings. Every key is documented in tokenwatch-agent(1).
 */

#include "config.h"

#include "tw-agent-config.h"

#include <errno.h>

static const gchar *const tw_agent_config_keys[] = {"Register", "RemoveStaleAfterDays",
						    "RetrySeconds", NULL};

gchar *
tw_agent_config_path(void)
{
	return g_build_filename(g_get_user_config_dir(), "tokenwatch", "agent.conf", NULL);
}

void
tw_agent_config_init(TwAgentConfig *config)
{
	config->register_stores = TRUE;
	config->stale_days = TW_AGENT_CONFIG_STALE_DAYS_DEFAULT;
	config->retry_seconds = TW_AGENT_CONFIG_RETRY_SECONDS_DEFAULT;
}

static void
tw_agent_config_get_uint(
	GKeyFile *kf, const gchar *path, const gchar *key, guint min, guint max, guint *value)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = g_key_file_get_value(kf, "Stores", key, NULL);
	guint64 v = 0;

	if (text == NULL)
		return;
	g_strstrip(text);
	if (!g_ascii_string_to_unsigned(text, 10, min, max, &v, &error)) {
		g_warning("%s: [Stores] %s: %s; the default %u is used", path, key, error->message,
			  *value);
		return;
	}
	*value = (guint)v;
}

/* Loads @path over the defaults already in @config; an absent file is fine. */
void
tw_agent_config_load(TwAgentConfig *config, const gchar *path)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) groups = NULL;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error)) {
		if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_warning("%s cannot be read, the defaults are used: %s", path,
				  error->message);
		return;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (guint i = 0; groups[i] != NULL; i++) {
		g_auto(GStrv) keys = NULL;

		if (g_strcmp0(groups[i], "Stores") != 0) {
			g_warning("%s: unknown group [%s] ignored", path, groups[i]);
			continue;
		}
		keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
		for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
			if (!g_strv_contains(tw_agent_config_keys, keys[j]))
				g_warning("%s: unknown key %s in [Stores] ignored", path, keys[j]);
		}
	}
	if (g_key_file_has_key(kf, "Stores", "Register", NULL)) {
		gboolean v = g_key_file_get_boolean(kf, "Stores", "Register", &error);
		if (error != NULL) {
			g_warning("%s: [Stores] Register: %s; the default %s is used", path,
				  error->message, config->register_stores ? "true" : "false");
			g_clear_error(&error);
		} else {
			config->register_stores = v;
		}
	}
	tw_agent_config_get_uint(kf, path, "RemoveStaleAfterDays", 0,
				 TW_AGENT_CONFIG_STALE_DAYS_MAX, &config->stale_days);
	tw_agent_config_get_uint(kf, path, "RetrySeconds", 1, TW_AGENT_CONFIG_RETRY_SECONDS_MAX,
				 &config->retry_seconds);
}
