/* grow.c - array growth with a cap (grow.h). */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int grow_array(void *pv, size_t *cap, size_t need, size_t elem, size_t max)
{
	void *old, *np;
	size_t nc;

	if (need <= *cap)
		return 0;
	if (need > max || !elem || max > SIZE_MAX / elem)
		return -1;
	nc = *cap ? *cap : 16;
	while (nc < need)
		nc = nc > max / 2 ? max : nc * 2;
	if (nc > max)
		nc = max;
	/* The pointer is read and written through memcpy: pv is a T **, not
	 * a void **. */
	memcpy(&old, pv, sizeof old);
	if (!(np = realloc(old, nc * elem)))
		return -1;
	memcpy(pv, &np, sizeof np);
	*cap = nc;
	return 0;
}
