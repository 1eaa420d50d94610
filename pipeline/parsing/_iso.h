/* ISO 8601 times as timestamps.py reads them, for the parsers' C forms (_fields.c,
   _pylogging.c): timestamps.ISO_PATTERN matched at the start of ASCII text, and from_iso_match's
   nanoseconds. */
#ifndef LOGWEIR_PARSING_ISO_H
#define LOGWEIR_PARSING_ISO_H

#include <Python.h>
#include <limits.h>

#include "_ascii.h"

static inline int all_digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (!is_digit(s[i])) return 0;
    return 1;
}
static inline int number(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}
static inline long long floor_div(long long a, long long b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static const int days_in_month[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* timestamps.civil_seconds; 0 with *ok = 0 when the date does not exist. */
static inline long long civil_seconds(int year, int month, int day, int hour, int minute,
                                      int second, int *ok) {
    *ok = 0;
    if (!(month >= 1 && month <= 12 && day >= 1 && day <= days_in_month[month])) return 0;
    if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        return 0;
    if (hour > 23 || minute > 59 || second > 60) return 0;
    long long y = month <= 2 ? year - 1 : year;
    long long era = floor_div(y, 400);
    long long yoe = y - era * 400;
    long long doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    long long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    *ok = 1;
    return days * 86400 + hour * 3600 + minute * 60 + second;
}

/* ISO_PATTERN (`\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?\s?([Zz]|[+-]\d{2}:?\d{2})?`)
   matched at the start of s[0:n]: -1 when it does not match; else *end is where the match
   ends, and the result is 1 with *ns from_iso_match's nanoseconds, or 0 when from_iso_match
   answers None (a time that does not exist, a zone out of range, out of to_ns's range). */
static inline int iso_at(const char *s, Py_ssize_t n, Py_ssize_t *end, long long *ns) {
    if (n < 19 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
        !all_digits(s + 8, 2) || !(s[10] == 'T' || s[10] == 't' || s[10] == ' ') ||
        !all_digits(s + 11, 2) || s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' ||
        !all_digits(s + 17, 2))
        return -1;
    Py_ssize_t i = 19;
    long long fraction = 0;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
        int count = 0;
        for (i++; i < n && is_digit(s[i]) && count < 9; i++, count++)
            fraction = fraction * 10 + (s[i] - '0');
        for (; count < 9; count++) fraction *= 10;
    }
    if (i < n && is_re_space(s[i])) i++; /* `\s?`: a zone may follow; a space alone stays in */
    long long offset = 0;
    int zone_ok = 1;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-') && i + 2 < n && all_digits(s + i + 1, 2)) {
        /* [+-]\d{2}:?\d{2}; without its minutes the zone is not matched and the time is UTC */
        const char *z = s + i;
        Py_ssize_t left = n - i;
        int hours = number(z + 1, 2), minutes = -1;
        if (left >= 6 && z[3] == ':' && all_digits(z + 4, 2)) {
            minutes = number(z + 4, 2);
            i += 6;
        } else if (left >= 5 && all_digits(z + 3, 2)) {
            minutes = number(z + 3, 2);
            i += 5;
        }
        if (minutes >= 0) {
            zone_ok = hours <= 23 && minutes <= 59;
            offset = hours * 3600 + minutes * 60;
            if (z[0] == '-') offset = -offset;
        }
    }
    *end = i;
    *ns = 0;
    int ok;
    long long seconds = civil_seconds(number(s, 4), number(s + 5, 2), number(s + 8, 2),
                                      number(s + 11, 2), number(s + 14, 2), number(s + 17, 2), &ok);
    if (!ok || !zone_ok) return 0;
    __int128 total = (__int128)(seconds - offset) * 1000000000 + fraction;
    if (!(total > 0 && total <= (__int128)LLONG_MAX)) return 0;
    *ns = (long long)total;
    return 1;
}

#endif
