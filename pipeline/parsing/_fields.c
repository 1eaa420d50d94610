/* The columnar step's key/value work in C: JSON lines, logfmt lines and key/value objects to
   fields.

   `json_group(lines)` is `json_object.parse_group`: orjson.loads, `json_object.flatten` and
   `fields.to_fields` for each line, with no Python frame per line, key or value.
   `logfmt_group(lines)` is `logfmt.parse_group` for ASCII lines (`logfmt._items`, then
   `fields.to_fields`) and lists the others for logfmt.py. `to_fields` is `fields.to_fields`
   itself. Their results equal the Python functions' for every input
   (tests/unit/parsing/test_compiled_fields.py, and the columnar identity test, which runs the
   record path on the Python code): the Python code is the reference and the record path's.

   Everything the tables and rules are made of comes from Python once (`configure`): the alias
   roles, the level words, the attribute cap. The common cases are done here (string values, an
   ISO 8601 time string, a level word); anything else calls the Python function that owns it
   (`timestamps.from_any`, `severity.from_level`, `fields.text`), so there is one definition of
   each rule and this file only avoids the calls where the answer is plain. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "_ascii.h"
#include "_iso.h"

#define FIELDS 8 /* time, level, message, service, host, logger, trace, span */

static PyObject *roles;        /* alias key -> (field, rank) */
static PyObject *level_words;  /* level word -> Severity */
static PyObject *from_any;     /* timestamps.from_any */
static PyObject *from_level;   /* severity.from_level */
static PyObject *text_fn;      /* fields.text */
static PyObject *loads;        /* orjson.loads */
static PyObject *decode_error; /* orjson.JSONDecodeError */
static PyObject *unspecified;  /* Severity.UNSPECIFIED */
static Py_ssize_t max_attributes = -1;

static PyObject *empty, *true_text, *false_text, *time_unparsed, *attributes_capped;

static int configured(void) {
    if (max_attributes < 0) {
        PyErr_SetString(PyExc_RuntimeError, "pipeline.parsing._fields is not configured");
        return 0;
    }
    return 1;
}

/* str(x) of a float with at most 15 significant digits in [1e-4, 1e15), without Python's
   shortest-digits algorithm (dtoa's bignums: ~3,000 instructions a float); NULL (no error)
   for other floats, which keep str(). For the fewest decimals k with round(|x|·10^k) / 10^k
   == |x| (both exact in a double, so the division is the correctly rounded value of that
   decimal, as a parser reads it), the decimal round-trips; at 15 significant digits or fewer
   no other decimal of as few digits does (DBL_DIG), so it is the shortest one repr finds, and
   repr writes numbers of this range as digits, a point and at least one decimal. */
static PyObject *float_text(double x) {
    static const double scale[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
                                   1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19};
    double a = fabs(x);
    if (!(a >= 1e-4 && a < 1e15)) return NULL;
    for (int k = 0; k < (int)(sizeof scale / sizeof scale[0]); k++) {
        double m = nearbyint(a * scale[k]);
        if (m >= 1e15) return NULL; /* more than 15 significant digits */
        if (m / scale[k] != a) continue;
        /* The digits from the last, the point after k of them (and "0" before it if none
           are left), at least one decimal. */
        unsigned long long digits = (unsigned long long)m;
        char text[48], *at = text + sizeof text;
        int written = 0;
        if (k == 0) *--at = '0', *--at = '.';
        do {
            *--at = (char)('0' + digits % 10);
            digits /= 10;
            if (++written == k) *--at = '.';
        } while (digits > 0 || written < k);
        if (written == k) *--at = '0';
        if (x < 0) *--at = '-';
        return ascii_text(at, text + sizeof text - at);
    }
    return NULL;
}

