/*
 * Copyright (C) 2026 The tokenwatch developers
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * An object manager that shows each client only what it may see.
 *
 * GDBusObjectManagerServer shows every object to every client and
 * broadcasts every change. Here the objects are gdbus-codegen skeletons that
 * are never exported themselves: they hold the properties and handle the
 * methods, and the exporter puts them on the bus through subtrees
 * (root/<collection>/<node>) whose vtable has no get_property, so that GDBus
 * hands property reads to the method handler too. Every call first learns
 * who the caller is (TwPeers, asynchronous, once per client), then is
 * answered or refused with …Error.PermissionDenied.
 *
 * A public object (a reader) is seen by all, and its changes are broadcast.
 * A private one (a token, a certificate) has an audience: the clients that
 * may see it and know of it. InterfacesAdded, PropertiesChanged and
 * InterfacesRemoved go to its audience only, one message each (unicast),
 * and when a change makes it visible to a client or hides it, that client
 * gets InterfacesAdded or InterfacesRemoved. A client joins the audiences
 * with its first call (GetManagedObjects, as GDBusObjectManagerClient and
 * libtokenwatch do first); it is forgotten when it leaves the bus.
 */
#define G_LOG_DOMAIN "TwExporter"

#include "config.h"

#include <string.h>

#include "tw-auth.h"
#include "tw-exporter.h"

#define TW_OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"
#define TW_PROPERTIES_IFACE	"org.freedesktop.DBus.Properties"

static const gchar tw_exporter_om_xml[] =
	"<node><interface name='" TW_OBJECT_MANAGER_IFACE "'>"
	"<method name='GetManagedObjects'>"
	"<arg type='a{oa{sa{sv}}}' name='objects' direction='out'/></method>"
	"<signal name='InterfacesAdded'><arg type='o' name='object_path'/>"
	"<arg type='a{sa{sv}}' name='interfaces_and_properties'/></signal>"
	"<signal name='InterfacesRemoved'><arg type='o' name='object_path'/>"
	"<arg type='as' name='interfaces'/></signal>"
	"</interface></node>";

typedef struct {
	TwExporter *self; /* unowned: it owns this */
	gchar *path;
	GDBusInterfaceSkeleton *iface;
	GObject *subject;     /* NULL: public */
	GHashTable *audience; /* unique names, for a private object */
	GVariant *sent;	      /* a{sv}: the properties as last told */
	gulong notify_id;
} TwExported;

struct _TwExporter {
	GObject parent_instance;
	gchar *root;
	gchar **collections;
	TwExporterVisibleFunc visible;
	gpointer visible_data;

	GDBusConnection *connection;
	TwPeers *peers;
	GDBusNodeInfo *om_info;
	guint om_id;
	GArray *subtree_ids;
	GHashTable *objects;	/* path → TwExported */
	GHashTable *introduced; /* unique names of the clients in the audiences */
	GHashTable *dirty;	/* paths with properties to tell */
	guint flush_id;
};

G_DEFINE_TYPE(TwExporter, tw_exporter, G_TYPE_OBJECT)

static void
tw_exported_free(TwExported *obj)
{
	if (obj->notify_id != 0)
		g_signal_handler_disconnect(obj->iface, obj->notify_id);
	g_free(obj->path);
	g_object_unref(obj->iface);
	g_clear_object(&obj->subject);
	g_clear_pointer(&obj->audience, g_hash_table_unref);
	g_clear_pointer(&obj->sent, g_variant_unref);
	g_free(obj);
}

static const gchar *
tw_exported_iface_name(TwExported *obj)
{
	return g_dbus_interface_skeleton_get_info(obj->iface)->name;
}

/* @props (transfer full): what the clients know now. Kept serialised: a
 * dictionary built by GVariantBuilder holds a GVariant per key and per
 * value (~8 kB for a certificate's 25 properties, against ~1 kB) */
static void
tw_exporter_set_sent(TwExported *obj, GVariant *props)
{
	g_clear_pointer(&obj->sent, g_variant_unref);
	obj->sent = props;
	(void)g_variant_get_data(obj->sent);
}

/* Returns: (transfer full): the properties of @obj now: those last sent
 * unless a setter notified since (most reads come between changes) */
