/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Reading attributes from the RFC 4514 strings tokenwatchd gives for the
 * subject and the issuer of a certificate. */

#include "config.h"

#include <string.h>

#include "twctl-dn.h"

static gboolean
twctl_dn_is_hex(gchar c)
{
	return g_ascii_isxdigit(c);
}

/* Reads one attribute value at *@p up to an unescaped ',', '+' or the end,
 * unescaping "\," and "\XX"; leaves *@p on the separator. */
static gchar *
twctl_dn_read_value(const gchar **p)
{
	GString *value = g_string_new(NULL);
	const gchar *s = *p;

	while (*s != '\0' && *s != ',' && *s != '+') {
		if (*s == '\\' && twctl_dn_is_hex(s[1]) && twctl_dn_is_hex(s[2])) {
			g_string_append_c(value, (gchar)(g_ascii_xdigit_value(s[1]) * 16 +
							 g_ascii_xdigit_value(s[2])));
			s += 3;
		} else if (*s == '\\' && s[1] != '\0') {
			g_string_append_c(value, s[1]);
			s += 2;
		} else {
			g_string_append_c(value, *s);
			s++;
		}
	}
	*p = s;
	return g_string_free(value, FALSE);
}

/* the first value of the attribute @type (e.g. "CN", case-insensitive) in
 * the RFC 4514 string @dn, or %NULL; the value is valid UTF-8. A value
 * written as "#" and hex (BER) is returned as written. */
gchar *
twctl_dn_get_attribute(const gchar *dn, const gchar *type)
{
	const gchar *p = dn;
	gsize type_len = strlen(type);

	while (p != NULL && *p != '\0') {
		const gchar *eq;
		g_autofree gchar *value = NULL;
		gboolean match;

		while (*p == ' ')
			p++;
		eq = strchr(p, '=');
		if (eq == NULL)
			return NULL;
		match = (gsize)(eq - p) == type_len && g_ascii_strncasecmp(p, type, type_len) == 0;
		p = eq + 1;
		value = twctl_dn_read_value(&p);
		if (match)
			return g_utf8_make_valid(value, -1);
		if (*p != '\0')
			p++;
	}
	return NULL;
}

/* what to call the holder of @dn: its CN, else its O, else the whole @dn */
gchar *
twctl_dn_get_name(const gchar *dn)
{
	gchar *name = twctl_dn_get_attribute(dn, "CN");

	if (name == NULL || name[0] == '\0') {
		g_free(name);
		name = twctl_dn_get_attribute(dn, "O");
	}
	if (name == NULL || name[0] == '\0') {
		g_free(name);
		name = g_strdup(dn);
	}
	return name;
}