/* fields.text: strings as they are, numbers as written, the rest by the Python function. */
static PyObject *text_of(PyObject *value) {
    if (value == NULL || value == Py_None) return Py_NewRef(empty);
    if (PyUnicode_CheckExact(value)) return Py_NewRef(value);
    if (PyFloat_CheckExact(value)) {
        PyObject *text = float_text(PyFloat_AS_DOUBLE(value));
        return text != NULL ? text : PyObject_Str(value);
    }
    if (PyLong_CheckExact(value)) return PyObject_Str(value);
    if (value == Py_True) return Py_NewRef(true_text);
    if (value == Py_False) return Py_NewRef(false_text);
    return PyObject_CallOneArg(text_fn, value);
}

/* 1: an ISO time (timestamps.LEADING_ISO as the string is: no leading space, ASCII), *ns its
   nanoseconds (0: a time that does not exist or is out of range, which from_any answers None
   for); -1: not one this handles, ask timestamps.from_any. */
static int iso_ns(PyObject *value, long long *ns) {
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value)) return -1;
    Py_ssize_t end;
    const char *s = (const char *)PyUnicode_DATA(value);
    return iso_at(s, PyUnicode_GET_LENGTH(value), &end, ns) < 0 ? -1 : 1;
}

/* `timestamps.from_any(time) or 0`, as a new reference. */
static PyObject *time_ns(PyObject *time) {
    long long ns;
    if (iso_ns(time, &ns) == 1) return PyLong_FromLongLong(ns);
    PyObject *found = PyObject_CallOneArg(from_any, time);
    if (found == NULL) return NULL;
    int truth = PyObject_IsTrue(found);
    if (truth < 0) {
        Py_DECREF(found);
        return NULL;
    }
    if (truth) return found;
    Py_DECREF(found);
    return PyLong_FromLong(0);
}

/* The severity to_fields gives a level value (never None here). */
static PyObject *severity_of(PyObject *level) {
    if (PyUnicode_CheckExact(level)) {
        PyObject *found = PyDict_GetItemWithError(level_words, level);
        if (found != NULL) return Py_NewRef(found);
        if (PyErr_Occurred()) return NULL;
    }
    int known = PyUnicode_Check(level) || PyLong_Check(level) || PyFloat_Check(level);
    return PyObject_CallOneArg(from_level, known ? level : Py_None);
}

static int set_text(PyObject *attributes, PyObject *key, PyObject *value) {
    PyObject *text = text_of(value);
    if (text == NULL) return -1;
    int failed = PyDict_SetItem(attributes, key, text);
    Py_DECREF(text);
    return failed;
}

/* fields.to_fields: the fields tuple of flat key/values (a dict) and their line (bytes). */
static PyObject *fields_of(PyObject *items, PyObject *line) {
    PyObject *values[FIELDS] = {NULL}, *keys[FIELDS] = {NULL}; /* borrowed from items */
    Py_ssize_t ranks[FIELDS];
    for (int f = 0; f < FIELDS; f++) ranks[f] = PY_SSIZE_T_MAX;
    PyObject *attributes = PyDict_New(), *flags = NULL, *ns = NULL, *result = NULL;
    PyObject *out[8] = {NULL}; /* severity, level, service, host, logger, trace, span, body */
    if (attributes == NULL) return NULL;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(items, &pos, &key, &value)) {
        PyObject *role = PyDict_GetItemWithError(roles, key);
        if (role == NULL && PyErr_Occurred()) goto done;
        if (role != NULL && value != Py_None) {
            Py_ssize_t field = PyLong_AsSsize_t(PyTuple_GET_ITEM(role, 0));
            Py_ssize_t rank = PyLong_AsSsize_t(PyTuple_GET_ITEM(role, 1));
            if (rank < ranks[field]) {
                /* a less preferred alias came first: it stays an attribute */
                if (keys[field] != NULL && set_text(attributes, keys[field], values[field]) < 0)
                    goto done;
                values[field] = value, ranks[field] = rank, keys[field] = key;
                continue;
            }
        }
        if (set_text(attributes, key, value) < 0) goto done;
    }
    PyObject *time = values[0], *level = values[1], *message = values[2];
    if (!(flags = PyList_New(0))) goto done;
    if (time == NULL) {
        ns = PyLong_FromLong(0);
    } else {
        ns = time_ns(time);
        if (ns != NULL && !PyObject_IsTrue(ns) && set_text(attributes, time_unparsed, time) < 0)
            goto done;
    }
    if (ns == NULL) goto done;
    if (PyDict_GET_SIZE(attributes) > max_attributes) {
        PyObject *capped = PyDict_New();
        if (capped == NULL) goto done;
        pos = 0;
        for (Py_ssize_t kept = 0; kept < max_attributes && PyDict_Next(attributes, &pos, &key, &value); kept++)
            if (PyDict_SetItem(capped, key, value) < 0) {
                Py_DECREF(capped);
                goto done;
            }
        Py_SETREF(attributes, capped);
        if (PyList_Append(flags, attributes_capped) < 0) goto done;
    }
    out[0] = level == NULL ? Py_NewRef(unspecified) : severity_of(level);
    if (out[0] == NULL) goto done;
    static const int as_text[6] = {1, 3, 4, 5, 6, 7}; /* level, service … span: fields' index */
    for (int f = 0; f < 6; f++)
        if ((out[f + 1] = text_of(values[as_text[f]])) == NULL) goto done;
    if (message != NULL) {
        out[7] = text_of(message);
    } else if (PyBytes_Check(line)) {
        out[7] = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line), "replace");
    } else {
        PyErr_SetString(PyExc_TypeError, "to_fields: line must be bytes");
    }
    if (out[7] == NULL) goto done;
    result = PyTuple_Pack(11, ns, out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7],
                          attributes, flags);