static GVariant *
tw_exporter_get_properties(TwExporter *self, TwExported *obj)
{
	if (g_hash_table_contains(self->dirty, obj->path))
		return g_dbus_interface_skeleton_get_properties(obj->iface);
	if (obj->sent == NULL)
		tw_exporter_set_sent(obj, g_dbus_interface_skeleton_get_properties(obj->iface));
	return g_variant_ref(obj->sent);
}

static gboolean
tw_exporter_sees(TwExporter *self, TwExported *obj, const TwPeer *peer)
{
	return obj->subject == NULL || peer->sees_all ||
	       self->visible(peer, obj->subject, self->visible_data);
}

static void
tw_exporter_send(TwExporter *self,
		 const gchar *destination,
		 const gchar *path,
		 const gchar *iface,
		 const gchar *member,
		 GVariant *params)
{
	g_autoptr(GError) error = NULL;

	if (self->connection == NULL)
		return;
	if (!g_dbus_connection_emit_signal(self->connection, destination, path, iface, member,
					   params, &error))
		g_warning("sending %s.%s to %s: %s", iface, member,
			  destination != NULL ? destination : "all", error->message);
}

/* @params (sunk by the caller) to the audience of @obj, or to all */
static void
tw_exporter_send_about(TwExporter *self,
		       TwExported *obj,
		       const gchar *path,
		       const gchar *iface,
		       const gchar *member,
		       GVariant *params)
{
	GHashTableIter iter;
	gpointer name;

	if (obj->subject == NULL) {
		tw_exporter_send(self, NULL, path, iface, member, params);
		return;
	}
	g_hash_table_iter_init(&iter, obj->audience);
	while (g_hash_table_iter_next(&iter, &name, NULL))
		tw_exporter_send(self, name, path, iface, member, params);
}

static GVariant *
tw_exporter_interfaces_added(TwExported *obj, GVariant *props)
{
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE("a{sa{sv}}"));
	g_variant_builder_add(&builder, "{s@a{sv}}", tw_exported_iface_name(obj), props);
	return g_variant_ref_sink(
		g_variant_new("(o@a{sa{sv}})", obj->path, g_variant_builder_end(&builder)));
}

static GVariant *
tw_exporter_interfaces_removed(TwExported *obj)
{
	const gchar *names[] = {tw_exported_iface_name(obj), NULL};

	return g_variant_ref_sink(g_variant_new("(o^as)", obj->path, names));
}

/* the entries of @now that differ from @before, as a{sv}; both come from
 * the same skeleton, so their keys are in the same order */
static GVariant *
tw_exporter_diff(GVariant *before, GVariant *now)
{
	GVariantBuilder builder;
	gsize n = g_variant_n_children(now);
	gboolean same_keys = g_variant_n_children(before) == n;
	gboolean any = FALSE;

	g_variant_builder_init(&builder, G_VARIANT_TYPE("a{sv}"));
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) entry = g_variant_get_child_value(now, i);
		g_autoptr(GVariant) key = g_variant_get_child_value(entry, 0);
		g_autoptr(GVariant) value = g_variant_get_child_value(entry, 1);
		g_autoptr(GVariant) old = NULL;

		if (same_keys) {
			g_autoptr(GVariant) old_entry = g_variant_get_child_value(before, i);
			g_autoptr(GVariant) old_key = g_variant_get_child_value(old_entry, 0);

			if (g_variant_equal(key, old_key))
				old = g_variant_get_child_value(old_entry, 1);
		}
		if (old == NULL)
			old = g_variant_lookup_value(before, g_variant_get_string(key, NULL), NULL);
		if (old == NULL || !g_variant_equal(old, value)) {
			g_variant_builder_add_value(&builder, entry);
			any = TRUE;
		}
	}
	if (!any) {
		g_variant_builder_clear(&builder);
		return NULL;
	}
	return g_variant_ref_sink(g_variant_builder_end(&builder));
}

/* tell the audience what changed in @obj, and show it to (or hide it from)
 * the clients for whom that changed whether they may see it */
