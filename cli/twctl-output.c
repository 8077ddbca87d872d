/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "twctl-output.h"

gboolean
twctl_output_want_color(gboolean disabled)
{
	const gchar *no_color = g_getenv("NO_COLOR");

	if (disabled)
		return FALSE;
	if (no_color != NULL && no_color[0] != '\0')
		return FALSE;
	return isatty(fileno(stdout)) == 1;
}

gchar *
twctl_output_colorize(gboolean enabled, TwctlColor color, const gchar *text)
{
	const gchar *start = NULL;

	if (!enabled)
		return g_strdup(text);
	switch (color) {
	case TWCTL_COLOR_BOLD:
		start = "\033[1m";
		break;
	case TWCTL_COLOR_DIM:
		start = "\033[2m";
		break;
	case TWCTL_COLOR_GREEN:
		start = "\033[32m";
		break;
	case TWCTL_COLOR_YELLOW:
		start = "\033[33m";
		break;
	case TWCTL_COLOR_RED:
		start = "\033[31m";
		break;
	case TWCTL_COLOR_NONE:
	default:
		return g_strdup(text);
	}
	return g_strdup_printf("%s%s\033[0m", start, text);
}

/* the widest of @labels, in characters, for twctl_output_field() */
gint
twctl_output_label_width(const gchar *const *labels)
{
	gint width = 0;

	for (guint i = 0; labels[i] != NULL; i++)
		width = MAX(width, (gint)g_utf8_strlen(labels[i], -1));
	return width;
}

/* "label:  value" indented by @indent spaces, the values aligned for labels
 * of up to @width characters */
void
twctl_output_field(guint indent, gint width, const gchar *label, const gchar *value)
{
	g_autoptr(GString) line = g_string_new(NULL);
	gint pad = width - (gint)g_utf8_strlen(label, -1);

	for (guint i = 0; i < indent; i++)
		g_string_append_c(line, ' ');
	g_string_append(line, label);
	g_string_append_c(line, ':');
	for (gint i = 0; i < pad + 2; i++)
		g_string_append_c(line, ' ');
	g_string_append(line, value);
	g_print("%s\n", line->str);
}

/* local time with milliseconds, e.g. "2024-11-21 10:03:12.345" */
gchar *
twctl_output_timestamp(GDateTime *dt)
{
	g_autofree gchar *seconds = g_date_time_format(dt, "%Y-%m-%d %H:%M:%S");

	return g_strdup_printf("%s.%03d", seconds, g_date_time_get_microsecond(dt) / 1000);
}

/* a small JSON emitter: enough for flat objects and arrays of them */

typedef struct {
	gboolean is_object;
	guint count;
} TwctlJsonLevel;

struct _TwctlJson {
	GString *str;
	GArray *levels; /* of TwctlJsonLevel */
	gboolean pretty;
	gboolean after_key;
};

TwctlJson *
twctl_json_new(gboolean pretty)
{
	TwctlJson *self = g_new0(TwctlJson, 1);

	self->str = g_string_new(NULL);
	self->levels = g_array_new(FALSE, FALSE, sizeof(TwctlJsonLevel));
	self->pretty = pretty;
	return self;
}

void
twctl_json_free(TwctlJson *self)
{
	g_string_free(self->str, TRUE);
	g_array_unref(self->levels);
	g_free(self);
}

/* escapes @str as the contents of a JSON string: quotes, backslashes and
 * control characters are escaped, other characters pass as UTF-8 */
void
twctl_json_escape(GString *out, const gchar *str)
{
	g_autofree gchar *valid = NULL;

	if (!g_utf8_validate(str, -1, NULL)) {
		valid = g_utf8_make_valid(str, -1);
		str = valid;
	}
	for (const guchar *p = (const guchar *)str; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\b':
			g_string_append(out, "\\b");
			break;
		case '\f':
			g_string_append(out, "\\f");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(out, "\\u%04x", (guint)*p);
			else
				g_string_append_c(out, (gchar)*p);
			break;
		}
	}
}

static void
twctl_json_newline(TwctlJson *self)
{
	if (!self->pretty)
		return;
	g_string_append_c(self->str, '\n');
	for (guint i = 0; i < self->levels->len; i++)
		g_string_append(self->str, "  ");
}

/* the separator before a key, or before a value that has no key */
static void
twctl_json_separate(TwctlJson *self)
{
	TwctlJsonLevel *level;

	if (self->after_key) {
		self->after_key = FALSE;
		return;
	}
	if (self->levels->len == 0)
		return;
	level = &g_array_index(self->levels, TwctlJsonLevel, self->levels->len - 1);
	if (level->count++ > 0)
		g_string_append_c(self->str, ',');
	twctl_json_newline(self);
}

static void
twctl_json_begin(TwctlJson *self, gboolean is_object)
{
	TwctlJsonLevel level = {is_object, 0};

	twctl_json_separate(self);
	g_string_append_c(self->str, is_object ? '{' : '[');
	g_array_append_val(self->levels, level);
}

static void
twctl_json_end(TwctlJson *self, gboolean is_object)
{
	TwctlJsonLevel level;

	g_return_if_fail(self->levels->len > 0);
	level = g_array_index(self->levels, TwctlJsonLevel, self->levels->len - 1);
	g_return_if_fail(level.is_object == is_object);
	g_array_set_size(self->levels, self->levels->len - 1);
	if (level.count > 0)
		twctl_json_newline(self);
	g_string_append_c(self->str, is_object ? '}' : ']');
}

void
twctl_json_begin_object(TwctlJson *self)
{
	twctl_json_begin(self, TRUE);
}

void
twctl_json_end_object(TwctlJson *self)
{
	twctl_json_end(self, TRUE);
}

void
twctl_json_begin_array(TwctlJson *self)
{
	twctl_json_begin(self, FALSE);
}

void
twctl_json_end_array(TwctlJson *self)
{
	twctl_json_end(self, FALSE);
}

/* the next value is the member @key of the current object */
void
twctl_json_key(TwctlJson *self, const gchar *key)
{
	g_return_if_fail(!self->after_key);
	twctl_json_separate(self);
	g_string_append_c(self->str, '"');
	twctl_json_escape(self->str, key);
	g_string_append(self->str, self->pretty ? "\": " : "\":");
	self->after_key = TRUE;
}

void
twctl_json_string(TwctlJson *self, const gchar *value)
{
	if (value == NULL) {
		twctl_json_null(self);
		return;
	}
	twctl_json_separate(self);
	g_string_append_c(self->str, '"');
	twctl_json_escape(self->str, value);
	g_string_append_c(self->str, '"');
}

void
twctl_json_boolean(TwctlJson *self, gboolean value)
{
	twctl_json_separate(self);
	g_string_append(self->str, value ? "true" : "false");
}

void
twctl_json_uint(TwctlJson *self, guint64 value)
{
	twctl_json_separate(self);
	g_string_append_printf(self->str, "%" G_GUINT64_FORMAT, value);
}

/* locale-independent, so a decimal comma never gets in */
void
twctl_json_double(TwctlJson *self, gdouble value)
{
	gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

	if (!isfinite(value)) {
		twctl_json_null(self);
		return;
	}
	twctl_json_separate(self);
	g_string_append(self->str, g_ascii_formatd(buf, sizeof(buf), "%.6f", value));
}

void
twctl_json_null(TwctlJson *self)
{
	twctl_json_separate(self);
	g_string_append(self->str, "null");
}

const gchar *
twctl_json_get_data(TwctlJson *self)
{
	return self->str->str;
}
