/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* a date in local time, "2026-11-21", or "-" for 0 (unknown) */
gchar *
twctl_output_date(guint64 unix_time)
{
	g_autoptr(GDateTime) dt = NULL;

	if (unix_time == 0 || unix_time > G_MAXINT64)
		return g_strdup("-");
	dt = g_date_time_new_from_unix_local((gint64)unix_time);
	if (dt == NULL)
		return g_strdup("-");
	return g_date_time_format(dt, "%Y-%m-%d");
}

/* local time to the minute, "2026-11-20 14:02", for people; "unknown" for
 * 0 */
gchar *
twctl_output_minute(guint64 unix_time)
{
	g_autoptr(GDateTime) dt = NULL;

	if (unix_time == 0 || unix_time > G_MAXINT64)
		return g_strdup("unknown");
	dt = g_date_time_new_from_unix_local((gint64)unix_time);
	if (dt == NULL)
		return g_strdup("unknown");
	return g_date_time_format(dt, "%Y-%m-%d %H:%M");
}

/* local time in ISO 8601 with the offset, "2026-11-21T10:03:12+01:00", or
 * "unknown" for 0 */
gchar *
twctl_output_datetime(guint64 unix_time)
{
	g_autoptr(GDateTime) dt = NULL;

	if (unix_time == 0 || unix_time > G_MAXINT64)
		return g_strdup("unknown");
	dt = g_date_time_new_from_unix_local((gint64)unix_time);
	if (dt == NULL)
		return g_strdup("unknown");
	return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z");
}

/* Text from a token or a certificate is not ours: control characters (an
 * escape sequence in a certificate's name) must not reach the terminal. They
 * become U+FFFD, as invalid UTF-8 does. */
gchar *
twctl_output_sanitize(const gchar *text)
{
	g_autofree gchar *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_sized_new(strlen(valid));

	for (const gchar *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_iscntrl(c))
			g_string_append_unichar(out, 0xfffd);
		else
			g_string_append_unichar(out, c);
	}
	return g_string_free(out, FALSE);
}

static guint
twctl_output_char_width(gunichar c)
{
	if (g_unichar_iszerowidth(c))
		return 0;
	return g_unichar_iswide(c) ? 2 : 1;
}

/* the columns @text takes on a terminal: characters, wide ones twice,
 * combining ones not at all */
guint
twctl_output_width(const gchar *text)
{
	guint width = 0;

	for (const gchar *p = text; *p != '\0'; p = g_utf8_next_char(p))
		width += twctl_output_char_width(g_utf8_get_char(p));
	return width;
}

/* @text cut to at most @width columns, ending in "…" when cut */
gchar *
twctl_output_truncate(const gchar *text, guint width)
{
	GString *out;
	guint used = 0;

	if (twctl_output_width(text) <= width)
		return g_strdup(text);
	out = g_string_new(NULL);
	for (const gchar *p = text; *p != '\0' && width > 0; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		guint w = twctl_output_char_width(c);

		if (used + w > width - 1)
			break;
		g_string_append_unichar(out, c);
		used += w;
	}
	if (width > 0)
		g_string_append(out, "…");
	return g_string_free(out, FALSE);
}

/* appends @cell, padded with spaces to @width columns, on the left if @right */
void
twctl_output_pad(GString *line, const gchar *cell, guint width, gboolean right)
{
	guint cell_width = twctl_output_width(cell);
	guint pad = cell_width < width ? width - cell_width : 0;

	if (!right)
		g_string_append(line, cell);
	for (guint i = 0; i < pad; i++)
		g_string_append_c(line, ' ');
	if (right)
		g_string_append(line, cell);
}

/* the width of the terminal on standard output, 0 when it is not one */
guint
twctl_output_terminal_width(void)
{
	struct winsize ws = {0};
	const gchar *columns = g_getenv("COLUMNS");
	guint64 value = 0;

	if (isatty(fileno(stdout)) != 1)
		return 0;
	if (ioctl(fileno(stdout), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (columns != NULL &&
	    g_ascii_string_to_unsigned(columns, 10, 1, G_MAXUINT16, &value, NULL))
		return (guint)value;
	return 80;
}

/* the GEnum nick of @value: the string of the D-Bus API */
const gchar *
twctl_output_enum_nick(GType type, gint value)
{
	g_autoptr(GEnumClass) klass = g_type_class_ref(type);
	GEnumValue *enum_value = g_enum_get_value(klass, value);

	return enum_value != NULL ? enum_value->value_nick : "unknown";
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

void
twctl_json_int(TwctlJson *self, gint64 value)
{
	twctl_json_separate(self);
	g_string_append_printf(self->str, "%" G_GINT64_FORMAT, value);
}

/* an array of strings; %NULL is an empty array */
void
twctl_json_strv(TwctlJson *self, const gchar *const *values)
{
	twctl_json_begin_array(self);
	for (guint i = 0; values != NULL && values[i] != NULL; i++)
		twctl_json_string(self, values[i]);
	twctl_json_end_array(self);
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

/* JSON is UTF-8 whatever the locale: unlike g_print(), no conversion to the
 * locale's character set (which would turn "Č" into "?") */
void
twctl_json_print(TwctlJson *self)
{
	fputs(self->str->str, stdout);
	fputc('\n', stdout);
}
