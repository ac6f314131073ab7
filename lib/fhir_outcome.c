#include "fhir_outcome.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fhir_map.h"

static bool set(struct fhir_error *e, enum err_code code,
		const char *issue_type, const char *expression, const char *fmt,
		va_list ap) __attribute__((format(printf, 5, 0)));

static bool set(struct fhir_error *e, enum err_code code,
		const char *issue_type, const char *expression, const char *fmt,
		va_list ap)
{
	memset(e, 0, sizeof(*e));
	e->error.code = code;
	e->issue_type = issue_type;
	vsnprintf(e->error.message, sizeof(e->error.message), fmt, ap);
	if (expression != NULL)
		snprintf(e->expression, sizeof(e->expression), "%s",
			 expression);
	return false;
}

bool fhir_error_set(struct fhir_error *e, enum err_code code,
		    const char *expression, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set(e, code, NULL, expression, fmt, ap);
	va_end(ap);
	return false;
}

bool fhir_error_typed(struct fhir_error *e, enum err_code code,
		      const char *issue_type, const char *expression,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set(e, code, issue_type, expression, fmt, ap);
	va_end(ap);
	return false;
}

void fhir_error_from_pp(struct fhir_error *e, const struct pp_error *err,
			const char *expression)
{
	memset(e, 0, sizeof(*e));
	e->error = *err;
	if (expression != NULL)
		snprintf(e->expression, sizeof(e->expression), "%s",
			 expression);
}

void fhir_error_within(struct fhir_error *e, const char *prefix)
{
	char inner[FHIR_EXPRESSION_MAX];
	const char *dot = strchr(e->expression, '.');

	/* "Task.owner" within "Bundle.entry[2].resource" is
	 * "Bundle.entry[2].resource.owner". */
	snprintf(inner, sizeof(inner), "%s", dot != NULL ? dot : "");
	snprintf(e->expression, sizeof(e->expression), "%s%s", prefix, inner);
}

/* The message, and for illegal_transition the phase and the events it
 * allows, as /v1's error body lists them. */
static void diagnostics(const struct pp_error *err, char *out, size_t len)
{
	size_t n;

	snprintf(out, len, "%s", err->message);
	if (err->code != ERR_ILLEGAL_TRANSITION)
		return;
	n = strlen(out);
	snprintf(out + n, len - n,
		 " (phase %s; allowed:", domain_phase_name(err->phase));
	for (int t = 0; t < EV_COUNT; t++) {
		n = strlen(out);
		if (err->allowed & (1u << t))
			snprintf(out + n, len - n, " %s", domain_event_name(t));
	}
	n = strlen(out);
	snprintf(out + n, len - n, ")");
}

json_t *fhir_outcome(const struct fhir_config *cfg, const struct fhir_error *e)
{
	char system[FHIR_URL_MAX], diag[1024];
	const struct pp_error *err = &e->error;
	const char *message = err->message[0] != '\0'
				      ? err->message
				      : error_code_name(err->code);
	json_t *issue;

	fhir_config_code_system(cfg, "error", system);
	diagnostics(err, diag, sizeof(diag));
	issue = json_pack(
		"{s:s, s:s, s:{s:[{s:s, s:s}], s:s}, s:s}", "severity",
		fhir_map_issue_severity(err->code), "code",
		e->issue_type != NULL ? e->issue_type
				      : fhir_map_issue_type(err->code),
		"details", "coding", "system", system, "code",
		error_code_name(err->code), "text", message, "diagnostics",
		diag[0] != '\0' ? diag : message);
	if (issue != NULL && e->expression[0] != '\0')
		json_object_set_new(issue, "expression",
				    json_pack("[s]", e->expression));
	return json_pack("{s:s, s:[o]}", "resourceType", "OperationOutcome",
			 "issue", issue);
}
