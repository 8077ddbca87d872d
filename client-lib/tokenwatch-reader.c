/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tokenwatch-enum-types.h"
#include "tokenwatch-reader-private.h"

/**
 * TokenwatchReader:
 *
 * A PC/SC reader watched by tokenwatchd.
 *
 * Readers are owned by the [class@Tokenwatch.Client] they come from: get them
 * with [method@Tokenwatch.Client.get_readers] or from its
 * [signal@Tokenwatch.Client::reader-added] signal. The properties mirror the
 * D-Bus object `io.github.tokenwatch.TokenWatch1.Reader` and emit
 * [signal@GObject.Object::notify] when tokenwatchd changes them. After
 * [signal@Tokenwatch.Client::reader-removed] the object no longer changes.
 *
 * Since: 0.1
 */

struct _TokenwatchReader {
	GObject parent_instance;

	TwDBusReader *proxy;
	gchar *object_path;
	gchar *name;
	gboolean card_present;
	gchar *atr;
	TokenwatchCardState card_state;
	guint event_count;
	gchar **tokens;
};

G_DEFINE_TYPE(TokenwatchReader, tokenwatch_reader, G_TYPE_OBJECT)

enum {
	PROP_0,
	PROP_OBJECT_PATH,
	PROP_NAME,
	PROP_CARD_PRESENT,
	PROP_ATR,
	PROP_CARD_STATE,
	PROP_EVENT_COUNT,
	PROP_TOKENS,
	N_PROPS,
};

static GParamSpec *props[N_PROPS] = {NULL};

static TokenwatchCardState
tokenwatch_reader_card_state_from_string(const gchar *str)
{
	g_autoptr(GEnumClass) klass = NULL;
	GEnumValue *value;

	if (str == NULL)
		return TOKENWATCH_CARD_STATE_UNKNOWN;
	klass = g_type_class_ref(TOKENWATCH_TYPE_CARD_STATE);
	value = g_enum_get_value_by_nick(klass, str);
	if (value == NULL) {
		g_debug("unknown card state '%s', treating it as unknown", str);
		return TOKENWATCH_CARD_STATE_UNKNOWN;
	}
	return (TokenwatchCardState)value->value;
}

static void
tokenwatch_reader_set_string(TokenwatchReader *self, gchar **field, const gchar *value, guint prop)
{
	if (value == NULL)
		value = "";
	if (g_strcmp0(*field, value) == 0)
		return;
	g_free(*field);
	*field = g_strdup(value);
	g_object_notify_by_pspec(G_OBJECT(self), props[prop]);
}

static void
tokenwatch_reader_set_tokens(TokenwatchReader *self, const gchar *const *tokens)
{
	static const gchar *const empty[] = {NULL};

	if (tokens == NULL)
		tokens = empty;
	if (self->tokens != NULL && g_strv_equal((const gchar *const *)self->tokens, tokens))
		return;
	g_strfreev(self->tokens);
	self->tokens = g_strdupv((gchar **)tokens);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_TOKENS]);
}

/* copy the proxy's cached D-Bus properties, notifying what changed */
static void
tokenwatch_reader_sync(TokenwatchReader *self)
{
	gboolean card_present = tw_dbus_reader_get_card_present(self->proxy);
	guint event_count = tw_dbus_reader_get_event_count(self->proxy);
	TokenwatchCardState card_state = tokenwatch_reader_card_state_from_string(
		tw_dbus_reader_get_card_state(self->proxy));

	g_object_freeze_notify(G_OBJECT(self));
	tokenwatch_reader_set_string(self, &self->name, tw_dbus_reader_get_name(self->proxy),
				     PROP_NAME);
	tokenwatch_reader_set_string(self, &self->atr, tw_dbus_reader_get_atr(self->proxy),
				     PROP_ATR);
	if (self->card_present != card_present) {
		self->card_present = card_present;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CARD_PRESENT]);
	}
	if (self->card_state != card_state) {
		self->card_state = card_state;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CARD_STATE]);
	}
	if (self->event_count != event_count) {
		self->event_count = event_count;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_EVENT_COUNT]);
	}
	/* a copy: the proxy frees its cached array when the property changes */
	{
		g_auto(GStrv) tokens = tw_dbus_reader_dup_tokens(self->proxy);

		tokenwatch_reader_set_tokens(self, (const gchar *const *)tokens);
	}
	g_object_thaw_notify(G_OBJECT(self));
}

