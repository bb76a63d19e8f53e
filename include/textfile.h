/* textfile.h - reads a whole text file the bot is given to read (the
 * knowledge files), safely: a FIFO, a device, a directory, a file over
 * TEXTFILE_MAX_SIZE, a NUL byte, invalid UTF-8 or an over-long line is
 * refused with "path:line: what is wrong, and how to fix it", and nothing
 * ever blocks (the file is opened O_NONBLOCK and must be regular) or reads
 * without end (/dev/zero is a device, and the size is capped).  A reload
 * that meets such a file refuses it and keeps the old knowledge.
 *
 *     struct textfile tf;
 *     char *line;
 *     if (textfile_read(&tf, "kb/stages.ini", 4096, err, sizeof err) < 0)
 *             return -1;          // err: "kb/stages.ini:12: NUL byte ..."
 *     while ((line = textfile_line(&tf)))
 *             use(line, tf.lineno); // no '\n', no trailing '\r'
 *     textfile_free(&tf);
 */
#ifndef FAQBOT_TEXTFILE_H
#define FAQBOT_TEXTFILE_H

#include <stddef.h>

/* A knowledge file is hand-written text: the whole base is about 100 KiB,
 * so 4 MiB is far above any real file and small enough to read at once. */
#define TEXTFILE_MAX_SIZE (4u << 20)

struct textfile {
	char *data;   /* the whole file, lines NUL-terminated in place */
	size_t len;   /* bytes of data (the UTF-8 BOM, if any, removed) */
	size_t pos;   /* where textfile_line goes on */
	int lineno;   /* line number of the last line returned, 1-based */
};

/* Reads path whole into tf and checks it: a regular file of at most
 * TEXTFILE_MAX_SIZE bytes, no NUL byte, valid UTF-8, no line longer than
 * max_line bytes (0: no limit; the '\n' and a '\r' before it do not
 * count).  A UTF-8 byte order mark at the start is dropped.  0, or -1
 * with err = "path[:line]: what is wrong, and how to fix it" and tf empty
 * (textfile_free on it is harmless). */
int textfile_read(struct textfile *tf, const char *path, size_t max_line,
		  char *err, size_t errlen);

/* The next line (without '\n' and without a '\r' before it; a last line
 * without '\n' counts), or NULL at the end.  The line is inside tf->data:
 * the caller may change it in place; it lives until textfile_free.
 * tf->lineno is its line number. */
char *textfile_line(struct textfile *tf);

/* Frees the data; tf may be zeroed, or failed in textfile_read. */
void textfile_free(struct textfile *tf);

#endif
