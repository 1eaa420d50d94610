/* Access log lines in C: `access._fields` for ASCII lines, without the regex or a Python frame.

   `fields_group(lines)` returns (fields, unsure): per line the Parsed tuple access.parse_group
   makes, or None where access._LINE does not match; `unsure` lists the positions of the lines
   this file does not take (not ASCII, or holding a line break), whose entries are None and which access.py parses with
   the Python code. The Python code is the definition: tests/unit/parsing/test_compiled_access.py
   compares the two over the documented lines, real-world lines and generated ones, and the
   columnar identity test compares the whole step with the record path.

   access._LINE has one way to match a line, found here without backtracking: each of its
   fields ends at the first character it cannot hold, and of its optional tail (referer and
   agent, the forwarded-for, a request time, anything else) the regex takes the longest
   arrangement that leaves nothing or a space-led `extra`. The time and the user agent go to
   access.py's own cached functions (`configure`), so each rule is written once.

   Why: access lines were the second most costly group of the columnar step. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "_ascii.h"

static PyObject *time_ns_fn;    /* access._time_ns */
static PyObject *user_agent_fn; /* access.user_agent */
static PyObject *sev_info, *sev_warn, *sev_error;
static Py_ssize_t max_agent = -1;

static PyObject *k_client, *k_ident, *k_user, *k_method, *k_path, *k_query, *k_proto_name,
    *k_proto_version, *k_status, *k_size, *k_referer, *k_agent, *k_forwarded, *k_duration,
    *k_extra, *k_original, *v_http, *v_zero, *v_empty;

typedef struct {
    const char *s;
    Py_ssize_t n;
} Span; /* a part of the line; s == NULL: the group did not take part */


/* (\S+) then a space: the token from i; -1 when there is none. */
static Py_ssize_t token(const char *t, Py_ssize_t n, Py_ssize_t i, Span *out) {
    Py_ssize_t j = i;
    while (j < n && !is_re_space(t[j]))
        j++;
    if (j == i || j >= n || t[j] != ' ')
        return -1;
    *out = (Span){t + i, j - i};
    return j + 1;
}

/* "(...)" with backslash escapes, from i (at the opening quote); the end after the closing
   quote, or -1. */
static Py_ssize_t quoted(const char *t, Py_ssize_t n, Py_ssize_t i, Span *out) {
    if (i >= n || t[i] != '"')
        return -1;
    Py_ssize_t j = i + 1;
    while (j < n && t[j] != '"') {
        if (t[j] == '\\') {
            if (j + 1 >= n)
                return -1;
            j++;
        }
        j++;
    }
    if (j >= n)
        return -1;
    *out = (Span){t + i + 1, j - i - 1};
    return j + 1;
}

/* ` "Q"` from i: the end, or -1. */
static Py_ssize_t spaced_quoted(const char *t, Py_ssize_t n, Py_ssize_t i, Span *out) {
    return i < n && t[i] == ' ' ? quoted(t, n, i + 1, out) : -1;
}

/* The tail after the optional quoted fields: `(?: (\d{1,15}(?:\.\d{1,9})?))?(?: (.*))?$`.
   0 when it matches from i (setting duration and extra), -1 when not. */
static int tail(const char *t, Py_ssize_t n, Py_ssize_t i, Span *duration, Span *extra) {
    *duration = (Span){NULL, 0};
    *extra = (Span){NULL, 0};
    if (i == n)
        return 0;
    if (t[i] != ' ')
        return -1;
    Py_ssize_t j = i + 1, digits = 0, fraction = -1;
    while (j < n && is_digit(t[j]))
        j++, digits++;
    if (j < n && t[j] == '.' && digits) {
        Py_ssize_t k = j + 1;
        while (k < n && is_digit(t[k]))
            k++;
        fraction = k - j - 1;
        j = k;
    }
    int is_duration = digits >= 1 && digits <= 15 && (fraction == -1 || (fraction >= 1 && fraction <= 9)) &&
                      (j == n || t[j] == ' ');
    if (is_duration) {
        *duration = (Span){t + i + 1, j - i - 1};
        if (j < n)
            *extra = (Span){t + j + 1, n - j - 1};
        return 0;
    }
    *extra = (Span){t + i + 1, n - i - 1};
    return 0;
}

typedef struct {
    Span client, ident, user, when, request, status, size, referer, agent, forwarded, duration,
        extra;
} Groups;

