/* The sink's insert block in C: columns of Python values to one ClickHouse Native block.

   `block(headers, kinds, columns, rows)` writes what clickhouse-connect's Native encoder writes
   for the same columns (tests/unit/sink/test_native_block.py compares the bytes with its Python
   encoder, and inserts through a real ClickHouse): the row and column counts, then per column
   its name and type (`headers`, encoded once per table by native.py), its serialization prefix
   and its data. It knows the few types the sink's tables use (`kinds`, see native.py); a value
   of another Python type, out of range or unencodable raises, and the sink then hands the same
   columns to clickhouse-connect, which accepts them or says what is wrong as before.

   Why: clickhouse-connect's compiled encoder converts each string to an owned Rust string,
   0.1-0.3 µs a value; a Map column of four attributes cost 1.3 µs a row, half the insert's
   encoding. Here a str is its cached UTF-8 and one copy. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Column kinds; native.py's KINDS names the ClickHouse type of each. */
enum {
    K_STRING = 0,
    K_LC_STRING = 1,
    K_UINT8 = 2,
    K_UINT32 = 3,
    K_UINT64 = 4,
    K_INT64 = 5,
    K_MAP_LC_STRING = 6, /* Map(LowCardinality(String), String) */
    K_ARRAY_LC_STRING = 7,
    K_COUNT
};

/* LowCardinality's serialization: the shared-dictionaries version ahead of a column's data,
   then per column the index width with "has additional keys" and "needs a new dictionary". */
#define LC_VERSION 1
#define LC_FLAGS ((1u << 9) | (1u << 10))

typedef struct {
    char *data;
    size_t size, capacity;
} Buffer;

static int reserve(Buffer *b, size_t more) {
    if (b->size + more <= b->capacity)
        return 1;
    size_t capacity = b->capacity ? b->capacity : 65536;
    while (capacity < b->size + more)
        capacity *= 2;
    char *data = PyMem_Realloc(b->data, capacity);
    if (!data) {
        PyErr_NoMemory();
        return 0;
    }
    b->data = data;
    b->capacity = capacity;
    return 1;
}

static int put(Buffer *b, const void *bytes, size_t n) {
    if (!reserve(b, n))
        return 0;
    memcpy(b->data + b->size, bytes, n);
    b->size += n;
    return 1;
}

static int put_le(Buffer *b, uint64_t value, int width) {
    if (!reserve(b, 8))
        return 0;
#if PY_LITTLE_ENDIAN
    /* One 8-byte store, of which `width` bytes are kept (the rest is written over next),
       rather than a loop a byte at a time (5% of the encoder's instructions). */
    memcpy(b->data + b->size, &value, 8);
    b->size += (size_t)width;
#else
    for (int i = 0; i < width; i++)
        b->data[b->size++] = (char)(value >> (8 * i));
#endif
    return 1;
}

static int put_leb128(Buffer *b, uint64_t value) {
    if (!reserve(b, 10))
        return 0;
    do {
        unsigned char byte = value & 0x7f;
        value >>= 7;
        b->data[b->size++] = (char)(byte | (value ? 0x80 : 0));
    } while (value);
    return 1;
}

/* A String value: a str (its UTF-8) or bytes, length-prefixed. */
static int put_string(Buffer *b, PyObject *value) {
    const char *bytes;
    Py_ssize_t n;
    if (PyUnicode_Check(value)) {
        bytes = PyUnicode_AsUTF8AndSize(value, &n);
        if (!bytes)
            return 0;
    } else if (PyBytes_Check(value)) {
        bytes = PyBytes_AS_STRING(value);
        n = PyBytes_GET_SIZE(value);
    } else {
        PyErr_Format(PyExc_TypeError, "a String value is a str or bytes, not %.80s",
                     Py_TYPE(value)->tp_name);
        return 0;
    }
    return put_leb128(b, (uint64_t)n) && put(b, bytes, (size_t)n);
}

