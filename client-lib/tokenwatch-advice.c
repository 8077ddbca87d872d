/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tokenwatch-advice-private.h"
#include "tokenwatch-enum-types.h"
#include "tokenwatch-proxy-private.h"

/**
 * TokenwatchAdvice:
 *
 * One thing the owner of a token should know or do, e.g. change the factory PIN
 * or remove an expired certificate to make room for a renewal: a stable code, a
 * [enum@Tokenwatch.AdviceSeverity] and a sentence in plain English. A token
 * lists its advice in [property@Tokenwatch.Token:advice], most severe first;
 * see [method@Tokenwatch.Token.get_advice].
 *
 * A [struct@Tokenwatch.Advice] never changes; when tokenwatchd changes its
 * advice, the token gets new ones. It is reference counted.
 *
 * Since: 0.1
 */
struct _TokenwatchAdvice {
	gint ref_count;
	gchar *code;
	TokenwatchAdviceSeverity severity;
	gchar *text;
};

G_DEFINE_BOXED_TYPE(TokenwatchAdvice,
		    tokenwatch_advice,
		    tokenwatch_advice_ref,
		    tokenwatch_advice_unref)

/* (transfer full) */
TokenwatchAdvice *
tokenwatch_advice_new(const gchar *code, TokenwatchAdviceSeverity severity, const gchar *text)
{
	TokenwatchAdvice *self = g_new0(TokenwatchAdvice, 1);

	self->ref_count = 1;
	self->code = g_strdup(code != NULL ? code : "");
	self->severity = severity;
	self->text = g_strdup(text != NULL ? text : "");
	return self;
}

/**
 * tokenwatch_advice_ref:
 * @self: a [struct@Tokenwatch.Advice]
 *
 * Takes a reference on @self.
 *
 * Returns: (transfer full): @self
 *
 * Since: 0.1
 */
TokenwatchAdvice *
tokenwatch_advice_ref(TokenwatchAdvice *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	g_return_val_if_fail(self->ref_count > 0, NULL);

	g_atomic_int_inc(&self->ref_count);
	return self;
}

/**
 * tokenwatch_advice_unref:
 * @self: (transfer full): a [struct@Tokenwatch.Advice]
 *
 * Drops a reference on @self, freeing it when it was the last.
 *
 * Since: 0.1
 */
void
tokenwatch_advice_unref(TokenwatchAdvice *self)
{
	g_return_if_fail(self != NULL);
	g_return_if_fail(self->ref_count > 0);

	if (!g_atomic_int_dec_and_test(&self->ref_count))
		return;
	g_free(self->code);
	g_free(self->text);
	g_free(self);
}

/**
 * tokenwatch_advice_get_code:
 * @self: a [struct@Tokenwatch.Advice]
 *
 * Gets the code of the advice, which programs can rely on: one of
 * "factory-pin", "pin-count-low", "pin-final-try", "pin-locked",
 * "puk-final-try", "puk-locked", "qualified-area-full", "unpaired-keys",
 * "memory-low", "device-certification-ending" and
 * "device-certification-ended"; later versions of tokenwatchd may add
 * codes.
 *
 * Returns: the code
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_advice_get_code(TokenwatchAdvice *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->code;
}

/**
 * tokenwatch_advice_get_severity:
 * @self: a [struct@Tokenwatch.Advice]
 *
 * Gets how urgent the advice is.
 *
 * Returns: the severity; %TOKENWATCH_ADVICE_SEVERITY_UNKNOWN for a severity
 *   this version of the library does not know
 *
 * Since: 0.1
 */
TokenwatchAdviceSeverity
tokenwatch_advice_get_severity(TokenwatchAdvice *self)
{
	g_return_val_if_fail(self != NULL, TOKENWATCH_ADVICE_SEVERITY_UNKNOWN);
	return self->severity;
}

/**
 * tokenwatch_advice_get_text:
 * @self: a [struct@Tokenwatch.Advice]
 *
 * Gets the advice as a sentence in plain English, for people. It comes
 * from the token's data (e.g. certificate names): sanitise it before
 * printing it on a terminal.
 *
 * Returns: the text, valid UTF-8
 *
 * Since: 0.1
 */
const gchar *
tokenwatch_advice_get_text(TokenwatchAdvice *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->text;
}

/* (transfer full): the advice in @variant, an a(sss) of (code, severity,
 * text), in its order; empty for %NULL or another type */
GPtrArray *
tokenwatch_advice_array_from_variant(GVariant *variant)
{
	GPtrArray *array = g_ptr_array_new_with_free_func((GDestroyNotify)tokenwatch_advice_unref);
	GVariantIter iter;
	const gchar *code;
	const gchar *severity;
	const gchar *text;

	if (variant == NULL)
		return array;
	if (!g_variant_is_of_type(variant, G_VARIANT_TYPE("a(sss)"))) {
		g_debug("property Advice: unexpected type %s", g_variant_get_type_string(variant));
		return array;
	}
	g_variant_iter_init(&iter, variant);
	while (g_variant_iter_next(&iter, "(&s&s&s)", &code, &severity, &text)) {
		g_ptr_array_add(array, tokenwatch_advice_new(
					       code,
					       tokenwatch_proxy_enum_from_string(
						       TOKENWATCH_TYPE_ADVICE_SEVERITY, severity),
					       text));
	}
	return array;
}

gboolean
tokenwatch_advice_array_equal(GPtrArray *a, GPtrArray *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->len != b->len)
		return FALSE;
	for (guint i = 0; i < a->len; i++) {
		TokenwatchAdvice *advice_a = g_ptr_array_index(a, i);
		TokenwatchAdvice *advice_b = g_ptr_array_index(b, i);

		if (g_strcmp0(advice_a->code, advice_b->code) != 0 ||
		    advice_a->severity != advice_b->severity ||
		    g_strcmp0(advice_a->text, advice_b->text) != 0)
			return FALSE;
	}
	return TRUE;
}
