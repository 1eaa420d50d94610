/* The columnar step's first pass in C: a batch's usual messages sorted into format groups.

   `scan(records, start, config, out)` takes the Kafka records from `start` on, as long as each
   is the usual message (bytes with one event after stripping, no headers, a topic with no
   forced format), and stops at the first that is not, returning its position (or the
   number of records). Each line goes to the group detection offers it to first
   (`group`, below), and each row's Kafka facts onto the step's columns; columnar.py reads
   the rest of a record, one at a time, as before. It does what the Python loop in
   columnar.py did for these records (tests/unit/ingest/test_columnar_identity.py holds the
   two paths' output equal); it was a quarter of the step's time, spent on attribute lookups,
   tuples and calls per record.

   config: (table, fallback, forced_topics, suffix_of, no_headers), where table[first byte]
   is a tuple of (guard or None, group) pairs in detection order (Registry.group_table) and
   fallback the group of a line no guard takes.
   out: (slots, lines, line_slots, origins, kafka_ms, keys, headers, suffixes, topics,
   partitions, offsets, events): `slots` gets a None per row; lines, line_slots and origins
   are lists per group of its lines, their slots and their records' positions; the rest are
   columns, one entry per row. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *s_topic, *s_partition, *s_offset, *s_timestamp, *s_key, *s_value, *s_headers;
static PyObject *zero;

enum { SLOTS, LINES, LINE_SLOTS, ORIGINS, KAFKA_MS, KEYS, HEADERS, SUFFIXES, TOPICS, PARTITIONS,
       OFFSETS, EVENTS, OUT_SIZE };

/* The group of `line` by `table`, or -1 with an exception set (a guard raised, or the
   table's entry for the line's first byte is not a tuple of (guard, group) pairs: entries are
   checked as they are read, a few per line, rather than all 256 on every call). */
static Py_ssize_t group_of(PyObject *line, PyObject *table, Py_ssize_t fallback) {
    Py_ssize_t size = PyBytes_GET_SIZE(line);
    PyObject *claims = PyTuple_GET_ITEM(table, size ? (unsigned char)PyBytes_AS_STRING(line)[0] : 0);
    if (!PyTuple_Check(claims))
        goto bad;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(claims); i++) {
        PyObject *claim = PyTuple_GET_ITEM(claims, i);
        if (!PyTuple_Check(claim) || PyTuple_GET_SIZE(claim) != 2 ||
            !PyLong_Check(PyTuple_GET_ITEM(claim, 1)))
            goto bad;
        PyObject *guard = PyTuple_GET_ITEM(claim, 0);
        if (guard != Py_None) {
            PyObject *result = PyObject_CallOneArg(guard, line);
            if (result == NULL)
                return -1;
            int taken = PyObject_IsTrue(result);
            Py_DECREF(result);
            if (taken < 0)
                return -1;
            if (!taken)
                continue;
        }
        return PyLong_AsSsize_t(PyTuple_GET_ITEM(claim, 1));
    }
    return fallback;
bad:
    PyErr_SetString(PyExc_TypeError, "a group table entry is a tuple of (guard, group) pairs");
    return -1;
}

static int check_table(PyObject *table) {
    if (!PyTuple_Check(table) || PyTuple_GET_SIZE(table) != 256) {
        PyErr_SetString(PyExc_TypeError, "the group table is a tuple of 256 tuples");
        return -1;
    }
    return 0;
}

static PyObject *group(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "group(line: bytes, table, fallback)");
        return NULL;
    }
    Py_ssize_t fallback = PyLong_AsSsize_t(args[2]);
    if ((fallback == -1 && PyErr_Occurred()) || check_table(args[1]) < 0)
        return NULL;
    Py_ssize_t found = group_of(args[0], args[1], fallback);
    return found == -1 && PyErr_Occurred() ? NULL : PyLong_FromSsize_t(found);
}