/* An exact int's value read from its digits, when it has at most three (|value| < 2^63):
   PyLong_AsLongLong goes through _PyLong_AsByteArray for any int of more than one digit,
   which is every nanosecond timestamp and offset here (a tenth of the encoder's work).
   0 when the value needs the general path. */
static int small_int(PyObject *value, int64_t *out) {
#if PY_VERSION_HEX < 0x030C0000 && PyLong_SHIFT == 30
    Py_ssize_t size = Py_SIZE(value);
    Py_ssize_t n = size < 0 ? -size : size;
    if (!PyLong_CheckExact(value) || n > 3)
        return 0;
    const digit *d = ((PyLongObject *)value)->ob_digit;
    if (n == 3 && d[2] >= 8)
        return 0;
    uint64_t magnitude = 0;
    for (Py_ssize_t i = n - 1; i >= 0; i--)
        magnitude = magnitude << PyLong_SHIFT | d[i];
    *out = size < 0 ? -(int64_t)magnitude : (int64_t)magnitude;
    return 1;
#else
    (void)value, (void)out;
    return 0;
#endif
}

static int put_int(Buffer *b, PyObject *value, int kind) {
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "an integer value is an int, not %.80s",
                     Py_TYPE(value)->tp_name);
        return 0;
    }
    int64_t small;
    int is_small = small_int(value, &small);
    if (kind == K_INT64) {
        long long v = is_small ? small : PyLong_AsLongLong(value);
        if (v == -1 && PyErr_Occurred())
            return 0;
        return put_le(b, (uint64_t)v, 8);
    }
    unsigned long long v = is_small && small >= 0 ? (unsigned long long)small
                                                  : PyLong_AsUnsignedLongLong(value);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return 0;
    int width = kind == K_UINT8 ? 1 : kind == K_UINT32 ? 4 : 8;
    if (width < 8 && v >> (8 * width)) {
        PyErr_Format(PyExc_OverflowError, "%llu does not fit in %d bytes", v, width);
        return 0;
    }
    return put_le(b, v, width);
}

/* The strings of a LowCardinality(String) column, gathered before it is written. */
typedef struct {
    PyObject **items; /* borrowed: the column's values stay alive during the call */
    Py_ssize_t size, capacity;
} Values;

static int gather(Values *v, PyObject *item) {
    if (v->size == v->capacity) {
        Py_ssize_t capacity = v->capacity ? v->capacity * 2 : 4096;
        PyObject **items = PyMem_Realloc(v->items, (size_t)capacity * sizeof(PyObject *));
        if (!items) {
            PyErr_NoMemory();
            return 0;
        }
        v->items = items;
        v->capacity = capacity;
    }
    v->items[v->size++] = item;
    return 1;
}

/* A LowCardinality(String) column's data, as clickhouse-connect writes it: the dictionary in
   order of first appearance, then each value's index in the narrowest width that holds the
   dictionary's size. Nothing for an empty column. */
