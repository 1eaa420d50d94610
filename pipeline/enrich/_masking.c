/* Masking's common case in C: `masking.mask` of an ASCII body, without the regular expression.

   `mask(body)` returns what `masking.regex_mask(body)` returns for every ASCII body
   (tests/unit/enrich/test_compiled_masking.py compares the two over generated and real-world
   lines); it returns None for any other body, which masking.py then masks with the regular
   expression. Each alternative of masking._MASK is a function below, tried in the pattern's
   order at each position where the pattern's leading look-behind lets a match start; the
   pattern is possessive throughout, so each function commits as the regex does and none
   backtracks. The word lists (file and domain suffixes, weekday and month names) come from
   masking.py once (`configure`), so each is defined there only.

   Why: masking was a tenth of the worker's CPU, most of it the regex engine trying its ten
   alternatives at each token start. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <strings.h>

#define WILDCARD "<*>"
#define MAX_WORD 16 /* longer than any suffix or name: not one */

static Py_ssize_t head_chars = -1;
/* Sorted, for bsearch: suffixes lower-case (matched ignoring case), names as written. */
static char (*suffixes)[MAX_WORD + 1];
static Py_ssize_t suffix_count;
static char (*names)[MAX_WORD + 1];
static Py_ssize_t name_count;

static int is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_'; } /* \w */
static int is_word_dash(char c) { return is_word(c) || c == '-'; }               /* [\w-] */
/* Character sets, one bit each in `classes` (filled by `add_set` at import): a table lookup per
   character, where strchr over the set's string (a libc call per character) was 45% of
   masking's instructions. */
enum {
    SPACE = 1 << 0,         /* str.split()'s ASCII whitespace (what `head` collapses) */
    RUN = 1 << 1,           /* [\w.:@+%-] beyond \w */
    VALUE_END = 1 << 2,     /* what ends the value of key=value */
    BEFORE_QUOTED = 1 << 3, /* what may come before a quoted value's opening quote, beyond \s */
    RUN_LEAD = 1 << 4,      /* [_.:+%-]: with letters, what a run holds before its digit */
    DOTTED_SEP = 1 << 5,    /* what follows a dotted name's first word */
    URL_END = 1 << 6,       /* what ends a URL */
    PATH_END = 1 << 7,      /* what ends a Unix path */
    PATH_START = 1 << 8,    /* [.@%+~-]: beyond \w, what may follow a Unix path's slash */
    NAME_START = 1 << 9,    /* the first letters of weekday and month names */
};
static unsigned short classes[256];

static void add_set(const char *set, unsigned short bit) {
    for (; *set; set++)
        classes[(unsigned char)*set] |= bit;
}

