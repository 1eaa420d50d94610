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
   is a tuple of (guard or None, group) pairs in detection order (Registry.group_table; a guard
   that is bytes, a registry.Prefix, is compared with the line's start here, not called) and
   fallback the group of a line no guard takes.
   out: (slots, lines, line_slots, origins, kafka_ms, keys, headers, suffixes, topics,
   partitions, offsets, events): `slots` gets a None per row; lines, line_slots and origins
   are lists per group of its lines, their slots and their records' positions; the rest are
   columns, one entry per row. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

static PyObject *s_topic, *s_partition, *s_offset, *s_timestamp, *s_key, *s_value, *s_headers;
static PyObject *zero;

/* A Kafka record as `records_of` (below) reads it from a record batch. */
typedef struct {
    PyObject_HEAD
    PyObject *topic, *partition, *offset, *timestamp, *key, *value, *headers;
} KafkaRecord;

static PyTypeObject KafkaRecordType;

/* record.<name> (a new reference): read from the struct for a KafkaRecord, else looked up
   (aiokafka's ConsumerRecord, on the record-by-record path and in tests). */
#define FIELD(record, member, name)                                                            \
    (Py_IS_TYPE(record, &KafkaRecordType) ? Py_NewRef(((KafkaRecord *)(record))->member)       \
                                          : PyObject_GetAttr(record, name))

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
        if (PyBytes_Check(guard)) { /* a registry.Prefix: compared here, not called */
            Py_ssize_t n = PyBytes_GET_SIZE(guard);
            if (n > size || memcmp(PyBytes_AS_STRING(line), PyBytes_AS_STRING(guard), n) != 0)
                continue;
        } else if (guard != Py_None) {
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
        topic = FIELD(record, topic, s_topic);
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
        PyObject *headers = FIELD(record, headers, s_headers);
        if (headers == NULL)
            goto error;
        int has_headers = PyObject_IsTrue(headers);
        Py_DECREF(headers);
        if (has_headers < 0)
            goto error;
        if (has_headers)
            break;
        value = FIELD(record, value, s_value);
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
            append_new(out[KAFKA_MS], FIELD(record, timestamp, s_timestamp)) < 0 ||
            append_new(out[KEYS], FIELD(record, key, s_key)) < 0 ||
            PyList_Append(out[HEADERS], no_headers) < 0 ||
            PyList_Append(out[SUFFIXES], suffix) < 0 || PyList_Append(out[TOPICS], topic) < 0 ||
            append_new(out[PARTITIONS], FIELD(record, partition, s_partition)) < 0 ||
            append_new(out[OFFSETS], FIELD(record, offset, s_offset)) < 0 ||
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

/* ---- Kafka records read from a record batch ----

   aiokafka turns each fetched message into a Cython record, then a ConsumerRecord dataclass
   made in Python by a generator (1.2-1.8 us a message here, 10k of the columnar step's 58k
   instructions an event). `records_of` reads an uncompressed v2 record batch (Kafka's
   "Record Batch" format: a 61-byte header, then records of zigzag varints) straight into
   KafkaRecords: the fields the worker reads, as plain C members, sharing the batch's topic
   and partition objects. kafka_records.py checks the batch first (framing, magic, CRC,
   compression, control batches) with aiokafka's own code, once a batch. */

static PyObject *no_record_headers; /* () */

static void record_dealloc(KafkaRecord *r) {
    Py_XDECREF(r->topic);
    Py_XDECREF(r->partition);
    Py_XDECREF(r->offset);
    Py_XDECREF(r->timestamp);
    Py_XDECREF(r->key);
    Py_XDECREF(r->value);
    Py_XDECREF(r->headers);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

/* A new record of seven new references (stolen, also on failure). */
static PyObject *new_record(PyObject *topic, PyObject *partition, PyObject *offset,
                            PyObject *timestamp, PyObject *key, PyObject *value,
                            PyObject *headers) {
    KafkaRecord *r = NULL;
    if (topic && partition && offset && timestamp && key && value && headers)
        r = PyObject_New(KafkaRecord, &KafkaRecordType);
    if (r == NULL) {
        Py_XDECREF(topic);
        Py_XDECREF(partition);
        Py_XDECREF(offset);
        Py_XDECREF(timestamp);
        Py_XDECREF(key);
        Py_XDECREF(value);
        Py_XDECREF(headers);
        return NULL;
    }
    r->topic = topic, r->partition = partition, r->offset = offset, r->timestamp = timestamp;
    r->key = key, r->value = value, r->headers = headers;
    return (PyObject *)r;
}

static PyObject *record_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"topic", "partition", "offset", "timestamp", "key", "value",
                            "headers", NULL};
    PyObject *f[7];
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOO:KafkaRecord", names, &f[0], &f[1],
                                     &f[2], &f[3], &f[4], &f[5], &f[6]))
        return NULL;
    return new_record(Py_NewRef(f[0]), Py_NewRef(f[1]), Py_NewRef(f[2]), Py_NewRef(f[3]),
                      Py_NewRef(f[4]), Py_NewRef(f[5]), Py_NewRef(f[6]));
}

