/* lmodel.c - reads, scores and writes knowledge/model.bin (lmodel.h). */

#include "lmodel.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct lmodel {
	const unsigned char *map;
	size_t size;
	int owned; /* map is malloc'd (lmodel_build), not mapped */
	const struct lmodel_header *h;
	int nclass;
	char names[LMODEL_MAX_CLASS][LMODEL_NAME];
	const float *bias, *scale;
	const int8_t *w;
	struct feat_settings fs;
};

static int parse_settings(const char *s, struct feat_settings *fs)
{
	unsigned dim, cmin, cmax;
	float a, b, c, d;
	if (sscanf(s, "features v1 dim=%u char=%u-%u w=%g,%g,%g,%g", &dim, &cmin, &cmax,
		   &a, &b, &c, &d) != 7)
		return -1;
	if (dim < 8 || dim > 24 || cmin < 1 || cmax < cmin || cmax > 8)
		return -1;
	fs->dim_bits = dim;
	fs->char_min = cmin;
	fs->char_max = cmax;
	fs->w_char = a;
	fs->w_word = b;
	fs->w_bigram = c;
	fs->w_extra = d;
	return 0;
}

/* Checks the image at m->map (m->size bytes) and points into it. */
static int check_image(struct lmodel *m, const char *path, char *err, size_t errlen)
{
	const char *why = NULL;
	m->h = (const struct lmodel_header *)m->map;
	const struct lmodel_header *h = m->h;
	if (memcmp(h->magic, LMODEL_MAGIC, 8))
		why = "not a faqbot model";
	else if (h->version != LMODEL_VERSION)
		why = "made by another version of faqbot";
	else if (h->one != 1.0f)
		why = "made on a machine of another byte order";
	else if (h->nclass < 2 || h->nclass > LMODEL_MAX_CLASS)
		why = "bad number of intents";
	else if (!memchr(h->settings, 0, sizeof h->settings) || !memchr(h->hash, 0, sizeof h->hash) ||
		 parse_settings(h->settings, &m->fs) < 0 || m->fs.dim_bits != h->dim_bits)
		why = "unreadable feature settings";
	if (!why) {
		size_t nc = h->nclass, dim = (size_t)1 << h->dim_bits;
		size_t want = LMODEL_HEADER + nc * LMODEL_NAME + 2 * nc * sizeof(float) + dim * nc;
		if (m->size != want)
			why = "truncated or padded";
	}
	if (!why) {
		m->nclass = (int)h->nclass;
		const char *names = (const char *)(m->map + LMODEL_HEADER);
		for (int k = 0; k < m->nclass && !why; k++) {
			const char *nm = names + (size_t)k * LMODEL_NAME;
			if (!memchr(nm, 0, LMODEL_NAME) || !nm[0])
				why = "bad intent name";
			else
				memcpy(m->names[k], nm, LMODEL_NAME);
		}
		m->bias = (const float *)(m->map + LMODEL_HEADER + (size_t)m->nclass * LMODEL_NAME);
		m->scale = m->bias + m->nclass;
		m->w = (const int8_t *)(m->scale + m->nclass);
	}
	if (why) {
		snprintf(err, errlen, "%s: %s; run `faqbot train` to write it anew", path, why);
		return -1;
	}
	return 0;
}


struct lmodel *lmodel_load(const char *path, char *err, size_t errlen)
{
	struct lmodel *m = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s; run `faqbot train` to make it", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file; run `faqbot train` to write it", path);
		close(fd);
		return NULL;
	}
	if ((size_t)st.st_size < LMODEL_HEADER) {
		snprintf(err, errlen, "%s: too short to be a model (%lld bytes); run `faqbot train`",
			 path, (long long)st.st_size);
		close(fd);
		return NULL;
	}
	if (!(m = calloc(1, sizeof *m))) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	m->size = (size_t)st.st_size;
	m->map = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	/* a question reads a few hundred scattered rows: no read-ahead, so
	 * `faqbot ask` only maps the pages it uses */
	if (m->map != MAP_FAILED)
		madvise((void *)m->map, m->size, MADV_RANDOM);
	if (m->map == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot map it: %s", path, strerror(errno));
		free(m);
		return NULL;
	}
	if (check_image(m, path, err, errlen) < 0) {
		lmodel_free(m);
		return NULL;
	}
	return m;
}

void lmodel_free(struct lmodel *m)
{
	if (!m)
		return;
	if (m->owned)
		free((void *)m->map);
	else if (m->map && m->map != MAP_FAILED)
		munmap((void *)m->map, m->size);
	free(m);
}

