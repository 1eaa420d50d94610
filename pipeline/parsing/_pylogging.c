/* The columnar step's Python-logging lines in C: the logging cookbook's dash layout,
   `%(asctime)s - %(name)s - %(levelname)s - %(message)s`.

   `dash_group(lines)` returns (fields, unsure): per line the Parsed tuple pylogging.parse makes
   of a dated line whose time is followed by a dash (`_dated`'s `_DASH` branch), None for a
   line that is not one (pylogging.parse then reads it, whatever layout it has), and the
   positions of the lines it does not read at all (not ASCII, or more than one line).
   pylogging.py stays the definition: tests/unit/parsing/test_compiled_pylogging.py holds the
   two equal on documented and generated lines. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "_ascii.h"
#include "_iso.h"

static PyObject *levels; /* level word (str) -> Severity, pylogging.LEVELS */
static PyObject *empty;

/* [\w.<>-] under re.ASCII */
static int name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
           c == '.' || c == '<' || c == '>' || c == '-';
}

/* `_LEVEL - ` at t: the level word's length (its alternatives in _LEVEL's order), or 0. */
static Py_ssize_t level_then_dash(const char *t, Py_ssize_t n) {
    static const char *const words[] = {"DEBUG", "INFO",   "WARNING", "WARN",  "ERROR",
                                        "CRITICAL", "FATAL", "NOTSET", "TRACE", "SUCCESS"};
    for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
        Py_ssize_t k = (Py_ssize_t)strlen(words[w]);
        if (k + 3 <= n && memcmp(t, words[w], (size_t)k) == 0 && memcmp(t + k, " - ", 3) == 0)
            return k;
    }
    return 0;
}

static PyObject *ascii_text(const char *s, Py_ssize_t n) {
    return n ? PyUnicode_DecodeASCII(s, n, NULL) : Py_NewRef(empty);
}

/* pylogging.parse of an ASCII line of one line, when it is the dash layout; else None. */
static PyObject *fields_of(PyObject *line) {
    const char *t = PyBytes_AS_STRING(line);
    Py_ssize_t n = PyBytes_GET_SIZE(line), pos;
    long long ns;
    /* parse: a line starting with a digit is `_dated(text, 0)`; `_TIME.match` and
       from_iso_match must both answer */
    if (n == 0 || !is_digit(t[0]) || iso_at(t, n, &pos, &ns) != 1) Py_RETURN_NONE;
    /* `follow = text[pos:pos+2]`: the pipe branch comes first, then the dash */
    Py_ssize_t follow = n - pos < 2 ? n - pos : 2;
    if (memchr(t + pos, '|', (size_t)follow) || !memchr(t + pos, '-', (size_t)follow))
        Py_RETURN_NONE;
    /* _DASH: ` ?- (?:([\w.<>-]+?) - )?_LEVEL - (.*)` */
    Py_ssize_t i = pos;
    if (i < n && t[i] == ' ') i++;
    if (!(i + 1 < n && t[i] == '-' && t[i + 1] == ' ')) Py_RETURN_NONE;
    i += 2;
    /* The name holds no space, so the lazy name ends where its characters do, at ` - `. */
    Py_ssize_t k = i, name_start = i, name_end = i, level;
    while (k < n && name_char(t[k])) k++;
    if (k > i && k + 3 <= n && memcmp(t + k, " - ", 3) == 0 &&
        (level = level_then_dash(t + k + 3, n - k - 3)) > 0) {
        name_end = k;
        i = k + 3;
    } else if ((level = level_then_dash(t + i, n - i)) == 0) {
        Py_RETURN_NONE;
    }
    PyObject *word = PyUnicode_DecodeASCII(t + i, level, NULL), *severity = NULL;
    PyObject *name = NULL, *body = NULL, *time = NULL, *attributes = NULL, *flags = NULL;
    PyObject *parsed = NULL;
    if (word == NULL) return NULL;
    severity = PyDict_GetItemWithError(levels, word);
    if (severity == NULL) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_RuntimeError, "level %R is not configured", word);
        goto done;
    }
    Py_INCREF(severity);
    i += level + 3;
    name = ascii_text(t + name_start, name_end - name_start);
    body = ascii_text(t + i, n - i);
    time = PyLong_FromLongLong(ns);
    attributes = PyDict_New();
    flags = PyList_New(0);
    if (name && body && time && attributes && flags)
        /* (ns, severity, level, service, host, logger, trace_id, span_id, body, attributes,
           flags) */
        parsed = PyTuple_Pack(11, time, severity, word, empty, empty, name, empty, empty, body,
                              attributes, flags);
done:
    Py_XDECREF(word);
    Py_XDECREF(severity);
    Py_XDECREF(name);
    Py_XDECREF(body);
    Py_XDECREF(time);
    Py_XDECREF(attributes);
    Py_XDECREF(flags);
    return parsed;
}

static PyObject *dash_group(PyObject *module, PyObject *lines) {
    if (levels == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "pipeline.parsing._pylogging is not configured");
        return NULL;
    }
    return ascii_group(lines, fields_of, "dash_group");
}

static PyObject *configure(PyObject *module, PyObject *words) {
    if (!PyDict_Check(words)) {
        PyErr_SetString(PyExc_TypeError, "configure(levels: dict[str, Severity])");
        return NULL;
    }
    Py_XSETREF(levels, Py_NewRef(words));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_O,
     "The severity of each level word (pylogging.py sets it, once)."},
    {"dash_group", dash_group, METH_O,
     "pylogging.parse of each dash-layout ASCII line as Parsed: (fields, positions of lines "
     "not taken)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_pylogging", NULL, -1, methods};

PyMODINIT_FUNC PyInit__pylogging(void) {
    empty = PyUnicode_InternFromString("");
    if (empty == NULL) return NULL;
    return PyModule_Create(&module_def);
}