done:
    for (int f = 0; f < 8; f++) Py_XDECREF(out[f]);
    Py_XDECREF(ns);
    Py_XDECREF(flags);
    Py_DECREF(attributes);
    return result;
}

/* Dotted names made before, `parent` -> {key -> "parent.key"}: the rows of a batch share one
   string per name, hashed once (for the alias roles, the attributes and the insert's
   dictionary of keys), instead of two new strings per nested key and row. Emptied when it
   holds DOTTED_NAMES names (objects keyed by ids would add names without end), which is
   cheaper per row than keeping the most used. */
#define DOTTED_NAMES 4096
static PyObject *dotted;
static Py_ssize_t dotted_count;

static PyObject *dotted_name(PyObject *parent, PyObject *key) {
    int cacheable = PyUnicode_CheckExact(parent) && PyUnicode_CheckExact(key);
    PyObject *children = cacheable ? PyDict_GetItemWithError(dotted, parent) : NULL;
    if (children != NULL) {
        PyObject *found = PyDict_GetItemWithError(children, key);
        if (found != NULL) return Py_NewRef(found);
    }
    if (PyErr_Occurred()) return NULL;
    PyObject *name = PyUnicode_FromFormat("%S.%S", parent, key); /* f"{prefix}{key}" */
    if (name == NULL || !cacheable) return name;
    if (dotted_count >= DOTTED_NAMES) {
        PyDict_Clear(dotted);
        dotted_count = 0;
        children = NULL;
    }
    if (children == NULL) {
        children = PyDict_New();
        int failed = children == NULL || PyDict_SetItem(dotted, parent, children) < 0;
        Py_XDECREF(children); /* `dotted` holds it */
        if (failed) goto failed;
    }
    if (PyDict_SetItem(children, key, name) < 0) goto failed;
    dotted_count++;
    return name;
failed:
    Py_DECREF(name);
    return NULL;
}

/* A nested object waiting to be flattened: its dotted name (owned) and the object (borrowed
   from the line's object, alive meanwhile). */
typedef struct {
    PyObject *name, *object;
} Nested;

