/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Turning what readers and cards say into what D-Bus accepts.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "tw-names.h"

/**
 * tw_names_make_display:
 * @raw: bytes from a driver or a card, in no promised encoding
 * @max_chars: the longest result, in characters (0: no limit)
 *
 * Returns valid UTF-8 for a D-Bus string: invalid bytes become U+FFFD,
 * control characters become spaces, and a string longer than @max_chars is
 * cut with an ellipsis.
 */
gchar *
tw_names_make_display(const gchar *raw, gsize max_chars)
{
	g_autofree gchar *valid = g_utf8_make_valid(raw != NULL ? raw : "", -1);
	glong len = g_utf8_strlen(valid, -1);
	gboolean cut = max_chars > 0 && (gsize)len > max_chars;
	GString *out = g_string_sized_new(strlen(valid));
	gsize n = 0;

	for (const gchar *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (cut && n == max_chars - 1) {
			g_string_append_unichar(out, 0x2026); /* … */
			break;
		}
		g_string_append_unichar(out, g_unichar_iscntrl(c) ? ' ' : c);
		n++;
	}
	return g_string_free(out, FALSE);
}

/**
 * tw_names_object_path:
 * @kind: "readers", "tokens" or "certificates"
 * @id: any string, including the empty one and bytes that are not UTF-8
 *
 * Returns the object path of an object of @kind. The id is escaped with
 * g_dbus_escape_object_path(): only [A-Za-z0-9_] remain, different ids stay
 * different, and the escaping can be undone.
 */
gchar *
tw_names_object_path(const gchar *kind, const gchar *id)
{
	g_autofree gchar *escaped = NULL;

	if (id == NULL || *id == '\0')
		return g_strdup_printf("%s/%s/_", TW_DBUS_PATH, kind);
	escaped = g_dbus_escape_object_path(id);
	return g_strdup_printf("%s/%s/%s", TW_DBUS_PATH, kind, escaped);
}

/* upper-case hex without separators, as PC/SC tools print an ATR */
gchar *
tw_names_hex(const guint8 *data, gsize len)
{
	static const gchar digits[] = "0123456789ABCDEF";
	gchar *out = g_new(gchar, len * 2 + 1);

	for (gsize i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0x0f];
	}
	out[len * 2] = '\0';
	return out;
}
