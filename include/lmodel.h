/* lmodel.h - the learned intent model (knowledge/model.bin): one linear
 * classifier per intent over the hashed features of feat.h, trained
 * by `faqbot train` (train.c, liblinear's L2-regularised logistic
 * regression, one class against the rest).  Answering only reads the file
 * (mapped, so `faqbot ask` touches the few pages a question needs) and
 * computes dot products and logistics: no liblinear at run time.
 *
 * File layout (little-endian, floats IEEE 754 single):
 *   struct lmodel_header                      LMODEL_HEADER bytes
 *   class names, nclass x LMODEL_NAME bytes   NUL-padded
 *   bias[nclass]                              float
 *   scale[nclass]                             float
 *   w[2^dim_bits][nclass]                     int8, row per feature:
 *                                             weight = w * scale of its class */
#ifndef FAQBOT_LMODEL_H
#define FAQBOT_LMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "feat.h"

#define LMODEL_MAGIC "FAQBOTLM"
#define LMODEL_VERSION 2
#define LMODEL_NAME 32      /* an intent name, NUL included */
#define LMODEL_MAX_CLASS 64
#define LMODEL_HASH 17      /* 16 hex digits and a NUL */

struct lmodel_header {
	char magic[8];
	uint32_t version;
	uint32_t nclass;
	uint32_t dim_bits;
	uint32_t nexamples;
	float one;                 /* 1.0f: refuses a file of another byte order */
	float reserved_f;
	char settings[112];        /* feat_settings_string of the training */
	char hash[LMODEL_HASH + 7]; /* examples_hash of the training, hex */
	char reserved[88];
};
#define LMODEL_HEADER 256
_Static_assert(sizeof(struct lmodel_header) == LMODEL_HEADER, "model header size");

struct lmodel;

/* Maps path.  NULL with "path: what is wrong, and how to fix it" in err. */
struct lmodel *lmodel_load(const char *path, char *err, size_t errlen);
void lmodel_free(struct lmodel *m); /* accepts NULL */

int lmodel_nclass(const struct lmodel *m);
const char *lmodel_class(const struct lmodel *m, int k);
const char *lmodel_hash(const struct lmodel *m);
const char *lmodel_settings(const struct lmodel *m);
int lmodel_nexamples(const struct lmodel *m);
/* The feature settings the model was trained with (parsed back from the
 * header; lmodel_load refuses a model whose settings it cannot parse). */
const struct feat_settings *lmodel_feat(const struct lmodel *m);

/* Probability of each class (nclass values summing to 1): one logistic
 * per class, normalised, as liblinear's predict_probability does. */
void lmodel_predict(const struct lmodel *m, const struct featvec *x, double *prob);

/* A model in memory, in the file's layout (w is [2^fs->dim_bits][nclass]).
 * NULL with the reason in err. */
struct lmodel *lmodel_build(const struct feat_settings *fs, const char *hash,
			   int nexamples, int nclass, const char *const *names,
			   const float *bias, const float *w, char *err, size_t errlen);
/* Writes it atomically (a temporary file renamed over path), so a running
 * bot that maps the old file keeps reading it.  0, or -1 with err. */
int lmodel_save(const struct lmodel *m, const char *path, char *err, size_t errlen);

#endif