static PyObject *record_repr(KafkaRecord *r) {
    return PyUnicode_FromFormat("KafkaRecord(topic=%R, partition=%R, offset=%R)", r->topic,
                                r->partition, r->offset);
}

static PyMemberDef record_members[] = {
    {"topic", T_OBJECT_EX, offsetof(KafkaRecord, topic), READONLY, NULL},
    {"partition", T_OBJECT_EX, offsetof(KafkaRecord, partition), READONLY, NULL},
    {"offset", T_OBJECT_EX, offsetof(KafkaRecord, offset), READONLY, NULL},
    {"timestamp", T_OBJECT_EX, offsetof(KafkaRecord, timestamp), READONLY, "create or log-append time, ms"},
    {"key", T_OBJECT_EX, offsetof(KafkaRecord, key), READONLY, NULL},
    {"value", T_OBJECT_EX, offsetof(KafkaRecord, value), READONLY, NULL},
    {"headers", T_OBJECT_EX, offsetof(KafkaRecord, headers), READONLY, "((str, bytes | None), ...)"},
    {NULL},
};

static PyTypeObject KafkaRecordType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pipeline.ingest._scan.KafkaRecord",
    .tp_basicsize = sizeof(KafkaRecord),
    .tp_dealloc = (destructor)record_dealloc,
    .tp_repr = (reprfunc)record_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A Kafka record as the worker reads it (topic, partition, offset, timestamp, key, "
              "value, headers).",
    .tp_members = record_members,
    .tp_new = record_new,
};

/* Reads what a record batch holds, each read checked against the batch's end. */
typedef struct {
    const unsigned char *at, *end;
} Reader;

static int read_varlong(Reader *r, int64_t *out) {
    uint64_t raw = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->at >= r->end)
            return -1;
        unsigned char byte = *r->at++;
        raw |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = (int64_t)(raw >> 1) ^ -(int64_t)(raw & 1); /* zigzag */
            return 0;
        }
    }
    return -1;
}

/* A length-prefixed field: None for length -1, else bytes (or str when `text`). */
static PyObject *read_field(Reader *r, int text, int *bad) {
    int64_t size;
    if (read_varlong(r, &size) < 0 || size < -1 || size > r->end - r->at) {
        *bad = 1;
        return NULL;
    }
    if (size == -1)
        return Py_NewRef(Py_None);
    const char *start = (const char *)r->at;
    r->at += size;
    return text ? PyUnicode_DecodeUTF8(start, size, "replace")
                : PyBytes_FromStringAndSize(start, size);
}

static int64_t big_endian(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    if (bytes < 8 && (v >> (bytes * 8 - 1)) & 1) /* sign-extend */
        v |= ~(uint64_t)0 << (bytes * 8);
    return (int64_t)v;
}

enum { BATCH_HEADER = 61, LOG_APPEND_TIME = 0x08 };

/* records_of(buffer, start, end, topic, partition, from_offset): the records of the
   uncompressed v2 batch at buffer[start:end] whose offset is from_offset or more. */
