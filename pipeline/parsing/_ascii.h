/* What the parsers' C forms (_fields.c, _access.c) share: ASCII character classes as their
   Python regexes (re.ASCII) read them, and which lines the C forms take. */
#ifndef LOGWEIR_PARSING_ASCII_H
#define LOGWEIR_PARSING_ASCII_H

#include <Python.h>

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* \s under re.ASCII */
static inline int is_re_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
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

#endif