/* json_object.flatten: nested objects become dotted keys; a flat object is returned as is. */
static PyObject *flatten(PyObject *obj) {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int nested = 0;
    while (PyDict_Next(obj, &pos, &key, &value))
        if (PyDict_CheckExact(value) && PyDict_GET_SIZE(value)) {
            nested = 1;
            break;
        }
    if (!nested) return Py_NewRef(obj);
    PyObject *out = PyDict_New();
    /* Top-level keys are copied without formatting; nested objects wait on a stack, the
       last pushed first (the Python function's order, which the attributes keep). */
    Nested *stack = NULL;
    Py_ssize_t depth = 0, capacity = 0;
    PyObject *name = NULL, *current = obj;
    if (out == NULL) return NULL;
    for (;;) {
        pos = 0;
        while (PyDict_Next(current, &pos, &key, &value)) {
            PyObject *child = name == NULL ? Py_NewRef(key) : dotted_name(name, key);
            if (child == NULL) goto failed;
            if (PyDict_CheckExact(value) && PyDict_GET_SIZE(value)) {
                if (depth == capacity) {
                    Py_ssize_t more = capacity ? capacity * 2 : 8;
                    Nested *grown = PyMem_Realloc(stack, (size_t)more * sizeof(Nested));
                    if (grown == NULL) {
                        Py_DECREF(child);
                        PyErr_NoMemory();
                        goto failed;
                    }
                    stack = grown;
                    capacity = more;
                }
                stack[depth++] = (Nested){child, value};
                continue;
            }
            int failed = PyDict_SetItem(out, child, value) < 0;
            Py_DECREF(child);
            if (failed) goto failed;
        }
        Py_XDECREF(name);
        name = NULL;
        if (depth == 0) break;
        depth--;
        name = stack[depth].name;
        current = stack[depth].object;
    }
    PyMem_Free(stack);
    return out;
failed:
    Py_XDECREF(name);
    while (depth > 0) Py_DECREF(stack[--depth].name);
    PyMem_Free(stack);
    Py_DECREF(out);
    return NULL;
}

/* ---- JSON lines of the common shape, read here into the flat object `flatten(orjson.loads(
   line))` makes, without orjson's objects (its dicts, nested ones, then flatten's copy: half
   of a JSON line's time). Read: an ASCII object of objects, keys and strings without escapes
   or control characters, integers of up to 18 digits, decimals without an exponent of up to
   17 digits (read by Python's own reader, as orjson reads them: correctly rounded), true,
   false and null; each object's keys once. Anything else (arrays, escapes, non-ASCII text,
   empty objects, exponents, repeated keys, invalid JSON) is left to orjson: `json_flat`
   answers NULL with no error, and the line goes the way it went before. The flat object's
   order is flatten's: an object's own values in order, then its nested objects, the last
   one first (tests/unit/parsing/test_compiled_fields.py compares the two over hypothesis-built
   lines). */

#define JSON_KEYS 64  /* keys of one object this reads; more go to orjson */
#define JSON_DEPTH 64 /* objects waiting at once */
#define KEY_CACHED 64 /* longest key kept */
static PyObject *key_cache[TEXT_CACHE], *value_cache[TEXT_CACHE];

static int json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* A key's and a string value's str (JSON's or logfmt's), shared by the lines that repeat
   them (orjson shares keys the same way). */
static PyObject *shared_key(const char *p, Py_ssize_t n) {
    return cached_ascii_text(key_cache, KEY_CACHED, p, n);
}

static PyObject *shared_value(const char *p, Py_ssize_t n) {
    return cached_ascii_text(value_cache, SHARED_VALUE_BYTES, p, n);
}

/* A member's name in the flat object: its key, or `parent.key` under a nested object. */
static PyObject *member_name(PyObject *parent, const char *key, Py_ssize_t n) {
    PyObject *text = shared_key(key, n);
    if (text == NULL || parent == NULL) return text;
    PyObject *name = dotted_name(parent, text);
    Py_DECREF(text);
    return name;
}

/* The end of the string starting after its opening quote at `i` (the closing quote's index),
   or -1 when it holds an escape, a control or non-ASCII character, or does not end. */
static unsigned char string_stop[256]; /* 1: the closing quote; 2: not read here */

static Py_ssize_t json_string_end(const char *s, Py_ssize_t n, Py_ssize_t i) {
    while (i < n && string_stop[(unsigned char)s[i]] == 0) i++;
    return i < n && s[i] == '"' ? i : -1;
}