static PyObject *records_of(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "records_of(buffer: bytes, start, end, topic, partition, from_offset)");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), end = PyLong_AsSsize_t(args[2]);
    long long from_offset = PyLong_AsLongLong(args[5]);
    if (PyErr_Occurred())
        return NULL;
    if (start < 0 || end > PyBytes_GET_SIZE(args[0]) || end - start < BATCH_HEADER) {
        PyErr_SetString(PyExc_ValueError, "not a whole record batch");
        return NULL;
    }
    PyObject *topic = args[3], *partition = args[4];
    const unsigned char *batch = (const unsigned char *)PyBytes_AS_STRING(args[0]) + start;
    int64_t base_offset = big_endian(batch, 8);
    int attributes = (int)big_endian(batch + 21, 2);
    int64_t base_time = big_endian(batch + 27, 8), max_time = big_endian(batch + 35, 8);
    int64_t count = big_endian(batch + 57, 4);
    Reader r = {batch + BATCH_HEADER, batch + (end - start)};
    /* Log-append time: every record has the broker's time, the batch's max timestamp. */
    PyObject *batch_time = PyLong_FromLongLong(
        attributes & LOG_APPEND_TIME ? max_time : base_time);
    PyObject *records = PyList_New(0);
    if (batch_time == NULL || records == NULL)
        goto error;
    int bad = 0;
    for (int64_t i = 0; i < count; i++) {
        int64_t length, time_delta, offset_delta, header_count;
        if (read_varlong(&r, &length) < 0 || length < 1 || length > r.end - r.at) {
            bad = 1;
            break;
        }
        Reader rec = {r.at, r.at + length};
        r.at += length;
        rec.at++; /* the record's attributes: unused */
        if (read_varlong(&rec, &time_delta) < 0 || read_varlong(&rec, &offset_delta) < 0) {
            bad = 1;
            break;
        }
        PyObject *key = read_field(&rec, 0, &bad);
        PyObject *value = key ? read_field(&rec, 0, &bad) : NULL;
        PyObject *headers = NULL;
        if (value != NULL && read_varlong(&rec, &header_count) == 0 && header_count >= 0 &&
            header_count <= rec.end - rec.at) {
            headers = header_count ? PyTuple_New(header_count) : Py_NewRef(no_record_headers);
            for (int64_t h = 0; headers && h < header_count; h++) {
                PyObject *name = read_field(&rec, 1, &bad);
                PyObject *data = name ? read_field(&rec, 0, &bad) : NULL;
                if (data == NULL || name == Py_None) {
                    bad |= name == Py_None; /* a header's key is never null */
                    Py_XDECREF(name);
                    Py_XDECREF(data);
                    Py_CLEAR(headers);
                    break;
                }
                PyObject *pair = PyTuple_Pack(2, name, data);
                Py_DECREF(name);
                Py_DECREF(data);
                if (pair == NULL) {
                    Py_CLEAR(headers);
                    break;
                }
                PyTuple_SET_ITEM(headers, h, pair);
            }
        } else if (value != NULL) {
            bad = 1;
        }
        if (headers == NULL) {
            Py_XDECREF(key);
            Py_XDECREF(value);
            break;
        }
        int64_t offset = base_offset + offset_delta;
        if (offset < from_offset) { /* before the fetch position: delivered already */
            Py_DECREF(key);
            Py_DECREF(value);
            Py_DECREF(headers);
            continue;
        }
        PyObject *timestamp = time_delta == 0 || attributes & LOG_APPEND_TIME
                                  ? Py_NewRef(batch_time)
                                  : PyLong_FromLongLong(base_time + time_delta);
        if (append_new(records, new_record(Py_NewRef(topic), Py_NewRef(partition),
                                           PyLong_FromLongLong(offset), timestamp, key, value,
                                           headers)) < 0)
            goto error;
    }
    if (bad) {
        PyErr_Format(PyExc_ValueError, "corrupt record in the batch at offset %lld",
                     (long long)base_offset);
        goto error;
    }
    if (PyErr_Occurred())
        goto error;
    Py_DECREF(batch_time);
    return records;
error:
    Py_XDECREF(batch_time);
    Py_XDECREF(records);
    return NULL;
}

/* ---- The group forms' fields into rows, and rows into columns ----

   After each format group is parsed, every line's fields (an 11-tuple, registry.Parsed) plus
   the group's tail (format, trace flags, otel) become its row, and the rows then become the
   step's columns. Both were Python loops over every row (a tuple concatenation, a zip and
   checks per row); columnar.py keeps the rare rows (refused, a LogRecord, not ASCII). */

enum { PARSED_FIELDS = 11 };

/* Whether the bytes are all ASCII, eight at a time. */
static int all_ascii(const char *s, Py_ssize_t n) {
    uint64_t high = 0, word;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&word, s + i, 8);
        high |= word;
    }
    for (; i < n; i++)
        high |= (unsigned char)s[i];
    return !(high & 0x8080808080808080ULL);
}

/* fill(slots, line_slots, lines, parsed, tail): slots[line_slots[i]] = parsed[i] + tail for
   each ASCII line whose group form gave fields; returns the positions of the other lines. */
