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

/* `_LEVEL - ` at t: the level word (new), its severity borrowed in *severity; None when t does
   not start with one; NULL with an error set. The words are pylogging.LEVELS (`levels`, from
   configure), none with a space in it: the word is what comes before the first space. */
static PyObject *level_then_dash(const char *t, Py_ssize_t n, PyObject **severity) {
    const char *space = memchr(t, ' ', (size_t)n);
    Py_ssize_t k = space == NULL ? n : space - t;
    if (k == 0 || k + 3 > n || memcmp(t + k, " - ", 3) != 0) Py_RETURN_NONE;
    PyObject *word = ascii_text(t, k);
    if (word == NULL) return NULL;
    *severity = PyDict_GetItemWithError(levels, word);
    if (*severity != NULL) return word;
    Py_DECREF(word);
    if (PyErr_Occurred()) return NULL;
    Py_RETURN_NONE;
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
    Py_ssize_t k = i, name_end = i;
    PyObject *severity = NULL, *word = NULL, *name = NULL, *body = NULL, *time = NULL;
    PyObject *attributes = NULL, *flags = NULL, *parsed = NULL;
    while (k < n && name_char(t[k])) k++;
    if (k > i && k + 3 <= n && memcmp(t + k, " - ", 3) == 0) {
        word = level_then_dash(t + k + 3, n - k - 3, &severity);
        if (word == NULL) return NULL;
        if (word == Py_None)
            Py_CLEAR(word); /* no level after the name: the regex tries without one */
        else
            name_end = k;
    }
    if (word == NULL) {
        word = level_then_dash(t + i, n - i, &severity);
        if (word == NULL || word == Py_None) return word;
    }
    Py_INCREF(severity);
    Py_ssize_t body_start = (name_end > i ? name_end + 3 : i) + PyUnicode_GET_LENGTH(word) + 3;
    name = ascii_text(t + i, name_end - i);
    body = ascii_text(t + body_start, n - body_start);
    time = PyLong_FromLongLong(ns);
    attributes = PyDict_New();
    flags = PyList_New(0);
    if (name && body && time && attributes && flags)
        /* (ns, severity, level, service, host, logger, trace_id, span_id, body, attributes,
           flags) */
        parsed = PyTuple_Pack(11, time, severity, word, empty, empty, name, empty, empty, body,
                              attributes, flags);
    Py_DECREF(word);
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
