/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "tokenwatch-error.h"
#include "tokenwatch-proxy-private.h"

/* a D-Bus enumeration string to its value; unknown strings become the
 * UNKNOWN value, 0 in every enumeration of the library */
gint
tokenwatch_proxy_enum_from_string(GType enum_type, const gchar *str)
{
	g_autoptr(GEnumClass) klass = g_type_class_ref(enum_type);
	GEnumValue *value;

	if (str == NULL)
		return 0;
	value = g_enum_get_value_by_nick(klass, str);
	if (value == NULL) {
		g_debug("unknown %s '%s', treating it as unknown", g_type_name(enum_type), str);
		return 0;
	}
	return value->value;
}

static void
tokenwatch_proxy_value_set_default(GParamSpec *pspec, GValue *value)
{
	if (G_PARAM_SPEC_VALUE_TYPE(pspec) == G_TYPE_STRV)
		g_value_take_boxed(value, g_new0(gchar *, 1));
	else
		g_param_value_set_default(pspec, value);
}

void
tokenwatch_proxy_values_init(GValue *values, GParamSpec **props, guint n_props)
{
	for (guint i = 0; i < n_props; i++) {
		if (props[i] == NULL)
			continue;
		g_value_init(&values[i], G_PARAM_SPEC_VALUE_TYPE(props[i]));
		tokenwatch_proxy_value_set_default(props[i], &values[i]);
	}
}

void
tokenwatch_proxy_values_clear(GValue *values, guint n_props)
{
	for (guint i = 0; i < n_props; i++) {
		if (G_IS_VALUE(&values[i]))
			g_value_unset(&values[i]);
	}
}