/* access._LINE on an ASCII line: 1 when it matches, 0 when not. */
static int match_line(const char *t, Py_ssize_t n, Groups *g) {
    Py_ssize_t i = 0;
    memset(g, 0, sizeof *g);
    if ((i = token(t, n, i, &g->client)) < 0 || (i = token(t, n, i, &g->ident)) < 0 ||
        (i = token(t, n, i, &g->user)) < 0)
        return 0;
    if (i >= n || t[i] != '[')
        return 0;
    Py_ssize_t j = i + 1;
    while (j < n && t[j] != ']')
        j++;
    if (j == i + 1 || j >= n)
        return 0;
    g->when = (Span){t + i + 1, j - i - 1};
    i = j + 1;
    if ((i = spaced_quoted(t, n, i, &g->request)) < 0)
        return 0;
    /* ` (\d{3}|-)` then ` (\d+|-)` */
    if (i + 4 > n || t[i] != ' ')
        return 0;
    if (t[i + 1] == '-') {
        g->status = (Span){t + i + 1, 1};
        i += 2;
    } else if (is_digit(t[i + 1]) && is_digit(t[i + 2]) && is_digit(t[i + 3])) {
        g->status = (Span){t + i + 1, 3};
        i += 4;
    } else {
        return 0;
    }
    if (i + 1 >= n || t[i] != ' ')
        return 0;
    if (t[i + 1] == '-') {
        g->size = (Span){t + i + 1, 1};
        i += 2;
    } else {
        j = i + 1;
        while (j < n && is_digit(t[j]))
            j++;
        if (j == i + 1)
            return 0;
        g->size = (Span){t + i + 1, j - i - 1};
        i = j;
    }
    /* The optional ` "referer" "agent"( "forwarded")?`, longest first. */
    Span referer, agent, forwarded;
    Py_ssize_t after_agent = spaced_quoted(t, n, i, &referer);
    if (after_agent >= 0)
        after_agent = spaced_quoted(t, n, after_agent, &agent);
    if (after_agent >= 0) {
        Py_ssize_t after_forwarded = spaced_quoted(t, n, after_agent, &forwarded);
        if (after_forwarded >= 0 && tail(t, n, after_forwarded, &g->duration, &g->extra) == 0) {
            g->referer = referer, g->agent = agent, g->forwarded = forwarded;
            return 1;
        }
        if (tail(t, n, after_agent, &g->duration, &g->extra) == 0) {
            g->referer = referer, g->agent = agent;
            return 1;
        }
    }
    return tail(t, n, i, &g->duration, &g->extra) == 0;
}

/* Short fields (a method, a protocol, "-") shared by the lines that repeat them. */
static PyObject *shared_fields[TEXT_CACHE];

static PyObject *text(Span s) {
    return cached_ascii_text(shared_fields, SHARED_VALUE_BYTES, s.s, s.n);
}

static int is(Span s, const char *word) {
    return s.s != NULL && (size_t)s.n == strlen(word) && memcmp(s.s, word, s.n) == 0;
}
static int has(Span s) { return s.s != NULL && s.n > 0; }

/* _UNESCAPE.sub(r"\1", s): `\"` and `\\` become the character after the backslash. */
static PyObject *unescaped(Span s) {
    if (memchr(s.s, '\\', s.n) == NULL)
        return text(s);
    char *buffer = PyMem_Malloc(s.n ? s.n : 1);
    if (buffer == NULL)
        return PyErr_NoMemory();
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < s.n; i++) {
        if (s.s[i] == '\\' && i + 1 < s.n && (s.s[i + 1] == '"' || s.s[i + 1] == '\\'))
            i++;
        buffer[k++] = s.s[i];
    }
    PyObject *out = ascii_text(buffer, k);
    PyMem_Free(buffer);
    return out;
}

/* attributes[key] = value, the value a new reference (stolen); -1 on failure. */
static int put(PyObject *attributes, PyObject *key, PyObject *value) {
    if (value == NULL)
        return -1;
    int failed = PyDict_SetItem(attributes, key, value);
    Py_DECREF(value);
    return failed;
}

/* access.add_request on the unescaped request string. */
static int add_request(PyObject *attributes, PyObject *request) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(request);
    const char *r = (const char *)PyUnicode_DATA(request); /* ASCII: one byte a character */
    const char *space = memchr(r, ' ', n);
    if (space != NULL && space > r) {
        Span method = {r, space - r};
        const char *rest = space + 1;
        Py_ssize_t rest_n = n - (rest - r);
        const char *space2 = memchr(rest, ' ', rest_n);
        Span target = {rest, space2 ? space2 - rest : rest_n};
        Span protocol = {space2 ? space2 + 1 : rest + rest_n, space2 ? rest_n - (space2 + 1 - rest) : 0};
        if (target.n > 0 && protocol.n >= 5 && memcmp(protocol.s, "HTTP/", 5) == 0) {
            const char *question = memchr(target.s, '?', target.n);
            if (put(attributes, k_method, text(method)) < 0 ||
                put(attributes, k_path,
                    text((Span){target.s, question ? question - target.s : target.n})) < 0)
                return -1;
            if (question != NULL &&
                put(attributes, k_query,
                    text((Span){question + 1, target.n - (question + 1 - target.s)})) < 0)
                return -1;
            if (PyDict_SetItem(attributes, k_proto_name, v_http) < 0 ||
                put(attributes, k_proto_version, text((Span){protocol.s + 5, protocol.n - 5})) < 0)
                return -1;
            return 0;
        }
    }
    return PyDict_SetItem(attributes, k_original, request);
}