int lmodel_nclass(const struct lmodel *m) { return m->nclass; }
const char *lmodel_class(const struct lmodel *m, int k) { return m->names[k]; }
const char *lmodel_hash(const struct lmodel *m) { return m->h->hash; }
const char *lmodel_settings(const struct lmodel *m) { return m->h->settings; }
int lmodel_nexamples(const struct lmodel *m) { return (int)m->h->nexamples; }
const struct feat_settings *lmodel_feat(const struct lmodel *m) { return &m->fs; }

void lmodel_predict(const struct lmodel *m, const struct featvec *x, double *prob)
{
	int nc = m->nclass;
	double dec[LMODEL_MAX_CLASS], sum = 0;
	uint32_t mask = ((uint32_t)1 << m->fs.dim_bits) - 1;

	float acc[LMODEL_MAX_CLASS] = {0};
	for (int i = 0; i < x->n; i++) {
		const int8_t *row = m->w + (size_t)(x->idx[i] & mask) * (size_t)nc;
		float v = x->val[i];
		for (int k = 0; k < nc; k++)
			acc[k] += v * (float)row[k];
	}
	for (int k = 0; k < nc; k++)
		dec[k] = m->bias[k] + (double)acc[k] * m->scale[k];
	for (int k = 0; k < nc; k++) {
		prob[k] = 1.0 / (1.0 + exp(-dec[k]));
		sum += prob[k];
	}
	for (int k = 0; k < nc; k++)
		prob[k] = sum > 0 ? prob[k] / sum : 1.0 / nc;
}

struct lmodel *lmodel_build(const struct feat_settings *fs, const char *hash,
			   int nexamples, int nclass, const char *const *names,
			   const float *bias, const float *w, char *err, size_t errlen)
{
	struct lmodel_header h;
	size_t dim = (size_t)1 << fs->dim_bits, nc = (size_t)nclass;
	struct lmodel *m;
	unsigned char *img;

	if (nclass < 2 || nclass > LMODEL_MAX_CLASS) {
		snprintf(err, errlen, "%d intents; a model needs 2 to %d", nclass, LMODEL_MAX_CLASS);
		return NULL;
	}
	for (int k = 0; k < nclass; k++)
		if (strlen(names[k]) >= LMODEL_NAME || !names[k][0]) {
			snprintf(err, errlen, "intent name \"%s\" must be 1 to %d bytes", names[k],
				 LMODEL_NAME - 1);
			return NULL;
		}
	memset(&h, 0, sizeof h);
	memcpy(h.magic, LMODEL_MAGIC, 8);
	h.version = LMODEL_VERSION;
	h.nclass = (uint32_t)nclass;
	h.dim_bits = fs->dim_bits;
	h.nexamples = (uint32_t)nexamples;
	h.one = 1.0f;
	feat_settings_string(fs, h.settings, sizeof h.settings);
	snprintf(h.hash, sizeof h.hash, "%s", hash);
	size_t size = LMODEL_HEADER + nc * LMODEL_NAME + 2 * nc * sizeof(float) + dim * nc;
	if (!(m = calloc(1, sizeof *m)) || !(img = calloc(1, size))) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(img, &h, sizeof h);
	for (size_t k = 0; k < nc; k++)
		memcpy(img + LMODEL_HEADER + k * LMODEL_NAME, names[k], strlen(names[k]));
	/* weights as signed bytes, one scale per intent: a quarter of the
	 * size, and the decisions of the float model (see --cv) */
	float scale[LMODEL_MAX_CLASS];
	for (size_t k = 0; k < nc; k++) {
		float mx = 0;
		for (size_t f = 0; f < dim; f++)
			mx = fabsf(w[f * nc + k]) > mx ? fabsf(w[f * nc + k]) : mx;
		scale[k] = mx > 0 ? mx / 127.0f : 1.0f;
	}
	unsigned char *p = img + LMODEL_HEADER + nc * LMODEL_NAME;
	memcpy(p, bias, nc * sizeof(float));
	memcpy(p + nc * sizeof(float), scale, nc * sizeof(float));
	int8_t *q = (int8_t *)(p + 2 * nc * sizeof(float));
	for (size_t f = 0; f < dim; f++)
		for (size_t k = 0; k < nc; k++)
			q[f * nc + k] = (int8_t)lrintf(w[f * nc + k] / scale[k]);
	m->map = img;
	m->size = size;
	m->owned = 1;
	if (check_image(m, "model", err, errlen) < 0) {
		lmodel_free(m);
		return NULL;
	}
	return m;
}

int lmodel_save(const struct lmodel *m, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;
	int ok;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if (!(f = fopen(tmp, "wb"))) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	ok = fwrite(m->map, 1, m->size, f) == m->size;
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: cannot write it: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
