/* What the parsers' C forms (_fields.c, _access.c) share: ASCII character classes as their
   Python regexes (re.ASCII) read them, which lines the C forms take, and their group loop. */
#ifndef LOGWEIR_PARSING_ASCII_H
#define LOGWEIR_PARSING_ASCII_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* \s under re.ASCII */
static inline int is_re_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A str of bytes known to be ASCII (of a line one_ascii_line took), without the decoder's
   checks. */
static inline PyObject *ascii_text(const char *p, Py_ssize_t n) {
    PyObject *text = PyUnicode_New(n, 127);
    if (text != NULL) memcpy(PyUnicode_DATA(text), p, (size_t)n);
    return text;
}

/* `ascii_text` through a cache of the last string made for each of TEXT_CACHE hashes of the
   bytes, for strings of `longest` bytes or fewer (longer ones are made anew): the lines of a
   batch that repeat a key or a short value (a service, a host, a level, a method) share one
   object, hashed once for every dictionary it meets (aliases, attributes, the insert's
   dictionary of values), and one object fewer is made and freed a row. */
#define TEXT_CACHE 1024
#define SHARED_VALUE_BYTES 16 /* the longest value kept: keys are kept up to a longer bound */
static inline PyObject *cached_ascii_text(PyObject **cache, Py_ssize_t longest, const char *p,
                                          Py_ssize_t n) {
    if (n > longest) return ascii_text(p, n);
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
    PyObject **slot = &cache[h & (TEXT_CACHE - 1)];
    PyObject *text = *slot;
    if (text != NULL && PyUnicode_GET_LENGTH(text) == n &&
        memcmp(PyUnicode_DATA(text), p, (size_t)n) == 0)
        return Py_NewRef(text);
    text = ascii_text(p, n);
    if (text != NULL) Py_XSETREF(*slot, Py_NewRef(text));
    return text;
}

/* A line the C forms take: bytes, ASCII, and no line break (before which a regex's `$` also
   matches, and which its `.` does not); the others are left to the Python code. */
static inline int one_ascii_line(PyObject *line) {
    if (!PyBytes_Check(line)) return 0;
    const unsigned char *t = (const unsigned char *)PyBytes_AS_STRING(line);
    for (Py_ssize_t i = 0, n = PyBytes_GET_SIZE(line); i < n; i++)
        if (t[i] >= 128 || t[i] == '\n') return 0;
    return 1;
}

/* A C form's group: `parse(line)` (a new Parsed, None, or NULL with an error set) of each
   line it takes, as (fields, positions of the lines it does not take, whose fields are None
   and which the Python code parses); `name` names the function in a type error. */
static PyObject *ascii_group(PyObject *lines, PyObject *(*parse)(PyObject *), const char *name) {
    if (!PyList_Check(lines)) {
        PyErr_Format(PyExc_TypeError, "%s(lines: list[bytes])", name);
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(lines);
    PyObject *out = PyList_New(n), *unsure = PyList_New(0), *result = NULL;
    if (out == NULL || unsure == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = PyList_GET_ITEM(lines, i), *parsed;
        if (one_ascii_line(line)) {
            parsed = parse(line);
            if (parsed == NULL) goto done;
        } else {
            PyObject *position = PyLong_FromSsize_t(i);
            int failed = position == NULL || PyList_Append(unsure, position) < 0;
            Py_XDECREF(position);
            if (failed) goto done;
            parsed = Py_NewRef(Py_None);
        }
        PyList_SET_ITEM(out, i, parsed);
    }
    result = PyTuple_Pack(2, out, unsure);
done:
    Py_XDECREF(out);
    Py_XDECREF(unsure);
    return result;
}

#endif
