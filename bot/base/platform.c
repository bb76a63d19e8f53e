/* platform.c - names of the domain's platforms, as the knowledge files and
 * the --json output spell them. */
#include <string.h>

#include "platform.h"

static const char *const pf_names[PF__COUNT] = {
	[PF_NONE] = NULL,
	[PF_KAIROS] = "kairos",
	[PF_AUDE] = "aude",
	[PF_FRANCE_TRAVAIL] = "france_travail",
	[PF_RCO] = "rco",
	[PF_REGIONAL] = "regional",
};

const char *platform_name(enum platform pf)
{
	if ((int)pf < 0 || pf >= PF__COUNT)
		return NULL;
	return pf_names[pf];
}

enum platform platform_from_name(const char *s)
{
	if (!s)
		return PF_NONE;
	for (int k = 1; k < PF__COUNT; k++)
		if (strcmp(s, pf_names[k]) == 0)
			return (enum platform)k;
	return PF_NONE;
}
