/*
 * Copyright (C) 2024 The tokenwatch authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(TOKENWATCH_INSIDE) && !defined(TOKENWATCH_COMPILATION)
#error "Only <tokenwatch.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * TOKENWATCH_ERROR:
 *
 * The error domain of tokenwatch. Errors in this domain are from the
 * [error@Tokenwatch.Error] enumeration; on D-Bus they travel as
 * `io.github.tokenwatch.TokenWatch1.Error.<Code>`.
 *
 * Since: 0.1
 */
#define TOKENWATCH_ERROR (tokenwatch_error_quark())

/**
 * TokenwatchError:
 * @TOKENWATCH_ERROR_FAILED: Generic failure
 *   (`io.github.tokenwatch.TokenWatch1.Error.Failed`).
 * @TOKENWATCH_ERROR_NOT_FOUND: The object or item does not exist
 *   (`io.github.tokenwatch.TokenWatch1.Error.NotFound`).
 * @TOKENWATCH_ERROR_NO_SERVICE: tokenwatchd, or a service it needs, is not
 *   available (`io.github.tokenwatch.TokenWatch1.Error.NoService`).
 * @TOKENWATCH_ERROR_PERMISSION_DENIED: The caller is not authorized
 *   (`io.github.tokenwatch.TokenWatch1.Error.PermissionDenied`).
 * @TOKENWATCH_ERROR_INVALID_ARGUMENT: An argument was not valid
 *   (`io.github.tokenwatch.TokenWatch1.Error.InvalidArgument`).
 * @TOKENWATCH_ERROR_NOT_SUPPORTED: The operation is not supported
 *   (`io.github.tokenwatch.TokenWatch1.Error.NotSupported`).
 * @TOKENWATCH_ERROR_LAST: The number of error codes; not an error.
 *
 * Error codes of the %TOKENWATCH_ERROR domain.
 *
 * Since: 0.1
 */
typedef enum {
	TOKENWATCH_ERROR_FAILED,
	TOKENWATCH_ERROR_NOT_FOUND,
	TOKENWATCH_ERROR_NO_SERVICE,
	TOKENWATCH_ERROR_PERMISSION_DENIED,
	TOKENWATCH_ERROR_INVALID_ARGUMENT,
	TOKENWATCH_ERROR_NOT_SUPPORTED,
	TOKENWATCH_ERROR_LAST /*< skip >*/
} TokenwatchError;

GQuark tokenwatch_error_quark(void);

G_END_DECLS