/* access._fields of an ASCII line: a new Parsed tuple, None (no match), or NULL (error). */
static PyObject *fields_of(PyObject *line) {
    const char *t = PyBytes_AS_STRING(line);
    Py_ssize_t n = PyBytes_GET_SIZE(line);
    Groups g;
    if (!match_line(t, n, &g))
        Py_RETURN_NONE;
    PyObject *when = text(g.when), *ns = NULL, *attributes = NULL, *body = NULL, *value = NULL;
    if (when == NULL)
        return NULL;
    ns = PyObject_CallOneArg(time_ns_fn, when);
    Py_DECREF(when);
    if (ns == NULL)
        return NULL;
    if (ns == Py_None)
        return ns;
    attributes = PyDict_New();
    if (attributes == NULL || put(attributes, k_client, text(g.client)) < 0)
        goto failed;
    if (!is(g.ident, "-") && put(attributes, k_ident, text(g.ident)) < 0)
        goto failed;
    if (!is(g.user, "-") && put(attributes, k_user, text(g.user)) < 0)
        goto failed;
    value = unescaped(g.request);
    if (value == NULL)
        goto failed;
    if (PyUnicode_GET_LENGTH(value) > 0 && PyUnicode_CompareWithASCIIString(value, "-") != 0 &&
        add_request(attributes, value) < 0)
        goto failed;
    Py_CLEAR(value);
    if (!is(g.status, "-") && put(attributes, k_status, text(g.status)) < 0)
        goto failed;
    if (is(g.size, "-") ? PyDict_SetItem(attributes, k_size, v_zero) < 0
                        : put(attributes, k_size, text(g.size)) < 0)
        goto failed;
    if (has(g.referer) && !is(g.referer, "-") && put(attributes, k_referer, text(g.referer)) < 0)
        goto failed;
    if (has(g.agent) && !is(g.agent, "-")) {
        value = unescaped(g.agent);
        if (value == NULL || PyDict_SetItem(attributes, k_agent, value) < 0)
            goto failed;
        if (PyUnicode_GET_LENGTH(value) <= max_agent) {
            PyObject *pairs = PyObject_CallOneArg(user_agent_fn, value);
            if (pairs == NULL)
                goto failed;
            if (!PyTuple_Check(pairs)) {
                Py_DECREF(pairs);
                PyErr_SetString(PyExc_TypeError, "access.user_agent returns a tuple of pairs");
                goto failed;
            }
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(pairs); i++) {
                PyObject *pair = PyTuple_GET_ITEM(pairs, i);
                if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
                    PyDict_SetItem(attributes, PyTuple_GET_ITEM(pair, 0),
                                   PyTuple_GET_ITEM(pair, 1)) < 0) {
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_TypeError, "access.user_agent returns pairs");
                    Py_DECREF(pairs);
                    goto failed;
                }
            }
            Py_DECREF(pairs);
        }
        Py_CLEAR(value);
    }
    if (has(g.forwarded) && !is(g.forwarded, "-") &&
        put(attributes, k_forwarded, text(g.forwarded)) < 0)
        goto failed;
    if (has(g.duration)) {
        if (memchr(g.duration.s, '.', g.duration.n) != NULL) {
            value = text(g.duration);
        } else {
            /* str(int(d) / 1_000_000): d < 10**15 < 2**53, so the division of doubles rounds
               as Python's division of ints does. */
            long long micros = 0;
            for (Py_ssize_t i = 0; i < g.duration.n; i++)
                micros = micros * 10 + (g.duration.s[i] - '0');
            PyObject *seconds = PyFloat_FromDouble((double)micros / 1e6);
            value = seconds == NULL ? NULL : PyObject_Str(seconds);
            Py_XDECREF(seconds);
        }
        if (put(attributes, k_duration, value) < 0) {
            value = NULL;
            goto failed;
        }
        value = NULL;
    }
    if (has(g.extra) && put(attributes, k_extra, text(g.extra)) < 0)
        goto failed;
    PyObject *severity = g.status.s[0] == '5' ? sev_error : g.status.s[0] == '4' ? sev_warn : sev_info;
    PyObject *flags = PyList_New(0);
    if (flags == NULL)
        goto failed;
    body = ascii_text(t, n);
    if (body == NULL) {
        Py_DECREF(flags);
        goto failed;
    }
    /* (ns, severity, level, service, host, logger, trace_id, span_id, body, attributes, flags) */
    PyObject *parsed = PyTuple_Pack(11, ns, severity, v_empty, v_empty, v_empty, v_empty, v_empty,
                                    v_empty, body, attributes, flags);
    Py_DECREF(flags);
    Py_DECREF(body);
    Py_DECREF(attributes);
    Py_DECREF(ns);
    return parsed;
