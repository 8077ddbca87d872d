/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * TwP11Token <-> GVariant, for the PKCS#11 helper process. The helper is
 * our own program, but it runs vendor code: what comes back is checked
 * (type, sizes) like any other input.
 */
#define G_LOG_DOMAIN "TwP11"

#include "config.h"

#include "tw-p11-wire.h"

static GVariant *
tw_p11_wire_bytes(GBytes *bytes)
{
	if (bytes == NULL)
		return g_variant_new_from_data(G_VARIANT_TYPE_BYTESTRING, "", 0, TRUE, NULL, NULL);
	return g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static GVariant *
tw_p11_wire_string(const gchar *s)
{
	return g_variant_new_bytestring(s != NULL ? s : "");
}

static GVariant *
tw_p11_wire_maybe_bytes(GBytes *bytes)
{
	return g_variant_new("(b@ay)", bytes != NULL, tw_p11_wire_bytes(bytes));
}

static GVariant *
tw_p11_wire_maybe_string(const gchar *s)
{
	return g_variant_new("(b@ay)", s != NULL, tw_p11_wire_string(s));
}

static GVariant *
tw_p11_wire_objects(GPtrArray *objects)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a" TW_P11_WIRE_OBJECT_TYPE));
	for (guint i = 0; objects != NULL && i < objects->len; i++) {
		TwP11Object *o = g_ptr_array_index(objects, i);

		g_variant_builder_add_value(&b, g_variant_new("(@ay@ay@(bay)@(bay))",
							      tw_p11_wire_bytes(o->id),
							      tw_p11_wire_string(o->label),
							      tw_p11_wire_maybe_bytes(o->value),
							      tw_p11_wire_maybe_string(o->error)));
	}
	return g_variant_builder_end(&b);
}

GVariant *
tw_p11_wire_from_tokens(GPtrArray *tokens)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE(TW_P11_WIRE_TOKENS_TYPE));
	for (guint i = 0; tokens != NULL && i < tokens->len; i++) {
		TwP11Token *t = g_ptr_array_index(tokens, i);

		g_variant_builder_add_value(
			&b,
			g_variant_new("(@ay@ayt@ayt@ay@ay@ay@ayttttt@a" TW_P11_WIRE_OBJECT_TYPE
				      "@a" TW_P11_WIRE_OBJECT_TYPE "@(bay))",
				      tw_p11_wire_string(t->module),
				      tw_p11_wire_string(t->module_path), (guint64)t->slot_id,
				      tw_p11_wire_string(t->slot_description),
				      (guint64)t->slot_flags, tw_p11_wire_string(t->label),
				      tw_p11_wire_string(t->manufacturer),
				      tw_p11_wire_string(t->model), tw_p11_wire_string(t->serial),
				      (guint64)t->flags, t->total_public_memory,
				      t->free_public_memory, t->total_private_memory,
				      t->free_private_memory, tw_p11_wire_objects(t->certificates),
				      tw_p11_wire_objects(t->public_keys),
				      tw_p11_wire_maybe_string(t->error)));
	}
	return g_variant_builder_end(&b);
}

/* a bytestring as a string: up to its first NUL, as the module gave it */
static gchar *
tw_p11_wire_get_string(GVariant *v)
{
	gsize len = 0;
	const gchar *data = g_variant_get_fixed_array(v, &len, 1);

	return g_strndup(data != NULL ? data : "", len);
}

static GBytes *
tw_p11_wire_get_bytes(GVariant *v)
{
	return g_variant_get_data_as_bytes(v);
}

/* (bay): the value, or NULL when the flag says there is none */
static GVariant *
tw_p11_wire_get_maybe(GVariant *v)
{
	g_autoptr(GVariant) flag = g_variant_get_child_value(v, 0);

	return g_variant_get_boolean(flag) ? g_variant_get_child_value(v, 1) : NULL;
}

static gchar *
tw_p11_wire_get_maybe_string(GVariant *v)
{
	g_autoptr(GVariant) inner = tw_p11_wire_get_maybe(v);

	return inner != NULL ? tw_p11_wire_get_string(inner) : NULL;
}