static PyObject *fill(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        !PyList_Check(args[2]) || !PyList_Check(args[3]) || !PyTuple_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "fill(slots: list, line_slots: list, lines: list, parsed: list, tail)");
        return NULL;
    }
    PyObject *slots = args[0], *line_slots = args[1], *lines = args[2], *parsed = args[3];
    PyObject *tail = args[4];
    Py_ssize_t n = PyList_GET_SIZE(lines), tail_size = PyTuple_GET_SIZE(tail);
    if (PyList_GET_SIZE(line_slots) != n || PyList_GET_SIZE(parsed) != n) {
        PyErr_SetString(PyExc_ValueError, "fill: one slot and one parse per line");
        return NULL;
    }
    PyObject *others = PyList_New(0);
    if (others == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fields = PyList_GET_ITEM(parsed, i), *line = PyList_GET_ITEM(lines, i);
        if (!PyTuple_CheckExact(fields) || PyTuple_GET_SIZE(fields) != PARSED_FIELDS ||
            !PyBytes_Check(line) || !all_ascii(PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line))) {
            if (append_new(others, PyLong_FromSsize_t(i)) < 0)
                goto error;
            continue;
        }
        Py_ssize_t slot = PyLong_AsSsize_t(PyList_GET_ITEM(line_slots, i));
        if (slot < 0 || slot >= PyList_GET_SIZE(slots)) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_IndexError, "fill: slot %zd is not in slots", slot);
            goto error;
        }
        PyObject *row = PyTuple_New(PARSED_FIELDS + tail_size);
        if (row == NULL)
            goto error;
        for (Py_ssize_t k = 0; k < PARSED_FIELDS; k++)
            PyTuple_SET_ITEM(row, k, Py_NewRef(PyTuple_GET_ITEM(fields, k)));
        for (Py_ssize_t k = 0; k < tail_size; k++)
            PyTuple_SET_ITEM(row, PARSED_FIELDS + k, Py_NewRef(PyTuple_GET_ITEM(tail, k)));
        PyList_SetItem(slots, slot, row); /* steals row, drops what was there */
    }
    return others;
error:
    Py_DECREF(others);
    return NULL;
}

/* transpose(rows, width): the rows (tuples of `width` values) as `width` lists. */
static PyObject *transpose(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "transpose(rows: list, width)");
        return NULL;
    }
    PyObject *rows = args[0];
    Py_ssize_t width = PyLong_AsSsize_t(args[1]), n = PyList_GET_SIZE(rows);
    if (width == -1 && PyErr_Occurred())
        return NULL;
    PyObject *columns = PyList_New(width < 0 ? 0 : width);
    if (columns == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < width; k++) {
        PyObject *column = PyList_New(n);
        if (column == NULL)
            goto error;
        PyList_SET_ITEM(columns, k, column);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != width) {
            PyErr_Format(PyExc_ValueError, "transpose: row %zd is not a tuple of %zd values", i,
                         width);
            goto error;
        }
        for (Py_ssize_t k = 0; k < width; k++)
            PyList_SET_ITEM(PyList_GET_ITEM(columns, k), i, Py_NewRef(PyTuple_GET_ITEM(row, k)));
    }
    return columns;
error:
    Py_DECREF(columns);
    return NULL;
}

/* ---- extremes(values): (min(values), max(values)) in one pass ----

   The enrichers' column forms judge a batch's times by the extremes of its time columns
   (pipeline/enrich/enrichers.py): min() and max() were eight passes a part, 13 ns an item each.
   Ints that fit 64 bits are compared as C integers; any other value, by Python's comparison. */