static void fill_classes(void) {
    add_set(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f", SPACE);
    add_set(".:@+%-", RUN);
    add_set(",;&\"'()[]{}<>", VALUE_END);
    add_set("=([:,{", BEFORE_QUOTED);
    add_set("_.:+%-", RUN_LEAD);
    add_set(".:+", DOTTED_SEP);
    add_set("\"'<>()[]{}", URL_END);
    add_set("\"'<>()[]{},;", PATH_END);
    add_set(".@%+~-", PATH_START);
    add_set("ADFJMNOSTW", NAME_START);
}

static int in(char c, unsigned short set) { return classes[(unsigned char)c] & set; }
static int in_run(char c) { return is_word(c) || in(c, RUN); } /* [\w.:@+%-] */
static int is_space(char c) { return in(c, SPACE); }

typedef struct {
    const char *t;
    Py_ssize_t n;
} Text;

/* The end of the [\w-] run from i (possessive). */
static Py_ssize_t word_dash_run(Text s, Py_ssize_t i) {
    while (i < s.n && is_word_dash(s.t[i]))
        i++;
    return i;
}

static int cmp_word(const void *a, const void *b) { return strcmp(a, b); }

/* Whether t[from, to) is one of `words` (lower-cased first when `fold`). */
static int listed(Text s, Py_ssize_t from, Py_ssize_t to, char (*words)[MAX_WORD + 1],
                  Py_ssize_t count, int fold) {
    char word[MAX_WORD + 1];
    Py_ssize_t len = to - from;
    if (len <= 0 || len > MAX_WORD)
        return 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        char c = s.t[from + i];
        word[i] = fold && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    word[len] = 0;
    return bsearch(word, words, (size_t)count, sizeof *words, cmp_word) != NULL;
}

/* (?<=[\w\]]=)[^\s,;&"'()\[\]{}<>]++ : the value of key=value */
static Py_ssize_t key_value(Text s, Py_ssize_t p) {
    if (p < 2 || s.t[p - 1] != '=' || !(is_word(s.t[p - 2]) || s.t[p - 2] == ']'))
        return -1;
    Py_ssize_t e = p;
    while (e < s.n && !is_space(s.t[e]) && !in(s.t[e], VALUE_END))
        e++;
    return e > p ? e : -1;
}

/* The inside of quotes: (?<=[\s=(\[:,{]Q) or (?<=^Q), then [^Q\s][^Q]*+ up to a closing Q;
   a double-quoted HTTP request line (?![A-Z]{3,7} /) keeps its method; a single quote must
   close where no word follows it (?='(?!\w)). */
static Py_ssize_t quoted(Text s, Py_ssize_t p, char q) {
    if (p < 1 || p >= s.n || s.t[p - 1] != q)
        return -1;
    if (p >= 2 && !(is_space(s.t[p - 2]) || in(s.t[p - 2], BEFORE_QUOTED)))
        return -1;
    if (s.t[p] == q || is_space(s.t[p]))
        return -1;
    if (q == '"') {
        Py_ssize_t upper = p;
        while (upper < s.n && s.t[upper] >= 'A' && s.t[upper] <= 'Z')
            upper++;
        Py_ssize_t len = upper - p;
        if (len >= 3 && len <= 7 && upper + 1 < s.n && s.t[upper] == ' ' && s.t[upper + 1] == '/')
            return -1;
    }
    Py_ssize_t e = p + 1;
    while (e < s.n && s.t[e] != q)
        e++;
    if (e >= s.n)
        return -1;
    if (q == '\'' && e + 1 < s.n && is_word(s.t[e + 1]))
        return -1;
    return e;
}

/* (?=[A-Za-z_.:+%-]*+[\d@])(?![A-Za-z]++\d(?![\w.:@+%-]))[\w.:@+%-]++ : a run with a digit
   or an @, but not letters and one digit (SOCKS5, ssh2) */
static Py_ssize_t with_digit(Text s, Py_ssize_t p) {
    Py_ssize_t q = p;
    while (q < s.n && (is_alpha(s.t[q]) || in(s.t[q], RUN_LEAD)))
        q++;
    if (!(q < s.n && (is_digit(s.t[q]) || s.t[q] == '@')))
        return -1;
    q = p;
    while (q < s.n && is_alpha(s.t[q]))
        q++;
    if (q > p && q < s.n && is_digit(s.t[q]) && !(q + 1 < s.n && in_run(s.t[q + 1])))
        return -1;
    Py_ssize_t e = p;
    while (e < s.n && in_run(s.t[e]))
        e++;
    return e;
}

/* [A-Za-z_][\w-]*+(?=[.:+]) then a URL, dotted names, or a file or domain suffix */
static Py_ssize_t dotted(Text s, Py_ssize_t p) {
    if (!(is_alpha(s.t[p]) || s.t[p] == '_'))
        return -1;
    Py_ssize_t w = word_dash_run(s, p + 1);
    if (!(w < s.n && in(s.t[w], DOTTED_SEP)))
        return -1;
    /* (?:[+.][\w-]++)*+://[^\s"'<>()\[\]{}]*+ : a URL (svn+ssh://…) */
    Py_ssize_t q = w;
    while (q + 1 < s.n && (s.t[q] == '+' || s.t[q] == '.') && is_word_dash(s.t[q + 1]))
        q = word_dash_run(s, q + 2);
    if (q + 3 <= s.n && memcmp(s.t + q, "://", 3) == 0) {
        Py_ssize_t e = q + 3;
        while (e < s.n && !is_space(s.t[e]) && !in(s.t[e], URL_END))
            e++;
        return e;
    }
    /* (?:\.[A-Za-z_][\w-]*+){2,}+(?::\d++)?+(?:\.|(?![\w.])) : host names, packages */
    Py_ssize_t parts = 0;
    q = w;
    while (q + 1 < s.n && s.t[q] == '.' && (is_alpha(s.t[q + 1]) || s.t[q + 1] == '_')) {
        q = word_dash_run(s, q + 2);
        parts++;
    }
    if (parts >= 2) {
        if (q + 1 < s.n && s.t[q] == ':' && is_digit(s.t[q + 1])) {
            q += 2;
            while (q < s.n && is_digit(s.t[q]))
                q++;
        }
        if (q < s.n && s.t[q] == '.')
            return q + 1;
        if (!(q < s.n && (is_word(s.t[q]) || s.t[q] == '.')))
            return q;
    }
    /* \.(?i:suffix)(?::\d++)?+(?![\w]) : the suffix is the whole word after the dot */
    if (s.t[w] == '.') {
        Py_ssize_t r = w + 1;
        while (r < s.n && is_word(s.t[r]))
            r++;
        if (listed(s, w + 1, r, suffixes, suffix_count, 1)) {
            if (r + 1 < s.n && s.t[r] == ':' && is_digit(s.t[r + 1])) {
                r += 2;
                while (r < s.n && is_digit(s.t[r]))
                    r++;
                if (r < s.n && is_word(s.t[r]))
                    return -1;
            }
            return r;
        }
    }
    return -1;
}

/* (?:~|\.{1,2})?+/[\w.@%+~-][^\s"'<>()\[\]{},;]*+ : a Unix path */
static Py_ssize_t unix_path(Text s, Py_ssize_t p) {
    Py_ssize_t q = p;
    if (s.t[q] == '~')
        q++;
    else if (s.t[q] == '.') {
        q++;
        if (q < s.n && s.t[q] == '.')
            q++;
    }
    if (!(q + 1 < s.n && s.t[q] == '/' && (is_word(s.t[q + 1]) || in(s.t[q + 1], PATH_START))))
        return -1;
    q += 2;
    while (q < s.n && !is_space(s.t[q]) && !in(s.t[q], PATH_END))
        q++;
    return q;
}

/* [A-Za-z]:\\[^\s"'<>()\[\]{},;]*+ : a Windows path */
static Py_ssize_t windows_path(Text s, Py_ssize_t p) {
    if (!(p + 2 < s.n && is_alpha(s.t[p]) && s.t[p + 1] == ':' && s.t[p + 2] == '\\'))
        return -1;
    Py_ssize_t q = p + 3;
    while (q < s.n && !is_space(s.t[q]) && !in(s.t[q], PATH_END))
        q++;
    return q;
}

/* (?=[ADFJMNOSTW])(?:names)(?![\w@]) : a weekday or month name, the whole word (a name
   followed by an @ never gets here: `with_digit` takes it first) */
static Py_ssize_t name(Text s, Py_ssize_t p) {
    if (!in(s.t[p], NAME_START))
        return -1;
    Py_ssize_t r = p;
    while (r < s.n && is_word(s.t[r]))
        r++;
    return listed(s, p, r, names, name_count, 0) ? r : -1;
}

/* The end of the pattern's match at p (its alternatives in order), or -1. */
static Py_ssize_t match_at(Text s, Py_ssize_t p) {
    Py_ssize_t e;
    if ((e = key_value(s, p)) >= 0 || (e = quoted(s, p, '"')) >= 0 ||
        (e = quoted(s, p, '\'')) >= 0 || (e = with_digit(s, p)) >= 0 ||
        (e = dotted(s, p)) >= 0 || (e = unix_path(s, p)) >= 0 ||
        (e = windows_path(s, p)) >= 0 || (e = name(s, p)) >= 0)
        return e;
    return -1;
}

static PyObject *mask(PyObject *self, PyObject *body) {
    if (head_chars < 0) {
        PyErr_SetString(PyExc_RuntimeError, "pipeline.enrich._masking is not configured");
        return NULL;
    }
    if (!PyUnicode_Check(body)) {
        PyErr_SetString(PyExc_TypeError, "mask() takes a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(body))
        Py_RETURN_NONE;
    const char *raw = (const char *)PyUnicode_DATA(body);
    Py_ssize_t size = PyUnicode_GET_LENGTH(body);
    if (size > head_chars)
        size = head_chars;
    const char *newline = memchr(raw, '\n', (size_t)size);
    if (newline)
        size = newline - raw;
    /* `head`: words of the first line joined by single spaces */
    char text[size + 1];
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < size;) {
        while (i < size && is_space(raw[i]))
            i++;
        if (i == size)
            break;
        if (n)
            text[n++] = ' ';
        while (i < size && !is_space(raw[i]))
            text[n++] = raw[i++];
    }
    Text s = {text, n};
    /* A match of one character becomes three */
    char out[n * 3 + 1];
    Py_ssize_t o = 0, last = 0;
    for (Py_ssize_t p = 0; p < n;) {
        if (p == 0 || !in_run(text[p - 1])) {
            Py_ssize_t e = match_at(s, p);
            if (e > p) {
                memcpy(out + o, text + last, (size_t)(p - last));
                o += p - last;
                memcpy(out + o, WILDCARD, 3);
                o += 3;
                p = last = e;
                continue;
            }
        }
        p++;
    }
    memcpy(out + o, text + last, (size_t)(n - last));
    o += n - last;
    return PyUnicode_DecodeASCII(out, o, NULL);
}

/* A list of str as a sorted table of C words (lower-cased when `fold`). */
static int table(PyObject *words, char (**into)[MAX_WORD + 1], Py_ssize_t *count, int fold) {
    PyObject *fast = PySequence_Fast(words, "a word list is a sequence");
    if (!fast)
        return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    char(*made)[MAX_WORD + 1] = PyMem_Calloc((size_t)n + 1, sizeof *made);
    if (!made) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *word = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(fast, i), &len);
        if (!word || len == 0 || len > MAX_WORD) {
            if (word)
                PyErr_Format(PyExc_ValueError, "word %R: 1 to %d characters",
                             PySequence_Fast_GET_ITEM(fast, i), MAX_WORD);
            PyMem_Free(made);
            Py_DECREF(fast);
            return 0;
        }
        for (Py_ssize_t j = 0; j < len; j++)
            made[i][j] = fold && word[j] >= 'A' && word[j] <= 'Z' ? (char)(word[j] + 32) : word[j];
    }
    Py_DECREF(fast);
    qsort(made, (size_t)n, sizeof *made, cmp_word);
    PyMem_Free(*into);
    *into = made;
    *count = n;
    return 1;
}

static PyObject *configure(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"head_chars", "suffixes", "names", NULL};
    Py_ssize_t head;
    PyObject *suffix_words, *name_words;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$nOO:configure", keywords, &head,
                                     &suffix_words, &name_words))
        return NULL;
    if (head < 0 || head > 4096) { /* the head is copied on the stack */
        PyErr_SetString(PyExc_ValueError, "head_chars: 0 to 4096");
        return NULL;
    }
    if (!table(suffix_words, &suffixes, &suffix_count, 1) ||
        !table(name_words, &names, &name_count, 0))
        return NULL;
    head_chars = head;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(*, head_chars, suffixes, names): masking.py's limits and word lists"},
    {"mask", mask, METH_O, "mask(body) -> str | None: masking.mask of an ASCII body, else None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "pipeline.enrich._masking",
    "masking.mask for ASCII bodies, in C (see masking.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__masking(void) {
    fill_classes();
    return PyModule_Create(&module);
}
