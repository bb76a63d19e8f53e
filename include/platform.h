/* platform.h - the names of the domain that language and rules share: the
 * partner platforms a question can be about (domain.md, "Stages"). */
#ifndef FAQBOT_PLATFORM_H
#define FAQBOT_PLATFORM_H

enum platform {
	PF_NONE = 0,
	PF_KAIROS,
	PF_AUDE,
	PF_FRANCE_TRAVAIL,
	PF_RCO,
	PF_REGIONAL,
	PF__COUNT
};

/* "kairos", "aude", "france_travail", "rco", "regional"; NULL for PF_NONE. */
const char *platform_name(enum platform pf);
/* Inverse of platform_name; PF_NONE when unknown. */
enum platform platform_from_name(const char *s);

#endif
