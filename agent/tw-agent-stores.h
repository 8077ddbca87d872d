/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <tokenwatch.h>

#include "tw-agent-config.h"

G_BEGIN_DECLS

/* --- the agent's side: decides what to register, runs the helper --- */

#define TW_TYPE_AGENT_STORES (tw_agent_stores_get_type())
G_DECLARE_FINAL_TYPE(TwAgentStores, tw_agent_stores, TW, AGENT_STORES, GObject)

TwAgentStores *tw_agent_stores_new(const TwAgentConfig *config) G_GNUC_WARN_UNUSED_RESULT;
void tw_agent_stores_set_client(TwAgentStores *self, TokenwatchClient *client);
void tw_agent_stores_schedule_sync(TwAgentStores *self);

/* --- the helper's side (tw-agent-stores-helper.c): does the NSS work --- */

typedef enum {
	TW_STORE_RESULT_OK,
	TW_STORE_RESULT_BUSY,
	TW_STORE_RESULT_FAILED,
} TwStoreResultStatus;

typedef struct {
	TwStoreResultStatus status;
	gchar *where;	/* an NSS database directory, "p11-kit" or "record" */
	gchar *message; /* "" when all went well */
} TwStoreResult;

void tw_store_result_free(TwStoreResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwStoreResult, tw_store_result_free)

gchar *tw_agent_stores_record_path(void) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray *tw_agent_stores_apply(GKeyFile *request, GError **error) G_GNUC_WARN_UNUSED_RESULT;
int tw_agent_stores_helper_main(void);

G_END_DECLS
