/* fuzz_kb.c - the knowledge loader (kb.c, intent.c, answers.c, cal.c,
 * rules.c, the lexicon of lexicon.c) with one file of knowledge/ replaced by
 * arbitrary bytes (byte 0 picks which).  A base that loads must then
 * answer a few questions; a refused one must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ask.h"
#include "kb.h"

static const char *files[] = { "calendar.ini", "stages.ini", "lexicon.ini", "intents.ini", "answers.ini" };
#define NFILES (sizeof files / sizeof files[0])
static char *orig[NFILES];
static size_t orig_len[NFILES];
static char dir[64];

static void put(const char *name, const void *d, size_t n)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	if (!f || (n && fwrite(d, 1, n, f) != n))
		abort();
	fclose(f);
}

static void cleanup(void)
{
	char p[128];
	for (size_t i = 0; i < NFILES; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void init(void)
{
	snprintf(dir, sizeof dir, "/tmp/fuzz-kb-%ld", (long)getpid());
	mkdir(dir, 0700);
	for (size_t i = 0; i < NFILES; i++) {
		char p[128];
		snprintf(p, sizeof p, "knowledge/%s", files[i]);
		FILE *f = fopen(p, "rb"); /* run from the repository root */
		if (!f)
			abort();
		fseek(f, 0, SEEK_END);
		orig_len[i] = (size_t)ftell(f);
		rewind(f);
		orig[i] = malloc(orig_len[i] + 1);
		if (!orig[i] || fread(orig[i], 1, orig_len[i], f) != orig_len[i])
			abort();
		fclose(f);
		put(files[i], orig[i], orig_len[i]);
	}
	atexit(cleanup);
}

static volatile int sink;
static __attribute__((noinline)) void mark_calendar(void) { sink = 10; }
static __attribute__((noinline)) void mark_stages(void) { sink = 11; }
static __attribute__((noinline)) void mark_lexicon(void) { sink = 12; }
static __attribute__((noinline)) void mark_intents(void) { sink = 13; }
static __attribute__((noinline)) void mark_answers(void) { sink = 14; }
static void (*const mark[NFILES])(void) = { mark_calendar, mark_stages, mark_lexicon,
					    mark_intents, mark_answers };

static const char *questions[] = {
	"quand sera visible ma session validée hier dans kairos ?",
	"kan ma session sera visible ds aude",
	"validée le 3 mars, toujours rien sur le site régional",
	"c'est quoi le délai d'affichage ?",
	"bonjour",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!orig[0])
		init();
	if (size < 1)
		return 0;
	size_t which = data[0] % NFILES;
	/* A distinct function per file: libFuzzer then keeps a seed of each
	 * file even though every valid base covers the same loader code. */
	mark[which]();
	put(files[which], data + 1, size - 1);
	char err[512];
	err[0] = '\0';
	struct kb *kb = kb_load(dir, err, sizeof err);
	if (kb) {
		static struct reply r;
		struct date today = { 2026, 11, 26 };
		for (size_t i = 0; i < sizeof questions / sizeof questions[0]; i++) {
			ask_question(kb, questions[i], strlen(questions[i]), today, &r);
			if (r.len >= sizeof r.text || strlen(r.text) != r.len)
				abort();
			char *js = ask_json(&r);
			if (!js)
				abort();
			free(js);
		}
		kb_free(kb);
	} else if (!err[0]) {
		abort(); /* a refusal must say why */
	}
	put(files[which], orig[which], orig_len[which]);
	return 0;
}