failed:
    Py_XDECREF(value);
    Py_XDECREF(attributes);
    Py_DECREF(ns);
    return NULL;
}

static PyObject *fields_group(PyObject *module, PyObject *lines) {
    if (max_agent < 0) {
        PyErr_SetString(PyExc_RuntimeError, "pipeline.parsing._access is not configured");
        return NULL;
    }
    return ascii_group(lines, fields_of, "fields_group");
}

static PyObject *configure(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"time_ns", "user_agent", "info", "warn", "error", "max_agent", NULL};
    PyObject *tn, *ua, *info, *warn, *error;
    Py_ssize_t cap;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOn", names, &tn, &ua, &info, &warn,
                                     &error, &cap))
        return NULL;
    if (!PyCallable_Check(tn) || !PyCallable_Check(ua) || cap < 0) {
        PyErr_SetString(PyExc_TypeError, "configure: time_ns and user_agent are callables");
        return NULL;
    }
    Py_XSETREF(time_ns_fn, Py_NewRef(tn));
    Py_XSETREF(user_agent_fn, Py_NewRef(ua));
    Py_XSETREF(sev_info, Py_NewRef(info));
    Py_XSETREF(sev_warn, Py_NewRef(warn));
    Py_XSETREF(sev_error, Py_NewRef(error));
    max_agent = cap;
    Py_RETURN_NONE;
}

/* Detection's guard (access.py): the regex [^ ]{1,63} - (?=[^\[]{0,76}\[) at the line's
   start, read directly. The client is the bytes up to the first space, so no shorter prefix
   can be followed by " - "; then a '[' among the next 77 bytes. A C function, not the
   regex's match: no match object is made for each line it is tried on. */
static PyObject *client_dash_bracket(PyObject *self, PyObject *line) {
    if (!PyBytes_Check(line)) {
        PyErr_SetString(PyExc_TypeError, "client_dash_bracket(line: bytes)");
        return NULL;
    }
    const char *s = PyBytes_AS_STRING(line);
    Py_ssize_t n = PyBytes_GET_SIZE(line);
    const char *space = memchr(s, ' ', (size_t)(n < 64 ? n : 64));
    Py_ssize_t client = space == NULL ? 0 : space - s;
    if (client < 1 || client + 3 > n || memcmp(space, " - ", 3) != 0)
        Py_RETURN_FALSE;
    Py_ssize_t rest = n - client - 3;
    if (memchr(space + 3, '[', (size_t)(rest < 77 ? rest : 77)) == NULL)
        Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "The functions and values the rules come from (access.py does, once)."},
    {"client_dash_bracket", client_dash_bracket, METH_O,
     "Whether the line starts as an access log line: `client - ` and a '[' soon after."},
    {"fields_group", fields_group, METH_O,
     "access._fields of each ASCII line as Parsed: (fields, positions of lines not taken)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_access", NULL, -1, methods};

PyMODINIT_FUNC PyInit__access(void) {
    struct {
        PyObject **slot;
        const char *text;
    } strings[] = {
        {&k_client, "client.address"},
        {&k_ident, "access.ident"},
        {&k_user, "user.name"},
        {&k_method, "http.request.method"},
        {&k_path, "url.path"},
        {&k_query, "url.query"},
        {&k_proto_name, "network.protocol.name"},
        {&k_proto_version, "network.protocol.version"},
        {&k_status, "http.response.status_code"},
        {&k_size, "http.response.body.size"},
        {&k_referer, "http.request.header.referer"},
        {&k_agent, "user_agent.original"},
        {&k_forwarded, "http.request.header.x-forwarded-for"},
        {&k_duration, "http.server.request.duration"},
        {&k_extra, "access.extra"},
        {&k_original, "url.original"},
        {&v_http, "http"},
        {&v_zero, "0"},
        {&v_empty, ""},
    };
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        if ((*strings[i].slot = PyUnicode_InternFromString(strings[i].text)) == NULL)
            return NULL;
    return PyModule_Create(&module_def);
}