static PyObject *extremes(PyObject *self, PyObject *values) {
    if (!PyList_Check(values) || PyList_GET_SIZE(values) == 0) {
        PyErr_SetString(PyExc_ValueError, "extremes(values: a non-empty list)");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(values), low = 0, high = 0;
    long long least = 0, most = 0;
    int fast = 1;
    for (Py_ssize_t i = 0; i < n && fast; i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        int overflow = 0;
        long long x = PyLong_CheckExact(v) ? PyLong_AsLongLongAndOverflow(v, &overflow) : 0;
        if (!PyLong_CheckExact(v) || overflow) {
            fast = 0;
            break;
        }
        if (i == 0 || x < least) {
            least = x;
            low = i;
        }
        if (i == 0 || x > most) {
            most = x;
            high = i;
        }
    }
    for (Py_ssize_t i = 0; i < n && !fast; i++) { /* as min() and max() compare */
        PyObject *v = PyList_GET_ITEM(values, i);
        if (i == 0) {
            low = high = 0;
            continue;
        }
        int less = PyObject_RichCompareBool(v, PyList_GET_ITEM(values, low), Py_LT);
        if (less < 0)
            return NULL;
        if (less)
            low = i;
        int more = PyObject_RichCompareBool(v, PyList_GET_ITEM(values, high), Py_GT);
        if (more < 0)
            return NULL;
        if (more)
            high = i;
    }
    return PyTuple_Pack(2, PyList_GET_ITEM(values, low), PyList_GET_ITEM(values, high));
}

/* ---- census(records): (messages per topic, bytes of their values) ----

   What the step and the consumer count of a batch's records, in one pass: a Python pass over
   the records for each (a topic Counter per part of the batch, the consumer's bytes) was 4%
   of a drain. A batch's records come a partition at a time, so the topics come in runs. */

static PyObject *census(PyObject *self, PyObject *records) {
    if (!PyList_Check(records)) {
        PyErr_SetString(PyExc_TypeError, "census(records: list)");
        return NULL;
    }
    PyObject *counts = PyDict_New();
    PyObject *run_topic = NULL;
    Py_ssize_t run = 0, bytes = 0;
    if (counts == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i <= PyList_GET_SIZE(records); i++) {
        PyObject *record = i < PyList_GET_SIZE(records) ? PyList_GET_ITEM(records, i) : NULL;
        PyObject *topic = NULL;
        if (record != NULL) {
            topic = FIELD(record, topic, s_topic);
            if (topic == NULL)
                goto error;
            PyObject *value = FIELD(record, value, s_value);
            if (value == NULL) {
                Py_DECREF(topic);
                goto error;
            }
            if (PyBytes_Check(value))
                bytes += PyBytes_GET_SIZE(value);
            else if (value != Py_None && PyObject_CheckBuffer(value)) {
                Py_ssize_t size = PyObject_Length(value);
                if (size < 0) {
                    Py_DECREF(value);
                    Py_DECREF(topic);
                    goto error;
                }
                bytes += size;
            }
            Py_DECREF(value);
            if (topic == run_topic) {
                run++;
                Py_DECREF(topic);
                continue;
            }
        }
        if (run_topic != NULL) { /* the end of a run: add it to its topic's count */
            PyObject *had = PyDict_GetItemWithError(counts, run_topic);
            Py_ssize_t before = had == NULL ? 0 : PyLong_AsSsize_t(had);
            PyObject *total = (had == NULL && PyErr_Occurred()) || before == -1
                                  ? NULL
                                  : PyLong_FromSsize_t(before + run);
            if (total == NULL || PyDict_SetItem(counts, run_topic, total) < 0) {
                Py_XDECREF(total);
                Py_XDECREF(topic);
                goto error;
            }
            Py_DECREF(total);
        }
        Py_XSETREF(run_topic, topic);
        run = 1;
    }
    Py_XDECREF(run_topic);
    return Py_BuildValue("(Nn)", counts, bytes);
error:
    Py_XDECREF(run_topic);
    Py_DECREF(counts);
    return NULL;
}

static PyMethodDef methods[] = {
    {"extremes", extremes, METH_O, "(min(values), max(values)) of a non-empty list, in one pass."},
    {"census", census, METH_O,
     "The records' messages per topic and the bytes of their values (a bytes-like value's "
     "length; None counts nothing)."},
    {"fill", (PyCFunction)(void (*)(void))fill, METH_FASTCALL,
     "Rows of the group form's fields and the group's tail; the positions of other lines."},
    {"transpose", (PyCFunction)(void (*)(void))transpose, METH_FASTCALL,
     "Rows (tuples of one width) as columns."},
    {"records_of", (PyCFunction)(void (*)(void))records_of, METH_FASTCALL,
     "The KafkaRecords of an uncompressed v2 record batch, from an offset on."},
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
    no_record_headers = PyTuple_New(0);
    if (!no_record_headers || PyType_Ready(&KafkaRecordType) < 0)
        return NULL;
    if (!s_topic || !s_partition || !s_offset || !s_timestamp || !s_key || !s_value ||
        !s_headers || !zero)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL && PyModule_AddObjectRef(module, "KafkaRecord", (PyObject *)&KafkaRecordType) < 0)
        Py_CLEAR(module);
    return module;
}