/* list.append of a new reference (stolen); -1 on failure. */
static int append_new(PyObject *list, PyObject *item) {
    if (item == NULL)
        return -1;
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

/* list.append of record.<name>. */
static int append_attribute(PyObject *list, PyObject *record, PyObject *name) {
    return append_new(list, PyObject_GetAttr(record, name));
}

/* Whether the group lists in `out` have an entry for `index`. */
static int in_groups(PyObject *const *out, Py_ssize_t index) {
    for (int k = LINES; k <= ORIGINS; k++)
        if (index < 0 || index >= PyList_GET_SIZE(out[k]))
            return 0;
    return 1;
}

static int is_space(char c) { return Py_ISSPACE(c); } /* bytes.strip()'s whitespace */

static PyObject *scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyList_Check(args[0]) || !PyTuple_Check(args[2]) ||
        PyTuple_GET_SIZE(args[2]) != 5 || !PyTuple_Check(args[3]) ||
        PyTuple_GET_SIZE(args[3]) != OUT_SIZE) {
        PyErr_SetString(PyExc_TypeError, "scan(records: list, start, config, out)");
        return NULL;
    }
    PyObject *records = args[0];
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    PyObject *table = PyTuple_GET_ITEM(args[2], 0);
    Py_ssize_t fallback = PyLong_AsSsize_t(PyTuple_GET_ITEM(args[2], 1));
    PyObject *forced_topics = PyTuple_GET_ITEM(args[2], 2);
    PyObject *suffix_of = PyTuple_GET_ITEM(args[2], 3);
    PyObject *no_headers = PyTuple_GET_ITEM(args[2], 4);
    if ((fallback == -1 && PyErr_Occurred()) || check_table(table) < 0)
        return NULL;
    PyObject *const *out = &PyTuple_GET_ITEM(args[3], 0);
    for (int k = 0; k < OUT_SIZE; k++)
        if (!PyList_Check(out[k])) {
            PyErr_SetString(PyExc_TypeError, "scan's out is a tuple of lists");
            return NULL;
        }

    PyObject *topic = NULL, *last_topic = NULL, *suffix = NULL, *value = NULL, *line = NULL;
    int forced = 0;
    Py_ssize_t position = start < 0 ? 0 : start;
    for (; position < PyList_GET_SIZE(records); position++) {
        PyObject *record = PyList_GET_ITEM(records, position);
        topic = PyObject_GetAttr(record, s_topic);
        if (topic == NULL)
            goto error;
        if (topic != last_topic) {
            /* A batch's records nearly all have one topic (the same object): its facts once. */
            Py_XSETREF(suffix, PyObject_CallOneArg(suffix_of, topic));
            if (suffix == NULL)
                goto error;
            forced = PySequence_Contains(forced_topics, topic);
            if (forced < 0)
                goto error;
            Py_XSETREF(last_topic, Py_NewRef(topic));
        }
        if (forced)
            break;
        PyObject *headers = PyObject_GetAttr(record, s_headers);
        if (headers == NULL)
            goto error;
        int has_headers = PyObject_IsTrue(headers);
        Py_DECREF(headers);
        if (has_headers < 0)
            goto error;
        if (has_headers)
            break;
        value = PyObject_GetAttr(record, s_value);
        if (value == NULL)
            goto error;
        if (!PyBytes_CheckExact(value))
            break; /* None, or not bytes: columnar.py's general path says what it is */
        const char *bytes = PyBytes_AS_STRING(value);
        Py_ssize_t size = PyBytes_GET_SIZE(value), from = 0, to = size;
        while (from < to && is_space(bytes[from]))
            from++;
        while (to > from && is_space(bytes[to - 1]))
            to--;
        if (from == to || memchr(bytes + from, '\n', to - from) != NULL)
            break; /* empty (a dead letter), or several events or lines */
        line = from == 0 && to == size ? Py_NewRef(value)
                                       : PyBytes_FromStringAndSize(bytes + from, to - from);
        Py_CLEAR(value);
        if (line == NULL)
            goto error;
        Py_ssize_t index = group_of(line, table, fallback);
        if (index == -1 && PyErr_Occurred())
            goto error;
        if (!in_groups(out, index)) {
            PyErr_Format(PyExc_IndexError, "group %zd is not in scan's out", index);
            goto error;
        }
        Py_ssize_t slot = PyList_GET_SIZE(out[SLOTS]);
        if (PyList_Append(out[SLOTS], Py_None) < 0 ||
            PyList_Append(PyList_GET_ITEM(out[LINES], index), line) < 0 ||
            append_new(PyList_GET_ITEM(out[LINE_SLOTS], index), PyLong_FromSsize_t(slot)) < 0 ||
            append_new(PyList_GET_ITEM(out[ORIGINS], index), PyLong_FromSsize_t(position)) < 0 ||
            append_attribute(out[KAFKA_MS], record, s_timestamp) < 0 ||
            append_attribute(out[KEYS], record, s_key) < 0 ||
            PyList_Append(out[HEADERS], no_headers) < 0 ||
            PyList_Append(out[SUFFIXES], suffix) < 0 || PyList_Append(out[TOPICS], topic) < 0 ||
            append_attribute(out[PARTITIONS], record, s_partition) < 0 ||
            append_attribute(out[OFFSETS], record, s_offset) < 0 ||
            PyList_Append(out[EVENTS], zero) < 0)
            goto error;
        Py_CLEAR(line);
        Py_CLEAR(topic);
    }
    Py_XDECREF(topic);
    Py_XDECREF(value);
    Py_XDECREF(last_topic);
    Py_XDECREF(suffix);
    return PyLong_FromSsize_t(position);
error:
    Py_XDECREF(topic);
    Py_XDECREF(value);
    Py_XDECREF(line);
    Py_XDECREF(last_topic);
    Py_XDECREF(suffix);
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL,
     "The usual messages from `start` on into groups and columns; the first other's position."},
    {"group", (PyCFunction)(void (*)(void))group, METH_FASTCALL,
     "The group detection offers `line` to first, by `table`."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_scan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__scan(void) {
    s_topic = PyUnicode_InternFromString("topic");
    s_partition = PyUnicode_InternFromString("partition");
    s_offset = PyUnicode_InternFromString("offset");
    s_timestamp = PyUnicode_InternFromString("timestamp");
    s_key = PyUnicode_InternFromString("key");
    s_value = PyUnicode_InternFromString("value");
    s_headers = PyUnicode_InternFromString("headers");
    zero = PyLong_FromLong(0);
    if (!s_topic || !s_partition || !s_offset || !s_timestamp || !s_key || !s_value ||
        !s_headers || !zero)
        return NULL;
    return PyModule_Create(&module_def);
}
