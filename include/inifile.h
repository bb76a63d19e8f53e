/* inifile.h - the one INI reader of the product: the knowledge files
 * (kb.c, intent.c) and config.ini (config.c).
 *
 * Grammar: `[section]`, `key = value`, comments starting with # or ; (on
 * their own line only, since French text holds both), blank lines.  Keys,
 * values and section names are trimmed of spaces and tabs.  The bytes
 * come from textfile.c, which refuses what is not a regular UTF-8 text
 * file (NUL bytes, FIFOs, devices, over-size files, over-long lines).
 * Dialects on top, by flags:
 *   INI_CONTINUATION  a line that starts with a space or a tab continues
 *                     the previous value, joined with a newline:
 *                         stages = Les étapes :
 *                           1. saisie par l'organisme
 *                     gives "Les étapes :\n1. saisie par l'organisme";
 *   INI_BARE_LINES    a line without '=' is handed over whole as the value,
 *                     with key NULL (word lists), and an empty key is the
 *                     callback's to judge;
 *   INI_UNIQUE_SECTIONS  a section may appear only once;
 *   INI_INLINE_COMMENTS  a `;` after a space or a tab starts a comment that
 *                     runs to the end of the line, on any line:
 *                         server = irc.libera.chat   ; the main network
 *                     (config.ini; a `;` right after text is kept, as in
 *                     "key=a;b").
 * Every error is "path:line: what is wrong, and how to fix it". */
#ifndef FAQBOT_INIFILE_H
#define FAQBOT_INIFILE_H

#include <stddef.h>

#define INI_CONTINUATION 1u
#define INI_BARE_LINES 2u
#define INI_UNIQUE_SECTIONS 4u
#define INI_INLINE_COMMENTS 8u

/* Longest joined value (INI_CONTINUATION). */
#define INI_MAX_VALUE 8192
#define INI_MAX_SECTIONS 256
#define INI_MAX_NAME 128 /* section names and keys, with the NUL */

enum ini_ev {
	INI_SECTION,     /* section; key and value NULL */
	INI_KEY,         /* section, key (NULL for a bare line), value */
	INI_SECTION_END, /* section, at the next header or the end */
	INI_EOF          /* section NULL */
};

/* line: where the event stands (a section's header for INI_SECTION and
 * INI_SECTION_END, a value's first line for INI_KEY, the last line for
 * INI_EOF).  Returns 0, or -1 with what is wrong in err (without the
 * location: the reader puts "path:line: " before it, with that line).
 * value may be changed in place. */
typedef int (*ini_cb)(void *u, enum ini_ev ev, int line, const char *section,
		      const char *key, char *value, char *err, size_t errlen);

/* Parses path (physical lines of at most max_line bytes), calling cb for
 * every event.  0, or -1 with err. */
int inifile_read(const char *path, size_t max_line, unsigned flags, ini_cb cb,
	     void *u, char *err, size_t errlen);

#endif
