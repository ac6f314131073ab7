/*
 * The route table (daemon/routes.c) and the OpenAPI document
 * (doc/openapi.json) hold the same routes, both ways: every row in the
 * document's scope is a documented operation with the same path
 * parameters, the same query parameters and the same roles, and every
 * documented operation is a row.  The error codes the document lists are
 * lib/error.c's.  A mismatch fails naming the route.
 *
 * In scope: every row of the /v1 front-end -- the /v1 API, the
 * operators' three (/healthz, /readyz, /metrics) and the public waiting
 * times (/public/waiting-times, an API others call).  Out of scope,
 * counted but not checked: the FHIR rows (described by FHIR's own
 * CapabilityStatement at /fhir/metadata) and the pages' catch-all rows
 * (FRONTEND_PAGES), which are not an API but whatever files the web root
 * holds for browsers, behind patterns that fit any path of up to three
 * segments; only those four patterns may be pages rows.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../daemon/app.h"
#include "../daemon/http.h"
#include "auth.h"
#include "error.h"
#include "suites.h"

#define DOC_PATH   "doc/openapi.json"
#define ROLE_COUNT 3 /* enum role */

/* The pages' catch-all rows, the only rows outside the document but
 * FHIR's. */
static const char *const page_patterns[] = {"/", "/:file", "/:dir/:file",
					    "/:dir/:sub/:file"};
/* By enum http_method. */
static const char *const method_keys[] = {"get", "post", "put", "delete"};
static const char *const method_names[] = {"GET", "POST", "PUT", "DELETE"};
/* Every key of a Path Item that names an operation (OpenAPI 3.1). */
static const char *const operation_keys[] = {
	"get", "put", "post", "delete", "options", "head", "patch", "trace"};

static json_t *doc;

/* What is wrong, one line each, for the one failure message. */
struct problems {
	char text[8192];
	size_t used;
	int count;
};

static void problem(struct problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct problems *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	p->count++;
	if (p->used + 1 >= sizeof(p->text))
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->text + p->used, sizeof(p->text) - p->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->used += (size_t)n;
	if (p->used + 2 < sizeof(p->text)) {
		p->text[p->used++] = '\n';
		p->text[p->used] = '\0';
	} else {
		p->used = sizeof(p->text) - 1;
	}
}

static void load_doc(void)
{
	json_error_t err;

	doc = json_load_file(PAINPATH_SOURCE_DIR "/" DOC_PATH,
			     JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(doc != NULL, "%s:%d: %s", DOC_PATH, err.line, err.text);
}

static void free_doc(void)
{
	json_decref(doc);
	doc = NULL;
}

/* "/v1/pathways/:id" -> "/v1/pathways/{id}" */
static void doc_path_of(const char *pattern, char *out, size_t len)
{
	size_t used = 0;

	for (const char *p = pattern; *p != '\0' && used + 2 < len; p++) {
		if (*p != ':' || p[-1] != '/') {
			out[used++] = *p;
			continue;
		}
		size_t n = strcspn(p + 1, "/");
		used += (size_t)snprintf(out + used, len - used, "{%.*s}",
					 (int)n, p + 1);
		p += n;
	}
	out[used < len ? used : len - 1] = '\0';
}

static const char *method_key(const struct route *rt)
{
	return rt->method < sizeof(method_keys) / sizeof(method_keys[0])
		       ? method_keys[rt->method]
		       : "?";
}

static const char *method_name(const struct route *rt)
{
	return rt->method < sizeof(method_names) / sizeof(method_names[0])
		       ? method_names[rt->method]
		       : "?";
}

static json_t *documented(const char *path, const char *method)
{
	return json_object_get(
		json_object_get(json_object_get(doc, "paths"), path), method);
}

static bool in_scope(const struct route *rt)
{
	return rt->frontend == FRONTEND_V1;
}

static bool is_page_pattern(const char *pattern)
{
	for (size_t i = 0; i < sizeof(page_patterns) / sizeof(page_patterns[0]);
	     i++)
		if (strcmp(pattern, page_patterns[i]) == 0)
			return true;
	return false;
}

/* A parameter, its local $ref followed. */
static json_t *resolved(json_t *param)
{
	const char *ref = json_string_value(json_object_get(param, "$ref"));
	const char *prefix = "#/components/parameters/";

	if (ref == NULL)
		return param;
	if (strncmp(ref, prefix, strlen(prefix)) != 0)
		return NULL;
	return json_object_get(
		json_object_get(json_object_get(doc, "components"),
				"parameters"),
		ref + strlen(prefix));
}

/* The names of the parameters "in" where (path or query) of the path item
 * and of its operation, as a set (object keys). */
static json_t *params_in(const char *path, json_t *op, const char *where)
{
	json_t *lists[2] = {
		json_object_get(
			json_object_get(json_object_get(doc, "paths"), path),
			"parameters"),
		json_object_get(op, "parameters")};
	json_t *names = json_object();

	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *p;

		json_array_foreach(lists[l], i, p)
		{
			json_t *param = resolved(p);
			const char *in =
				json_string_value(json_object_get(param, "in"));
			const char *name = json_string_value(
				json_object_get(param, "name"));

			if (in != NULL && name != NULL &&
			    strcmp(in, where) == 0)
				json_object_set_new(names, name, json_true());
		}
	}
	return names;
}