static void
tw_exporter_flush_object(TwExporter *self, TwExported *obj, gboolean force)
{
	g_autoptr(GVariant) now = NULL;
	g_autoptr(GVariant) changed = NULL;
	g_autoptr(GVariant) props_changed = NULL;
	g_autoptr(GVariant) added = NULL;
	g_autoptr(GVariant) removed = NULL;
	g_autoptr(GPtrArray) peers = NULL;

	/* nothing changed since the last time: neither its properties (their
	 * setters notify) nor who sees it (tw_exporter_invalidate) */
	if (!g_hash_table_remove(self->dirty, obj->path) && !force)
		return;
	now = g_dbus_interface_skeleton_get_properties(obj->iface);
	/* none sent yet: whoever asked since got them as they were */
	changed = obj->sent != NULL ? tw_exporter_diff(obj->sent, now) : NULL;
	tw_exporter_set_sent(obj, g_variant_ref(now));
	if (changed != NULL) {
		const gchar *none[] = {NULL};

		props_changed = g_variant_ref_sink(
			g_variant_new("(s@a{sv}^as)", tw_exported_iface_name(obj), changed, none));
	}
	if (obj->subject == NULL) {
		if (props_changed != NULL)
			tw_exporter_send(self, NULL, obj->path, TW_PROPERTIES_IFACE,
					 "PropertiesChanged", props_changed);
		return;
	}
	if (self->peers == NULL)
		return;
	peers = tw_peers_get_all(self->peers);
	for (guint i = 0; i < peers->len; i++) {
		const TwPeer *peer = g_ptr_array_index(peers, i);
		gboolean sees, knows;

		if (!g_hash_table_contains(self->introduced, peer->name))
			continue;
		sees = tw_exporter_sees(self, obj, peer);
		knows = g_hash_table_contains(obj->audience, peer->name);
		if (sees && !knows) {
			if (added == NULL)
				added = tw_exporter_interfaces_added(obj, now);
			g_hash_table_add(obj->audience, g_strdup(peer->name));
			tw_exporter_send(self, peer->name, self->root, TW_OBJECT_MANAGER_IFACE,
					 "InterfacesAdded", added);
		} else if (!sees && knows) {
			if (removed == NULL)
				removed = tw_exporter_interfaces_removed(obj);
			g_hash_table_remove(obj->audience, peer->name);
			tw_exporter_send(self, peer->name, self->root, TW_OBJECT_MANAGER_IFACE,
					 "InterfacesRemoved", removed);
		} else if (sees && props_changed != NULL) {
			tw_exporter_send(self, peer->name, obj->path, TW_PROPERTIES_IFACE,
					 "PropertiesChanged", props_changed);
		}
	}
}

/**
 * tw_exporter_flush:
 * @path: an object's path
 *
 * Tells the clients now what changed in the object (its properties, and who
 * may see it), before a signal about it.
 */
void
tw_exporter_flush(TwExporter *self, const gchar *path)
{
	TwExported *obj = g_hash_table_lookup(self->objects, path);

	if (obj != NULL)
		tw_exporter_flush_object(self, obj, FALSE);
}

static gboolean tw_exporter_flush_cb(gpointer user_data);

/* who may see the object at @path may have changed: look again soon */
void
tw_exporter_invalidate(TwExporter *self, const gchar *path)
{
	if (!g_hash_table_contains(self->objects, path))
		return;
	g_hash_table_add(self->dirty, g_strdup(path));
	if (self->flush_id == 0)
		self->flush_id = g_idle_add(tw_exporter_flush_cb, self);
}

/* every object with news, and every private one when @all */
static void
tw_exporter_flush_some(TwExporter *self, gboolean all)
{
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer key, value;

	g_hash_table_iter_init(&iter, self->objects);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		TwExported *obj = value;

		if (g_hash_table_contains(self->dirty, key) || (all && obj->subject != NULL))
			g_ptr_array_add(paths, g_strdup(key));
	}
	for (guint i = 0; i < paths->len; i++) {
		TwExported *obj = g_hash_table_lookup(self->objects, g_ptr_array_index(paths, i));

		if (obj != NULL)
			tw_exporter_flush_object(self, obj, all);
	}
}

/* every object with news, now */
void
tw_exporter_flush_pending(TwExporter *self)
{
	tw_exporter_flush_some(self, FALSE);
}

/* every private object again: who may see what may have changed (a
 * client's polkit answer) */
static void
tw_exporter_flush_all(TwExporter *self)
{
	tw_exporter_flush_some(self, TRUE);
}

static gboolean
tw_exporter_flush_cb(gpointer user_data)
{
	TwExporter *self = TW_EXPORTER(user_data);

	self->flush_id = 0;
	tw_exporter_flush_some(self, FALSE);
	return G_SOURCE_REMOVE;
}

