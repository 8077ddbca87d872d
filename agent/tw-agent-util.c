/*
 * Copyright (C) 2026 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tw-agent-util.h"

#include <glib/gi18n.h>
#include <unistd.h>

/* Whether @token belongs to the user of this session. tokenwatchd records in
 * Token.Owners the users who had a session open while the token was in a
 * reader. A token is ours when Owners holds getuid(). When Owners is empty
 * (no login sessions known, as on a headless machine or a token remembered
 * from before Owners existed), nobody else has a better claim, so it counts
 * as ours too. A token owned only by other users is theirs: its warnings are
 * not shown here and its certificates are not registered. */
gboolean
tw_agent_token_is_mine(TokenwatchToken *token)
{
	const guint32 *owners;
	gsize n_owners = 0;
	guint32 uid = (guint32)getuid();

	owners = tokenwatch_token_get_owners(token, &n_owners);
	if (owners == NULL || n_owners == 0)
		return TRUE;
	for (gsize i = 0; i < n_owners; i++) {
		if (owners[i] == uid)
			return TRUE;
	}
	return FALSE;
}

const gchar *
tw_agent_holder(TokenwatchCertificate *cert)
{
	const gchar *cn = tokenwatch_certificate_get_common_name(cert);

	if (cn != NULL && cn[0] != '\0')
		return cn;
	return tokenwatch_certificate_get_subject(cert);
}

const gchar *
tw_agent_token_name(TokenwatchToken *token)
{
	const gchar *name = tokenwatch_token_get_device_name(token);

	if (name != NULL && name[0] != '\0')
		return name;
	name = tokenwatch_token_get_label(token);
	if (name != NULL && name[0] != '\0')
		return name;
	return _("token");
}