/* Past the object starting at `i` ('{'), or -1: strings as json_string_end reads them. */
static Py_ssize_t json_skip_object(const char *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t depth = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            if ((i = json_string_end(s, n, i + 1)) < 0) return -1;
        } else if (c == '{') {
            depth++;
        } else if (c == '}') {
            if (--depth == 0) return i + 1;
        } else if (c == '[' || (unsigned char)c >= 0x80) {
            return -1;
        }
    }
    return -1;
}

static Py_ssize_t json_skip_space(const char *s, Py_ssize_t n, Py_ssize_t i) {
    while (i < n && json_space(s[i])) i++;
    return i;
}

/* A number at `i` as orjson reads it, with *end past it; NULL with no error when it is not one
   this reads. */
static PyObject *json_number(const char *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *end) {
    Py_ssize_t start = i, digits = 0;
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0' && i + 1 < n && is_digit(s[i + 1])) return NULL; /* not JSON */
    while (i < n && is_digit(s[i])) i++, digits++;
    if (digits == 0) return NULL;
    int fraction = 0;
    if (i < n && s[i] == '.') {
        Py_ssize_t at = ++i;
        while (i < n && is_digit(s[i])) i++;
        if (i == at) return NULL;
        digits += i - at, fraction = 1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) return NULL;
    *end = i;
    if (!fraction) {
        if (digits > 18) return NULL;
        long long value = 0;
        for (Py_ssize_t k = s[start] == '-' ? start + 1 : start; k < i; k++)
            value = value * 10 + (s[k] - '0');
        return PyLong_FromLongLong(s[start] == '-' ? -value : value);
    }
    if (digits > 17) return NULL;
    /* Clinger's fast path: a mantissa and a power of ten both exact in a double (up to 2^53
       and 10^22) give the correctly rounded value in one division, the one strtod finds. */
    static const double powers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    unsigned long long mantissa = 0;
    Py_ssize_t scale = 0;
    for (Py_ssize_t k = s[start] == '-' ? start + 1 : start; k < i; k++) {
        if (s[k] == '.') {
            scale = i - k - 1;
            continue;
        }
        mantissa = mantissa * 10 + (unsigned long long)(s[k] - '0');
    }
    if (mantissa <= (1ULL << 53) && scale <= 22) {
        double value = (double)mantissa / powers[scale];
        return PyFloat_FromDouble(s[start] == '-' ? -value : value);
    }
    char text[24];
    memcpy(text, s + start, (size_t)(i - start));
    text[i - start] = '\0';
    double value = PyOS_string_to_double(text, NULL, NULL);
    if (value == -1.0 && PyErr_Occurred()) return NULL;
    return PyFloat_FromDouble(value);
}

typedef struct {
    Py_ssize_t at;  /* where its '{' is */
    Py_ssize_t end; /* past its '}', as json_skip_object found it */
    PyObject *name; /* its dotted name (owned) */
} Waiting;

/* The members of the object at `i` into `flat` under `name` (NULL at the top); its nested
   objects are added to `waiting`. 1 and *end past it, 0 not one this reads, -1 error. */