static void
tokenwatch_reader_properties_changed_cb(GDBusProxy *proxy,
					GVariant *changed,
					const gchar *const *invalidated,
					gpointer user_data)
{
	TokenwatchReader *self = TOKENWATCH_READER(user_data);

	tokenwatch_reader_sync(self);
}

static void
tokenwatch_reader_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	TokenwatchReader *self = TOKENWATCH_READER(object);

	switch (prop_id) {
	case PROP_OBJECT_PATH:
		g_value_set_string(value, self->object_path);
		break;
	case PROP_NAME:
		g_value_set_string(value, self->name);
		break;
	case PROP_CARD_PRESENT:
		g_value_set_boolean(value, self->card_present);
		break;
	case PROP_ATR:
		g_value_set_string(value, self->atr);
		break;
	case PROP_CARD_STATE:
		g_value_set_enum(value, self->card_state);
		break;
	case PROP_EVENT_COUNT:
		g_value_set_uint(value, self->event_count);
		break;
	case PROP_TOKENS:
		g_value_set_boxed(value, self->tokens);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void
tokenwatch_reader_dispose(GObject *object)
{
	TokenwatchReader *self = TOKENWATCH_READER(object);

	if (self->proxy != NULL)
		g_signal_handlers_disconnect_by_data(self->proxy, self);
	g_clear_object(&self->proxy);

	G_OBJECT_CLASS(tokenwatch_reader_parent_class)->dispose(object);
}

static void
tokenwatch_reader_finalize(GObject *object)
{
	TokenwatchReader *self = TOKENWATCH_READER(object);

	g_free(self->object_path);
	g_free(self->name);
	g_free(self->atr);
	g_strfreev(self->tokens);

	G_OBJECT_CLASS(tokenwatch_reader_parent_class)->finalize(object);
}

static void
tokenwatch_reader_init(TokenwatchReader *self)
{
	self->object_path = g_strdup("");
	self->name = g_strdup("");
	self->atr = g_strdup("");
	self->card_state = TOKENWATCH_CARD_STATE_UNKNOWN;
	self->tokens = g_new0(gchar *, 1);
}

static void
tokenwatch_reader_class_init(TokenwatchReaderClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = tokenwatch_reader_get_property;
	object_class->dispose = tokenwatch_reader_dispose;
	object_class->finalize = tokenwatch_reader_finalize;

	/**
	 * TokenwatchReader:object-path:
	 *
	 * The D-Bus object path of the reader.
	 *
	 * Since: 0.1
	 */
	props[PROP_OBJECT_PATH] = g_param_spec_string("object-path", NULL, NULL, NULL,
						      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
							      G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchReader:name:
	 *
	 * The PC/SC name of the reader (D-Bus property `Name`).
	 *
	 * Since: 0.1
	 */
	props[PROP_NAME] = g_param_spec_string("name", NULL, NULL, NULL,
					       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
						       G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchReader:card-present:
	 *
	 * Whether a card is in the reader, including a card that does not
	 * answer (D-Bus property `CardPresent`).
	 *
	 * Since: 0.1
	 */
	props[PROP_CARD_PRESENT] = g_param_spec_boolean("card-present", NULL, NULL, FALSE,
							G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
								G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchReader:atr:
	 *
	 * The Answer To Reset of the card as upper-case hex without spaces,
	 * empty when there is no card or the card is mute (D-Bus property
	 * `Atr`).
	 *
	 * Since: 0.1
	 */
	props[PROP_ATR] = g_param_spec_string("atr", NULL, NULL, NULL,
					      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
						      G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchReader:card-state:
	 *
	 * The state of the card slot (D-Bus property `CardState`). States this
	 * version of the library does not know are reported as
	 * %TOKENWATCH_CARD_STATE_UNKNOWN.
	 *
	 * Since: 0.1
	 */
	props[PROP_CARD_STATE] = g_param_spec_enum(
		"card-state", NULL, NULL, TOKENWATCH_TYPE_CARD_STATE, TOKENWATCH_CARD_STATE_UNKNOWN,
		G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchReader:event-count:
	 *
	 * How many insertions and removals tokenwatchd has seen on this reader
	 * since it appeared (D-Bus property `EventCount`).
	 *
	 * Since: 0.1
	 */
	props[PROP_EVENT_COUNT] = g_param_spec_uint("event-count", NULL, NULL, 0, G_MAXUINT, 0,
						    G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
							    G_PARAM_STATIC_STRINGS);

	/**
	 * TokenwatchReader:tokens:
	 *
	 * The D-Bus object paths of the tokens read from the card in this
	 * reader (D-Bus property `Tokens`).
	 *
	 * Since: 0.1
	 */
	props[PROP_TOKENS] = g_param_spec_boxed("tokens", NULL, NULL, G_TYPE_STRV,
						G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
							G_PARAM_STATIC_STRINGS);

	g_object_class_install_properties(object_class, N_PROPS, props);
}

/* (transfer full): wraps @proxy, which the reader keeps a reference to */
TokenwatchReader *
tokenwatch_reader_new(TwDBusReader *proxy)
{
	TokenwatchReader *self;

	g_return_val_if_fail(TW_DBUS_IS_READER(proxy), NULL);

	self = g_object_new(TOKENWATCH_TYPE_READER, NULL);
	self->proxy = g_object_ref(proxy);
	g_free(self->object_path);
	self->object_path = g_strdup(g_dbus_proxy_get_object_path(G_DBUS_PROXY(proxy)));
	g_signal_connect_object(proxy, "g-properties-changed",
				G_CALLBACK(tokenwatch_reader_properties_changed_cb), self,
				G_CONNECT_DEFAULT);
	tokenwatch_reader_sync(self);
	return self;
}

/**
 * tokenwatch_reader_get_object_path:
 * @self: a [class@Tokenwatch.Reader]
 *
 * Gets the D-Bus object path of the reader, which identifies it as long as it
 * is plugged in.
 *
 * Returns: the object path
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_reader_get_object_path(TokenwatchReader *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_READER(self), NULL);
	return self->object_path;
}

/**
 * tokenwatch_reader_get_name:
 * @self: a [class@Tokenwatch.Reader]
 *
 * Gets the PC/SC name of the reader.
 *
 * Returns: the reader name, valid UTF-8
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_reader_get_name(TokenwatchReader *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_READER(self), NULL);
	return self->name;
}

/**
 * tokenwatch_reader_get_card_present:
 * @self: a [class@Tokenwatch.Reader]
 *
 * Gets whether a card is in the reader, including a mute card.
 *
 * Returns: %TRUE if a card is present
 *
 * Since: 0.1
 */
gboolean
tokenwatch_reader_get_card_present(TokenwatchReader *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_READER(self), FALSE);
	return self->card_present;
}

/**
 * tokenwatch_reader_get_atr:
 * @self: a [class@Tokenwatch.Reader]
 *
 * Gets the Answer To Reset of the card in the reader.
 *
 * Returns: the ATR as upper-case hex without spaces, or "" when there is no
 *   card or the card is mute
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_reader_get_atr(TokenwatchReader *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_READER(self), NULL);
	return self->atr;
}

/**
 * tokenwatch_reader_get_card_state:
 * @self: a [class@Tokenwatch.Reader]
 *
 * Gets the state of the card slot of the reader.
 *
 * Returns: the card state
 *
 * Since: 0.1
 */
TokenwatchCardState
tokenwatch_reader_get_card_state(TokenwatchReader *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_READER(self), TOKENWATCH_CARD_STATE_UNKNOWN);
	return self->card_state;
}

/**
 * tokenwatch_reader_get_event_count:
 * @self: a [class@Tokenwatch.Reader]
 *
 * Gets how many insertions and removals were seen on the reader.
 *
 * Returns: the event count
 *
 * Since: 0.1
 */
guint
tokenwatch_reader_get_event_count(TokenwatchReader *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_READER(self), 0);
	return self->event_count;
}

/**
 * tokenwatch_reader_get_tokens:
 * @self: a [class@Tokenwatch.Reader]
 *
 * Gets the D-Bus object paths of the tokens on the card in the reader.
 *
 * Returns: (transfer none) (array zero-terminated=1): the token object
 *   paths, possibly empty
 *
 * Since: 0.1
 */
const gchar *const *
tokenwatch_reader_get_tokens(TokenwatchReader *self)
{
	g_return_val_if_fail(TOKENWATCH_IS_READER(self), NULL);
	return (const gchar *const *)self->tokens;
}
