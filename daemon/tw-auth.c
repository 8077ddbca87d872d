/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Who may change what: the caller's uid (from the bus, by TwPeers), then
 * polkit, asynchronously, so that the main loop never waits for it. Root may do
 * everything without asking polkit. Everybody else needs the action's
 * authorisation (data/io.github.tokenwatch.policy); an interactive
 * authentication is offered only when the caller allowed it
 * (G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION). Without polkit, or
 * when it cannot be asked, the answer is no.
 */
#define G_LOG_DOMAIN "TwAuth"

#include "config.h"

#include <polkit/polkit.h>

#include "tw-auth.h"

typedef struct {
	gchar *sender;
	gchar *action_id;
	gboolean interactive;
} TwAuthCheck;

static void
tw_auth_check_free(TwAuthCheck *check)
{
	g_free(check->sender);
	g_free(check->action_id);
	g_free(check);
}

static void tw_auth_deny(GTask *task, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static void
tw_auth_deny(GTask *task, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "%s", msg);
}

static void
tw_auth_checked_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TwAuthCheck *check = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(PolkitAuthorizationResult) result =
		polkit_authority_check_authorization_finish(POLKIT_AUTHORITY(source), res, &error);

	if (result == NULL) {
		g_warning("polkit could not check %s for %s: %s", check->action_id, check->sender,
			  error->message);
		tw_auth_deny(task, "not authorized: polkit could not be asked (%s)",
			     error->message);
		return;
	}
	if (polkit_authorization_result_get_is_authorized(result)) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	if (polkit_authorization_result_get_is_challenge(result)) {
		tw_auth_deny(task,
			     "not authorized: %s needs authentication; allow interactive "
			     "authorization to be asked",
			     check->action_id);
		return;
	}
	tw_auth_deny(task, "not authorized for %s", check->action_id);
}

static void
tw_auth_authority_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	TwAuthCheck *check = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(PolkitAuthority) authority = polkit_authority_get_finish(res, &error);
	g_autoptr(PolkitSubject) subject = NULL;
	GCancellable *cancellable = g_task_get_cancellable(task);

	if (authority == NULL) {
		g_warning("no polkit authority: %s", error->message);
		tw_auth_deny(task, "not authorized: polkit is not available (%s)", error->message);
		return;
	}
	subject = polkit_system_bus_name_new(check->sender);
	polkit_authority_check_authorization(
		authority, subject, check->action_id, NULL,
		check->interactive ? POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION
				   : POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE,
		cancellable, tw_auth_checked_cb, g_steal_pointer(&task));
}

/* Whether the client @sender (with @caller_uid) may do @action_id; fails
 * with G_IO_ERROR_PERMISSION_DENIED and a message saying why not. An
 * interactive authentication is offered only when @interactive. */
void
tw_auth_check_sender_async(const gchar *sender,
			   guint32 caller_uid,
			   const gchar *action_id,
			   gboolean interactive,
			   GCancellable *cancellable,
			   GAsyncReadyCallback callback,
			   gpointer user_data)
{
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);
	TwAuthCheck *check = g_new0(TwAuthCheck, 1);

	g_task_set_source_tag(task, tw_auth_check_sender_async);
	check->sender = g_strdup(sender);
	check->action_id = g_strdup(action_id);
	check->interactive = interactive;
	g_task_set_task_data(task, check, (GDestroyNotify)tw_auth_check_free);
	if (caller_uid == 0) {
		g_task_return_boolean(task, TRUE);
		g_object_unref(task);
		return;
	}
	if (check->sender == NULL) {
		tw_auth_deny(task, "not authorized: the caller has no bus name");
		g_object_unref(task);
		return;
	}
	polkit_authority_get_async(cancellable, tw_auth_authority_cb, task);
}

/* Whether the caller of @invocation (with @caller_uid) may do @action_id,
 * interactively if the call allows it */
void
tw_auth_check_async(GDBusMethodInvocation *invocation,
		    guint32 caller_uid,
		    const gchar *action_id,
		    GCancellable *cancellable,
		    GAsyncReadyCallback callback,
		    gpointer user_data)
{
	GDBusMessage *message = g_dbus_method_invocation_get_message(invocation);

	tw_auth_check_sender_async(g_dbus_method_invocation_get_sender(invocation), caller_uid,
				   action_id,
				   (g_dbus_message_get_flags(message) &
				    G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0,
				   cancellable, callback, user_data);
}

gboolean
tw_auth_check_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
