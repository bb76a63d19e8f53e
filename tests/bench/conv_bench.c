/* conv_bench.c - what conversations cost (issue 13):
 *   memory   VmRSS of the process once the knowledge and the conversation
 *            table (default cap) are loaded, then after N live
 *            conversations (each a different Matrix user in a room, the
 *            longest realistic keys), and the difference;
 *   speed    questions/s through ask_question (stateless) and through
 *            conv_ask (each question from a user with a live conversation,
 *            half of them follow-ups), on one core.
 * Usage: conv_bench KNOWLEDGE_DIR [N]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ask.h"
#include "conv.h"
#include "kb.h"

static long rss_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *const qs[] = {
	"quand sera visible ma session dans kairos ?",
	"validée le 12 novembre",
	"ma session validée hier, quand sera-t-elle sur RCO ?",
	"et pour Kairos ?",
	"c'est quoi l'état ARCH ?",
	"et DIFF ?",
	"quand sera visible ma session validée lundi sur le site régional ?",
	"et si elle avait été validée vendredi ?",
};
#define NQ (sizeof qs / sizeof *qs)

int main(int argc, char **argv)
{
	char err[512], user[96];
	static struct reply r;
	const struct date today = { 2026, 11, 26 };
	int n = argc > 2 ? atoi(argv[2]) : 10000;
	struct kb *kb;
	struct conv_table *t;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: conv_bench KNOWLEDGE_DIR [N]\n");
		return 2;
	}
	if (!(kb = kb_load(argv[1], err, sizeof err))) {
		fprintf(stderr, "conv_bench: %s\n", err);
		return 1;
	}
	/* warm the engine so its own first-use pages are in the idle figure */
	for (size_t i = 0; i < NQ; i++)
		ask_question(kb, qs[i], strlen(qs[i]), today, &r);
	if (!(t = conv_new(0, 600 * 1000))) {
		fprintf(stderr, "conv_bench: out of memory\n");
		return 1;
	}
	struct conv_key k = { "matrix.example", "!AbCdEfGhIjKlMnOpQr:matrix.example.org", NULL, user };
	snprintf(user, sizeof user, "@warmup:matrix.example.org");
	conv_ask(t, kb, &k, qs[0], strlen(qs[0]), today, 1, &r, NULL);
	long idle = rss_kib();
	for (int i = 0; i < n; i++) {
		snprintf(user, sizeof user, "@conseiller.formation.%06d:matrix.example.org", i);
		conv_ask(t, kb, &k, qs[0], strlen(qs[0]), today, 1000 + i, &r, NULL);
	}
	long full = rss_kib();
	printf("conversations: %u live (cap %d); VmRSS idle %ld KiB, with them %ld KiB: "
	       "+%.2f MiB (target <= 10 MiB), %.0f bytes each\n", conv_count(t), CONV_CAP_DEFAULT,
	       idle, full, (full - idle) / 1024.0, (full - idle) * 1024.0 / n);

	/* speed: the same questions, stateless and through conversations */
	int rounds = 4000;
	double t0 = now_s();
	for (int i = 0; i < rounds; i++)
		for (size_t j = 0; j < NQ; j++)
			ask_question(kb, qs[j], strlen(qs[j]), today, &r);
	double t1 = now_s();
	for (int i = 0; i < rounds; i++) {
		snprintf(user, sizeof user, "@conseiller.formation.%06d:matrix.example.org", i % n);
		for (size_t j = 0; j < NQ; j++)
			conv_ask(t, kb, &k, qs[j], strlen(qs[j]), today, 2000000 + i, &r, NULL);
	}
	double t2 = now_s();
	double a = rounds * NQ / (t1 - t0), c = rounds * NQ / (t2 - t1);
	printf("questions/s on one core: stateless %.0f, through conversations %.0f "
	       "(%.0f%%; half are follow-ups, which are analysed twice or more)\n", a, c, 100.0 * c / a);
	/* the IRC bench's case (tests/bench/20-irc.sh): one asker repeating a
	 * full question, so every message has a live conversation */
	const char *fq = "quand sera visible ma session validée hier sur Kairos ?";
	size_t fl = strlen(fq);
	int reps = 20000;
	snprintf(user, sizeof user, "loadclient");
	t0 = now_s();
	for (int i = 0; i < reps; i++)
		ask_question(kb, fq, fl, today, &r);
	t1 = now_s();
	for (int i = 0; i < reps; i++)
		conv_ask(t, kb, &k, fq, fl, today, 3000000 + i, &r, NULL);
	t2 = now_s();
	a = reps / (t1 - t0);
	c = reps / (t2 - t1);
	printf("one asker repeating a full question: stateless %.0f/s, through its "
	       "conversation %.0f/s (%.0f%%)\n", a, c, 100.0 * c / a);
	conv_free(t);
	kb_free(kb);
	return 0;
}