/* The route's path parameters (":id") or query parameters, as a set. */
static json_t *route_params(const struct route *rt, bool path)
{
	json_t *names = json_object();
	const char *s = path ? rt->pattern : rt->query;
	char name[128];

	while (s != NULL && *s != '\0') {
		size_t n;

		if (path && (*s != ':' || s[-1] != '/')) {
			s++;
			continue;
		}
		s += path ? 1 : strspn(s, " ");
		n = strcspn(s, path ? "/" : " ");
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, s, n);
			name[n] = '\0';
			json_object_set_new(names, name, json_true());
		}
		s += n;
	}
	return names;
}

static void compare_sets(struct problems *p, const char *route,
			 const char *what, json_t *in_table, json_t *in_doc)
{
	const char *key;
	json_t *v;

	json_object_foreach(in_table, key, v)
	{
		if (json_object_get(in_doc, key) == NULL)
			problem(p, "route %s: %s %s is not in %s", route, what,
				key, DOC_PATH);
	}
	json_object_foreach(in_doc, key, v)
	{
		if (json_object_get(in_table, key) == NULL)
			problem(p,
				"route %s: %s %s is documented but not in "
				"the route table",
				route, what, key);
	}
}

/* A role's bit from its name; 0 for none. */
static unsigned role_bit(const char *name)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (name != NULL &&
		    strcmp(auth_role_name((enum role)r), name) == 0)
			return ALLOW(r);
	return 0;
}

/* The bits one security requirement stands for: {"bearer": [roles]}, or
 * {} -- no token -- which only a scraper's route may take (the public
 * ones have no requirement at all); 0 when it is neither. */
static unsigned requirement_bits(json_t *req)
{
	json_t *roles = json_object_get(req, "bearer");
	unsigned bits = 0;
	size_t i;
	json_t *v;

	if (json_is_object(req) && json_object_size(req) == 0)
		return ALLOW_SCRAPER;
	if (json_object_size(req) != 1 || json_array_size(roles) == 0)
		return 0;
	json_array_foreach(roles, i, v)
	{
		unsigned bit = role_bit(json_string_value(v));

		if (bit == 0)
			return 0;
		bits |= bit;
	}
	return bits;
}

/* The roles the operation's security names, as a bit set like the
 * table's (an empty list: public); -1 when one of its requirements is
 * neither a bearer's roles nor {}. */
static int documented_roles(json_t *op)
{
	json_t *security = json_object_get(op, "security");
	unsigned bits = 0;
	size_t i;
	json_t *req;

	if (!json_is_array(security))
		return -1;
	json_array_foreach(security, i, req)
	{
		unsigned b = requirement_bits(req);

		if (b == 0)
			return -1;
		bits |= b;
	}
	return (int)bits;
}

static void check_route(struct problems *p, const struct route *rt)
{
	char path[256], name[300];
	json_t *op, *a, *b;
	int roles;

	doc_path_of(rt->pattern, path, sizeof(path));
	snprintf(name, sizeof(name), "%s %s", method_name(rt), rt->pattern);
	op = documented(path, method_key(rt));
	if (op == NULL)
		return problem(p,
			       "route %s is not documented (%s has no "
			       "paths[\"%s\"].%s)",
			       name, DOC_PATH, path, method_key(rt));
	compare_sets(p, name, "path parameter", a = route_params(rt, true),
		     b = params_in(path, op, "path"));
	json_decref(a);
	json_decref(b);
	compare_sets(p, name, "query parameter", a = route_params(rt, false),
		     b = params_in(path, op, "query"));
	json_decref(a);
	json_decref(b);
	roles = documented_roles(op);
	if (roles != (int)rt->roles)
		problem(p,
			"route %s: the document's security (roles 0x%x) is "
			"not the table's (0x%x)",
			name, roles < 0 ? 0xffu : (unsigned)roles, rt->roles);
}