static int put_lc(Buffer *b, Values *v) {
    if (v->size == 0)
        return 1;
    int ok = 0;
    PyObject *positions = PyDict_New();
    PyObject *dictionary = PyList_New(0);
    uint32_t *indices = PyMem_Malloc((size_t)v->size * sizeof(uint32_t));
    if (!positions || !dictionary || !indices) {
        if (!indices)
            PyErr_NoMemory();
        goto done;
    }
    PyObject *previous = NULL; /* runs of one object (a batch's service, topic, format) */
    uint32_t previous_index = 0;
    for (Py_ssize_t i = 0; i < v->size; i++) {
        PyObject *item = v->items[i];
        if (item == previous) {
            indices[i] = previous_index;
            continue;
        }
        if (!PyUnicode_Check(item) && !PyBytes_Check(item)) {
            PyErr_Format(PyExc_TypeError, "a String value is a str or bytes, not %.80s",
                         Py_TYPE(item)->tp_name);
            goto done;
        }
        previous = item;
        PyObject *found = PyDict_GetItemWithError(positions, item);
        if (found) {
            indices[i] = previous_index = (uint32_t)PyLong_AsUnsignedLong(found);
            continue;
        }
        if (PyErr_Occurred())
            goto done;
        Py_ssize_t position = PyList_GET_SIZE(dictionary);
        PyObject *number = PyLong_FromSsize_t(position);
        int failed = !number || PyDict_SetItem(positions, item, number) < 0 ||
                     PyList_Append(dictionary, item) < 0;
        Py_XDECREF(number);
        if (failed)
            goto done;
        indices[i] = previous_index = (uint32_t)position;
    }
    Py_ssize_t keys = PyList_GET_SIZE(dictionary);
    int log2 = 0; /* floor(log2(keys)), as clickhouse-connect's int(log(len(index), 2)) */
    while (((Py_ssize_t)1 << (log2 + 1)) <= keys)
        log2++;
    int index_type = log2 >> 3; /* 0: UInt8, 1: UInt16, 2: UInt32 */
    if (!put_le(b, LC_FLAGS | (uint64_t)index_type, 8) || !put_le(b, (uint64_t)keys, 8))
        goto done;
    for (Py_ssize_t k = 0; k < keys; k++)
        if (!put_string(b, PyList_GET_ITEM(dictionary, k)))
            goto done;
    if (!put_le(b, (uint64_t)v->size, 8))
        goto done;
    int width = 1 << index_type;
    for (Py_ssize_t i = 0; i < v->size; i++)
        if (!put_le(b, indices[i], width))
            goto done;
    ok = 1;
done:
    Py_XDECREF(positions);
    Py_XDECREF(dictionary);
    PyMem_Free(indices);
    return ok;
}

/* One column's prefix and data; `items` holds `rows` values. */
static int put_column(Buffer *b, int kind, PyObject **items, Py_ssize_t rows) {
    Values gathered = {0}, values = {0}; /* values: a Map column's, in the keys' order */
    int ok = 0;
    switch (kind) {
    case K_STRING:
        for (Py_ssize_t i = 0; i < rows; i++)
            if (!put_string(b, items[i]))
                goto done;
        ok = 1;
        break;
    case K_UINT8:
    case K_UINT32:
    case K_UINT64:
    case K_INT64:
        for (Py_ssize_t i = 0; i < rows; i++)
            if (!put_int(b, items[i], kind))
                goto done;
        ok = 1;
        break;
    case K_LC_STRING:
        if (!put_le(b, LC_VERSION, 8))
            goto done;
        for (Py_ssize_t i = 0; i < rows; i++)
            if (!gather(&gathered, items[i]))
                goto done;
        ok = put_lc(b, &gathered);
        break;
    case K_ARRAY_LC_STRING: {
        if (!put_le(b, LC_VERSION, 8))
            goto done;
        uint64_t total = 0;
        for (Py_ssize_t i = 0; i < rows; i++) {
            PyObject *row = items[i];
            if (!PyList_Check(row) && !PyTuple_Check(row)) {
                PyErr_Format(PyExc_TypeError, "an Array value is a list or tuple, not %.80s",
                             Py_TYPE(row)->tp_name);
                goto done;
            }
            Py_ssize_t n = PySequence_Fast_GET_SIZE(row);
            PyObject **elements = PySequence_Fast_ITEMS(row);
            for (Py_ssize_t j = 0; j < n; j++)
                if (!gather(&gathered, elements[j]))
                    goto done;
            total += (uint64_t)n;
            if (!put_le(b, total, 8))
                goto done;
        }
        ok = put_lc(b, &gathered);
        break;
    }
    case K_MAP_LC_STRING: {
        /* Map(K, V) is Array(Tuple(K, V)): the keys' prefix, the offsets, the keys, the values */
        if (!put_le(b, LC_VERSION, 8))
            goto done;
        uint64_t total = 0;
        for (Py_ssize_t i = 0; i < rows; i++) {
            PyObject *row = items[i];
            if (!PyDict_Check(row)) {
                PyErr_Format(PyExc_TypeError, "a Map value is a dict, not %.80s",
                             Py_TYPE(row)->tp_name);
                goto done;
            }
            PyObject *key, *value;
            Py_ssize_t at = 0;
            while (PyDict_Next(row, &at, &key, &value))
                if (!gather(&gathered, key) || !gather(&values, value))
                    goto done;
            total += (uint64_t)PyDict_GET_SIZE(row);
            if (!put_le(b, total, 8))
                goto done;
        }
        if (!put_lc(b, &gathered))
            goto done;
        for (Py_ssize_t i = 0; i < values.size; i++)
            if (!put_string(b, values.items[i]))
                goto done;
        ok = 1;
        break;
    }
    default:
        PyErr_Format(PyExc_ValueError, "unknown column kind %d", kind);
    }
done:
    PyMem_Free(gathered.items);
    PyMem_Free(values.items);
    return ok;
}