static int json_members(const char *s, Py_ssize_t n, Py_ssize_t i, PyObject *name, PyObject *flat,
                        Waiting *waiting, Py_ssize_t *count, Py_ssize_t *end) {
    const char *keys[JSON_KEYS];
    Py_ssize_t lengths[JSON_KEYS], members = 0;
    i = json_skip_space(s, n, i + 1);
    if (i < n && s[i] == '}') {
        *end = i + 1;
        return name == NULL; /* {} at the top; a nested {} stays a value: orjson's */
    }
    for (;;) {
        if (i >= n || s[i] != '"' || members == JSON_KEYS) return 0;
        Py_ssize_t close = json_string_end(s, n, i + 1);
        if (close < 0) return 0;
        const char *k = s + i + 1;
        Py_ssize_t length = close - i - 1;
        for (Py_ssize_t m = 0; m < members; m++)
            if (lengths[m] == length && memcmp(keys[m], k, (size_t)length) == 0) return 0;
        keys[members] = k, lengths[members++] = length;
        i = json_skip_space(s, n, close + 1);
        if (i >= n || s[i] != ':') return 0;
        i = json_skip_space(s, n, i + 1);
        if (i >= n) return 0;
        PyObject *value = NULL;
        char c = s[i];
        if (c == '"') {
            Py_ssize_t stop = json_string_end(s, n, i + 1);
            if (stop < 0) return 0;
            if ((value = shared_value(s + i + 1, stop - i - 1)) == NULL) return -1;
            i = stop + 1;
        } else if (c == '{') {
            Py_ssize_t after = json_skip_object(s, n, i);
            if (after < 0 || *count == JSON_DEPTH) return 0;
            PyObject *child = member_name(name, k, length);
            if (child == NULL) return -1;
            waiting[(*count)++] = (Waiting){i, after, child};
            i = after;
        } else if (c == 't' && n - i >= 4 && memcmp(s + i, "true", 4) == 0) {
            value = Py_NewRef(Py_True), i += 4;
        } else if (c == 'f' && n - i >= 5 && memcmp(s + i, "false", 5) == 0) {
            value = Py_NewRef(Py_False), i += 5;
        } else if (c == 'n' && n - i >= 4 && memcmp(s + i, "null", 4) == 0) {
            value = Py_NewRef(Py_None), i += 4;
        } else if (c == '-' || is_digit(c)) {
            value = json_number(s, n, i, &i);
            if (value == NULL) return PyErr_Occurred() ? -1 : 0;
        } else {
            return 0;
        }
        if (value != NULL) {
            PyObject *child = member_name(name, k, length);
            int failed = child == NULL || PyDict_SetItem(flat, child, value) < 0;
            Py_XDECREF(child);
            Py_DECREF(value);
            if (failed) return -1;
        }
        i = json_skip_space(s, n, i);
        if (i < n && s[i] == ',') {
            i = json_skip_space(s, n, i + 1);
            continue;
        }
        if (i < n && s[i] == '}') {
            *end = i + 1;
            return 1;
        }
        return 0;
    }
}

/* flatten(orjson.loads(line)) for a line of the shape above; NULL with no error otherwise. */
static PyObject *json_flat(PyObject *line) {
    if (!PyBytes_CheckExact(line)) return NULL;
    const char *s = PyBytes_AS_STRING(line);
    Py_ssize_t n = PyBytes_GET_SIZE(line), i = json_skip_space(s, n, 0), end;
    if (i >= n || s[i] != '{') return NULL;
    PyObject *flat = PyDict_New();
    if (flat == NULL) return NULL;
    Waiting waiting[JSON_DEPTH];
    Py_ssize_t count = 0;
    int read = json_members(s, n, i, NULL, flat, waiting, &count, &end);
    if (read == 1 && json_skip_space(s, n, end) != n) read = 0; /* more after the object */
    while (read == 1 && count > 0) {
        Waiting next = waiting[--count];
        Py_ssize_t stop;
        read = json_members(s, n, next.at, next.name, flat, waiting, &count, &stop);
        if (read == 1 && stop != next.end) read = 0;
        Py_DECREF(next.name);
    }
    while (count > 0) Py_DECREF(waiting[--count].name);
    if (read != 1) Py_CLEAR(flat);
    return flat;
}

static PyObject *json_flat_of(PyObject *module, PyObject *line) {
    (void)module;
    PyObject *flat = json_flat(line);
    return flat != NULL || PyErr_Occurred() ? flat : Py_NewRef(Py_None);
}

static PyObject *to_fields(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (!configured()) return NULL;
    if (nargs != 2 || !PyDict_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "to_fields(items: dict, line: bytes)");
        return NULL;
    }
    return fields_of(args[0], args[1]);
}