START_TEST(every_route_is_documented)
{
	struct problems p = {.count = 0};
	int checked = 0, outside = 0;

	for (unsigned i = 0; i < app_route_count; i++) {
		const struct route *rt = &app_routes[i];

		if (rt->frontend == FRONTEND_PAGES &&
		    (!is_page_pattern(rt->pattern) || rt->method != METHOD_GET))
			problem(&p,
				"route %s %s is marked a page but is none of "
				"the pages' catch-all patterns",
				method_name(rt), rt->pattern);
		if (!in_scope(rt)) {
			outside++;
			continue;
		}
		check_route(&p, rt);
		checked++;
	}
	printf("openapi: %d routes checked against %s, %d outside its "
	       "scope (FHIR, pages)\n",
	       checked, DOC_PATH, outside);
	ck_assert_msg(p.count == 0,
		      "%d difference(s) between "
		      "daemon/routes.c and %s:\n%s",
		      p.count, DOC_PATH, p.text);
	ck_assert_int_gt(checked, 0);
}
END_TEST

static bool is_route(const char *path, const char *method)
{
	char doc_path[256];

	for (unsigned i = 0; i < app_route_count; i++) {
		const struct route *rt = &app_routes[i];

		doc_path_of(rt->pattern, doc_path, sizeof(doc_path));
		if (strcmp(doc_path, path) == 0 &&
		    strcmp(method_key(rt), method) == 0)
			return true;
	}
	return false;
}

START_TEST(every_operation_is_a_route)
{
	struct problems p = {.count = 0};
	const char *path;
	json_t *item;

	json_object_foreach(json_object_get(doc, "paths"), path, item)
	{
		for (size_t m = 0;
		     m < sizeof(operation_keys) / sizeof(operation_keys[0]);
		     m++)
			if (json_object_get(item, operation_keys[m]) != NULL &&
			    !is_route(path, operation_keys[m]))
				problem(&p,
					"documented %s %s is no route in "
					"daemon/routes.c",
					operation_keys[m], path);
	}
	ck_assert_msg(p.count == 0,
		      "%d operation(s) of %s without a "
		      "route:\n%s",
		      p.count, DOC_PATH, p.text);
}
END_TEST

/* components.schemas.ErrorCode.enum holds every code of lib/error.c but
 * "ok", and nothing else. */
START_TEST(error_codes_are_the_daemons)
{
	json_t *codes = json_object_get(
		json_object_get(
			json_object_get(json_object_get(doc, "components"),
					"schemas"),
			"ErrorCode"),
		"enum");
	struct problems p = {.count = 0};
	size_t i;
	json_t *v;

	ck_assert_msg(json_is_array(codes),
		      "%s has no components.schemas.ErrorCode.enum", DOC_PATH);
	for (int c = ERR_NONE + 1; c < ERR_COUNT; c++) {
		bool listed = false;

		json_array_foreach(codes, i, v)
		{
			listed |=
				strcmp(json_string_value(v)
					       ? json_string_value(v)
					       : "",
				       error_code_name((enum err_code)c)) == 0;
		}
		if (!listed)
			problem(&p,
				"error code %s (HTTP %d) is not in "
				"ErrorCode",
				error_code_name((enum err_code)c),
				error_http_status((enum err_code)c));
	}
	json_array_foreach(codes, i, v)
	{
		int c = ERR_NONE + 1;

		while (c < ERR_COUNT &&
		       strcmp(json_string_value(v) ? json_string_value(v) : "",
			      error_code_name((enum err_code)c)) != 0)
			c++;
		if (c == ERR_COUNT)
			problem(&p,
				"ErrorCode lists %s, which lib/error.c "
				"does not have",
				json_string_value(v) ? json_string_value(v)
						     : "a non-string");
	}
	ck_assert_msg(p.count == 0, "%s", p.text);
}
END_TEST

Suite *openapi_suite(void)
{
	Suite *s = suite_create("openapi");
	TCase *tc = tcase_create("routes");

	tcase_add_checked_fixture(tc, load_doc, free_doc);
	tcase_add_test(tc, every_route_is_documented);
	tcase_add_test(tc, every_operation_is_a_route);
	tcase_add_test(tc, error_codes_are_the_daemons);
	suite_add_tcase(s, tc);
	return s;
}