static void
tw_exporter_notify_cb(GObject *iface, GParamSpec *pspec, gpointer user_data)
{
	TwExported *obj = user_data;

	/* not on the bus yet (restoring the state): nobody to tell, what was
	 * kept for telling is stale */
	if (obj->self->connection == NULL) {
		g_clear_pointer(&obj->sent, g_variant_unref);
		return;
	}
	tw_exporter_invalidate(obj->self, obj->path);
}

/**
 * tw_exporter_add:
 * @path: the object's path, under one of the collections
 * @iface: (transfer none): the skeleton that holds the object's properties
 *   and handles its methods; it must not be exported otherwise
 * @subject: (nullable): what the visibility function is asked about; %NULL
 *   for an object that every client may see
 */
void
tw_exporter_add(TwExporter *self,
		const gchar *path,
		GDBusInterfaceSkeleton *iface,
		GObject *subject)
{
	TwExported *obj = g_new0(TwExported, 1);
	g_autoptr(GVariant) added = NULL;
	GHashTableIter iter;
	gpointer name;

	g_return_if_fail(!g_hash_table_contains(self->objects, path));

	obj->self = self;
	obj->path = g_strdup(path);
	obj->iface = g_object_ref(iface);
	obj->subject = subject != NULL ? g_object_ref(subject) : NULL;
	if (self->connection != NULL)
		tw_exporter_set_sent(obj, g_dbus_interface_skeleton_get_properties(iface));
	if (subject != NULL)
		obj->audience = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	obj->notify_id = g_signal_connect(iface, "notify", G_CALLBACK(tw_exporter_notify_cb), obj);
	g_hash_table_insert(self->objects, obj->path, obj);

	/* restored from the state before the bus: nobody to tell */
	if (self->connection == NULL)
		return;
	if (subject == NULL) {
		added = tw_exporter_interfaces_added(obj, obj->sent);
		tw_exporter_send(self, NULL, self->root, TW_OBJECT_MANAGER_IFACE, "InterfacesAdded",
				 added);
		return;
	}
	g_hash_table_iter_init(&iter, self->introduced);
	while (g_hash_table_iter_next(&iter, &name, NULL)) {
		const TwPeer *peer = tw_peers_lookup(self->peers, name);

		if (peer == NULL || !tw_exporter_sees(self, obj, peer))
			continue;
		if (added == NULL)
			added = tw_exporter_interfaces_added(obj, obj->sent);
		g_hash_table_add(obj->audience, g_strdup(name));
		tw_exporter_send(self, name, self->root, TW_OBJECT_MANAGER_IFACE, "InterfacesAdded",
				 added);
	}
}

/* takes the object off the bus: InterfacesRemoved to whoever knew it */
void
tw_exporter_remove(TwExporter *self, const gchar *path)
{
	TwExported *obj = g_hash_table_lookup(self->objects, path);
	g_autoptr(GVariant) removed = NULL;

	if (obj == NULL)
		return;
	removed = tw_exporter_interfaces_removed(obj);
	tw_exporter_send_about(self, obj, self->root, TW_OBJECT_MANAGER_IFACE, "InterfacesRemoved",
			       removed);
	g_hash_table_remove(self->dirty, path);
	g_hash_table_remove(self->objects, path);
}

/**
 * tw_exporter_get_audience:
 *
 * Returns: (transfer full) (nullable): the unique names of the clients that
 * know the object at @path now, or %NULL when everybody may see it
 */
GPtrArray *
tw_exporter_get_audience(TwExporter *self, const gchar *path)
{
	TwExported *obj = g_hash_table_lookup(self->objects, path);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter iter;
	gpointer name;

	if (obj == NULL)
		return out;
	if (obj->subject == NULL) {
		g_ptr_array_unref(out);
		return NULL;
	}
	g_hash_table_iter_init(&iter, obj->audience);
	while (g_hash_table_iter_next(&iter, &name, NULL))
		g_ptr_array_add(out, g_strdup(name));
	return out;
}

/**
 * tw_exporter_emit:
 * @audience: (nullable): from tw_exporter_get_audience(); %NULL for all
 * @parameters: (transfer floating)
 *
 * Emits a signal of the root object to @audience.
 */