static PyObject *json_group(PyObject *module, PyObject *lines) {
    if (!configured()) return NULL;
    if (!PyList_Check(lines)) {
        PyErr_SetString(PyExc_TypeError, "json_group(lines: list[bytes])");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(lines);
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = PyList_GET_ITEM(lines, i), *parsed;
        PyObject *flat = json_flat(line);
        if (flat != NULL) {
            parsed = fields_of(flat, line);
            Py_DECREF(flat);
            if (parsed == NULL) goto failed;
            PyList_SET_ITEM(out, i, parsed);
            continue;
        }
        if (PyErr_Occurred()) goto failed;
        PyObject *obj = PyObject_CallOneArg(loads, line);
        if (obj == NULL) {
            if (!PyErr_ExceptionMatches(decode_error)) goto failed;
            PyErr_Clear();
            parsed = Py_NewRef(Py_None);
        } else if (PyDict_CheckExact(obj)) {
            PyObject *flat = flatten(obj);
            parsed = flat == NULL ? NULL : fields_of(flat, line);
            Py_XDECREF(flat);
        } else {
            parsed = Py_NewRef(Py_None);
        }
        Py_XDECREF(obj);
        if (parsed == NULL) goto failed;
        PyList_SET_ITEM(out, i, parsed);
    }
    return out;
failed:
    Py_DECREF(out);
    return NULL;
}

/* ---- logfmt: logfmt._items for ASCII lines of one line, without the regex. _TOKEN's
   findall has one way through a line: whitespace is skipped, a token is a key ([^\s="]+),
   then `=` and a value (quoted with backslash escapes, or bare [^\s"]*) or nothing (a bare
   key); anything else is junk, which makes the line not logfmt. ---- */

static int alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int start_rest(char c) { /* [\w.@/-] */
    return alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '@' || c == '/' || c == '-';
}

/* The quoted value's text, escapes resolved as logfmt._unescape does. */
static PyObject *unescaped(const char *s, Py_ssize_t n) {
    if (memchr(s, '\\', n) == NULL) return ascii_text(s, n);
    char *buffer = PyMem_Malloc(n);
    if (buffer == NULL) return PyErr_NoMemory();
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') { /* always followed by a character here: the scan checked */
            c = s[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        }
        buffer[k++] = c;
    }
    PyObject *out = ascii_text(buffer, k);
    PyMem_Free(buffer);
    return out;
}

/* logfmt._items of an ASCII line: a new dict, None (not logfmt), or NULL (error). */
static PyObject *logfmt_items(const char *t, Py_ssize_t n) {
    /* _START: [A-Za-z_@][\w.@/-]*= */
    Py_ssize_t i = 1;
    if (n == 0 || !(alpha(t[0]) || t[0] == '_' || t[0] == '@')) Py_RETURN_NONE;
    while (i < n && start_rest(t[i])) i++;
    if (i >= n || t[i] != '=') Py_RETURN_NONE;
    PyObject *items = PyDict_New();
    if (items == NULL) return NULL;
    Py_ssize_t bare = 0;
    for (i = 0; i < n;) {
        if (is_re_space(t[i])) {
            i++;
            continue;
        }
        Py_ssize_t k = i;
        while (k < n && !is_re_space(t[k]) && t[k] != '=' && t[k] != '"') k++;
        if (k == i) goto refused; /* `=…` or `"…`: junk */
        PyObject *key = shared_key(t + i, k - i), *value;
        if (key == NULL) goto failed;
        if (k < n && t[k] == '=') {
            Py_ssize_t v = k + 1, j;
            if (v < n && t[v] == '"') {
                for (j = v + 1; j < n && t[j] != '"'; j++)
                    if (t[j] == '\\' && (++j >= n || t[j] == '\n')) break;
                if (j >= n || t[j] != '"') {
                    /* Not a quoted value: the bare one is empty, and the quote after it
                       junk. */
                    Py_DECREF(key);
                    goto refused;
                }
                value = unescaped(t + v + 1, j - v - 1);
                i = j + 1;
            } else {
                for (j = v; j < n && !is_re_space(t[j]) && t[j] != '"'; j++);
                value = shared_value(t + v, j - v);
                i = j;
            }
        } else {
            value = Py_NewRef(true_text);
            bare++;
            i = k;
        }
        int failed = value == NULL || PyDict_SetItem(items, key, value) < 0;
        Py_DECREF(key);
        Py_XDECREF(value);
        if (failed) goto failed;
    }
    if (bare * 2 > PyDict_GET_SIZE(items)) goto refused;
    return items;
refused:
    Py_DECREF(items);
    Py_RETURN_NONE;
failed:
    Py_DECREF(items);
    return NULL;
}

