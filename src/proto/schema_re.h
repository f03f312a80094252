/* src/proto/schema_re.h: ECMA-262 regular expressions, as JSON Schema's
 * "pattern" and "patternProperties" use them, on top of POSIX regcomp().
 * Internal.
 *
 * The pattern is translated to POSIX extended syntax once, at compile time.
 * Translated: \d \D \w \W \s \S (also inside [...]), \t \n \r \f \v,
 * \xHH, \uXXXX (surrogate pairs joined), escaped punctuation, "(?:" as a
 * plain group, lazy quantifiers (*? +? ?? {n,m}?, which accept the same
 * strings as the greedy ones when only "is there a match" is asked), '{'
 * that does not start a quantifier as a literal, and '.' as any code point
 * but \n and \r. '.', negated classes and \D \W \S match one whole UTF-8
 * character, so lengths count code points as in ECMA-262.
 *
 * Refused, with a reason: lookahead and lookbehind, named groups,
 * backreferences (\1..\9, \k<name>), word boundaries \b \B, Unicode
 * property escapes \p{..} \P{..}, \cX, \0, other letter escapes, non-ASCII
 * characters inside [...], a class matching nothing ([]), "nothing to
 * repeat" (a**, *a), unmatched ')', groups nested deeper than 32, {n,m}
 * counts above 1000, and patterns whose repetitions expand past 512 atoms
 * ('.' and negated classes count twice): regcomp copies a subexpression
 * once per allowed repetition and both it and regexec slow down with the
 * square of the copies, so "^.{1,256}$" is accepted and "^.{0,1000}$" is
 * refused as too complex.
 *
 * Matching time: glibc's regexec is not linear in the subject for every
 * pattern; an unanchored pattern with nested quantifiers such as
 * "([a-z]+)*x" grows with the square of the subject length (about ten
 * seconds for 50,000 bytes). The subject is bounded only by the size limit
 * of the message it came in.
 *
 * Differences that remain: \s and \S know only the ASCII spaces (not
 * U+00A0, U+FEFF, U+2028...); the pattern is compiled in the current
 * locale (the C locale is expected); with no REG_STARTEND, a NUL inside the
 * subject ends it.
 */
#ifndef CMCP_SCHEMA_RE_H
#define CMCP_SCHEMA_RE_H

#include "cmcp/common.h"

#include <regex.h>
#include <stddef.h>

/* Longest pattern accepted, in bytes. */
#define CMCP__RE_MAX_PATTERN 8192

/* Translates the ECMA-262 pattern pat and compiles it into *re (free with
 * regfree). Returns 0; CMCP_EINVAL with a one-line reason in why (also for
 * what regcomp itself rejects); CMCP_ENOMEM. */
int cmcp__re_compile(regex_t *re, const char *pat, char *why, size_t whylen);

/* 1 if s[0..len) contains a match of re (a search: ECMA-262 patterns are
 * not anchored), else 0. Safe to call from several threads at once. */
int cmcp__re_match(const regex_t *re, const char *s, size_t len);

#endif /* CMCP_SCHEMA_RE_H */