void
tw_exporter_emit(TwExporter *self,
		 GPtrArray *audience,
		 const gchar *interface_name,
		 const gchar *signal_name,
		 GVariant *parameters)
{
	g_autoptr(GVariant) params = g_variant_ref_sink(parameters);

	if (audience == NULL) {
		tw_exporter_send(self, NULL, self->root, interface_name, signal_name, params);
		return;
	}
	for (guint i = 0; i < audience->len; i++)
		tw_exporter_send(self, g_ptr_array_index(audience, i), self->root, interface_name,
				 signal_name, params);
}

/* -- calls -------------------------------------------------------------- */

typedef struct {
	TwExporter *self;
	GDBusMethodInvocation *invocation;
} TwExporterCall;

static void
tw_exporter_call_free(TwExporterCall *call)
{
	g_object_unref(call->self);
	g_clear_object(&call->invocation);
	g_free(call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TwExporterCall, tw_exporter_call_free)

/* a client's first call: it knows, from now on, what it may see */
static void
tw_exporter_introduce(TwExporter *self, const TwPeer *peer)
{
	GHashTableIter iter;
	gpointer value;

	if (g_hash_table_contains(self->introduced, peer->name))
		return;
	g_debug("%s is uid %u%s", peer->name, peer->uid,
		peer->sees_all	 ? ", sees all"
		: peer->may_read ? ", may read the tokens present"
				 : "");
	g_hash_table_add(self->introduced, g_strdup(peer->name));
	g_hash_table_iter_init(&iter, self->objects);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		TwExported *obj = value;

		if (obj->subject != NULL && tw_exporter_sees(self, obj, peer))
			g_hash_table_add(obj->audience, g_strdup(peer->name));
	}
}

static const TwPeer *
tw_exporter_call_peer(TwExporterCall *call, GObject *source, GAsyncResult *res)
{
	g_autoptr(GError) error = NULL;
	const TwPeer *peer = tw_peers_get_finish(TW_PEERS(source), res, &error);

	if (peer == NULL || call->self->peers != TW_PEERS(source)) {
		if (peer != NULL)
			error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED,
						    "shutting down");
		g_dbus_method_invocation_return_dbus_error(g_steal_pointer(&call->invocation),
							   TW_AUTH_ERROR_PERMISSION_DENIED,
							   error->message);
		return NULL;
	}
	tw_exporter_introduce(call->self, peer);
	return peer;
}

static void
tw_exporter_get_managed_objects_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(TwExporterCall) call = user_data;
	TwExporter *self = call->self;
	const TwPeer *peer = tw_exporter_call_peer(call, source, res);
	GVariantBuilder builder;
	GHashTableIter iter;
	gpointer value;

	if (peer == NULL)
		return;
	g_variant_builder_init(&builder, G_VARIANT_TYPE("a{oa{sa{sv}}}"));
	g_hash_table_iter_init(&iter, self->objects);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		TwExported *obj = value;
		g_autoptr(GVariant) props = NULL;

		if (!tw_exporter_sees(self, obj, peer))
			continue;
		props = tw_exporter_get_properties(self, obj);
		g_variant_builder_open(&builder, G_VARIANT_TYPE("{oa{sa{sv}}}"));
		g_variant_builder_add(&builder, "o", obj->path);
		g_variant_builder_open(&builder, G_VARIANT_TYPE("a{sa{sv}}"));
		g_variant_builder_add(&builder, "{s@a{sv}}", tw_exported_iface_name(obj), props);
		g_variant_builder_close(&builder);
		g_variant_builder_close(&builder);
	}
	g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation),
					      g_variant_new("(a{oa{sa{sv}}})", &builder));
}

/* answers @invocation (transfer full) in @callback, once the caller is known */
static void
tw_exporter_call_when_known(TwExporter *self,
			    GDBusMethodInvocation *invocation,
			    GAsyncReadyCallback callback)
{
	TwExporterCall *call = g_new0(TwExporterCall, 1);

	call->self = g_object_ref(self);
	call->invocation = invocation;
	tw_peers_get_async(self->peers, g_dbus_method_invocation_get_sender(invocation), NULL,
			   callback, call);
}