/* logfmt.parse_group of a line logfmt_group takes: a new Parsed, None, or NULL. */
static PyObject *logfmt_fields(PyObject *line) {
    PyObject *items = logfmt_items(PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line));
    if (items == NULL || items == Py_None) return items;
    PyObject *parsed = fields_of(items, line);
    Py_DECREF(items);
    return parsed;
}

static PyObject *logfmt_group(PyObject *module, PyObject *lines) {
    if (!configured()) return NULL;
    return ascii_group(lines, logfmt_fields, "logfmt_group");
}

static PyObject *configure(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"roles", "level_words", "from_any", "from_level", "text", "loads",
                            "decode_error", "unspecified", "max_attributes", NULL};
    PyObject *r, *w, *fa, *fl, *t, *l, *de, *u;
    Py_ssize_t cap;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!OOOOOOn", names, &PyDict_Type, &r,
                                     &PyDict_Type, &w, &fa, &fl, &t, &l, &de, &u, &cap))
        return NULL;
    Py_ssize_t pos = 0;
    PyObject *key, *role;
    while (PyDict_Next(r, &pos, &key, &role)) {
        Py_ssize_t field;
        if (!PyUnicode_CheckExact(key) || !PyTuple_Check(role) || PyTuple_GET_SIZE(role) != 2 ||
            (field = PyLong_AsSsize_t(PyTuple_GET_ITEM(role, 0))) < 0 || field >= FIELDS ||
            PyLong_AsSsize_t(PyTuple_GET_ITEM(role, 1)) < 0) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "roles: %R is not str -> (field 0-7, rank)", key);
            return NULL;
        }
    }
    if (cap < 0) {
        PyErr_SetString(PyExc_ValueError, "max_attributes must be >= 0");
        return NULL;
    }
    Py_XSETREF(roles, Py_NewRef(r));
    Py_XSETREF(level_words, Py_NewRef(w));
    Py_XSETREF(from_any, Py_NewRef(fa));
    Py_XSETREF(from_level, Py_NewRef(fl));
    Py_XSETREF(text_fn, Py_NewRef(t));
    Py_XSETREF(loads, Py_NewRef(l));
    Py_XSETREF(decode_error, Py_NewRef(de));
    Py_XSETREF(unspecified, Py_NewRef(u));
    max_attributes = cap;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Set the tables and the Python functions the rules come from (fields.py does, once)."},
    {"to_fields", (PyCFunction)(void (*)(void))to_fields, METH_FASTCALL,
     "fields.to_fields(items, line)."},
    {"json_group", json_group, METH_O, "json_object.parse_group(lines)."},
    {"json_flat", json_flat_of, METH_O,
     "flatten(orjson.loads(line)) for a line of the shape read in C; None for other lines."},
    {"logfmt_group", logfmt_group, METH_O,
     "logfmt.parse_group(lines) for ASCII lines: (fields, positions of lines not taken)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_fields", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fields(void) {
    for (int c = 0; c < 256; c++)
        string_stop[c] = c == '"' ? 1 : (c == '\\' || c < 0x20 || c >= 0x80) ? 2 : 0;
    dotted = PyDict_New();
    if (dotted == NULL) return NULL;
    empty = PyUnicode_InternFromString("");
    true_text = PyUnicode_InternFromString("true");
    false_text = PyUnicode_InternFromString("false");
    time_unparsed = PyUnicode_InternFromString("time_unparsed");
    attributes_capped = PyUnicode_InternFromString("attributes_capped");
    if (!empty || !true_text || !false_text || !time_unparsed || !attributes_capped)
        return NULL;
    return PyModule_Create(&module_def);
}