static PyObject *block(PyObject *self, PyObject *args) {
    PyObject *headers, *kinds, *columns;
    Py_ssize_t rows;
    if (!PyArg_ParseTuple(args, "O!O!On:block", &PyTuple_Type, &headers, &PyTuple_Type, &kinds,
                          &columns, &rows))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(headers);
    if (PyTuple_GET_SIZE(kinds) != count) {
        PyErr_SetString(PyExc_ValueError, "one kind per column header");
        return NULL;
    }
    PyObject *fast_columns = PySequence_Fast(columns, "columns is a sequence");
    if (!fast_columns)
        return NULL;
    Buffer b = {0};
    PyObject *result = NULL;
    if (PySequence_Fast_GET_SIZE(fast_columns) != count) {
        PyErr_SetString(PyExc_ValueError, "one column per column header");
        goto done;
    }
    if (!put_leb128(&b, (uint64_t)count) || !put_leb128(&b, (uint64_t)rows))
        goto done;
    for (Py_ssize_t c = 0; c < count; c++) {
        PyObject *header = PyTuple_GET_ITEM(headers, c);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(kinds, c));
        if (!PyBytes_Check(header)) {
            PyErr_SetString(PyExc_TypeError, "a column header is bytes");
            goto done;
        }
        if (kind < 0 || kind >= K_COUNT) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "unknown column kind %ld", kind);
            goto done;
        }
        PyObject *column = PySequence_Fast(PySequence_Fast_GET_ITEM(fast_columns, c),
                                           "a column is a sequence");
        if (!column)
            goto done;
        int ok = 1;
        if (PySequence_Fast_GET_SIZE(column) != rows) {
            PyErr_Format(PyExc_ValueError, "column %zd has %zd values for %zd rows", c,
                         PySequence_Fast_GET_SIZE(column), rows);
            ok = 0;
        }
        ok = ok && put(&b, PyBytes_AS_STRING(header), (size_t)PyBytes_GET_SIZE(header)) &&
             put_column(&b, (int)kind, PySequence_Fast_ITEMS(column), rows);
        Py_DECREF(column);
        if (!ok) {
            /* Which column: the sink logs it when it hands the insert to clickhouse-connect.
               A ValueError whatever the cause (a UnicodeEncodeError cannot be remade from a
               message), except running out of memory. */
            if (!PyErr_ExceptionMatches(PyExc_MemoryError)) {
                PyObject *type, *value, *traceback;
                PyErr_Fetch(&type, &value, &traceback);
                PyErr_NormalizeException(&type, &value, &traceback);
                PyErr_Format(PyExc_ValueError, "column %zd: %S", c, value);
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(traceback);
            }
            goto done;
        }
    }
    result = PyBytes_FromStringAndSize(b.data, (Py_ssize_t)b.size);
done:
    PyMem_Free(b.data);
    Py_DECREF(fast_columns);
    return result;
}

static PyMethodDef methods[] = {
    {"block", block, METH_VARARGS,
     "block(headers, kinds, columns, rows) -> bytes: one ClickHouse Native block"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pipeline.sink._native",
    "The sink's ClickHouse Native insert block, in C (see native.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