static void
tw_exporter_om_method_call_cb(GDBusConnection *connection,
			      const gchar *sender,
			      const gchar *object_path,
			      const gchar *interface_name,
			      const gchar *method_name,
			      GVariant *parameters,
			      GDBusMethodInvocation *invocation,
			      gpointer user_data)
{
	/* GetManagedObjects: the only method of the interface */
	tw_exporter_call_when_known(TW_EXPORTER(user_data), invocation,
				    tw_exporter_get_managed_objects_cb);
}

static const GDBusInterfaceVTable tw_exporter_om_vtable = {
	.method_call = tw_exporter_om_method_call_cb,
};

static void
tw_exporter_property_call(TwExporter *self, TwExported *obj, GDBusMethodInvocation *invocation)
{
	const gchar *method = g_dbus_method_invocation_get_method_name(invocation);
	GVariant *params = g_dbus_method_invocation_get_parameters(invocation);
	GDBusInterfaceVTable *vtable = g_dbus_interface_skeleton_get_vtable(obj->iface);
	g_autoptr(GError) error = NULL;

	if (g_strcmp0(method, "Get") == 0) {
		const gchar *iface_name, *name;
		g_autoptr(GVariant) value = NULL;

		g_variant_get(params, "(&s&s)", &iface_name, &name);
		value = vtable->get_property(self->connection,
					     g_dbus_method_invocation_get_sender(invocation),
					     obj->path, iface_name, name, &error, obj->iface);
		if (value == NULL) {
			g_dbus_method_invocation_return_gerror(invocation, error);
			return;
		}
		g_dbus_method_invocation_return_value(
			invocation, g_variant_new("(@v)", g_variant_new_variant(value)));
	} else if (g_strcmp0(method, "GetAll") == 0) {
		g_autoptr(GVariant) props = tw_exporter_get_properties(self, obj);

		g_dbus_method_invocation_return_value(invocation, g_variant_new("(@a{sv})", props));
	} else {
		/* GDBus refuses a Set of a property that is not writable itself */
		g_dbus_method_invocation_return_dbus_error(
			invocation, "org.freedesktop.DBus.Error.PropertyReadOnly",
			"the properties are read-only");
	}
}

static void
tw_exporter_object_call_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(TwExporterCall) call = user_data;
	TwExporter *self = call->self;
	const TwPeer *peer = tw_exporter_call_peer(call, source, res);
	GDBusMethodInvocation *invocation = call->invocation;
	const gchar *path;
	TwExported *obj;

	if (peer == NULL)
		return;
	path = g_dbus_method_invocation_get_object_path(invocation);
	obj = g_hash_table_lookup(self->objects, path);
	if (obj == NULL) {
		g_dbus_method_invocation_return_dbus_error(
			g_steal_pointer(&call->invocation),
			"org.freedesktop.DBus.Error.UnknownObject", "no such object");
		return;
	}
	if (!tw_exporter_sees(self, obj, peer)) {
		g_info("%s.%s of %s from %s (uid %u) refused: not its own",
		       g_dbus_method_invocation_get_interface_name(invocation),
		       g_dbus_method_invocation_get_method_name(invocation), path, peer->name,
		       peer->uid);
		g_dbus_method_invocation_return_dbus_error(
			g_steal_pointer(&call->invocation), TW_AUTH_ERROR_PERMISSION_DENIED,
			"not authorized: the object belongs to a token that is neither yours nor "
			"in a reader of your active session");
		return;
	}
	if (obj->subject != NULL && !g_hash_table_contains(obj->audience, peer->name))
		g_hash_table_add(obj->audience, g_strdup(peer->name));
	if (g_strcmp0(g_dbus_method_invocation_get_interface_name(invocation),
		      TW_PROPERTIES_IFACE) == 0) {
		tw_exporter_property_call(self, obj, g_steal_pointer(&call->invocation));
	} else {
		GDBusInterfaceVTable *vtable = g_dbus_interface_skeleton_get_vtable(obj->iface);

		vtable->method_call(self->connection, peer->name, path,
				    g_dbus_method_invocation_get_interface_name(invocation),
				    g_dbus_method_invocation_get_method_name(invocation),
				    g_dbus_method_invocation_get_parameters(invocation),
				    g_steal_pointer(&call->invocation), obj->iface);
	}
}

static void
tw_exporter_object_method_call_cb(GDBusConnection *connection,
				  const gchar *sender,
				  const gchar *object_path,
				  const gchar *interface_name,
				  const gchar *method_name,
				  GVariant *parameters,
				  GDBusMethodInvocation *invocation,
				  gpointer user_data)
{
	tw_exporter_call_when_known(TW_EXPORTER(user_data), invocation, tw_exporter_object_call_cb);
}

