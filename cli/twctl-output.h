/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* text output */

typedef enum {
	TWCTL_COLOR_NONE,
	TWCTL_COLOR_BOLD,
	TWCTL_COLOR_DIM,
	TWCTL_COLOR_GREEN,
	TWCTL_COLOR_YELLOW,
	TWCTL_COLOR_RED,
} TwctlColor;

gboolean twctl_output_want_color(gboolean disabled);
gchar *twctl_output_colorize(gboolean enabled,
			     TwctlColor color,
			     const gchar *text) G_GNUC_WARN_UNUSED_RESULT;
gint twctl_output_label_width(const gchar *const *labels);
void twctl_output_field(guint indent, gint width, const gchar *label, const gchar *value);
gchar *twctl_output_timestamp(GDateTime *dt) G_GNUC_WARN_UNUSED_RESULT;
gchar *twctl_output_date(guint64 unix_time) G_GNUC_WARN_UNUSED_RESULT;
gchar *twctl_output_datetime(guint64 unix_time) G_GNUC_WARN_UNUSED_RESULT;
gchar *twctl_output_minute(guint64 unix_time) G_GNUC_WARN_UNUSED_RESULT;
gchar *twctl_output_sanitize(const gchar *text) G_GNUC_WARN_UNUSED_RESULT;
guint twctl_output_width(const gchar *text);
gchar *twctl_output_truncate(const gchar *text, guint width) G_GNUC_WARN_UNUSED_RESULT;
void twctl_output_pad(GString *line, const gchar *cell, guint width, gboolean right);
guint twctl_output_terminal_width(void);
const gchar *twctl_output_enum_nick(GType type, gint value);

/* JSON output */

typedef struct _TwctlJson TwctlJson;

TwctlJson *twctl_json_new(gboolean pretty) G_GNUC_WARN_UNUSED_RESULT;
void twctl_json_free(TwctlJson *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwctlJson, twctl_json_free)

void twctl_json_begin_object(TwctlJson *self);
void twctl_json_end_object(TwctlJson *self);
void twctl_json_begin_array(TwctlJson *self);
void twctl_json_end_array(TwctlJson *self);
void twctl_json_key(TwctlJson *self, const gchar *key);
void twctl_json_string(TwctlJson *self, const gchar *value);
void twctl_json_boolean(TwctlJson *self, gboolean value);
void twctl_json_uint(TwctlJson *self, guint64 value);
void twctl_json_int(TwctlJson *self, gint64 value);
void twctl_json_strv(TwctlJson *self, const gchar *const *values);
void twctl_json_double(TwctlJson *self, gdouble value);
void twctl_json_null(TwctlJson *self);
const gchar *twctl_json_get_data(TwctlJson *self);
void twctl_json_print(TwctlJson *self);

void twctl_json_escape(GString *out, const gchar *str);

G_END_DECLS