/* the D-Bus types a property of @type may mirror */
static gboolean
tokenwatch_proxy_variant_fits(GType type, GVariant *variant)
{
	if (type == G_TYPE_STRING || G_TYPE_IS_ENUM(type))
		return g_variant_is_of_type(variant, G_VARIANT_TYPE_STRING) ||
		       (type == G_TYPE_STRING &&
			g_variant_is_of_type(variant, G_VARIANT_TYPE_OBJECT_PATH));
	if (type == G_TYPE_BOOLEAN)
		return g_variant_is_of_type(variant, G_VARIANT_TYPE_BOOLEAN);
	if (type == G_TYPE_UINT64)
		return g_variant_is_of_type(variant, G_VARIANT_TYPE_UINT64);
	if (type == G_TYPE_UINT)
		return g_variant_is_of_type(variant, G_VARIANT_TYPE_UINT32);
	if (type == G_TYPE_INT)
		return g_variant_is_of_type(variant, G_VARIANT_TYPE_INT32);
	if (type == G_TYPE_STRV)
		return g_variant_is_of_type(variant, G_VARIANT_TYPE_STRING_ARRAY) ||
		       g_variant_is_of_type(variant, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
	return FALSE;
}

static void
tokenwatch_proxy_value_from_variant(GParamSpec *pspec, GVariant *variant, GValue *value)
{
	GType type = G_PARAM_SPEC_VALUE_TYPE(pspec);

	/* a property kept as a GVariant of the type its pspec names, e.g. "au" */
	if (type == G_TYPE_VARIANT) {
		const GVariantType *want = G_PARAM_SPEC_VARIANT(pspec)->type;

		if (variant != NULL && g_variant_is_of_type(variant, want))
			g_value_set_variant(value, variant);
		else
			g_value_set_variant(
				value, g_variant_new_array(g_variant_type_element(want), NULL, 0));
		return;
	}
	if (variant == NULL || !tokenwatch_proxy_variant_fits(type, variant)) {
		if (variant != NULL)
			g_debug("property %s: unexpected type %s", pspec->name,
				g_variant_get_type_string(variant));
		tokenwatch_proxy_value_set_default(pspec, value);
	} else if (type == G_TYPE_STRING) {
		const gchar *str = g_variant_get_string(variant, NULL);

		if (g_variant_is_of_type(variant, G_VARIANT_TYPE_OBJECT_PATH) &&
		    g_strcmp0(str, "/") == 0)
			str = NULL;
		g_value_set_string(value, str);
	} else if (G_TYPE_IS_ENUM(type)) {
		g_value_set_enum(value, tokenwatch_proxy_enum_from_string(
						type, g_variant_get_string(variant, NULL)));
	} else if (type == G_TYPE_BOOLEAN) {
		g_value_set_boolean(value, g_variant_get_boolean(variant));
	} else if (type == G_TYPE_UINT64) {
		g_value_set_uint64(value, g_variant_get_uint64(variant));
	} else if (type == G_TYPE_UINT) {
		g_value_set_uint(value, g_variant_get_uint32(variant));
	} else if (type == G_TYPE_INT) {
		g_value_set_int(value, g_variant_get_int32(variant));
	} else if (g_variant_is_of_type(variant, G_VARIANT_TYPE_STRING_ARRAY)) {
		g_value_take_boxed(value, g_variant_dup_strv(variant, NULL));
	} else {
		g_value_take_boxed(value, g_variant_dup_objv(variant, NULL));
	}
}

static gboolean
tokenwatch_proxy_values_equal(const GValue *a, const GValue *b)
{
	GType type = G_VALUE_TYPE(a);

	if (type == G_TYPE_STRING)
		return g_strcmp0(g_value_get_string(a), g_value_get_string(b)) == 0;
	if (type == G_TYPE_STRV)
		return g_strv_equal(g_value_get_boxed(a), g_value_get_boxed(b));
	if (type == G_TYPE_BOOLEAN)
		return g_value_get_boolean(a) == g_value_get_boolean(b);
	if (type == G_TYPE_UINT64)
		return g_value_get_uint64(a) == g_value_get_uint64(b);
	if (type == G_TYPE_UINT)
		return g_value_get_uint(a) == g_value_get_uint(b);
	if (type == G_TYPE_INT)
		return g_value_get_int(a) == g_value_get_int(b);
	if (G_TYPE_IS_ENUM(type))
		return g_value_get_enum(a) == g_value_get_enum(b);
	if (type == G_TYPE_VARIANT)
		return g_value_get_variant(a) != NULL && g_value_get_variant(b) != NULL &&
		       g_variant_equal(g_value_get_variant(a), g_value_get_variant(b));
	g_return_val_if_reached(FALSE);
}

/* copies the proxy's cached D-Bus properties, notifying what changed */
void
tokenwatch_proxy_values_sync(GObject *object,
			     GDBusProxy *proxy,
			     GParamSpec **props,
			     const gchar *const *dbus_names,
			     GValue *values,
			     guint n_props)
{
	g_object_freeze_notify(object);
	for (guint i = 0; i < n_props; i++) {
		g_autoptr(GVariant) variant = NULL;
		GValue value = G_VALUE_INIT;

		if (props[i] == NULL || dbus_names[i] == NULL)
			continue;
		variant = g_dbus_proxy_get_cached_property(proxy, dbus_names[i]);
		g_value_init(&value, G_PARAM_SPEC_VALUE_TYPE(props[i]));
		tokenwatch_proxy_value_from_variant(props[i], variant, &value);
		if (tokenwatch_proxy_values_equal(&values[i], &value)) {
			g_value_unset(&value);
			continue;
		}
		g_value_unset(&values[i]);
		values[i] = value; /* takes over what @value holds */
		g_object_notify_by_pspec(object, props[i]);
	}
	g_object_thaw_notify(object);
}

static const gchar *
tokenwatch_proxy_not_running_message(GBusType bus_type)
{
	switch (bus_type) {
	case G_BUS_TYPE_SYSTEM:
		return _("tokenwatchd is not running on the system bus");
	case G_BUS_TYPE_SESSION:
		return _("tokenwatchd is not running on the session bus");
	default:
		return _("tokenwatchd is not running on the bus");
	}
}

/* Turns whatever GDBus reported into a TOKENWATCH_ERROR, keeping
 * G_IO_ERROR_CANCELLED as is so that callers can ignore it. */
void
tokenwatch_proxy_convert_error(GBusType bus_type, GError **error)
{
	GError *error_local = *error;
	TokenwatchError code = TOKENWATCH_ERROR_FAILED;

	if (error_local == NULL)
		return;
	g_dbus_error_strip_remote_error(error_local);
	if (error_local->domain == TOKENWATCH_ERROR)
		return;
	if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;

	if (error_local->domain == G_DBUS_ERROR) {
		switch (error_local->code) {
		case G_DBUS_ERROR_SERVICE_UNKNOWN:
		case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
		case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
		case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
			g_clear_error(error);
			g_set_error_literal(error, TOKENWATCH_ERROR, TOKENWATCH_ERROR_NO_SERVICE,
					    tokenwatch_proxy_not_running_message(bus_type));
			return;
		case G_DBUS_ERROR_ACCESS_DENIED:
		case G_DBUS_ERROR_AUTH_FAILED:
			code = TOKENWATCH_ERROR_PERMISSION_DENIED;
			break;
		case G_DBUS_ERROR_INVALID_ARGS:
		case G_DBUS_ERROR_INVALID_SIGNATURE:
			code = TOKENWATCH_ERROR_INVALID_ARGUMENT;
			break;
		case G_DBUS_ERROR_NOT_SUPPORTED:
		case G_DBUS_ERROR_UNKNOWN_METHOD:
		case G_DBUS_ERROR_UNKNOWN_INTERFACE:
		case G_DBUS_ERROR_UNKNOWN_OBJECT:
		case G_DBUS_ERROR_UNKNOWN_PROPERTY:
			code = TOKENWATCH_ERROR_NOT_SUPPORTED;
			break;
		default:
			code = TOKENWATCH_ERROR_FAILED;
			break;
		}
	} else if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_CLOSED)) {
		code = TOKENWATCH_ERROR_NO_SERVICE;
	}
	*error = g_error_new_literal(TOKENWATCH_ERROR, code, error_local->message);
	g_error_free(error_local);
}