static const GDBusInterfaceVTable tw_exporter_object_vtable = {
	.method_call = tw_exporter_object_method_call_cb,
	/* no get_property, no set_property: property calls come to method_call */
};

/* -- subtrees ------------------------------------------------------------ */

/* the object of @node under the subtree at @path; GDBus passes the
 * subtree's path to some callbacks and the node's own path to others */
static TwExported *
tw_exporter_lookup_node(TwExporter *self, const gchar *path, const gchar *node)
{
	g_autofree gchar *child = NULL;
	TwExported *obj;

	if (node == NULL)
		return NULL;
	child = g_strdup_printf("%s/%s", path, node);
	obj = g_hash_table_lookup(self->objects, child);
	if (obj != NULL)
		return obj;
	g_free(child);
	child = g_strdup_printf("/%s", node);
	return g_str_has_suffix(path, child) ? g_hash_table_lookup(self->objects, path) : NULL;
}

/* the children a client may list: none when it never called */
static gchar **
tw_exporter_enumerate_cb(GDBusConnection *connection,
			 const gchar *sender,
			 const gchar *object_path,
			 gpointer user_data)
{
	TwExporter *self = TW_EXPORTER(user_data);
	const TwPeer *peer = tw_peers_lookup(self->peers, sender);
	g_autofree gchar *prefix = g_strdup_printf("%s/", object_path);
	GPtrArray *nodes = g_ptr_array_new();
	GHashTableIter iter;
	gpointer key, value;

	g_hash_table_iter_init(&iter, self->objects);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		TwExported *obj = value;

		if (!g_str_has_prefix(key, prefix))
			continue;
		if (obj->subject != NULL && (peer == NULL || !tw_exporter_sees(self, obj, peer)))
			continue;
		g_ptr_array_add(nodes, g_strdup((const gchar *)key + strlen(prefix)));
	}
	g_ptr_array_add(nodes, NULL);
	return (gchar **)g_ptr_array_free(nodes, FALSE);
}

/* the interface of any existing node: whether the caller may use it is
 * decided by the call, asynchronously */
static GDBusInterfaceInfo **
tw_exporter_introspect_cb(GDBusConnection *connection,
			  const gchar *sender,
			  const gchar *object_path,
			  const gchar *node,
			  gpointer user_data)
{
	TwExporter *self = TW_EXPORTER(user_data);
	TwExported *obj = tw_exporter_lookup_node(self, object_path, node);
	GDBusInterfaceInfo **out;

	if (node == NULL)
		return g_new0(GDBusInterfaceInfo *, 1);
	if (obj == NULL)
		return NULL;
	out = g_new0(GDBusInterfaceInfo *, 2);
	out[0] = g_dbus_interface_info_ref(g_dbus_interface_skeleton_get_info(obj->iface));
	return out;
}

static const GDBusInterfaceVTable *
tw_exporter_dispatch_cb(GDBusConnection *connection,
			const gchar *sender,
			const gchar *object_path,
			const gchar *interface_name,
			const gchar *node,
			gpointer *out_user_data,
			gpointer user_data)
{
	TwExporter *self = TW_EXPORTER(user_data);
	TwExported *obj = tw_exporter_lookup_node(self, object_path, node);

	if (obj == NULL || g_strcmp0(interface_name, tw_exported_iface_name(obj)) != 0)
		return NULL;
	*out_user_data = self;
	return &tw_exporter_object_vtable;
}

static const GDBusSubtreeVTable tw_exporter_subtree_vtable = {
	.enumerate = tw_exporter_enumerate_cb,
	.introspect = tw_exporter_introspect_cb,
	.dispatch = tw_exporter_dispatch_cb,
};

/* -- connection ---------------------------------------------------------- */

static void
tw_exporter_peer_removed_cb(TwPeers *peers, const gchar *name, gpointer user_data)
{
	TwExporter *self = TW_EXPORTER(user_data);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_remove(self->introduced, name);
	g_hash_table_iter_init(&iter, self->objects);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		TwExported *obj = value;

		if (obj->audience != NULL)
			g_hash_table_remove(obj->audience, name);
	}
}

