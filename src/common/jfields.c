/* Checking a JSON body against its field table (see jfields.h). */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/jfields.h"

static const struct {
	unsigned bit;
	const char *text;
} type_names[] = {
    {JF_STR, "a string"},	{JF_INT, "an integer"}, {JF_REAL, "a number"},
    {JF_BOOL, "true or false"}, {JF_OBJ, "an object"},	{JF_ARR, "an array"},
    {JF_NULL, "null"},
};

static unsigned type_of(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return JF_STR;
	case JSON_INTEGER:
		return JF_INT;
	case JSON_REAL:
		return JF_REAL;
	case JSON_TRUE:
	case JSON_FALSE:
		return JF_BOOL;
	case JSON_OBJECT:
		return JF_OBJ;
	case JSON_ARRAY:
		return JF_ARR;
	default:
		return JF_NULL;
	}
}

const char *jfields_types_text(unsigned types, char *buf, size_t n)
{
	size_t used = 0, count = 0;
	buf[0] = 0;
	if (types & JF_REAL)
		types &= ~(unsigned)JF_INT; /* "a number" covers integers */
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (!(types & type_names[i].bit))
			continue;
		int w =
		    snprintf(buf + used, n - used, "%s%s", count ? " or " : "", type_names[i].text);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
		count++;
	}
	return buf;
}

static const struct jfield *find(const struct jfield *spec, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(spec[i].name, name))
			return &spec[i];
	return NULL;
}

static void known_names(const struct jfield *spec, size_t n, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", spec[i].name);
		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
}

static bool type_ok(const struct jfield *f, json_t *v)
{
	unsigned t = type_of(v);
	if (t == JF_INT && (f->types & JF_REAL))
		return true;
	return (f->types | JF_NULL * !f->required) & t;
}

int jfields_check(json_t *obj, const struct jfield *spec, size_t n, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	char text[512];
	json_object_foreach(obj, key, v)
	{
		const struct jfield *f = find(spec, n, key);
		if (!f) {
			known_names(spec, n, text, sizeof(text));
			snprintf(err, errlen, "unknown field '%.64s': this body takes %s", key,
				 text);
			return AE_INVAL;
		}
		if (!type_ok(f, v)) {
			snprintf(err, errlen, "%s must be %s", key,
				 jfields_types_text(f->types, text, sizeof(text)));
			return AE_INVAL;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (spec[i].required && !json_object_get(obj, spec[i].name)) {
			snprintf(err, errlen, "%s is required: %s", spec[i].name,
				 jfields_types_text(spec[i].types, text, sizeof(text)));
			return AE_INVAL;
		}
	return 0;
}
