/*
 * melissa_api.h - the older name of <melissa/api.h>, kept so simulations written for either
 * Melissa layout build unchanged. Everything is declared there.
 */
#include "melissa/api.h"
