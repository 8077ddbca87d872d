/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* polkit actions (data/io.github.tokenwatch.policy) */
#define TW_AUTH_ACTION_FORGET		"io.github.tokenwatch.forget"
#define TW_AUTH_ACTION_FORGET_OWN	"io.github.tokenwatch.forget-own-token"
#define TW_AUTH_ACTION_RELOAD_CONFIG	"io.github.tokenwatch.reload-config"
#define TW_AUTH_ACTION_READ_TOKENS	"io.github.tokenwatch.read-tokens"
#define TW_AUTH_ERROR_PERMISSION_DENIED "io.github.tokenwatch.TokenWatch1.Error.PermissionDenied"

void tw_auth_check_async(GDBusMethodInvocation *invocation,
			 guint32 caller_uid,
			 const gchar *action_id,
			 GCancellable *cancellable,
			 GAsyncReadyCallback callback,
			 gpointer user_data);
void tw_auth_check_sender_async(const gchar *sender,
				guint32 caller_uid,
				const gchar *action_id,
				gboolean interactive,
				GCancellable *cancellable,
				GAsyncReadyCallback callback,
				gpointer user_data);
gboolean tw_auth_check_finish(GAsyncResult *res, GError **error);

G_END_DECLS