static void
tw_exporter_peer_changed_cb(TwPeers *peers, const gchar *name, gpointer user_data)
{
	tw_exporter_flush_all(TW_EXPORTER(user_data));
}

/**
 * tw_exporter_set_connection:
 * @peers: who the clients of @connection are
 */
gboolean
tw_exporter_set_connection(TwExporter *self,
			   GDBusConnection *connection,
			   TwPeers *peers,
			   GError **error)
{
	g_return_val_if_fail(self->connection == NULL, FALSE);

	self->connection = g_object_ref(connection);
	self->peers = g_object_ref(peers);
	g_signal_connect_object(self->peers, "peer-removed",
				G_CALLBACK(tw_exporter_peer_removed_cb), self, 0);
	g_signal_connect_object(self->peers, "peer-changed",
				G_CALLBACK(tw_exporter_peer_changed_cb), self, 0);
	self->om_id = g_dbus_connection_register_object(connection, self->root,
							self->om_info->interfaces[0],
							&tw_exporter_om_vtable, self, NULL, error);
	if (self->om_id == 0)
		return FALSE;
	for (guint i = 0; self->collections[i] != NULL; i++) {
		g_autofree gchar *path = g_strdup_printf("%s/%s", self->root, self->collections[i]);
		guint id = g_dbus_connection_register_subtree(
			connection, path, &tw_exporter_subtree_vtable,
			G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES, self, NULL, error);

		if (id == 0)
			return FALSE;
		g_array_append_val(self->subtree_ids, id);
	}
	return TRUE;
}

void
tw_exporter_unset_connection(TwExporter *self)
{
	if (self->connection == NULL)
		return;
	for (guint i = 0; i < self->subtree_ids->len; i++)
		g_dbus_connection_unregister_subtree(self->connection,
						     g_array_index(self->subtree_ids, guint, i));
	g_array_set_size(self->subtree_ids, 0);
	if (self->om_id != 0)
		g_dbus_connection_unregister_object(self->connection, self->om_id);
	self->om_id = 0;
	if (self->peers != NULL) {
		g_signal_handlers_disconnect_by_data(self->peers, self);
		g_clear_object(&self->peers);
	}
	g_hash_table_remove_all(self->introduced);
	g_clear_object(&self->connection);
}

static void
tw_exporter_dispose(GObject *object)
{
	TwExporter *self = TW_EXPORTER(object);

	tw_exporter_unset_connection(self);
	g_clear_handle_id(&self->flush_id, g_source_remove);
	g_clear_pointer(&self->objects, g_hash_table_unref);
	g_clear_pointer(&self->dirty, g_hash_table_unref);
	g_clear_pointer(&self->introduced, g_hash_table_unref);
	G_OBJECT_CLASS(tw_exporter_parent_class)->dispose(object);
}

static void
tw_exporter_finalize(GObject *object)
{
	TwExporter *self = TW_EXPORTER(object);

	g_free(self->root);
	g_strfreev(self->collections);
	g_array_unref(self->subtree_ids);
	g_dbus_node_info_unref(self->om_info);
	G_OBJECT_CLASS(tw_exporter_parent_class)->finalize(object);
}

static void
tw_exporter_init(TwExporter *self)
{
	self->objects = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					      (GDestroyNotify)tw_exported_free);
	self->dirty = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->introduced = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->subtree_ids = g_array_new(FALSE, FALSE, sizeof(guint));
	self->om_info = g_dbus_node_info_new_for_xml(tw_exporter_om_xml, NULL);
	g_assert(self->om_info != NULL);
}

static void
tw_exporter_class_init(TwExporterClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->dispose = tw_exporter_dispose;
	object_class->finalize = tw_exporter_finalize;
}

/**
 * tw_exporter_new:
 * @root_path: where the ObjectManager interface is, above every object
 * @collections: the children of @root_path that hold objects ("readers")
 * @visible: whether a client may see a private object
 */
TwExporter *
tw_exporter_new(const gchar *root_path,
		const gchar *const *collections,
		TwExporterVisibleFunc visible,
		gpointer visible_data)
{
	TwExporter *self = g_object_new(TW_TYPE_EXPORTER, NULL);

	self->root = g_strdup(root_path);
	self->collections = g_strdupv((gchar **)collections);
	self->visible = visible;
	self->visible_data = visible_data;
	return self;
}