static GPtrArray *
tw_p11_wire_get_objects(GVariant *array, GError **error)
{
	GPtrArray *objects = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_object_free);
	gsize n = g_variant_n_children(array);

	if (n > TW_P11_MAX_OBJECTS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the PKCS#11 helper sent %" G_GSIZE_FORMAT " objects", n);
		g_ptr_array_unref(objects);
		return NULL;
	}
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) o = g_variant_get_child_value(array, i);
		g_autoptr(GVariant) id = g_variant_get_child_value(o, 0);
		g_autoptr(GVariant) label = g_variant_get_child_value(o, 1);
		g_autoptr(GVariant) value = g_variant_get_child_value(o, 2);
		g_autoptr(GVariant) err = g_variant_get_child_value(o, 3);
		g_autoptr(GVariant) value_inner = tw_p11_wire_get_maybe(value);
		TwP11Object *object = g_new0(TwP11Object, 1);

		object->id = tw_p11_wire_get_bytes(id);
		object->label = tw_p11_wire_get_string(label);
		object->value = value_inner != NULL ? tw_p11_wire_get_bytes(value_inner) : NULL;
		object->error = tw_p11_wire_get_maybe_string(err);
		g_ptr_array_add(objects, object);
	}
	return objects;
}

/* Returns: (transfer container) (element-type TwP11Token) */
GPtrArray *
tw_p11_wire_to_tokens(GVariant *value, GError **error)
{
	g_autoptr(GPtrArray) tokens =
		g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_token_free);
	gsize n;

	if (!g_variant_is_of_type(value, G_VARIANT_TYPE(TW_P11_WIRE_TOKENS_TYPE))) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the PKCS#11 helper sent %s, not " TW_P11_WIRE_TOKENS_TYPE,
			    g_variant_get_type_string(value));
		return NULL;
	}
	n = g_variant_n_children(value);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) t = g_variant_get_child_value(value, i);
		g_autoptr(TwP11Token) token = g_new0(TwP11Token, 1);
		GVariant *v[17];
		gboolean ok;

		for (guint j = 0; j < G_N_ELEMENTS(v); j++)
			v[j] = g_variant_get_child_value(t, j);
		token->module = tw_p11_wire_get_string(v[0]);
		token->module_path = tw_p11_wire_get_string(v[1]);
		token->slot_id = (gulong)g_variant_get_uint64(v[2]);
		token->slot_description = tw_p11_wire_get_string(v[3]);
		token->slot_flags = (gulong)g_variant_get_uint64(v[4]);
		token->label = tw_p11_wire_get_string(v[5]);
		token->manufacturer = tw_p11_wire_get_string(v[6]);
		token->model = tw_p11_wire_get_string(v[7]);
		token->serial = tw_p11_wire_get_string(v[8]);
		token->flags = (gulong)g_variant_get_uint64(v[9]);
		token->total_public_memory = g_variant_get_uint64(v[10]);
		token->free_public_memory = g_variant_get_uint64(v[11]);
		token->total_private_memory = g_variant_get_uint64(v[12]);
		token->free_private_memory = g_variant_get_uint64(v[13]);
		token->certificates = tw_p11_wire_get_objects(v[14], error);
		token->public_keys =
			token->certificates != NULL ? tw_p11_wire_get_objects(v[15], error) : NULL;
		token->error = tw_p11_wire_get_maybe_string(v[16]);
		ok = token->certificates != NULL && token->public_keys != NULL;
		for (guint j = 0; j < G_N_ELEMENTS(v); j++)
			g_variant_unref(v[j]);
		if (!ok)
			return NULL;
		g_ptr_array_add(tokens, g_steal_pointer(&token));
	}
	return g_steal_pointer(&tokens);
}

static GPtrArray *
tw_p11_objects_copy(GPtrArray *objects)
{
	GPtrArray *copy = g_ptr_array_new_with_free_func((GDestroyNotify)tw_p11_object_free);

	for (guint i = 0; objects != NULL && i < objects->len; i++) {
		TwP11Object *o = g_ptr_array_index(objects, i);
		TwP11Object *c = g_new0(TwP11Object, 1);

		c->id = o->id != NULL ? g_bytes_ref(o->id) : NULL;
		c->label = g_strdup(o->label);
		c->value = o->value != NULL ? g_bytes_ref(o->value) : NULL;
		c->error = g_strdup(o->error);
		g_ptr_array_add(copy, c);
	}
	return copy;
}

TwP11Token *
tw_p11_token_copy(const TwP11Token *t)
{
	TwP11Token *c = g_new0(TwP11Token, 1);

	*c = *t;
	c->module = g_strdup(t->module);
	c->module_path = g_strdup(t->module_path);
	c->slot_description = g_strdup(t->slot_description);
	c->label = g_strdup(t->label);
	c->manufacturer = g_strdup(t->manufacturer);
	c->model = g_strdup(t->model);
	c->serial = g_strdup(t->serial);
	c->certificates = tw_p11_objects_copy(t->certificates);
	c->public_keys = tw_p11_objects_copy(t->public_keys);
	c->error = g_strdup(t->error);
	return c;
}
