/* canonjson.h - Matrix canonical JSON (client-server spec, appendix
 * "Canonical JSON"): keys sorted by UTF-8 bytes (= code point order), no
 * insignificant whitespace, UTF-8 left unescaped but for \" \\ \b \f \n \r
 * \t and \u00xx for the other control characters, integers only, in
 * [-(2^53)+1, 2^53-1].  Used to sign and verify JSON (device keys, one-time
 * keys, cross-signing keys).  Does not sign anything itself (e2ee.h). */
#ifndef FAQBOT_CANONJSON_H
#define FAQBOT_CANONJSON_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Caps: nesting depth and output size. */
#define CANONJSON_MAX_DEPTH 64
#define CANONJSON_MAX_LEN (4u << 20)
/* Largest integer canonical JSON allows: 2^53 - 1. */
#define CANONJSON_MAX_INT 9007199254740991LL

/* Parses s[0..len) into a cJSON tree after checking what cJSON would lose
 * silently: every number is an integer literal (no '.', no exponent) in
 * range, so the double cJSON keeps is exact; no "\u0000" in strings (cJSON
 * strings end at NUL); depth at most CANONJSON_MAX_DEPTH.  NULL with err
 * filled ("float not allowed in canonical JSON at byte 12", ...). */
cJSON *canonjson_parse(const char *s, size_t len, char *err, size_t errlen);

/* Prints j as canonical JSON into a malloc'd NUL-terminated string (the
 * caller frees it).  With signable = 1 the top-level "signatures" and
 * "unsigned" members are left out: that is the text a Matrix signature
 * covers.  NULL when j cannot be canonical: a non-integral or out-of-range
 * number, invalid UTF-8, a duplicate key, raw/invalid nodes, too deep or
 * longer than CANONJSON_MAX_LEN. */
char *canonjson_print(const cJSON *j, int signable);

/* canonjson_parse then canonjson_print(.., 0): text in, canonical text out.
 * Example: {"b": 1, "a": "\u00e9"} -> {"a":"é","b":1}. */
char *canonjson_encode(const char *s, size_t len, char *err, size_t errlen);

#endif
